# external-mysql-operator — operator-sdk style Makefile for an Ansible operator.
# Everything a target needs is built or installed by the repo into git-ignored folders
# (bin/, .venv/, .cache/), so every target works on a fresh machine without Docker or internet
# beyond PyPI, Debian's packages and the Go module proxy.

VERSION ?= 0.1.0
IMAGE_TAG_BASE ?= ghcr.io/piwik-pro/external-mysql-operator
IMG ?= $(IMAGE_TAG_BASE):v$(VERSION)
BUNDLE_IMG ?= $(IMAGE_TAG_BASE)-bundle:v$(VERSION)
CATALOG_IMG ?= $(IMAGE_TAG_BASE)-catalog:v$(VERSION)
CHANNELS ?= alpha
DEFAULT_CHANNEL ?= alpha
BUNDLE_METADATA_OPTS ?= --channels=$(CHANNELS) --default-channel=$(DEFAULT_CHANNEL)
CONTAINER_TOOL ?= docker

SHELL := /usr/bin/env bash -o pipefail
.SHELLFLAGS := -ec

LOCALBIN := $(CURDIR)/bin
VENV := $(CURDIR)/.venv
PY := $(VENV)/bin/python
PYTHON_BOOTSTRAP ?= env PYENV_VERSION=3.12.1 python3.12
# The ansible package on PyPI carries the collections molecule's playbooks use (molecule/requirements.yml;
# the operator's roles use none); Galaxy is not reachable here.
ANSIBLE_PACKAGE ?= ansible==11.13.0
COLLECTIONS_DIR := $(CURDIR)/.cache/collections
COLLECTIONS := $(shell sed -n 's|^  - name: \([a-z_]*\)\.\([a-z_]*\)$$|\1/\2|p' molecule/requirements.yml)

KUBECTL := $(LOCALBIN)/kubectl
KUSTOMIZE := $(LOCALBIN)/kustomize
OPERATOR_SDK := $(LOCALBIN)/operator-sdk
OPM := $(LOCALBIN)/opm
ANSIBLE_OPERATOR := $(LOCALBIN)/ansible-operator
LOCALENV := $(PY) -m testbed.localenv

export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg
export ANSIBLE_GATHERING := explicit
# pyenv shims confuse interpreter discovery; modules run on the venv's Python.
export ANSIBLE_PYTHON_INTERPRETER := $(VENV)/bin/python

.DEFAULT_GOAL := help

##@ General

.PHONY: help
help: ## Show this help.
	@awk 'BEGIN {FS = ":.*##"; printf "Usage: make \033[36m<target>\033[0m\n"} /^[a-zA-Z_0-9-]+:.*?##/ { printf "  \033[36m%-18s\033[0m %s\n", $$1, $$2 } /^##@/ { printf "\n\033[1m%s\033[0m\n", substr($$0, 5) }' $(MAKEFILE_LIST)

##@ Tools

.PHONY: tools
tools: go-tools venv collections mariadb ## Build and install every pinned tool (second run: seconds).

.PHONY: go-tools
go-tools: ## Build the pinned Go tools into bin/ (versions pinned in hack/tools/*/go.mod).
	hack/build-tool.sh kubernetes k8s.io/kubernetes \
	  kube-apiserver=k8s.io/kubernetes/cmd/kube-apiserver \
	  kube-controller-manager=k8s.io/kubernetes/cmd/kube-controller-manager \
	  kubectl=k8s.io/kubernetes/cmd/kubectl
	hack/build-tool.sh etcd go.etcd.io/etcd/server/v3 etcd=go.etcd.io/etcd/server/v3
	hack/build-tool.sh ansible-operator github.com/operator-framework/ansible-operator-plugins \
	  ansible-operator=github.com/operator-framework/ansible-operator-plugins/cmd/ansible-operator
	hack/build-tool.sh kustomize sigs.k8s.io/kustomize/kustomize/v5 kustomize=sigs.k8s.io/kustomize/kustomize/v5
	hack/build-tool.sh operator-sdk github.com/operator-framework/operator-sdk \
	  operator-sdk=github.com/operator-framework/operator-sdk/cmd/operator-sdk
	hack/build-tool.sh opm github.com/operator-framework/operator-registry \
	  opm=github.com/operator-framework/operator-registry/cmd/opm

