FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
RUN apt-get update && apt-get install -y --no-install-recommends gettext && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY pyproject.toml README.md ./
COPY aidcase aidcase
COPY accounts accounts
COPY families families
COPY disbursements disbursements
COPY referrals referrals
COPY templates templates
COPY static static
COPY locale locale
COPY manage.py ./
RUN pip install --no-cache-dir . \
 && DEBUG=True python manage.py collectstatic --noinput \
 && DEBUG=True python manage.py compilemessages --ignore=/usr
RUN useradd --system --uid 1000 aidcase
USER aidcase
EXPOSE 8000
CMD ["gunicorn", "aidcase.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--timeout", "60"]
