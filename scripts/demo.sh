#!/usr/bin/env bash
# Quick start: install, migrate, load demo data and users, serve http://127.0.0.1:${PORT:-8000}/.
# Embedded defaults: SQLite file, Celery tasks run eagerly, DEBUG on. Nothing else has to run.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/_venv.sh"
unset DATABASE_URL REDIS_URL
export DEBUG=True
python manage.py migrate --verbosity 0
python manage.py compilemessages --ignore=.venv --verbosity 0 2>/dev/null || true
python manage.py seed_demo
exec python manage.py runserver "0.0.0.0:${PORT:-8000}"
