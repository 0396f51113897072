#!/usr/bin/env bash
# The Debian package, end to end, as an operator meets it: build it
# (scripts/package.sh), inspect it, install it with dpkg on this machine, run
# the installed binary (--version; a sandbox start as the service user from
# the installed config, with a temporary data directory, under the kernel's
# write-xor-execute rule, stopped by SIGTERM), verify the unit with
# systemd-analyze, install it again (an upgrade keeps the operator's config),
# and purge it: the machine is left as found (the data directory and the
# system user are removed only if this test created them). Needs root (or
# sudo), dpkg, python3, curl and systemd-analyze.
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
PKG=digilocker-gateway
USER_NAME=digilocker-gateway
STATE=/var/lib/digilocker-gateway
CONFIG=/etc/digilocker-gateway/gateway.toml
fail() { echo "test-package: FAIL: $*" >&2; exit 1; }
step() { echo "== $*"; }

if dpkg-query -W -f='${Status}' "$PKG" 2>/dev/null | grep -q installed; then
  fail "$PKG is already installed here; this test installs and purges it (remove it first)"
fi
had_user=no; getent passwd "$USER_NAME" >/dev/null && had_user=yes
had_state=no; [ -e "$STATE" ] && had_state=yes

work=$(mktemp -d)
server_pid=""
cleanup() {
  set +e
  if [ -n "$server_pid" ]; then $SUDO kill "$server_pid" 2>/dev/null; wait 2>/dev/null; fi
  if dpkg-query -W -f='${Status}' "$PKG" 2>/dev/null | grep -q installed; then
    $SUDO dpkg --purge "$PKG" >/dev/null
  fi
  if [ "$had_state" = no ]; then $SUDO rm -rf "$STATE"; fi
  if [ "$had_user" = no ] && getent passwd "$USER_NAME" >/dev/null; then $SUDO userdel "$USER_NAME"; fi
  if [ "$had_user" = no ] && getent group "$USER_NAME" >/dev/null; then $SUDO groupdel "$USER_NAME"; fi
  $SUDO rm -rf "$work"
}
trap cleanup EXIT

version=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -1)
[ -n "$version" ] || fail "no workspace version in Cargo.toml"

step "build: scripts/package.sh"
target=${CARGO_TARGET_DIR:-target}
rm -f "$target"/debian/${PKG}_*.deb
scripts/package.sh
deb=$(ls "$target"/debian/${PKG}_"$version"*.deb 2>/dev/null | head -1)
[ -f "$deb" ] || fail "no $target/debian/${PKG}_$version*.deb after scripts/package.sh"
echo "$deb"

step "inspect: dpkg-deb --info, --contents"
dpkg-deb --info "$deb" | tee "$work/info"
grep -q "^ Package: $PKG$" "$work/info" || fail "Package is not $PKG"
grep -q "^ Version: $version" "$work/info" || fail "Version is not $version"
dpkg-deb --contents "$deb" | tee "$work/contents"
expect_entry() { # mode owner path
  grep -E -q "^$1 ($2) .* \./$3$" "$work/contents" || fail "the package has no $3 with $1 $2"
}
expect_entry '-rwxr-xr-x' 'root/root|0/0' 'usr/bin/digilocker-gateway'
expect_entry '-rw-r-----' 'root/root|0/0' 'etc/digilocker-gateway/gateway.toml'
expect_entry '-rw-r--r--' 'root/root|0/0' '(usr/)?lib/systemd/system/digilocker-gateway.service'
expect_entry '-rw-r--r--' 'root/root|0/0' 'usr/share/doc/digilocker-gateway/copyright'
expect_entry '-rw-r--r--' 'root/root|0/0' 'usr/share/doc/digilocker-gateway/CHANGELOG.md'
if grep -q "\./var/lib" "$work/contents"; then fail "the package ships files under /var/lib (systemd's StateDirectory= makes it)"; fi
dpkg-deb --ctrl-tarfile "$deb" | tar -x -C "$work" ./conffiles ./postinst ./postrm
grep -qx "$CONFIG" "$work/conffiles" || fail "$CONFIG is not a conffile"
# Installing must start and enable nothing: an unconfigured gateway is a sandbox.
# (It re-enables the unit on upgrade only if the operator had enabled it.)
if grep -v -E '^[[:space:]]*(#|echo )' "$work/postinst" | grep -E -q "deb-systemd-invoke (start|restart)|systemctl (start|enable)" \
   || ! awk '/was-enabled/ {guard = NR} /deb-systemd-helper enable/ && NR - guard > 2 {bad = 1} END {exit bad}' "$work/postinst"; then
  fail "postinst starts or enables the service"
