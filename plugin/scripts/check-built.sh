#!/usr/bin/env bash
# The bundle is committed so that installing crosscheck needs no Node.js; this fails when
# it is not byte for byte what plugin/src builds to now.
set -euo pipefail
cd "$(dirname "$0")/.."
committed=../src/crosscheck/checks/static/crosscheck-checks.js
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
npm run --silent bundle -- "--outfile=$tmp/crosscheck-checks.js"
if ! cmp -s "$tmp/crosscheck-checks.js" "$committed"; then
  echo 'src/crosscheck/checks/static/crosscheck-checks.js is stale:' \
    'run `npm --prefix plugin run build` and commit it' >&2
  exit 1
fi
