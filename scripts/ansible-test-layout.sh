# shellcheck shell=bash
# Sourced by scripts/sanity.sh and scripts/integration.sh: what every `ansible-test` run of this
# collection needs. Expects $repo (the checkout) and $venv (its virtualenv).
#
#   ansible_test_layout WORK   copies the collection to WORK/ansible_collections/ons/timestream_influxdb
#                              (ansible-test insists on that layout), with amazon.aws and community.aws
#                              next to it, and sets $collection to that directory; a tests/output
#                              left there by an earlier run (ansible-test's virtualenvs) is kept
#   ansible_test_home          a HOME of our own holding the pip bootstrap stand-in that `--venv`
#                              needs; sets $ansible_test_home

ansible_test_layout() {
  local work=$1 site dep
  collection="$work/ansible_collections/ons/timestream_influxdb"
  rm -rf "$work/output.keep"
  if [ -d "$collection/tests/output" ]; then mv "$collection/tests/output" "$work/output.keep"; fi
  rm -rf "$work/ansible_collections"
  mkdir -p "$collection"
  # Copy what the collection is made of: git-tracked and new untracked files, without the venv,
  # the in-tree collections symlink, the sandbox, benchmarks or caches.
  (cd "$repo" && git ls-files --cached --others --exclude-standard -z \
    | grep -zv -E '^(collections|sandbox|bench|tests/sandbox|\.venv|\.ansible|\.sandbox|\.cache)/' \
    | xargs -0 -I{} sh -c 'test -e "{}" && printf "%s\0" "{}"' \
    | tar --null -T - -cf -) | tar -xf - -C "$collection"
  # The collections ours depends on, next to it, as ansible-galaxy would install them (their doc
  # fragments, module_utils and action groups are needed by the sanity tests and the targets).
  site=$("$venv/bin/python" -c 'import ansible_collections.amazon.aws as m, pathlib; print(pathlib.Path(m.__path__[0]).parents[1])')
  for dep in amazon/aws community/aws; do
    mkdir -p "$work/ansible_collections/$dep"
    cp -r "$site/$dep/." "$work/ansible_collections/$dep/"
  done
  # ansible-test needs a git repository or it treats every file as new; a throwaway one is enough.
  git -C "$collection" init -q && git -C "$collection" add -A && \
    git -C "$collection" -c user.email=ci@invalid -c user.name=ci commit -qm ansible-test
  if [ -d "$work/output.keep" ]; then mv "$work/output.keep" "$collection/tests/output"; fi
}

ansible_test_home() {
  # ansible-test --venv downloads a pip bootstrap script from a host unreachable here; give it the
  # stand-in, in a HOME of our own so nothing lands in the real ~/.ansible (nor ~/.aws is seen).
  local v
  ansible_test_home="$repo/.cache/ansible-test-home"
  mkdir -p "$ansible_test_home/.ansible/test/cache"
  for v in 24_2 24_3 25_0 25_1 25_2; do
    cp "$repo/scripts/get_pip_standin.py" "$ansible_test_home/.ansible/test/cache/get_pip_$v.py"
  done
}
