#!/usr/bin/env bash
# The whole test suite: every crate's tests on the embedded default (SQLite,
# the sandbox behaving like the real DigiLocker), then the gateway's
# integration suite again on PostgreSQL (127.0.0.1:5432, database `test`;
# override with GATEWAY_TEST_PG_URL), and again against the sandbox's
# earlier behaviour.
#
# The later passes run the gateway's integration binary that the first pass
# built, directly (the environment variables only change what the gateway's
# tests do): nothing is compiled again, and the other crates' suites, which
# the variables don't touch, don't run again.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-test-deps.sh
cargo test --workspace --locked
it=$(cargo test --workspace --locked --no-run --message-format=json 2>/dev/null | python3 -c '
import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if (m.get("reason") == "compiler-artifact" and m["target"]["name"] == "it"
            and m["profile"]["test"] and "/crates/gateway" in m["package_id"]):
        print(m["executable"])
')
if [ ! -x "$it" ]; then
  echo "test.sh: cannot find the gateway's integration test binary" >&2
  exit 1
fi
# As cargo runs it: from the package's directory.
cd crates/gateway
echo "gateway integration tests on PostgreSQL"
GATEWAY_TEST_BACKEND=postgres "$it"
# Once more against the sandbox's earlier behaviour (one-line e-Aadhaar, one
# spelling everywhere, refresh tokens that don't rotate): the gateway must
# work with both.
echo "gateway integration tests against the sandbox's earlier behaviour"
GATEWAY_TEST_SANDBOX=legacy "$it"
