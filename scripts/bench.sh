#!/usr/bin/env bash
# The gateway against a bare reference server, in one run: installs wrk from
# Debian's packages if it is missing, then runs the benchmark, which builds
# the gateway and the reference in the `dist` profile (fat LTO: what the
# Debian package ships). Arguments go to it, e.g. `scripts/bench.sh --quick --backend sqlite`.
# See docs/benchmarks.md.
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
exec cargo run --release -p bench -- "$@"
