#!/usr/bin/env bash
# Fetches libchdb.so (the ClickHouse engine as an embeddable library) from the npm registry.
# npm verifies the tarball's published integrity hash; nothing is installed into node_modules.
# Usage: fetch-chdb.sh <version> <dest-dir>
set -euo pipefail
version="$1"; dest="$2"
pkg="@chdb/lib-linux-x64-gnu@$version"
mkdir -p "$dest"
tmp="$(mktemp -d "$dest/.fetch.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
echo "fetching $pkg (about 180 MB) ..."
if command -v npm >/dev/null; then
  (cd "$tmp" && npm pack --silent "$pkg" >/dev/null)
else
  curl -fsSL -o "$tmp/chdb.tgz" "https://registry.npmjs.org/@chdb/lib-linux-x64-gnu/-/lib-linux-x64-gnu-$version.tgz"
fi
tar -xzf "$tmp"/*.tgz -C "$tmp" package/libchdb.so
mv -f "$tmp/package/libchdb.so" "$dest/libchdb.so"
echo "chdb $version ready in $dest"