fi
# An upgrade restarts a running service (the new binary migrates at start),
# and leaves a stopped one stopped.
grep -q "deb-systemd-invoke try-restart $PKG.service" "$work/postinst" || fail "postinst does not try-restart on upgrade"
# Purge keeps the data: no maintainer script removes the state directory.
if cat "$work/postinst" "$work/postrm" | grep -v -E '^[[:space:]]*(#|echo )' \
   | grep -E -q "rm .*(/var/lib/digilocker-gateway|STATE)"; then
  fail "a maintainer script removes the data"
fi

# Every setting is in the default config, and its examples load: checked by
# the gateway's unit test
# config::tests::the_packaged_config_file_lists_every_setting_and_its_examples_load
# (scripts/test.sh), which reads the settings from Config itself.

step "install: dpkg -i"
$SUDO dpkg -i "$deb"
[ "$(stat -c '%a %U %G' "$CONFIG")" = "640 root $USER_NAME" ] || fail "$CONFIG is $(stat -c '%a %U %G' "$CONFIG")"
[ "$(stat -c '%a %U %G' /etc/digilocker-gateway)" = "750 root $USER_NAME" ] || fail "/etc/digilocker-gateway is $(stat -c '%a %U %G' /etc/digilocker-gateway)"
[ "$(stat -c '%a %U' "$STATE")" = "700 $USER_NAME" ] || fail "$STATE is $(stat -c '%a %U' "$STATE")"
getent passwd "$USER_NAME" | grep -q ":/usr/sbin/nologin$" || fail "$USER_NAME is not a no-login user"
[ "$(id -u "$USER_NAME")" -lt 1000 ] || fail "$USER_NAME is not a system user"
if ls /etc/systemd/system/*.wants/$PKG.service >/dev/null 2>&1; then fail "the unit was enabled on install"; fi
if pgrep -f "^/usr/bin/digilocker-gateway" >/dev/null; then fail "a gateway runs after install"; fi

step "installed binary: --version"
out=$(/usr/bin/digilocker-gateway --version)
[ "$out" = "digilocker-gateway $version" ] || fail "--version says '$out', not 'digilocker-gateway $version'"

step "systemd-analyze verify"
unit=$(ls /lib/systemd/system/$PKG.service /usr/lib/systemd/system/$PKG.service 2>/dev/null | head -1)
[ -n "$unit" ] || fail "no unit file installed"
verify=$(systemd-analyze verify "$unit" 2>&1) || fail "systemd-analyze verify: $verify"
[ -z "$verify" ] || fail "systemd-analyze verify is not clean: $verify"
systemd-analyze security --offline=true "$unit" > "$work/security" 2>&1 || true
tail -1 "$work/security"
exposure=$(sed -n 's/.*Overall exposure level for .*: \([0-9.]*\) .*/\1/p' "$work/security")
if [ -n "$exposure" ] && awk "BEGIN{exit !($exposure > 2.0)}"; then
  cat "$work/security"; fail "the unit's exposure level is $exposure (above 2.0)"
fi
awk '/^```ini$/{f=1;next} /^```$/{f=0} f' docs/production.md > "$work/unit-in-docs"
diff -u crates/gateway/debian/digilocker-gateway.service "$work/unit-in-docs" \
  || fail "the unit in docs/production.md differs from crates/gateway/debian/digilocker-gateway.service"
grep -q "^TimeoutStopSec=30$" "$unit" || fail "TimeoutStopSec changed: keep it above shutdown_grace_seconds (10)"

