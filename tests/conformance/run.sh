#!/usr/bin/env bash
# GraphQL-over-HTTP conformance, end to end: builds the binary if needed, starts
# `stack-gateway serve` on a free port with a fresh DATA_DIR, runs every server audit of the
# `graphql-http` package (the specification's reference implementation, tests/conformance/audit.mjs)
# against /graphql, then tests/conformance/ws.mjs (graphql-ws, the graphql-transport-ws reference
# client: subscribe, receive, complete, and the 4403/4408 close codes) against /graphql/ws on the
# demo data, stops the server and exits non-zero on any failed MUST or SHOULD or WebSocket check.
# The audits send `{ __typename }`, which our server answers without signing in, so no
# sign-in step is needed. Installs node_modules (npm ci) when missing.
set -euo pipefail
cd "$(dirname "$0")/../.."
root="$(pwd)"

say() { printf 'conformance: %s\n' "$*"; }

if [[ ! -f tests/conformance/node_modules/.package-lock.json \
   || tests/conformance/package-lock.json -nt tests/conformance/node_modules/.package-lock.json ]]; then
  say "npm ci in tests/conformance/"
  (cd tests/conformance && npm ci --no-audit --no-fund --loglevel=error)
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
# leak into the test server.
gateway=(env -i PATH="$PATH" HOME="${HOME:-/tmp}" NO_COLOR=1 WS_INIT_TIMEOUT_MS=1500
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

status=0
GRAPHQL_URL="$base_url/graphql" timeout 300 node tests/conformance/audit.mjs || status=$?
# graphql-transport-ws with the protocol's own client (graphql-ws) on the demo data.
token="$("${gateway[@]}" token)"
WS_URL="ws://127.0.0.1:$port/graphql/ws" GRAPHQL_URL="$base_url/graphql" TOKEN="$token" \
  timeout 120 node tests/conformance/ws.mjs || status=$?
if [[ "$status" != 0 ]]; then
  say "server log (last 30 lines):"
  tail -n 30 "$log"
fi
exit "$status"
