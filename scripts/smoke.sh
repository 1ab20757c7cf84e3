#!/usr/bin/env bash
# Smoke test of the README quick start with real curl: `carafe serve --tls gen` in the
# repository root, then the curl commands README shows. Usage: scripts/smoke.sh [BINARY]
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-target/release/carafe}
out=$(mktemp)
"$bin" serve --tls gen >"$out" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true; rm -f "$out"' EXIT

for _ in $(seq 1 100); do
  grep -q '^carafe: listening on ' "$out" && break
  kill -0 $pid 2>/dev/null || { cat "$out"; echo "smoke: carafe exited early"; exit 1; }
  sleep 0.1
done
grep '^carafe: ' "$out"
url=https://localhost:8443

body=$(curl -fsS --cacert certs/carafe-dev.crt "$url/signup")
grep -q 'id="signup-form"' <<<"$body" || { echo "smoke: /signup did not render the form"; exit 1; }
version=$(curl -fsS --http2 --cacert certs/carafe-dev.crt -o /dev/null -w '%{http_version}' "$url/")
[ "$version" = 2 ] || { echo "smoke: expected HTTP/2, got $version"; exit 1; }
ctype=$(curl -fsS --cacert certs/carafe-dev.crt -o /dev/null -w '%{content_type}' "$url/static/js/signup.js")
[[ $ctype == text/javascript* ]] || { echo "smoke: signup.js served as $ctype"; exit 1; }
echo "smoke: /signup rendered, HTTP/$version, signup.js is $ctype"

kill -TERM $pid
wait $pid && echo "smoke: clean exit after SIGTERM"
