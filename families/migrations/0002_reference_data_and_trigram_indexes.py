import csv
from pathlib import Path

from django.db import migrations

from aidcase.core.migration_ops import PostgresOnlySQL

CROSSING_POINTS = [
    ("TORKHAM", "Torkham", "TKM", "PK"),
    ("SPIN_BOLDAK", "Spin Boldak", "SPB", "PK"),
    ("GHULAM_KHAN", "Ghulam Khan", "GKH", "PK"),
    ("ANGOOR_ADDA", "Angoor Adda", "AGA", "PK"),
    ("BAHRAMCHA", "Bahramcha", "BHR", "PK"),
    ("DAND_PATAN", "Dand-e-Patan", "DPT", "PK"),
    ("ISLAM_QALA", "Islam Qala", "IQL", "IR"),
    ("MILAK", "Milak", "MLK", "IR"),
]

PROVINCES_CSV = Path(__file__).resolve().parent.parent / "data" / "provinces.csv"


def load_reference_data(apps, schema_editor):
    CrossingPoint = apps.get_model("families", "CrossingPoint")
    Province = apps.get_model("families", "Province")
    for code, name, prefix, border in CROSSING_POINTS:
        CrossingPoint.objects.get_or_create(code=code, defaults={"name": name, "case_prefix": prefix, "border": border})
    with PROVINCES_CSV.open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            Province.objects.get_or_create(code=row["code"], defaults={"name": row["name"], "capital": row["capital"]})


class Migration(migrations.Migration):
    dependencies = [("families", "0001_initial")]

    operations = [
        migrations.RunPython(load_reference_data, migrations.RunPython.noop),
        # Duplicate candidates and name search use trigram similarity on the phonetic keys; GIN indexes
        # keep both index scans at a million families. PostgreSQL only (pg_trgm).
        PostgresOnlySQL(
            sql=[
                "CREATE EXTENSION IF NOT EXISTS pg_trgm",
                "CREATE INDEX IF NOT EXISTS family_head_key_trgm ON families_family "
                "USING gin (head_name_key gin_trgm_ops)",
                "CREATE INDEX IF NOT EXISTS member_name_key_trgm ON families_member "
                "USING gin (name_key gin_trgm_ops)",
            ],
            reverse_sql=[
                "DROP INDEX IF EXISTS member_name_key_trgm",
                "DROP INDEX IF EXISTS family_head_key_trgm",
            ],
        ),
    ]
