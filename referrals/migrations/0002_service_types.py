from django.db import migrations

SERVICE_TYPES = [
    ("shelter", "Shelter"),
    ("food", "Food"),
    ("health", "Health"),
    ("protection", "Protection"),
    ("child_protection", "Child protection"),
    ("gbv", "Gender-based violence services"),
    ("legal", "Legal aid and documentation"),
    ("wash", "Water, sanitation and hygiene"),
    ("education", "Education"),
    ("livelihoods", "Livelihoods"),
    ("cash", "Cash assistance"),
    ("transport", "Onward transport"),
]


def load_service_types(apps, schema_editor):
    ServiceType = apps.get_model("referrals", "ServiceType")
    for code, name in SERVICE_TYPES:
        ServiceType.objects.get_or_create(code=code, defaults={"name": name})


class Migration(migrations.Migration):
    dependencies = [("referrals", "0001_initial")]

    operations = [migrations.RunPython(load_service_types, migrations.RunPython.noop)]
