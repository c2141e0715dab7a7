#!/usr/bin/env bash
# ansible-test sanity on the collection, placed under ansible_collections/ons/timestream_influxdb
# in a temporary directory (ansible-test insists on that layout). Run from the repository root.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
venv=${VENV:-$repo/.venv}
# shellcheck source=scripts/ansible-test-layout.sh
. "$repo/scripts/ansible-test-layout.sh"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
ansible_test_layout "$work"
ansible_test_home
cd "$collection"
HOME="$ansible_test_home" PATH="$venv/bin:$PATH" "$venv/bin/ansible-test" sanity --venv --python 3.11 \
  --color no "$@"
