#!/usr/bin/env bash
# The whole test suite, against real PostgreSQL and Redis (started here if installed locally but not running).
# Extra arguments go to pytest, e.g. scripts/test.sh -k duplicates -x
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/_venv.sh"

export DATABASE_URL="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/aidcase}"
export REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379/0}"
export DEBUG=True # plain HTTP in tests; `check --deploy` is tested separately with DEBUG off
SERVICE_TIMEOUT="${SERVICE_TIMEOUT:-60}"

# Both probes use the venv's own drivers, so a fresh machine needs neither pg_isready nor redis-cli.
# PostgreSQL counts as up once it accepts a login (not merely the TCP port, open while still starting up);
# the tests create their own database, so the probe logs in to the `postgres` maintenance database.
postgres_error() {
  python - <<'PY'
import os, sys
import psycopg
from urllib.parse import unquote, urlsplit
url = urlsplit(os.environ["DATABASE_URL"])
try:
    psycopg.connect(
        host=url.hostname or "127.0.0.1", port=url.port or 5432, user=unquote(url.username or "postgres"),
        password=unquote(url.password) if url.password else None, dbname="postgres", connect_timeout=2,
    ).close()
except Exception as exc:
    print(str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__)
    sys.exit(1)
PY
}
redis_error() {
  python - <<'PY'
import os, sys
import redis
try:
    redis.Redis.from_url(os.environ["REDIS_URL"], socket_connect_timeout=2, socket_timeout=2).ping()
except Exception as exc:
    print(exc or type(exc).__name__)
    sys.exit(1)
PY
}
is_local() { python -c 'import sys; from urllib.parse import urlsplit; sys.exit((urlsplit(sys.argv[1]).hostname or "localhost") not in ("localhost", "127.0.0.1", "::1"))' "$1"; }

if ! postgres_error >/dev/null && is_local "$DATABASE_URL" && command -v pg_ctlcluster >/dev/null \
  && [ -d /etc/postgresql ] && [ -n "$(ls /etc/postgresql)" ]; then
  version="$(ls /etc/postgresql | sort -V | tail -1)"
  echo "Starting PostgreSQL $version ..."
  pg_ctlcluster --skip-systemctl-redirect "$version" main start || echo "(pg_ctlcluster failed; waiting anyway)" >&2
fi
if ! redis_error >/dev/null && is_local "$REDIS_URL" && command -v redis-server >/dev/null; then
  echo "Starting Redis ..."
  redis_port="$(python -c 'import sys; from urllib.parse import urlsplit; print(urlsplit(sys.argv[1]).port or 6379)' "$REDIS_URL")"
  redis-server --daemonize yes --bind 127.0.0.1 --port "$redis_port" --save "" --appendonly no >/dev/null \
    || echo "(redis-server failed; waiting anyway)" >&2
fi

deadline=$((SECONDS + SERVICE_TIMEOUT))
while :; do
  pg_err="$(postgres_error)" && pg_err=""
  redis_err="$(redis_error)" && redis_err=""
  if [ -z "$pg_err" ] && [ -z "$redis_err" ]; then break; fi
  if [ "$SECONDS" -ge "$deadline" ]; then
    [ -z "$pg_err" ] || echo "PostgreSQL is not reachable (DATABASE_URL=$DATABASE_URL): $pg_err" >&2
    [ -z "$redis_err" ] || echo "Redis is not reachable (REDIS_URL=$REDIS_URL): $redis_err" >&2
    echo "Gave up after ${SERVICE_TIMEOUT}s. Install and start PostgreSQL and Redis, or point DATABASE_URL and" \
      "REDIS_URL at running ones." >&2
    exit 1
  fi
  sleep 1
done

# The compiled catalogues are committed; refresh them when gettext is there, so edited .po files count.
if command -v msgfmt >/dev/null; then
  python manage.py compilemessages --ignore=.venv --verbosity 0
fi

# Two test processes unless the arguments choose (-n 0 runs in one): the suite waits mostly on PostgreSQL,
# Redis, worker and server subprocesses and the browser, so two processes halve it even on two cores.
# Whole modules go to one process (--dist loadfile), so module-wide test data is built once.
parallel=(-n "${TEST_PROCESSES:-2}" --dist loadfile)
for arg in "$@"; do
  case "$arg" in -n | -n* | --numprocesses*) parallel=() ;; esac
done

set +e
python -m pytest "${parallel[@]}" "$@"
status=$?
set -e
if [ "$status" -eq 5 ]; then
  echo "pytest collected no tests: that is a failure." >&2
fi
exit "$status"
