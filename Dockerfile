FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app

# Dependencies in their own layer: a code change does not reinstall them.
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
        > /tmp/requirements.txt \
 && pip install -r /tmp/requirements.txt

COPY . .
# Static files are collected with the production storage (hashed names + manifest), as DEBUG is off at run
# time; the throwaway key only satisfies the settings' production checks during the build.
RUN pip install --no-deps . \
 && SECRET_KEY="$(python -c 'import secrets; print(secrets.token_urlsafe(60))')" DEBUG=False \
    python manage.py collectstatic --noinput --verbosity 0

RUN useradd --system --uid 1000 --no-create-home aidcase
USER aidcase
EXPOSE 8000
CMD ["gunicorn", "aidcase.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--timeout", "60", "--access-logfile", "-"]
