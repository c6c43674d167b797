from django.db import migrations

from aidcase.core.migration_ops import PostgresOnlySQL


class Migration(migrations.Migration):
    dependencies = [("referrals", "0003_referral_referralevent_webhookendpoint_and_more")]

    operations = [
        PostgresOnlySQL(
            sql="""
            CREATE OR REPLACE FUNCTION referrals_history_append_only() RETURNS trigger AS $$
            BEGIN
                RAISE EXCEPTION 'referrals_referralevent is append-only (% refused)', TG_OP;
            END;
            $$ LANGUAGE plpgsql;
            CREATE TRIGGER referrals_history_append_only
                BEFORE UPDATE OR DELETE ON referrals_referralevent
                FOR EACH ROW EXECUTE FUNCTION referrals_history_append_only();
            """,
            reverse_sql="""
            DROP TRIGGER IF EXISTS referrals_history_append_only ON referrals_referralevent;
            DROP FUNCTION IF EXISTS referrals_history_append_only();
            """,
        ),
    ]
