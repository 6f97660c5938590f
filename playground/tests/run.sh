#!/usr/bin/env bash
# Browser test of the playground, end to end: builds the binary if needed, starts
# `stack-gateway serve --demo` on a free port with a fresh DATA_DIR, mints a sign-in link with
# `stack-gateway token --print-link` (same DATA_DIR and BIND_ADDR, so the same dev secret), runs
# playground/tests/browser.mjs in Debian's headless Chromium, stops the server and exits with the
# test's status. Installs what it needs when missing: chromium (apt-get), node_modules (npm ci).
#
#   SCREENSHOT=path   where the screenshot goes (default target/playground-browser/playground.png)
#   SUBSCRIPTIONS=1   also run the job-progress subscription (CI runs it)
set -euo pipefail
cd "$(dirname "$0")/../.."
root="$(pwd)"

say() { printf 'browser-test: %s\n' "$*"; }

as_root() {
  if [[ "$(id -u)" == 0 ]]; then "$@"; else sudo -n "$@"; fi
}

if [[ ! -x /usr/bin/chromium ]]; then
  say "installing Debian's chromium"
  export DEBIAN_FRONTEND=noninteractive
  as_root apt-get install -y -q chromium >/dev/null \
    || { as_root apt-get update -q >/dev/null && as_root apt-get install -y -q chromium >/dev/null; }
fi

if [[ ! -f playground/node_modules/.package-lock.json \
   || playground/package-lock.json -nt playground/node_modules/.package-lock.json ]]; then
  say "npm ci in playground/"
  (cd playground && npm ci --no-audit --no-fund --loglevel=error)
fi

cargo build --quiet
bin="${CARGO_TARGET_DIR:-$root/target}/debug/stack-gateway"

port="$(node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})")"
data_dir="$(mktemp -d)"
log="$data_dir/server.log"
server_pid=""

cleanup() {
  if [[ -n "$server_pid" ]] && kill -0 "$server_pid" 2>/dev/null; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$data_dir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# A clean environment: the caller's DATABASE_URL, PUBLIC_URL, secrets or upstream URLs must not
# leak into the test server; the dev secret is generated into (and read from) $data_dir.
gateway=(env -i PATH="$PATH" HOME="${HOME:-/tmp}" NO_COLOR=1
  RUST_LOG="${RUST_LOG:-info,sqlx=warn,apalis=warn}" DATA_DIR="$data_dir"
  BIND_ADDR="127.0.0.1:$port" "$bin")

# Started directly (env execs the binary), so $! is the server's own pid and cleanup stops it.
"${gateway[@]}" serve --demo >"$log" 2>&1 &
server_pid=$!
base_url="http://127.0.0.1:$port"
for _ in $(seq 1 120); do
  if ! kill -0 "$server_pid" 2>/dev/null; then
    say "the server exited during start-up:"; tail -n 30 "$log"; exit 1
  fi
  curl -fsS -o /dev/null "$base_url/healthz" 2>/dev/null && break
  sleep 0.5
done
curl -fsS -o /dev/null "$base_url/healthz" || { say "the server did not come up:"; tail -n 30 "$log"; exit 1; }
say "server on $base_url (DATA_DIR $data_dir)"

signin_url="$("${gateway[@]}" token --print-link)"
screenshot="${SCREENSHOT:-$root/target/playground-browser/playground.png}"

status=0
output="$data_dir/browser.out"
BASE_URL="$base_url" SIGNIN_URL="$signin_url" SCREENSHOT="$screenshot" \
  SUBSCRIPTIONS="${SUBSCRIPTIONS:-0}" timeout 600 node playground/tests/browser.mjs \
  | tee "$output" || status=$?   # pipefail: node's status

summary="$(grep -E '^browser: [0-9]+ passed, [0-9]+ failed' "$output" | tail -n 1 || true)"
if [[ "$status" != 0 ]]; then
  say "server log (last 30 lines):"
  tail -n 30 "$log"
  echo "${summary:-browser: 0 passed, 1 failed}"
elif [[ -z "$summary" ]]; then
  echo "browser: 0 passed, 1 failed"
  status=1
fi
exit "$status"
