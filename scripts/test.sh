#!/usr/bin/env bash
# The whole test suite: every crate's tests on the embedded default (SQLite,
# the sandbox behaving like the real DigiLocker), then the gateway's
# integration suite again on PostgreSQL (127.0.0.1:5432, database `test`;
# override with GATEWAY_TEST_PG_URL), and again against the sandbox's
# earlier behaviour.
#
# The later passes select the same packages as the first (`--workspace
# --test it`), so cargo reuses the test binaries it built: `-p gateway`
# alone would unify features differently and compile them all again. The
# other crates' `it` suites run again with them (under a minute).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-test-deps.sh
cargo test --workspace --locked
GATEWAY_TEST_BACKEND=postgres cargo test --workspace --locked --test it
# Once more against the sandbox's earlier behaviour (one-line e-Aadhaar, one
# spelling everywhere, refresh tokens that don't rotate): the gateway must
# work with both.
GATEWAY_TEST_SANDBOX=legacy cargo test --workspace --locked --test it
