#!/usr/bin/env bash
# `ansible-test integration --venv` on the collection's targets (tests/integration/targets/),
# against the AWS sandbox at $SANDBOX_ENDPOINT (scripts/test.sh exports it), or else one started
# here for this run and stopped on exit. Arguments go to ansible-test, for example a target name:
#   scripts/integration.sh                       every target
#   scripts/integration.sh influx_bucket -v      one target, verbose
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
venv=${VENV:-$repo/.venv}
# shellcheck source=scripts/ansible-test-layout.sh
. "$repo/scripts/ansible-test-layout.sh"

# The copy of the collection lives on between runs, so that ansible-test's virtualenv (built in
# its tests/output, about a minute) is built once per checkout.
work="$repo/.cache/ansible-test-integration"
mkdir -p "$work"
exec 9>"$work.lock"
flock -n 9 || { echo "another scripts/integration.sh is using $work" >&2; exit 1; }
state=
cleanup() {
  if [ -n "$state" ]; then
    (cd "$repo" && "$venv/bin/python" -m sandbox stop --state-dir "$state" >/dev/null 2>&1) || true
    rm -rf "$state"
  fi
}
trap cleanup EXIT INT TERM

if [ -z "${SANDBOX_ENDPOINT:-}" ]; then
  state=$(mktemp -d "${TMPDIR:-/tmp}/ons-sandbox.XXXXXX")
  SANDBOX_ENDPOINT=$(cd "$repo" && "$venv/bin/python" -m sandbox start --port 0 --state-dir "$state" \
    --delay "${SANDBOX_DELAY:-0.5}")
fi

ansible_test_layout "$work"
ansible_test_home
# ansible-test's AWS cloud configuration (every key becomes a variable of the targets), from the
# template, with the sandbox's values; only in the copy, never in the checkout.
sed -e "s|@ACCESS_KEY|testing|" -e "s|@SECRET_KEY|testing|" -e "s|@REGION|us-east-1|" \
  -e "s|@ENDPOINT|$SANDBOX_ENDPOINT|" -e "s|@INFLUXDB_SCHEME|http|" \
  "$repo/tests/integration/cloud-config-aws.ini.template" \
  >"$collection/tests/integration/cloud-config-aws.ini"

cd "$collection"
HOME="$ansible_test_home" PATH="$venv/bin:$PATH" "$venv/bin/ansible-test" integration --venv \
  --python 3.11 --color no "$@"
