#!/usr/bin/env bash
# The whole test suite: every crate's tests on the embedded default (SQLite,
# the sandbox behaving like the real DigiLocker), then the gateway's
# integration suite again on PostgreSQL (127.0.0.1:5432, database `test`;
# override with GATEWAY_TEST_PG_URL), and again against the sandbox's
# earlier behaviour.
#
# Everything is compiled once. The gateway's integration binary then runs
# three times at once: in the first pass (cargo test, every crate), and
# directly with the variables of the PostgreSQL and legacy passes (they only
# change what the gateway's tests do; the other crates' suites don't read
# them). Most of those tests wait on sockets, browsers and timers, so the
# three share the cores well. Each later pass's output is printed when it
# ends.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-test-deps.sh
cargo test --workspace --locked --no-run
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
logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT
# As cargo runs it: from the package's directory. The legacy pass is the
# sandbox's earlier behaviour (one-line e-Aadhaar, one spelling everywhere,
# refresh tokens that don't rotate): the gateway must work with both.
(cd crates/gateway && GATEWAY_TEST_BACKEND=postgres "$it" >"$logs/postgres" 2>&1) &
postgres=$!
(cd crates/gateway && GATEWAY_TEST_SANDBOX=legacy "$it" >"$logs/legacy" 2>&1) &
legacy=$!
failed=0
cargo test --workspace --locked || failed=1
for pass in postgres legacy; do
  pid=${!pass}
  if wait "$pid"; then
    echo "gateway integration tests, $pass pass: $(grep '^test result' "$logs/$pass" | tail -1)"
  else
    echo "gateway integration tests, $pass pass FAILED:" >&2
    cat "$logs/$pass" >&2
    failed=1
  fi
done
exit "$failed"
