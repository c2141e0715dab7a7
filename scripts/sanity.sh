#!/usr/bin/env bash
# ansible-test sanity on the collection, placed under ansible_collections/ons/timestream_influxdb
# in a temporary directory (ansible-test insists on that layout). Run from the repository root.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
venv=${VENV:-$repo/.venv}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
dest="$work/ansible_collections/ons/timestream_influxdb"
mkdir -p "$dest"
# Copy what the collection is made of: git-tracked and new untracked files, without the venv,
# the in-tree collections symlink, the sandbox, benchmarks or caches.
(cd "$repo" && git ls-files --cached --others --exclude-standard -z \
  | grep -zv -E '^(collections|sandbox|bench|tests/sandbox|\.venv|\.ansible|\.sandbox|\.cache)/' \
  | xargs -0 -I{} sh -c 'test -e "{}" && printf "%s\0" "{}"' \
  | tar --null -T - -cf -) | tar -xf - -C "$dest"
# The collections ours depends on, next to it, as ansible-galaxy would install them (their doc
# fragments and module_utils are needed by validate-modules and the import test).
site=$("$venv/bin/python" -c 'import ansible_collections.amazon.aws as m, pathlib; print(pathlib.Path(m.__path__[0]).parents[1])')
for dep in amazon/aws community/aws; do
  mkdir -p "$work/ansible_collections/$dep"
  cp -r "$site/$dep/." "$work/ansible_collections/$dep/"
done
# ansible-test needs a git repository or it treats every file as new; a throwaway one is enough.
git -C "$dest" init -q && git -C "$dest" add -A && \
  git -C "$dest" -c user.email=ci@invalid -c user.name=ci commit -qm sanity
# ansible-test --venv downloads a pip bootstrap script from a host unreachable here; give it the
# stand-in, in a HOME of our own so nothing lands in the real ~/.ansible.
home="$repo/.cache/ansible-test-home"
mkdir -p "$home/.ansible/test/cache"
for v in 24_2 24_3 25_0 25_1 25_2; do
  cp "$repo/scripts/get_pip_standin.py" "$home/.ansible/test/cache/get_pip_$v.py"
done
cd "$dest"
HOME="$home" PATH="$venv/bin:$PATH" "$venv/bin/ansible-test" sanity --venv --python 3.11 \
  --color no "$@"
