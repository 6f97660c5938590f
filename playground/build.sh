#!/usr/bin/env bash
# Rebuilds playground/dist/ (committed; the binary embeds it, so `cargo build` needs no npm) from the
# locked npm packages: npm ci, then vite build. `--check` builds into a temporary directory instead
# and fails if the result differs from the committed dist/ (the build is reproducible).
set -euo pipefail
cd "$(dirname "$0")"

npm ci --no-audit --no-fund

if [[ "${1:-}" == "--check" ]]; then
  out="$(mktemp -d)"
  trap 'rm -rf "$out"' EXIT
  npx --no-install vite build --logLevel warn --outDir "$out"
  if diff -r dist "$out" >/dev/null; then
    echo "playground/dist matches a fresh build"
  else
    diff -rq dist "$out" || true
    echo "playground/dist differs from a fresh build: run playground/build.sh and commit dist/"
    exit 1
  fi
  exit 0
fi

npx --no-install vite build
echo "playground/dist: $(du -sh dist | cut -f1) in $(find dist -type f | wc -l) files"
