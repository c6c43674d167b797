import json

from django.db import migrations


def create(apps, schema_editor):
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    daily, _ = CrontabSchedule.objects.get_or_create(
        minute="30", hour="5", day_of_week="*", day_of_month="*", month_of_year="*", timezone="Asia/Kabul"
    )
    PeriodicTask.objects.get_or_create(
        name="Flag payments missing from every statement",
        defaults={"task": "disbursements.tasks.missing_payments_flag_task", "crontab": daily, "kwargs": json.dumps({})},
    )


def remove(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(
        name="Flag payments missing from every statement"
    ).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("disbursements", "0003_reconciliation"),
        ("django_celery_beat", "0018_improve_crontab_helptext"),
    ]

    operations = [migrations.RunPython(create, remove)]
