import datetime
from decimal import Decimal

from django.db import migrations

from aidcase.core.migration_ops import PostgresOnlySQL


def default_amount(apps, schema_editor):
    SupportAmount = apps.get_model("disbursements", "SupportAmount")
    SupportAmount.objects.get_or_create(
        effective_from=datetime.date(2023, 10, 1),
        defaults={"amount": Decimal("10000.00"), "currency": "AFN", "note": "Initial programme amount"},
    )


class Migration(migrations.Migration):
    dependencies = [("disbursements", "0001_initial")]

    operations = [
        migrations.RunPython(default_amount, migrations.RunPython.noop),
        PostgresOnlySQL(
            sql="""
            CREATE OR REPLACE FUNCTION disbursements_ledger_append_only() RETURNS trigger AS $$
            BEGIN
                RAISE EXCEPTION 'disbursements_disbursementtransition is append-only (% refused)', TG_OP;
            END;
            $$ LANGUAGE plpgsql;
            CREATE TRIGGER disbursements_ledger_append_only
                BEFORE UPDATE OR DELETE ON disbursements_disbursementtransition
                FOR EACH ROW EXECUTE FUNCTION disbursements_ledger_append_only();
            """,
            reverse_sql="""
            DROP TRIGGER IF EXISTS disbursements_ledger_append_only ON disbursements_disbursementtransition;
            DROP FUNCTION IF EXISTS disbursements_ledger_append_only();
            """,
        ),
    ]
