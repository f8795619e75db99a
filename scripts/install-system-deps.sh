#!/usr/bin/env bash
# System packages the test tiers start for real: PostgreSQL server binaries and Chromium for the
# browser tests (Debian). Installed only when missing, and only where we may (root with apt-get);
# otherwise the PostgreSQL and browser tiers tell you what they need and skip.
set -euo pipefail
have_pg() { ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null 2>&1; }
have_chromium() { [ -x /usr/bin/chromium ]; }
need=()
have_pg || need+=(postgresql)
have_chromium || need+=(chromium)
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing system packages: ${need[*]}" >&2
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
else
  echo "note: ${need[*]} not installed and cannot install here; those test tiers will skip" >&2
fi
