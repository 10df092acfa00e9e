#!/usr/bin/env bash
# Installs the system programs the test suite starts: redis-server (Redis backend tests),
# Chromium (the dashboard's browser tests), nginx, openssl and systemd-analyze (the deploy/
# checks: `nginx -t` on the site, `systemd-analyze verify` on the unit). Uses apt when running as root on Debian/Ubuntu;
# otherwise says what is missing (those tests then skip locally, and fail under CI=true).
# `system-deps.sh redis` installs redis-server only (what `make bench` needs).
set -euo pipefail
missing=()
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
if [ "${1:-all}" != redis ]; then
  command -v chromium >/dev/null 2>&1 || missing+=(chromium fonts-liberation)
  command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || missing+=(nginx-light)
  command -v openssl >/dev/null 2>&1 || missing+=(openssl)
  command -v systemd-analyze >/dev/null 2>&1 || missing+=(systemd)
fi
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing ${missing[*]} with apt-get"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "note: ${missing[*]} not installed; the tests that need them will be skipped" >&2
fi