.PHONY: venv
venv: $(VENV)/.installed ## Create .venv with the Python packages pinned in pyproject.toml.
$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON_BOOTSTRAP) -m venv $(VENV)
	$(PY) -m pip install -q -e '.[dev]'
	touch $@

.PHONY: collections
collections: $(COLLECTIONS_DIR)/.installed ## Extract molecule's collections (molecule/requirements.yml) from PyPI's ansible package.
$(COLLECTIONS_DIR)/.installed: $(VENV)/.installed molecule/requirements.yml
	mkdir -p $(CURDIR)/.cache/wheels
	$(PY) -m pip download -q --no-deps -d $(CURDIR)/.cache/wheels '$(ANSIBLE_PACKAGE)'
	rm -rf $(COLLECTIONS_DIR) && mkdir -p $(COLLECTIONS_DIR)
	cd $(COLLECTIONS_DIR) && unzip -q -o $(CURDIR)/.cache/wheels/ansible-$(word 2,$(subst ==, ,$(ANSIBLE_PACKAGE)))-*.whl \
	  $(foreach c,$(COLLECTIONS),'ansible_collections/$(c)/*')
	touch $@

.PHONY: mariadb
mariadb: ## Install Debian's mariadb-server when missing (needs root).
	@command -v mariadbd >/dev/null || command -v /usr/sbin/mariadbd >/dev/null || { \
	  echo "installing mariadb-server with apt-get (root)"; \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -q mariadb-server mariadb-client >/dev/null; }

##@ Local environment (etcd, kube-apiserver, kube-controller-manager, MariaDB on loopback)

.PHONY: localenv-up
localenv-up: tools ## Start the embedded local environment (idempotent).
	$(LOCALENV) up

.PHONY: localenv-down
localenv-down: venv ## Stop exactly what localenv-up started.
	$(LOCALENV) down

.PHONY: localenv-status
localenv-status: venv ## Show what of the local environment runs.
	$(LOCALENV) status

.PHONY: localenv-env
localenv-env: venv ## Print shell exports for the local environment (eval "$$(make -s localenv-env)").
	@$(LOCALENV) env

##@ Development

.PHONY: run
run: tools ## Run the operator in the foreground against KUBECONFIG (or the embedded local environment).
	$(LOCALENV) run-operator --watches-file=./watches.yaml

.PHONY: demo
demo: tools ## Start the local environment, install the CRD and run the operator with the sample applied.
	$(LOCALENV) demo

.PHONY: install
install: tools ## Install the CRD into the cluster in KUBECONFIG.
	$(KUSTOMIZE) build config/crd | $(KUBECTL) apply -f -

.PHONY: uninstall
uninstall: tools ## Remove the CRD from the cluster in KUBECONFIG.
	$(KUSTOMIZE) build config/crd | $(KUBECTL) delete --ignore-not-found -f -

##@ Build (needs Docker, or CONTAINER_TOOL=podman; not run by the tests)

.PHONY: docker-build
docker-build: ## Build the operator image IMG from the Dockerfile.
	$(CONTAINER_TOOL) build -t $(IMG) .

.PHONY: docker-push
docker-push: ## Push the operator image IMG.
	$(CONTAINER_TOOL) push $(IMG)

##@ Deployment

.PHONY: deploy
deploy: go-tools ## Deploy CRD, RBAC and the manager with image IMG to the cluster in KUBECONFIG.
	cd config/manager && $(KUSTOMIZE) edit set image controller=$(IMG)
	$(KUSTOMIZE) build config/default | $(KUBECTL) apply -f -

# Deleting the CRDs deletes every MySQLDatabase, whose finalizers (dropping Delete-policy databases) would
# race the operator's own deletion and leave the CRDs stuck. So undeploy refuses while any MySQLDatabase
# exists (README: Uninstall says how to delete them or keep their databases), deletes the MySQLServers
# while the operator still runs (they own nothing on the servers), then everything deploy applied.
.PHONY: undeploy
undeploy: go-tools ## Remove what deploy applied; refuses while MySQLDatabases exist (README: Uninstall).
	@if [ -n "$$($(KUBECTL) get crd mysqldatabases.piwik.pro --ignore-not-found -o name)" ]; then \
	  left="$$($(KUBECTL) get mysqldatabases.piwik.pro --all-namespaces -o name)" || exit 1; \
	  if [ -n "$$left" ]; then \
	    echo "undeploy: these MySQLDatabases still exist; delete them first (each by its deletionPolicy) or" \
	         "remove their finalizers to keep their databases (README: Uninstall):" >&2; \
	    echo "$$left" >&2; exit 1; fi; fi
	@if [ -n "$$($(KUBECTL) get crd mysqlservers.piwik.pro --ignore-not-found -o name)" ]; then \
	  $(KUBECTL) delete mysqlservers.piwik.pro --all --wait --timeout=120s; fi
	$(KUSTOMIZE) build config/default | $(KUBECTL) delete --ignore-not-found -f -

