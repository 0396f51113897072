#!/usr/bin/env bash
# The gateway against a bare reference server, in one run: installs wrk from
# Debian's packages if it is missing, then runs the benchmark, which builds
# the gateway and the reference in the `dist` profile (fat LTO: what the
# Debian package ships; the driver is built in it too, so the dependencies
# they share are built once). Arguments go to it, e.g.
# `scripts/bench.sh --quick --backend sqlite`; CI runs
# `scripts/bench.sh --quick --gate --no-expiry --backend sqlite`, which
# fails only on a gross regression. See docs/benchmarks.md.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v wrk >/dev/null 2>&1; then
  echo "installing: wrk"
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends wrk >/dev/null
fi
exec cargo run --profile dist --locked -p bench --bin bench -- "$@"
