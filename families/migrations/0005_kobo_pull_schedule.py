from django.db import migrations

NAME = "Pull KoBo form submissions"


def create(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    every, _ = IntervalSchedule.objects.get_or_create(every=15, period="minutes")
    PeriodicTask.objects.get_or_create(name=NAME, defaults={"task": "families.tasks.kobo_pull_task", "interval": every})


def remove(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=NAME).delete()


class Migration(migrations.Migration):
    dependencies = [("families", "0004_kobo_forms"), ("django_celery_beat", "0018_improve_crontab_helptext")]

    operations = [migrations.RunPython(create, remove)]
