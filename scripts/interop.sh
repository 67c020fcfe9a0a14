#!/usr/bin/env bash
# Runs Pachyderm's official SDK test suite (../shared/interop/run-sdk-suite) against a fresh tusk
# server on a free loopback port with its own empty data directory, then stops the server.
#   usage: scripts/interop.sh [path/to/run-sdk-suite]
set -euo pipefail
cd "$(dirname "$0")/.."
suite=${1:-../shared/interop/run-sdk-suite}
if [ ! -x "$suite" ]; then
  echo "interop: $suite not found or not executable" >&2
  exit 2
fi
py=.venv/bin/python
port=$("$py" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
data=$(mktemp -d)
log="$data/server.log"
.venv/bin/tusk serve --address "127.0.0.1:$port" --data-dir "$data/data" >"$log" 2>&1 &
server=$!
cleanup() { kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; rm -rf "$data"; }
trap cleanup EXIT
for _ in $(seq 1 100); do
  if "$py" -c "import grpc, sys; grpc.channel_ready_future(grpc.insecure_channel('127.0.0.1:$port')).result(timeout=0.2)" 2>/dev/null; then
    break
  fi
  kill -0 "$server" 2>/dev/null || { cat "$log"; echo "interop: the server did not start" >&2; exit 1; }
  sleep 0.1
done
status=0
"$suite" "127.0.0.1:$port" || status=$?
if [ "$status" -ne 0 ]; then
  echo "--- server log (last 40 lines)"; tail -40 "$log"
fi
exit "$status"
