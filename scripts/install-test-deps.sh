#!/usr/bin/env bash
# Installs the system tools the test suite uses, from Debian's packages, if
# they are missing: xmlsec1 (the reference XML-signature implementation the
# signing tests cross-check against), pdftoppm and pdfsig (render the sandbox's
# PDFs, check their signatures), openssl (cross-checks the PDF signatures' CMS),
# Chromium with its driver (the browser test), and curl and python3 (the
# documentation's examples, tests/docs_examples.rs), and promtool (Debian's
# prometheus package: `promtool check rules docs/alerts.yml`, in
# tests/it/monitoring.rs). Nothing else is fetched.
set -euo pipefail
need=()
command -v xmlsec1 >/dev/null 2>&1 || need+=(xmlsec1)
command -v pdftoppm >/dev/null 2>&1 || need+=(poppler-utils)
command -v pdfsig >/dev/null 2>&1 || need+=(poppler-utils)
command -v openssl >/dev/null 2>&1 || need+=(openssl)
[ -x /usr/bin/chromium ] || need+=(chromium)
[ -x /usr/bin/chromedriver ] || need+=(chromium-driver)
command -v curl >/dev/null 2>&1 || need+=(curl)
command -v python3 >/dev/null 2>&1 || need+=(python3)
command -v promtool >/dev/null 2>&1 || need+=(prometheus)
if [ ${#need[@]} -eq 0 ]; then
  exit 0
fi
echo "installing: ${need[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
