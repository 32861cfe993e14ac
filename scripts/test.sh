#!/usr/bin/env bash
# Set up everything the tests need (virtualenv, Chromium and CJK fonts, a PostgreSQL server),
# then run the linter, the type checker and the whole test suite against SQLite and PostgreSQL.
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
apt_updated=""
apt_install() {
  [ -n "$apt_updated" ] || { as_root apt-get update -qq; apt_updated=1; }
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

# A real browser for the web tests: Debian's Chromium and a CJK font.
if ! command -v chromium >/dev/null 2>&1 || ! fc-list 2>/dev/null | grep -qi "wenquanyi\|wqy"; then
  apt_install chromium fonts-wqy-microhei
fi

# A PostgreSQL server on 127.0.0.1:5432 for the store tests.
if ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
  if ! ls /etc/postgresql/*/main >/dev/null 2>&1; then
    apt_install postgresql
  fi
  for version in $(ls /etc/postgresql); do
    as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
  done
  for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
fi
if ! psql -h 127.0.0.1 -U postgres -c "select 1" >/dev/null 2>&1; then
  # A fresh Debian cluster authenticates local TCP users by password: allow the test role in.
  as_root su postgres -c "psql -c \"ALTER USER postgres PASSWORD 'postgres'\"" >/dev/null
  export PGPASSWORD=postgres
  export CONSULT_TEST_POSTGRES="postgresql://postgres:postgres@127.0.0.1:5432/postgres"
fi

bash scripts/setup.sh test

.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy
.venv/bin/pytest "$@"
