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
gate_pytest() { pytest -p no:cacheprovider -ra -n "${PYTEST_WORKERS:-2}" --dist loadgroup --no-loadscope-reorder tests; }
gate_integration() { scripts/integration.sh; }

# Two lanes at once (2 cores; TEST_LANES=1 for one after the other): pytest (itself on two workers)
# in one, the other gates in turn in the other. A gate's output goes to its log, printed whole when
# the gate ends, so the lanes' outputs never interleave.
logs=$(mktemp -d "${TMPDIR:-/tmp}/ons-gates.XXXXXX")
trap 'cleanup; rm -rf "$logs"' EXIT INT TERM
run_gate() {
  local g=$1 start rc
  echo "=== gate: $g started"
  start=$(date +%s)
  "gate_$g" >"$logs/$g.log" 2>&1
  rc=$?
  echo $rc >"$logs/$g.rc"
  {
    flock 9
    echo "=== gate: $g output"
    cat "$logs/$g.log"
    echo "=== gate: $g $([ $rc -eq 0 ] && echo ok || echo FAILED) in $(( $(date +%s) - start ))s"
  } 9>"$logs/print.lock"
}
lane() { local g; for g in "$@"; do run_gate "$g"; done; }

first=() rest=()
for g in "${gates[@]}"; do
  if [ "$g" = pytest ] && [ "${TEST_LANES:-2}" -gt 1 ] && [ ${#gates[@]} -gt 1 ]; then first+=("$g"); else rest+=("$g"); fi
done
if [ ${#first[@]} -gt 0 ]; then
  lane "${first[@]}" &
  lane_pid=$!
  lane "${rest[@]}"
  wait "$lane_pid"
else
  lane "${rest[@]}"
fi

passed=0 failed=0 failures=()
for g in "${gates[@]}"; do
  if [ "$(cat "$logs/$g.rc" 2>/dev/null)" = 0 ]; then passed=$((passed + 1)); else failed=$((failed + 1)); failures+=("$g"); fi
done
[ $failed -eq 0 ] || echo "failed gates: ${failures[*]}"
echo "gates: $passed passed, $failed failed"
[ $failed -eq 0 ]
