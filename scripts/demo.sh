#!/usr/bin/env bash
# Quick start: install, migrate, load demo data and users, serve http://127.0.0.1:${PORT:-8000}/.
# Embedded defaults: SQLite file (aidcase.sqlite3), Celery tasks run eagerly, DEBUG on. Nothing else has to run.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/_venv.sh"

# The demo never touches a real database or broker, whatever the calling shell has exported.
unset DATABASE_URL DATABASE_URL_FILE REDIS_URL REDIS_URL_FILE
export DEBUG=True
PORT="${PORT:-8000}"

python manage.py migrate --noinput --verbosity 0
python manage.py seed_demo
echo "Serving on http://127.0.0.1:${PORT}/ (Ctrl-C stops it)."
exec python manage.py runserver "0.0.0.0:${PORT}"
