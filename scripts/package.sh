#!/usr/bin/env bash
# The Debian package of the gateway, in one command:
#   scripts/package.sh   ->  <target dir>/debian/digilocker-gateway_<version>-1_<arch>.deb
# Built with cargo-deb (installed from crates.io if missing) in the `dist`
# profile (fat LTO, one code unit: the build that is measured in
# docs/benchmarks.md). Arguments go to cargo-deb. What the package holds and
# does: docs/production.md ("Installing").
set -euo pipefail
cd "$(dirname "$0")/.."
CARGO_DEB_VERSION=3.8.0
if [ "$(cargo deb --version 2>/dev/null | awk '{print $NF}')" != "$CARGO_DEB_VERSION" ]; then
  echo "installing: cargo-deb $CARGO_DEB_VERSION"
  cargo install cargo-deb --version "$CARGO_DEB_VERSION" --locked
fi
exec cargo deb -p gateway --profile dist --locked "$@"
