#!/usr/bin/env bash
# The whole test suite, against real PostgreSQL and Redis (started here if installed but not running).
# Extra arguments go to pytest, e.g. scripts/test.sh -k duplicates -x
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/_venv.sh"

export DATABASE_URL="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/aidcase}"
export REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379/0}"
export DEBUG=True   # plain HTTP in tests; `check --deploy` is tested separately with DEBUG off

port_open() { python - "$1" "$2" <<'PY'
import socket, sys
s = socket.socket(); s.settimeout(1)
sys.exit(0 if s.connect_ex((sys.argv[1], int(sys.argv[2]))) == 0 else 1)
PY
}
redis_ok() { python -c "import redis,sys; redis.Redis.from_url('$REDIS_URL', socket_timeout=2).ping()" 2>/dev/null; }

if ! port_open 127.0.0.1 5432 && command -v pg_ctlcluster >/dev/null; then
  echo "Starting PostgreSQL ..."
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start || true
fi
if ! redis_ok && command -v redis-server >/dev/null; then
  echo "Starting Redis ..."
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no
fi
for _ in $(seq 1 30); do
  if port_open 127.0.0.1 5432 && redis_ok; then break; fi
  sleep 1
done
port_open 127.0.0.1 5432 || { echo "PostgreSQL is not reachable at 127.0.0.1:5432 (DATABASE_URL=$DATABASE_URL)." >&2; exit 1; }
redis_ok || { echo "Redis is not reachable at $REDIS_URL." >&2; exit 1; }

python manage.py compilemessages --ignore=.venv --verbosity 0 2>/dev/null || true
set +e
python -m pytest "$@"
status=$?
set -e
if [ "$status" -eq 5 ]; then
  echo "No tests were collected: that is a failure." >&2
  exit 1
fi
exit "$status"
