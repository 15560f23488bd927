#!/usr/bin/env bash
# Builds the browser version into target/web/: index.html, the JS glue, the wasm, the worker
# script and a service worker. Serve that folder from any static host (see the README).
# Needs: rustup target wasm32-unknown-unknown, and wasm-bindgen-cli at Cargo.lock's version.
set -euo pipefail
cd "$(dirname "$0")/.."
out=target/web
wb=$(awk '$0 == "name = \"wasm-bindgen\"" {getline; gsub(/[^0-9.]/, ""); print; exit}' Cargo.lock)
if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$wb" ]; then
    echo "web/build.sh: needs wasm-bindgen $wb: cargo install wasm-bindgen-cli --version $wb --no-default-features" >&2
    exit 1
fi
# The library as a cdylib, +simd128 (.cargo/config.toml), in the web profile (no debug info).
cargo rustc --lib --profile web --target wasm32-unknown-unknown --crate-type cdylib
rm -rf "$out"
mkdir -p "$out"
wasm-bindgen --target web --no-typescript --out-dir "$out" --out-name resnet_lab \
    target/wasm32-unknown-unknown/web/resnet_lab.wasm
cp web/index.html web/worker.js web/manifest.json "$out/"
stamp=$(sha256sum "$out/resnet_lab_bg.wasm" | cut -c1-12)
sed "s/@VERSION@/$stamp/" web/sw.js > "$out/sw.js"
size=$(cat "$out"/* | gzip -9 | wc -c)
echo "web/build.sh: wrote $out ($(du -sh "$out" | cut -f1), $((size / 1024)) KiB gzipped)"
