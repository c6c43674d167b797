import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "aidcase.settings")

app = Celery("aidcase")
# Every Celery option lives in Django settings under the CELERY_ prefix (JSON only, acks late, ...).
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
