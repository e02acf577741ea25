#!/usr/bin/env bash
# Postgres + Redis for the CeleryExecutor test (tests/airflow/test_celery.py). Idempotent: installs the
# Debian packages when missing (as root or through sudo), starts what is not running, creates the
# `airflow` role and database when missing. Safe to run before every `make test`.
#   env: AIRFLOW_PG_PORT (5432), AIRFLOW_REDIS_PORT (6379)
set -euo pipefail

PG_PORT="${AIRFLOW_PG_PORT:-5432}"
REDIS_PORT="${AIRFLOW_REDIS_PORT:-6379}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; fi
fi

need=()
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 || need+=(postgresql)
if [ "${#need[@]}" -gt 0 ]; then
  echo "ci-services: installing ${need[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi

# --- redis ------------------------------------------------------------------------------------------
if redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1; then
  echo "ci-services: redis already up on :$REDIS_PORT"
else
  redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --daemonize yes --save "" --appendonly no >/dev/null
  for _ in $(seq 1 50); do redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && break; sleep 0.1; done
  echo "ci-services: redis started on :$REDIS_PORT"
fi

# --- postgres ---------------------------------------------------------------------------------------
PG_VERSION="$(ls /usr/lib/postgresql | sort -V | tail -1)"
if ! pg_lsclusters -h 2>/dev/null | awk '{print $1" "$2}' | grep -q "^$PG_VERSION main$"; then
  $SUDO pg_createcluster "$PG_VERSION" main --port "$PG_PORT" >/dev/null
fi
if ! pg_lsclusters -h | awk -v v="$PG_VERSION" '$1==v && $2=="main" {print $4}' | grep -q online; then
  $SUDO pg_ctlcluster "$PG_VERSION" main start
  echo "ci-services: postgres $PG_VERSION started on :$PG_PORT"
else
  echo "ci-services: postgres $PG_VERSION already up"
fi
for _ in $(seq 1 50); do pg_isready -q -h localhost -p "$PG_PORT" && break; sleep 0.2; done

psql_admin() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- psql -p "$PG_PORT" -tAq "$@"; else sudo -u postgres psql -p "$PG_PORT" -tAq "$@"; fi
}
if [ "$(psql_admin -c "SELECT 1 FROM pg_roles WHERE rolname='airflow'")" != "1" ]; then
  psql_admin -c "CREATE USER airflow WITH PASSWORD 'airflow'" >/dev/null
  echo "ci-services: created role airflow"
fi
if [ "$(psql_admin -c "SELECT 1 FROM pg_database WHERE datname='airflow'")" != "1" ]; then
  psql_admin -c "CREATE DATABASE airflow OWNER airflow" >/dev/null
  echo "ci-services: created database airflow"
fi
echo "ci-services: ready (postgresql://airflow:airflow@localhost:$PG_PORT/airflow, redis://localhost:$REDIS_PORT/0)"
