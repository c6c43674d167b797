"""The retention schedule, and the one exception to the append-only tables: erasure of free text.

The audit trail, the referral history and the payment ledger refuse UPDATE and DELETE. The retention run
(privacy/retention.py) must still remove personal data from their free-text columns, so inside a transaction
that has set `aidcase.erasure` (set_config(..., true): for that transaction only) an UPDATE is accepted when
it changes nothing but those columns. DELETE is always refused; who, what and when never change.
"""

from django.db import migrations

from aidcase.core.migration_ops import PostgresOnlySQL

NAME = "Retention: anonymise closed cases"

ERASURE = "TG_OP = 'UPDATE' AND coalesce(current_setting('aidcase.erasure', true), '') = 'on'"

FORWARD = f"""
CREATE OR REPLACE FUNCTION accounts_auditevent_append_only() RETURNS trigger AS $$
BEGIN
    IF {ERASURE}
       AND NEW.id = OLD.id AND NEW.uuid = OLD.uuid AND NEW.created_at = OLD.created_at
       AND NEW.actor_id IS NOT DISTINCT FROM OLD.actor_id AND NEW.actor_username = OLD.actor_username
       AND NEW.action = OLD.action AND NEW.target_type = OLD.target_type AND NEW.target_id = OLD.target_id THEN
        RETURN NEW;  -- only `data` changes
    END IF;
    RAISE EXCEPTION 'accounts_auditevent is append-only (% refused)', TG_OP;
END;
$$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION referrals_history_append_only() RETURNS trigger AS $$
BEGIN
    IF {ERASURE}
       AND NEW.id = OLD.id AND NEW.referral_id = OLD.referral_id AND NEW.from_status = OLD.from_status
       AND NEW.to_status = OLD.to_status AND NEW.actor_id = OLD.actor_id AND NEW.created_at = OLD.created_at THEN
        RETURN NEW;  -- only `note` changes
    END IF;
    RAISE EXCEPTION 'referrals_referralevent is append-only (% refused)', TG_OP;
END;
$$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION disbursements_ledger_append_only() RETURNS trigger AS $$
BEGIN
    IF {ERASURE}
       AND NEW.id = OLD.id AND NEW.disbursement_id = OLD.disbursement_id AND NEW.from_status = OLD.from_status
       AND NEW.to_status = OLD.to_status AND NEW.actor_id IS NOT DISTINCT FROM OLD.actor_id
       AND NEW.created_at = OLD.created_at AND NEW.data = OLD.data THEN
        RETURN NEW;  -- only `reason` changes
    END IF;
    RAISE EXCEPTION 'disbursements_disbursementtransition is append-only (% refused)', TG_OP;
END;
$$ LANGUAGE plpgsql;
"""

BACKWARD = """
CREATE OR REPLACE FUNCTION accounts_auditevent_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'accounts_auditevent is append-only (% refused)', TG_OP;
END;
$$ LANGUAGE plpgsql;
CREATE OR REPLACE FUNCTION referrals_history_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'referrals_referralevent is append-only (% refused)', TG_OP;
END;
$$ LANGUAGE plpgsql;
CREATE OR REPLACE FUNCTION disbursements_ledger_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'disbursements_disbursementtransition is append-only (% refused)', TG_OP;
END;
$$ LANGUAGE plpgsql;
"""


def create_schedule(apps, schema_editor):
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    crontab, _ = CrontabSchedule.objects.get_or_create(
        minute="45", hour="2", day_of_week="*", day_of_month="*", month_of_year="*", timezone="Asia/Kabul"
    )
    PeriodicTask.objects.get_or_create(
        name=NAME, defaults={"task": "privacy.tasks.retention_run_task", "crontab": crontab}
    )


def remove_schedule(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_reference_organizations_and_audit_guard"),
        ("referrals", "0006_list_indexes"),
        ("disbursements", "0006_list_indexes"),
        ("families", "0008_case_closure_and_anonymisation"),
        ("django_celery_beat", "0018_improve_crontab_helptext"),
    ]

    operations = [
        PostgresOnlySQL(sql=FORWARD, reverse_sql=BACKWARD),
        migrations.RunPython(create_schedule, remove_schedule),
    ]
