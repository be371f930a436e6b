# The operator image: the ansible-operator base image runs watches.yaml; this adds the MySQL driver and
# the project's roles and plugins (requirements.yml lists no collection: the roles call only our modules).
FROM quay.io/operator-framework/ansible-operator:v1.42.2

# Our SQL modules need PyMySQL, which the base image's Pipfile does not carry, with the extras for admin
# accounts on any default auth plugin: `rsa` (cryptography, for MySQL's caching_sha2_password, at the
# patch release PyMySQL asks for; the base image has 46.0.5) and `ed25519` (PyNaCl, for MariaDB's
# ed25519). They go into the system site-packages (root only) of the python3.12 that runs ansible; the
# operator runs as the base image's unprivileged user 1001 (USER_UID).
USER 0
RUN pip3 install --no-cache-dir --root-user-action=ignore \
      'PyMySQL[rsa,ed25519]==1.2.4' cryptography==46.0.7 PyNaCl==1.6.2
USER 1001

# ansible.cfg's collections_path points at the development checkout (.cache/collections, molecule's). In
# the image, collections would live in ~/.ansible/collections; the environment variable wins over the
# file, and ansible-galaxy installs to the same place, so a collection added to requirements.yml is found.
ENV ANSIBLE_COLLECTIONS_PATH=${HOME}/.ansible/collections

COPY requirements.yml ${HOME}/requirements.yml
RUN ansible-galaxy collection install -r "${HOME}/requirements.yml" \
 && chmod -R ug+rwx "${HOME}/.ansible"

COPY watches.yaml ${HOME}/watches.yaml
COPY ansible.cfg ${HOME}/ansible.cfg
COPY roles/ ${HOME}/roles/
COPY playbooks/ ${HOME}/playbooks/
COPY plugins/ ${HOME}/plugins/
# Start-up of the ansible-runner and ansible-playbook that every reconcile runs (ansible_site/: no cyclic
# GC, no interpreter teardown, events posted without requests), on PYTHONPATH below.
COPY ansible_site/ ${HOME}/ansible_site/
# Our plugins' and ansible_site's bytecode, written once here: the copied files are root's, so the operator
# (uid 1001) could not write it, and every reconcile would compile them from source again.
USER 0
RUN python3 -m compileall -q "${HOME}/plugins" "${HOME}/ansible_site"
USER 1001

# ansible-runner starts ansible in its own working directory, where ansible.cfg would not be found.
# PYTHONPATH: ansible_site's sitecustomize and event plugin, for the operator's Python processes only (it
# acts in ansible-runner and ansible-playbook alone; ANSIBLE_SITE_DISABLE=all set on the Deployment turns it off).
ENV ANSIBLE_CONFIG=${HOME}/ansible.cfg \
    PYTHONPATH=${HOME}/ansible_site
