from django.db import migrations

from aidcase.core.migration_ops import PostgresOnlySQL

ORGANIZATIONS = [
    ("UNHCR", "UN Refugee Agency"),
    ("IOM", "International Organization for Migration"),
    ("WFP", "World Food Programme"),
    ("UNICEF", "United Nations Children's Fund"),
    ("NRC", "Norwegian Refugee Council"),
    ("DRC", "Danish Refugee Council"),
    ("IRC", "International Rescue Committee"),
    ("WHO", "World Health Organization"),
]


def load_organizations(apps, schema_editor):
    Organization = apps.get_model("accounts", "Organization")
    for code, name in ORGANIZATIONS:
        Organization.objects.get_or_create(code=code, defaults={"name": name})


class Migration(migrations.Migration):
    dependencies = [("accounts", "0001_initial")]

    operations = [
        migrations.RunPython(load_organizations, migrations.RunPython.noop),
        # The audit trail is append-only even for code that bypasses the model (raw SQL, bulk updates).
        PostgresOnlySQL(
            sql="""
            CREATE OR REPLACE FUNCTION accounts_auditevent_append_only() RETURNS trigger AS $$
            BEGIN
                RAISE EXCEPTION 'accounts_auditevent is append-only (% refused)', TG_OP;
            END;
            $$ LANGUAGE plpgsql;
            CREATE TRIGGER accounts_auditevent_append_only
                BEFORE UPDATE OR DELETE ON accounts_auditevent
                FOR EACH ROW EXECUTE FUNCTION accounts_auditevent_append_only();
            """,
            reverse_sql="""
            DROP TRIGGER IF EXISTS accounts_auditevent_append_only ON accounts_auditevent;
            DROP FUNCTION IF EXISTS accounts_auditevent_append_only();
            """,
        ),
    ]
