#!/usr/bin/env bash
# Property-based tests of the running gateway against its own /openapi.json
# (schemathesis, from PyPI): no server errors, every answer's status, content
# type, headers and body as the document says. Bounded: a few hundred cases.
# Starts the debug gateway in sandbox mode on a free port with a fresh data
# directory, waits for the catalogue, creates one request so the {id}
# endpoints are reached, runs, and stops the gateway.
set -euo pipefail
cd "$(dirname "$0")/.."
venv="${SCHEMATHESIS_VENV:-target/schemathesis-venv}"
if [ ! -x "$venv/bin/schemathesis" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "schemathesis>=4,<5"
fi
cargo build --locked -p gateway --bin digilocker-gateway
work=$(mktemp -d)
log="$work/gateway.log"
# No per-client rate limit here: schemathesis calls faster than the default
# 50/s, and cases answered 429 would check nothing of their handler. (429 is
# documented on every operation; a unit test of the document holds it.)
GATEWAY_RATE_LIMIT_PER_SECOND=0 target/debug/digilocker-gateway serve --listen 127.0.0.1:0 --data-dir "$work/data" >"$log" 2>&1 &
gateway=$!
trap 'kill "$gateway" 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 1 600); do
  addr=$(sed -n 's/^ *listening on //p' "$log" | head -n 1)
  [ -n "$addr" ] && break
  sleep 0.2
done
[ -n "${addr:-}" ] || { echo "the gateway did not start:"; cat "$log"; exit 1; }
base="http://$addr"
read -r client secret instance < <(python3 -c '
import json, sys
c = json.load(open(sys.argv[1]))
print(c["clientId"], c["clientSecret"], c["productInstanceId"])' "$work/data/sandbox-credentials.json")
auth=(-H "x-client-id: $client" -H "x-client-secret: $secret" -H "x-product-instance-id: $instance")
# The catalogue is built in the background: 503 until then.
for _ in $(seq 1 600); do
  code=$(curl -s -o /dev/null -w '%{http_code}' "${auth[@]}" "$base/api/digilocker/documents?docType=NONE")
  [ "$code" = 200 ] && break
  sleep 0.5
done
[ "$code" = 200 ] || { echo "the catalogue was not built in time"; exit 1; }
id=$(curl -s "${auth[@]}" -H 'content-type: application/json' \
  -d "{\"redirectUrl\": \"$base/demo/done\"}" "$base/api/digilocker" |
  python3 -c 'import json, sys; print(json.load(sys.stdin)["id"])')
cat >"$work/schemathesis.toml" <<TOML
[parameters]
"path.id" = "$id"
TOML
"$venv/bin/schemathesis" --config-file "$work/schemathesis.toml" run "$base/openapi.json" \
  "${auth[@]}" \
  --checks not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance \
  --phases examples,coverage,fuzzing \
  --max-examples 25 --workers 1 --seed 1 --no-color --request-timeout 30