##@ OLM bundle and catalog

PACKAGE_NAME := external-mysql-operator
# File-based catalogs are rendered here (git-ignored); catalog-build's image is built from it.
CATALOG_DIR ?= $(CURDIR)/.cache/catalog
OPM_VERSION = $(shell sed -n 's|^require github.com/operator-framework/operator-registry ||p' hack/tools/opm/go.mod)

# $(call render-catalog,DIR,BUNDLES): a file-based catalog in DIR of the package with BUNDLES (bundle images,
# or bundle directories, which opm renders without a registry), all in the default channel.
define render-catalog
	rm -rf $(1) && mkdir -p $(1)/$(PACKAGE_NAME)
	$(OPM) init $(PACKAGE_NAME) --default-channel=$(DEFAULT_CHANNEL) --output=yaml > $(1)/$(PACKAGE_NAME)/package.yaml
	$(OPM) render $(2) --output=yaml > $(1)/$(PACKAGE_NAME)/bundles.yaml
	{ printf -- '---\nschema: olm.channel\npackage: $(PACKAGE_NAME)\nname: $(DEFAULT_CHANNEL)\nentries:\n'; \
	  sed -n 's/^name: /  - name: /p' $(1)/$(PACKAGE_NAME)/bundles.yaml; } > $(1)/$(PACKAGE_NAME)/channel.yaml
endef

.PHONY: bundle
bundle: go-tools ## Generate bundle/ and bundle.Dockerfile from config/ (never edit them by hand), then validate.
	$(OPERATOR_SDK) generate kustomize manifests -q
	cd config/manager && $(KUSTOMIZE) edit set image controller=$(IMG)
	$(KUSTOMIZE) build config/manifests | $(OPERATOR_SDK) generate bundle -q --overwrite --version $(VERSION) $(BUNDLE_METADATA_OPTS)
	$(OPERATOR_SDK) bundle validate ./bundle

.PHONY: bundle-validate
bundle-validate: go-tools ## Validate bundle/ (operatorframework suite) and the file-based catalog opm renders from it.
	$(OPERATOR_SDK) bundle validate ./bundle --select-optional suite=operatorframework
	$(call render-catalog,$(CATALOG_DIR)/validate,./bundle)
	$(OPM) validate $(CATALOG_DIR)/validate
	@echo "opm validate: the file-based catalog in $(CATALOG_DIR)/validate is valid"

.PHONY: bundle-build
bundle-build: ## Build the bundle image BUNDLE_IMG from bundle.Dockerfile.
	$(CONTAINER_TOOL) build -f bundle.Dockerfile -t $(BUNDLE_IMG) .

.PHONY: bundle-push
bundle-push: ## Push the bundle image BUNDLE_IMG.
	$(MAKE) docker-push IMG=$(BUNDLE_IMG)

.PHONY: catalog-build
catalog-build: go-tools ## Build the file-based catalog image CATALOG_IMG of BUNDLE_IMG (push that first).
	$(call render-catalog,$(CATALOG_DIR)/catalog,$(BUNDLE_IMG))
	$(OPM) validate $(CATALOG_DIR)/catalog
	rm -f $(CATALOG_DIR)/catalog.Dockerfile
	$(OPM) generate dockerfile $(CATALOG_DIR)/catalog \
	  --base-image=quay.io/operator-framework/opm:$(OPM_VERSION) --builder-image=quay.io/operator-framework/opm:$(OPM_VERSION)
	$(CONTAINER_TOOL) build -f $(CATALOG_DIR)/catalog.Dockerfile -t $(CATALOG_IMG) $(CATALOG_DIR)

.PHONY: catalog-push
catalog-push: ## Push the catalog image CATALOG_IMG.
	$(MAKE) docker-push IMG=$(CATALOG_IMG)

