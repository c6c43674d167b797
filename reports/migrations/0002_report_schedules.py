import json

from django.db import migrations

SCHEDULES = [
    ("Daily situation report", "daily", "15", "0", "*"),
    ("Weekly situation report", "weekly", "30", "0", "6"),  # Saturday, the start of the Afghan week
]


def create(apps, schema_editor):
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    for name, kind, minute, hour, day_of_week in SCHEDULES:
        crontab, _ = CrontabSchedule.objects.get_or_create(
            minute=minute, hour=hour, day_of_week=day_of_week, day_of_month="*", month_of_year="*", timezone="Asia/Kabul"
        )
        PeriodicTask.objects.get_or_create(
            name=name,
            defaults={"task": "reports.tasks.situation_report_task", "crontab": crontab, "kwargs": json.dumps({"kind": kind})},
        )


def remove(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name__in=[s[0] for s in SCHEDULES]).delete()


class Migration(migrations.Migration):
    dependencies = [("reports", "0001_initial"), ("django_celery_beat", "0018_improve_crontab_helptext")]

    operations = [migrations.RunPython(create, remove)]
