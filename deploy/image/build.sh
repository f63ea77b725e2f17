#!/usr/bin/env bash
# Builds the control plane's image from this checkout: deploy/image/build.sh [TAG]
# (default localhost/clawpod:latest, the name deploy/kustomization.yaml maps `clawpod` to).
# Needs `npm run build` first and the agent image (clawpod image build). The CLI is one esbuild
# bundle; better-sqlite3 (native, built for this Node) is the only package it loads from node_modules.
set -euo pipefail
TAG=${1:-localhost/clawpod:latest}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
[[ -f "$ROOT/dist/bundle/main.js" ]] || { echo "deploy/image/build.sh: run npm run build first" >&2; exit 2; }
CTX=$(mktemp -d)
trap 'rm -rf "$CTX"' EXIT
mkdir -p "$CTX/app/node_modules" "$CTX/app/dist" "$CTX/app/bin"
cp "$ROOT/deploy/image/Containerfile" "$CTX/"
cp "$ROOT/package.json" "$CTX/app/"
cp "$ROOT/bin/clawpod.js" "$CTX/app/bin/"
cp -r "$ROOT/dist/bundle" "$CTX/app/dist/"
for m in better-sqlite3 bindings file-uri-to-path; do cp -r "$ROOT/node_modules/$m" "$CTX/app/node_modules/"; done
# the addon's build folder holds object files and a test extension it does not need at run time
find "$CTX/app/node_modules/better-sqlite3" -name '*.o' -o -name 'test_extension.node' -o -name deps -prune | xargs rm -rf
podman build -q -t "$TAG" "$CTX" >/dev/null
echo "$TAG"
