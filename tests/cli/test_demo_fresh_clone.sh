#!/usr/bin/env bash
# test_demo_fresh_clone.sh SOURCE_DIR -- the README's first command from a
# fresh clone: `git clone` the repository's committed state, run
# scripts/demo.sh with SG_DEMO_SELFCHECK=1 (install, build, start the default
# assistant with the example deployments, ask in French and in German through
# the HTTP API, check the answers' languages, stop). Skips (77) when the
# source is not a git checkout.
set -u
src=$1
git -C "$src" rev-parse --git-dir >/dev/null 2>&1 || { echo "SKIP: $src is not a git checkout"; exit 77; }
tmp=$(mktemp -d /tmp/sg-fresh-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
git clone -q "$src" "$tmp/stargate" || exit 1
# the npm packages the tests installed are reused, not downloaded again
for d in tests/serve/js tests/web; do
  [ -d "$src/$d/node_modules" ] && cp -a "$src/$d/node_modules" "$tmp/stargate/$d/"
done
cd "$tmp/stargate"
echo "fresh clone of $(git log -1 --format='%h %s' | cut -c1-80)"
SG_DEMO_SELFCHECK=1 bash scripts/demo.sh
