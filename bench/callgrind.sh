#!/usr/bin/env bash
# Instructions per request, counted by valgrind's callgrind: repeatable whatever else the
# machine is doing, so a change to the hot path can be judged on a shared box.
#
#   cargo build --profile profiling          # release + symbols
#   bench/callgrind.sh [plain|tls|h2] [PATH] [REQUESTS]
#
# Starts carafe under callgrind on a copy of the bundled site, warms up, zeroes the counters,
# sends REQUESTS (default 2000) keep-alive HTTP/1.1 requests for PATH (default
# /static/js/signup.js) with h2load (10 connections; `h2`: HTTPS HTTP/2, 10 streams at once on
# each), dumps, and prints instructions per request and the top functions (self cost; INCLUSIVE=1
# for inclusive). KEEP=FILE keeps the callgrind dump. Needs valgrind and h2load (nghttp2-client).
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-plain}
path=${2:-/static/js/signup.js}
requests=${3:-2000}
bin=$(realpath target/profiling/carafe)
[ -x "$bin" ] || { echo "callgrind: build it first: cargo build --profile profiling"; exit 2; }
work=$(mktemp -d)
trap 'kill $pid 2>/dev/null || true; rm -rf "$work"' EXIT
cp -r templates static "$work/"
tls_args=(--tls off)
scheme=http
if [ "$mode" = tls ] || [ "$mode" = h2 ]; then
  tls_args=(--tls gen)
  scheme=https
fi
(cd "$work" && exec env RUST_LOG="${RUST_LOG:-info}" valgrind --tool=callgrind --callgrind-out-file="$work/cg.out" \
  --dump-instr=no --separate-threads=no "$bin" serve --port 0 --workers 1 "${tls_args[@]}" \
  >"$work/out" 2>"$work/err") &
pid=$!
for _ in $(seq 1 600); do
  grep -q '^carafe: listening on ' "$work/out" 2>/dev/null && break
  sleep 0.1
done
port=$(sed -n 's/^carafe: listening on [a-z]*:\/\/127.0.0.1:\([0-9]*\)$/\1/p' "$work/out")
url="$scheme://127.0.0.1:$port$path"
h1=(--h1)
[ "$mode" = h2 ] && h1=(-m 10)
h2load "${h1[@]}" -n 200 -c 10 "$url" >/dev/null
callgrind_control -z "$pid" >/dev/null
h2load "${h1[@]}" -n "$requests" -c 10 "$url" | grep -E '^requests:|^status codes:'
callgrind_control -d "$pid" >/dev/null
sleep 1
dump=$(ls -t "$work"/cg.out* | head -1)
[ -n "${KEEP:-}" ] && cp "$dump" "$KEEP"
total=$(callgrind_annotate "$dump" 2>/dev/null | sed -n 's/^\([0-9,]*\) .*PROGRAM TOTALS.*/\1/p' | tr -d ,)
echo "callgrind: $mode $path: $((total / requests)) instructions per request ($total for $requests)"
callgrind_annotate --threshold=100 ${INCLUSIVE:+--inclusive=yes} "$dump" 2>/dev/null | sed -n '/file:function/,$p' | head -${TOP:-45} \
  | cut -c1-160
