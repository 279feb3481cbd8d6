#!/bin/sh
# Installs the system packages the test suite uses when they are missing: redis-server (the
# revocation tests run real Redis servers) and chromium (the analysis HTML report is opened
# in a headless browser). Runs before `npm test`; needs root (or sudo) for apt-get.
set -u
missing=""
command -v redis-server >/dev/null 2>&1 || missing="$missing redis-server"
command -v chromium >/dev/null 2>&1 || [ -x /usr/bin/chromium ] || missing="$missing chromium"
[ -z "$missing" ] && exit 0

if [ "$(id -u)" = "0" ]; then SUDO=""; elif command -v sudo >/dev/null 2>&1; then SUDO="sudo -n"; else SUDO=none; fi
if [ "$SUDO" = "none" ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "test-deps: please install:$missing (the tests that need them will fail without)" >&2
  exit 0
fi
echo "test-deps: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq >/dev/null 2>&1 || true
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null 2>&1 \
  || echo "test-deps: apt-get install$missing failed" >&2
exit 0
