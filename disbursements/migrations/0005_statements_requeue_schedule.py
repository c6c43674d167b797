import json

from django.db import migrations

NAME = "Queue statements that missed the broker"


def create(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    every, _ = IntervalSchedule.objects.get_or_create(every=300, period="seconds")
    PeriodicTask.objects.get_or_create(
        name=NAME, defaults={"task": "disbursements.tasks.statements_requeue_task", "interval": every, "kwargs": json.dumps({})}
    )


def remove(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=NAME).delete()


class Migration(migrations.Migration):
    dependencies = [("disbursements", "0004_missing_payments_schedule")]

    operations = [migrations.RunPython(create, remove)]