# A start as the service would make it (its user, the installed config), in a
# temporary data directory, in sandbox mode, with every documented default of
# the config uncommented (each key then must exist and its value be valid),
# under PR_SET_MDWE: memory that was writable never becomes executable, as
# the unit's MemoryDenyWriteExecute=yes demands.
start_sandbox() { # config file
  local data; data=$(mktemp -d -p "$work" data.XXXX)
  $SUDO chown "$USER_NAME:" "$data"; $SUDO chmod 0700 "$data"; chmod 0755 "$work"
  # setpriv and execv keep one process: its pid is the gateway's.
  $SUDO setpriv --reuid="$USER_NAME" --regid="$USER_NAME" --init-groups \
      env -i PATH=/usr/bin:/bin GATEWAY_DATA_DIR="$data" GATEWAY_LISTEN=127.0.0.1:0 \
      GATEWAY_SANDBOX_FAILING_ISSUERS=false GATEWAY_MODE=sandbox \
      python3 -c '
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN = 65, 1
if libc.prctl(PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN, 0, 0, 0) != 0:
    sys.exit("prctl(PR_SET_MDWE): " + os.strerror(ctypes.get_errno()))
open(sys.argv[2], "w").write(str(os.getpid()))
os.execv("/usr/bin/digilocker-gateway", ["digilocker-gateway", "--config", sys.argv[1], "serve"])
' "$1" "$data/pid" > "$work/serve.log" 2>&1 &
  local job=$!
  for _ in $(seq 1 100); do $SUDO test -s "$data/pid" && break; sleep 0.1; done
  server_pid=$($SUDO cat "$data/pid")
  local addr=""
  for _ in $(seq 1 600); do
    addr=$(sed -n 's/^ *listening on \([0-9.:]*\).*/\1/p' "$work/serve.log" | head -1)
    [ -n "$addr" ] && break
    $SUDO kill -0 "$server_pid" 2>/dev/null || { cat "$work/serve.log"; fail "the installed gateway exited at start"; }
    sleep 0.1
  done
  [ -n "$addr" ] || { cat "$work/serve.log"; fail "the installed gateway did not listen within 60 s"; }
  curl -fsS "http://$addr/healthz" >/dev/null || fail "/healthz on $addr"
  $SUDO test -f "$data/sandbox-headers.txt" || fail "no sandbox credentials in the data directory"
  [ "$($SUDO stat -c '%a %U' "$data/sandbox-credentials.json")" = "600 $USER_NAME" ] || fail "sandbox-credentials.json is not 0600 of $USER_NAME"
  $SUDO cat "$data/sandbox-headers.txt" > "$work/headers"
  curl -fsS -X POST "http://$addr/api/digilocker" -H @"$work/headers" -H 'content-type: application/json' \
       -d '{"redirectUrl": "http://127.0.0.1/done"}' | grep -q '"url"' || fail "POST /api/digilocker did not create a request"
  # SIGTERM, as systemctl stop sends it: a graceful exit, well within TimeoutStopSec.
  local started=$SECONDS
  $SUDO kill -TERM "$server_pid"
  local status=0; wait "$job" || status=$?
  server_pid=""
  [ "$status" -eq 0 ] || { cat "$work/serve.log"; fail "the gateway exited $status on SIGTERM"; }
  [ $((SECONDS - started)) -lt 15 ] || fail "the gateway took $((SECONDS - started)) s to stop"
  grep -q "sandbox" "$work/serve.log" || fail "the start did not say it is a sandbox"
}

if grep -q '^mode = "production"' "$CONFIG"; then
  step "the installed config, not filled in, refuses to start"
  status=0
  out=$($SUDO setpriv --reuid="$USER_NAME" --regid="$USER_NAME" --init-groups env -i PATH=/usr/bin:/bin \
        GATEWAY_LISTEN=127.0.0.1:0 timeout 30 /usr/bin/digilocker-gateway --config "$CONFIG" serve 2>&1) || status=$?
  [ "$status" -eq 78 ] || fail "an unconfigured production start did not stop with 78, EX_CONFIG, which the unit does not restart (exit $status): $out"
  echo "$out" | tail -3
  for missing in client_id master_key; do
    echo "$out" | grep -q "$missing" || fail "the refusal does not name $missing: $out"
  done
fi
step "sandbox start from the installed config"
start_sandbox "$CONFIG"
step "sandbox start with every documented default uncommented"
# Values that must be the operator's own stay commented.
sed -E '/^#(database_url|public_base_url|master_key|old_master_keys|trust_anchors|trust_intermediates|base_url|client_id|client_secret|ca_file|instance_name|console_password) = /!s/^#([a-z_]+ = )/\1/' \
    "$CONFIG" > "$work/all.toml"
[ "$(grep -c -E '^[a-z_]+ = ' "$work/all.toml")" -ge 25 ] || fail "uncommenting found too few settings"
$SUDO install -o root -g "$USER_NAME" -m 0640 "$work/all.toml" /etc/digilocker-gateway/all-defaults.toml
start_sandbox /etc/digilocker-gateway/all-defaults.toml
$SUDO rm /etc/digilocker-gateway/all-defaults.toml

step "upgrade: dpkg -i again keeps the operator's config"
echo "# the operator's edit" | $SUDO tee -a "$CONFIG" >/dev/null
$SUDO dpkg -i --force-confold "$deb"
grep -q "^# the operator's edit$" "$CONFIG" || fail "reinstalling replaced the edited config"
[ "$(stat -c '%a %U %G' "$CONFIG")" = "640 root $USER_NAME" ] || fail "after reinstalling $CONFIG is $(stat -c '%a %U %G' "$CONFIG")"

step "purge: dpkg --purge keeps the data"
echo "a database" | $SUDO tee "$STATE/marker" >/dev/null
$SUDO dpkg --purge "$PKG"
[ ! -e /usr/bin/digilocker-gateway ] || fail "the binary is still there after purge"
[ ! -e /etc/digilocker-gateway ] || fail "/etc/digilocker-gateway is still there after purge"
if dpkg-statoverride --list | grep -q digilocker-gateway; then fail "statoverrides left after purge"; fi
$SUDO test -f "$STATE/marker" || fail "purge deleted the data in $STATE"
echo "test-package: ok ($deb)"
