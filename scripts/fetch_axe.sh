#!/usr/bin/env bash
# axe-core, the accessibility rules the browser tests run on every page, from
# the npm registry: one pinned version, its tarball checked against the pinned
# SHA-512, kept in a git-ignored cache. The app never serves it; the tests inject it.
#   scripts/fetch_axe.sh           download when missing (quiet when cached)
#   AXE_CACHE=dir scripts/fetch_axe.sh
set -eu
VERSION=4.14.1
INTEGRITY="sha512-FHfa+lmNjQZfJz1q8wKqIDwC6DExcHt/pkjNQb09a3NPjCKg2rhu5qb2S4r76ASyFNNtuFooJpZe37OgudVGtQ=="
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
CACHE="${AXE_CACHE:-$ROOT/.cache/axe-core}"
TARGET="$CACHE/axe.min.js"

# The file names its version on its first line: a new pin downloads again.
head -n 1 "$TARGET" 2>/dev/null | grep -qx "/\*! axe v$VERSION" && exit 0
command -v npm >/dev/null || { echo "fetch_axe: npm is missing; install Node.js (apt-get install npm)" >&2; exit 1; }
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
if ! (cd "$work" && npm pack --silent "axe-core@$VERSION" >/dev/null 2>"$work/npm.log"); then
  echo "fetch_axe: npm pack axe-core@$VERSION failed (no access to the npm registry?):" >&2
  cat "$work/npm.log" >&2
  exit 1
fi
tarball="$work/axe-core-$VERSION.tgz"
got="sha512-$(node -e 'process.stdout.write(require("crypto").createHash("sha512").update(require("fs").readFileSync(process.argv[1])).digest("base64"))' "$tarball")"
if [ "$got" != "$INTEGRITY" ]; then
  echo "fetch_axe: axe-core-$VERSION.tgz has $got, expected $INTEGRITY" >&2
  exit 1
fi
tar -xzf "$tarball" -C "$work" package/axe.min.js
mkdir -p "$CACHE"
mv "$work/package/axe.min.js" "$TARGET.part"
mv "$TARGET.part" "$TARGET"
echo "fetch_axe: axe-core $VERSION in ${TARGET#"$ROOT"/}"