.PHONY: lint
lint: venv collections ## ruff, mypy (strict), yamllint, ansible-lint (production profile) and hadolint.
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/yamllint -s .
	$(VENV)/bin/ansible-lint --profile production
	$(VENV)/bin/hadolint Dockerfile bundle.Dockerfile

.PHONY: test-unit
test-unit: venv collections mariadb ## Unit tests (need nothing running; the SQL module's start a throwaway MariaDB).
	$(PY) -m pytest tests/unit -q

# MYSQL_HOST=... (on make's command line) runs the product tests on that server instead of the local MariaDBs
# (tests/e2e/conftest.py), with MYSQL_PORT (3306), MYSQL_ADMIN_USER, MYSQL_ADMIN_PASSWORD, MYSQL_TLS_MODE
# (Required; Disabled, VerifyCA, VerifyIdentity) and MYSQL_CA_FILE (PEM, for the Verify modes). Only the
# command line counts, since `make localenv-env` exports MYSQL_* for other uses; pytest gets them as E2E_MYSQL_*
# and none of the processes it starts gets the password (hence env -u: make exports command-line variables).
e2e-var = $(if $(filter command line,$(origin $(1))),$($(1)),$(E2E_$(1)))
.PHONY: test-e2e
test-e2e: export E2E_MYSQL_HOST := $(call e2e-var,MYSQL_HOST)
test-e2e: export E2E_MYSQL_PORT := $(call e2e-var,MYSQL_PORT)
test-e2e: export E2E_MYSQL_ADMIN_USER := $(call e2e-var,MYSQL_ADMIN_USER)
test-e2e: export E2E_MYSQL_ADMIN_PASSWORD := $(call e2e-var,MYSQL_ADMIN_PASSWORD)
test-e2e: export E2E_MYSQL_TLS_MODE := $(call e2e-var,MYSQL_TLS_MODE)
test-e2e: export E2E_MYSQL_CA_FILE := $(call e2e-var,MYSQL_CA_FILE)
test-e2e: tools ## End-to-end tests but the fault suite; MYSQL_HOST=... runs them against that server.
	env -u MAKEFLAGS -u MFLAGS -u MYSQL_ADMIN_PASSWORD $(PY) -m pytest tests/e2e -q --ignore=tests/e2e/test_faults.py

# molecule runs ansible-playbook and ansible-config from PATH; the playbooks use bin/ by full path.
MOLECULE := env PATH="$(VENV)/bin:$$PATH" $(VENV)/bin/molecule
MOLECULE_LOCALENV := $(CURDIR)/.cache/molecule-default/localenv

.PHONY: molecule-local
molecule-local: tools ## molecule scenario local: brings its own embedded local environment up and down.
	$(MOLECULE) test -s local

.PHONY: molecule-default
molecule-default: tools ## molecule scenario default against KUBECONFIG (unset: a local environment it starts).
	@if [ -n "$${KUBECONFIG:-}" ]; then echo "molecule default against KUBECONFIG=$$KUBECONFIG"; $(MOLECULE) test; \
	else echo "KUBECONFIG is unset: molecule default against a local environment in $(MOLECULE_LOCALENV)"; \
	  export LOCALENV_STATE_DIR=$(MOLECULE_LOCALENV); trap '$(LOCALENV) down --purge' EXIT; \
	  $(LOCALENV) up && KUBECONFIG=$(MOLECULE_LOCALENV)/kubeconfig $(MOLECULE) test; fi

# N: CRs of the burst scenario (default 100; N=1000 takes about ten minutes more).
.PHONY: bench
bench: tools ## Benchmark the real operator on its own local environment; JSON to BENCH_OUT (else stdout).
	$(if $(N),BENCH_N=$(N)) $(PY) -m testbed.bench

# FAULTS_PROFILE=ci is the reduced form `make test` runs (tests/e2e/test_faults.py); FAULTS_SEED picks the random points.
.PHONY: faults
faults: tools ## Fault and hostile-input suite on its own local environment (FAULTS_SERVER=default|hardened); JSON to FAULTS_OUT.
	$(PY) -m testbed.faults

.PHONY: test
# molecule default runs with KUBECONFIG unset, so that it brings up (and purges) its own local environment.
test: tools lint ## Everything CI runs: lint, unit and e2e tests (RBAC, reduced fault suite), molecule local and default.
	$(PY) -m pytest tests -q
	$(MAKE) --no-print-directory molecule-local
	env -u KUBECONFIG $(MAKE) --no-print-directory molecule-default
