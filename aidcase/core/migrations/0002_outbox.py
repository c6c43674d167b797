import json

from django.db import migrations, models

NAME = "Send tasks kept in the outbox"


def create_schedule(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    every, _ = IntervalSchedule.objects.get_or_create(every=60, period="seconds")
    PeriodicTask.objects.get_or_create(
        name=NAME, defaults={"task": "aidcase.core.tasks.outbox_drain_task", "interval": every, "kwargs": json.dumps({})}
    )


def remove_schedule(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0001_initial"),
        ("django_celery_beat", "0018_improve_crontab_helptext"),
    ]

    operations = [
        migrations.CreateModel(
            name="OutboxMessage",
            fields=[
                ("id", models.BigAutoField(primary_key=True, serialize=False)),
                ("task", models.CharField(max_length=200)),
                ("args", models.JSONField(default=list)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("sent_at", models.DateTimeField(blank=True, null=True)),
                ("attempts", models.PositiveIntegerField(default=0)),
                ("last_error", models.TextField(blank=True)),
            ],
            options={
                "indexes": [
                    models.Index(condition=models.Q(("sent_at__isnull", True)), fields=["id"], name="outbox_pending"),
                    models.Index(condition=models.Q(("sent_at__isnull", False)), fields=["sent_at"], name="outbox_sent"),
                ],
            },
        ),
        migrations.RunPython(create_schedule, remove_schedule),
    ]
