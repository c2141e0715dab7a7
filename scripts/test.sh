#!/usr/bin/env bash
# Every gate of `make test`, in one place. The AWS sandbox (with its InfluxDB v2 servers) is
# started on a free port for this run only and stopped on exit, whatever happens.
#   scripts/test.sh                 all gates
#   scripts/test.sh pytest molecule only those
set -uo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo" || exit 1
venv=${VENV:-$repo/.venv}
export PATH="$venv/bin:$PATH"
export ANSIBLE_HOME="$repo/.ansible" ANSIBLE_CONFIG="$repo/ansible.cfg"
export ANSIBLE_COLLECTIONS_PATH="$repo/collections"
export PYTHONDONTWRITEBYTECODE=1

gates=("$@")
[ ${#gates[@]} -gt 0 ] || gates=(lint changelog sanity molecule pytest integration)

state=$(mktemp -d "${TMPDIR:-/tmp}/ons-sandbox.XXXXXX")
port=$(python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cleanup() {
  python -m sandbox stop --state-dir "$state" >/dev/null 2>&1 || true
  rm -rf "$state"
}
trap cleanup EXIT INT TERM
python -m sandbox start --port "$port" --state-dir "$state" --delay "${SANDBOX_DELAY:-0.5}" || exit 1
export SANDBOX_ENDPOINT="http://127.0.0.1:$port" SANDBOX_PORT="$port" SANDBOX_STATE_DIR="$state"

gate_lint() { ansible-lint --profile production; }
gate_changelog() { antsibull-changelog lint; }
gate_sanity() { scripts/sanity.sh; }
gate_molecule() {
  local s rc=0
  for s in extensions/molecule/*/molecule.yml; do
    s=$(basename "$(dirname "$s")")
    molecule test -s "$s" || rc=1
  done
  return $rc
}
# Two workers (2 cores), each with a sandbox of its own; the session platform's tests stay on one worker.
gate_pytest() { pytest -p no:cacheprovider -ra -n "${PYTEST_WORKERS:-2}" --dist loadgroup tests; }
gate_integration() { scripts/integration.sh; }

passed=0 failed=0 failures=()
for g in "${gates[@]}"; do
  echo "=== gate: $g"
  start=$(date +%s)
  if "gate_$g"; then passed=$((passed + 1)); r=ok; else failed=$((failed + 1)); failures+=("$g"); r=FAILED; fi
  echo "=== gate: $g $r in $(( $(date +%s) - start ))s"
done
[ $failed -eq 0 ] || echo "failed gates: ${failures[*]}"
echo "gates: $passed passed, $failed failed"
[ $failed -eq 0 ]
