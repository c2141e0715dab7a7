#!/usr/bin/env bash
# Debian packages the tests use, installed when missing (needs root, as in CI):
#   influxdb    InfluxDB 1.6.7, the reference line-protocol parser for the differential test
#   the shellcheck package, so ansible-test sanity checks our shell scripts instead of skipping them
# Debian's influxdb package may try to start its own daemon: we stop nothing by name and start
# our own influxd on 127.0.0.1 in the tests; policy-rc.d keeps the package from starting one.
set -euo pipefail
need=()
command -v influxd >/dev/null 2>&1 || need+=(influxdb)
command -v shellcheck >/dev/null 2>&1 || need+=(shellcheck)
[ ${#need[@]} -gt 0 ] || exit 0
if [ "$(id -u)" != 0 ]; then
  echo "system-deps: not root, not installing ${need[*]} (the tests that need them skip)" >&2
  exit 0
fi
policy=/usr/sbin/policy-rc.d
created_policy=0
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' > "$policy" && chmod +x "$policy" && created_policy=1
fi
trap '[ $created_policy = 1 ] && rm -f "$policy"' EXIT
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
