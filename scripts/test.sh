#!/usr/bin/env bash
# Set up everything the tests need (virtualenv, Chromium and CJK fonts, a PostgreSQL server),
# then run the linter, the type checker and the whole test suite: every test that goes through the
# store runs once on SQLite and once on PostgreSQL, in a throw-away database made for this run
# (CONSULT_TEST_DATABASE, consult_ci_<random>) and dropped when the script ends, however it ends.
#
# The server: CONSULT_TEST_POSTGRES if set (a URL of a database to connect to, e.g.
# postgresql://user:pw@host:5432/postgres); otherwise the one on 127.0.0.1:5432 (port:
# CONSULT_TEST_PG_PORT), installed and started here if it is not running.
# Arguments are passed to pytest, e.g. `bash scripts/test.sh -q --backend sqlite`.
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
apt_updated=""
apt_install() {
  [ -n "$apt_updated" ] || { as_root apt-get update -qq; apt_updated=1; }
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}
fail() { echo "scripts/test.sh: $*" >&2; exit 1; }

bash scripts/setup.sh test
py=.venv/bin/python

# A real browser for the web tests: Debian's Chromium and a CJK font.
if ! command -v chromium >/dev/null 2>&1 || ! fc-list 2>/dev/null | grep -qi "wenquanyi\|wqy"; then
  apt_install chromium fonts-wqy-microhei
fi

# --- PostgreSQL -----------------------------------------------------------------------------------

# Whether the server at URL $1 lets us in (exit 0), and why not (on stderr).
pg_login() {
  "$py" - "$1" <<'EOF'
import sys

import psycopg

try:
    psycopg.connect(sys.argv[1], connect_timeout=5).close()
except psycopg.Error as e:
    sys.exit(str(e).strip())
EOF
}

# Run one SQL statement ($2, with the database name $3 as an identifier) on the server at URL $1.
pg_run() {
  "$py" - "$@" <<'EOF'
import sys

import psycopg
from psycopg import sql

url, statement, name = sys.argv[1:4]
with psycopg.connect(url, autocommit=True, connect_timeout=10) as conn:
    if statement == "drop":  # the run's database and the ones the tests made beside it
        like = name.replace("_", r"\_") + r"\_%"
        rows = conn.execute(
            "SELECT datname FROM pg_database WHERE datname = %s OR datname LIKE %s", (name, like)
        ).fetchall()
        for (db,) in rows:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(db)))
    else:
        conn.execute(sql.SQL(statement).format(sql.Identifier(name)))
EOF
}

if [ -z "${CONSULT_TEST_POSTGRES:-}" ]; then
  port="${CONSULT_TEST_PG_PORT:-5432}"
  export CONSULT_TEST_POSTGRES="postgresql://postgres@127.0.0.1:$port/postgres"
  accepting() {
    if command -v pg_isready >/dev/null 2>&1; then
      pg_isready -q -h 127.0.0.1 -p "$port"
    else  # no client tools: is anything listening there?
      (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null
    fi
  }
  if ! accepting; then
    # No server here: install Debian's, then start the cluster of that port (made if there is none).
    if ! command -v pg_lsclusters >/dev/null 2>&1 || ! command -v pg_isready >/dev/null 2>&1; then
      apt_install postgresql
    fi
    cluster=$(pg_lsclusters -h | awk -v p="$port" '$3 == p { print $1 " " $2; exit }')
    if [ -z "$cluster" ]; then
      version=$(ls /usr/lib/postgresql | sort -n | tail -1)
      as_root pg_createcluster -p "$port" "$version" consult >/dev/null
      cluster="$version consult"
    fi
    # shellcheck disable=SC2086  # "version name"
    as_root pg_ctlcluster --skip-systemctl-redirect $cluster start ||
      echo "scripts/test.sh: pg_ctlcluster $cluster start failed; waiting for the server" >&2
    for _ in $(seq 1 60); do accepting && break; sleep 1; done
    accepting || fail "PostgreSQL did not start on 127.0.0.1:$port (pg_lsclusters; the log is in /var/log/postgresql)"
  fi
  if ! pg_login "$CONSULT_TEST_POSTGRES" 2>/dev/null; then
    # A fresh Debian cluster asks TCP clients for a password: give the postgres role one.
    as_root su postgres -c "psql -q -p $port -c \"ALTER USER postgres PASSWORD 'postgres'\""
    export CONSULT_TEST_POSTGRES="postgresql://postgres:postgres@127.0.0.1:$port/postgres"
  fi
fi
why=$(pg_login "$CONSULT_TEST_POSTGRES" 2>&1) || fail "cannot connect to PostgreSQL ($CONSULT_TEST_POSTGRES): $why"

# The run's throw-away database: the tests empty it before each test and make their others beside
# it (consult_ci_<random>_<n>); every one of them is dropped on the way out.
CONSULT_TEST_DATABASE="consult_ci_$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')"
export CONSULT_TEST_DATABASE
drop_run_databases() {
  pg_run "$CONSULT_TEST_POSTGRES" drop "$CONSULT_TEST_DATABASE" ||
    echo "scripts/test.sh: could not drop $CONSULT_TEST_DATABASE" >&2
}
trap drop_run_databases EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
pg_run "$CONSULT_TEST_POSTGRES" "CREATE DATABASE {}" "$CONSULT_TEST_DATABASE"

# --- lint, types, tests -----------------------------------------------------------------------------

.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy
.venv/bin/lint-imports --no-logo  # the import contracts in pyproject.toml (docs/architecture.md)
# With CONSULT_TEST_DATABASE set, a PostgreSQL test that cannot reach the server fails (never skips).
.venv/bin/pytest "$@"
