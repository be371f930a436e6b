#!/usr/bin/env bash
# Runs a command in its own network and mount namespaces (root only): a private loopback and a
# private /tmp/ansible-operator, so that a second ansible-operator (its ports 8888/5050 and runner
# folder are hard-coded) can run beside another one on the same machine.
# Usage: hack/isolated.sh <command> [args...]
set -euo pipefail
private="$(mktemp -d /tmp/isolated-ansible-operator.XXXXXX)"
exec unshare --net --mount --propagation private -- bash -c '
  set -euo pipefail
  ip link set lo up
  mkdir -p /tmp/ansible-operator
  mount --bind "$0" /tmp/ansible-operator
  exec "$@"
' "$private" "$@"
