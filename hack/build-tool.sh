#!/usr/bin/env bash
# Builds one pinned Go tool from its wrapper module in hack/tools/<name>/ into bin/.
# Usage: hack/build-tool.sh <wrapper-dir> <module-whose-version-is-stamped> <binary>=<package>...
# The version comes from the wrapper's go.mod (the one place that pins it); a stamp file
# bin/.<wrapper-dir>.version makes a second run a no-op.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
name="$1" module="$2"; shift 2
wrapper="$root/hack/tools/$name"
bin="$root/bin"
mkdir -p "$bin"

version="$(cd "$wrapper" && go list -m -f '{{.Version}}' "$module")"
stamp="$bin/.$name.version"
want="$version $(sha256sum "$wrapper/go.mod" "$wrapper/go.sum" | sha256sum | cut -c1-16)"
missing=0
for target in "$@"; do [[ -x "$bin/${target%%=*}" ]] || missing=1; done
if [[ $missing == 0 && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
  echo "$name $version is up to date"
  exit 0
fi

major_minor() { local v="${1#v}"; echo "${v%%.*} $(echo "$v" | cut -d. -f2)"; }
ldflags="-s -w"
tags=""
case "$name" in
  kubernetes)
    read -r major minor < <(major_minor "$version")
    for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
      ldflags+=" -X $pkg.gitVersion=$version -X $pkg.gitMajor=$major -X $pkg.gitMinor=$minor"
      ldflags+=" -X $pkg.gitTreeState=clean"
    done ;;
  ansible-operator)
    p=github.com/operator-framework/ansible-operator-plugins/internal/version
    ldflags+=" -X $p.Version=$version -X $p.GitVersion=$version" ;;
  operator-sdk|opm)
    # containers/image signs with gpgme through cgo unless told to use the pure-Go OpenPGP code.
    tags="containers_image_openpgp,exclude_graphdriver_btrfs,exclude_graphdriver_devicemapper" ;;&
  operator-sdk)
    p=github.com/operator-framework/operator-sdk/internal/version
    ldflags+=" -X $p.Version=$version -X $p.GitVersion=$version -X $p.ImageVersion=$version"
    ldflags+=" -X $p.KubernetesVersion=v1.33.0" ;;
  opm)
    ldflags+=" -X github.com/operator-framework/operator-registry/cmd/opm/version.opmVersion=$version" ;;
  kustomize)
    ldflags+=" -X sigs.k8s.io/kustomize/api/provenance.version=kustomize/$version" ;;
esac

echo "building $name $version ($*)"
start=$SECONDS
for target in "$@"; do
  (cd "$wrapper" && go build -tags "$tags" -ldflags "$ldflags" -o "$bin/${target%%=*}" "${target#*=}")
done
echo "$want" > "$stamp"
echo "built $name $version in $((SECONDS - start))s"
