#!/usr/bin/env bash
# How long the README's first command takes from a fresh clone: builds the
# gateway with `cargo run --release -p gateway -- serve` into a new, empty
# target directory (crates already downloaded), and reports the seconds until
# its `/healthz` first answers, with the build's CPU time (user + sys of cargo
# and everything it ran) and the machine's load. `--timings` writes cargo's
# per-crate report into the target directory.
#
#   scripts/first-build.sh [TARGET_DIR]     (default: a new temporary one)
#
# The gateway runs on its embedded default (SQLite, sandbox) in a temporary
# data directory on 127.0.0.1:18080, and is stopped once it has answered.
set -euo pipefail
cd "$(dirname "$0")/.."
target=${1:-$(mktemp -d)}
if [ -e "$target" ] && [ -n "$(ls -A "$target")" ]; then
  echo "first-build.sh: $target is not empty: a first build needs an empty target directory" >&2
  exit 1
fi
data=$(mktemp -d)
log=$(mktemp)
port=18080
cargo fetch --locked >/dev/null
load_before=$(cut -d' ' -f1 /proc/loadavg)
start=$(date +%s.%N)
CARGO_TARGET_DIR="$target" GATEWAY_DATA_DIR="$data" GATEWAY_LISTEN="127.0.0.1:$port" \
  /usr/bin/time -f "%U %S" -o "$log.cpu" \
  cargo run --release --locked --timings -p gateway -- serve >"$log" 2>&1 &
runner=$!
served=""
while kill -0 "$runner" 2>/dev/null; do
  if curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1; then
    served=$(date +%s.%N)
    break
  fi
  sleep 0.25
done
load_after=$(cut -d' ' -f1 /proc/loadavg)
pkill -TERM -f "$target/release/digilocker-gateway" 2>/dev/null || true
wait "$runner" 2>/dev/null || true
if [ -z "$served" ]; then
  echo "first-build.sh: the gateway never answered /healthz; its output:" >&2
  tail -40 "$log" >&2
  exit 1
fi
built=$(grep -m1 -o 'Finished .* in [0-9ms. ]*' "$log" || true)
cpu=$(awk '{printf "%.0f", $1 + $2}' "$log.cpu" 2>/dev/null || echo "?")
printf 'first /healthz after %s s (%s); build CPU %s s; load %s -> %s; %s\n' \
  "$(awk -v a="$start" -v b="$served" 'BEGIN { printf "%.0f", b - a }')" \
  "$built" "$cpu" "$load_before" "$load_after" \
  "timings: $(ls "$target"/cargo-timings/cargo-timing-*.html 2>/dev/null | head -1)"
rm -rf "$data" "$log" "$log.cpu"
