# Sourced by demo.sh and test.sh: cd to the repository, create .venv and install the project with its dev
# extra when pyproject.toml changed since the last install, then put .venv/bin first on PATH.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

PYTHON="${PYTHON:-python3}"
if ! command -v "$PYTHON" >/dev/null; then
  echo "aidcase needs Python 3.11 or later: '$PYTHON' was not found (set PYTHON=/path/to/python3.11)." >&2
  exit 1
fi
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
  echo "aidcase needs Python 3.11 or later ($("$PYTHON" --version 2>&1) found; set PYTHON=...)." >&2
  exit 1
fi

# A venv left half-made (e.g. Debian without python3-venv: no pip inside) is rebuilt, not reused.
if [ -x .venv/bin/python ] && ! .venv/bin/python -m pip --version >/dev/null 2>&1; then
  echo "Removing the incomplete .venv ..."
  rm -rf .venv
fi
if [ ! -x .venv/bin/python ]; then
  echo "Creating .venv ..."
  if ! "$PYTHON" -m venv .venv; then
    rm -rf .venv
    echo "Could not create a virtual environment. On Debian/Ubuntu: sudo apt-get install python3-venv" >&2
    exit 1
  fi
fi

# The stamp holds the hash of the pyproject.toml last installed: unchanged dependencies, no pip run.
STAMP=.venv/.aidcase-installed
WANT="$(.venv/bin/python -c 'import hashlib,sys; print(hashlib.sha256(open(sys.argv[1],"rb").read()).hexdigest())' pyproject.toml)"
if [ "$(cat "$STAMP" 2>/dev/null || true)" != "$WANT" ]; then
  echo "Installing aidcase and its dependencies into .venv (a few minutes the first time) ..."
  .venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
  echo "$WANT" >"$STAMP"
fi

export PATH="$ROOT/.venv/bin:$PATH"
export VIRTUAL_ENV="$ROOT/.venv"
unset PYTHONHOME
