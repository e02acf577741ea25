#!/usr/bin/env bash
# System tools the end-to-end tests drive: Debian's Chromium (the Airflow UI tests; never
# `playwright install`) and docker-compose (validates docker/docker-compose.yml without an engine).
set -euo pipefail
need=()
[ -x /usr/bin/chromium ] || need+=(chromium)
command -v docker-compose >/dev/null 2>&1 || need+=(docker-compose)
[ "${#need[@]}" -eq 0 ] && exit 0
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
    echo "error: the tests need ${need[*]}; install them: sudo apt-get install -y ${need[*]}" >&2
    exit 1
  fi
fi
echo "installing ${need[*]} with apt-get ..."
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
