"""GRIEVANCE_SLA_HOURS as a deployment sets it: partial overrides keep the other defaults, nonsense stops the boot."""

import pytest

from tests.test_settings import _manage

PRINT = "from django.conf import settings; print(sorted(settings.GRIEVANCE_SLA_HOURS.items()))"


def test_partial_override_keeps_the_other_priorities():
    done = _manage("shell", "-c", PRINT, DEBUG="True", GRIEVANCE_SLA_HOURS="urgent=12, high=48")
    assert done.returncode == 0, done.stderr
    assert (
        done.stdout.strip().splitlines()[-1]
        == "[('high', 48), ('low', 336), ('medium', 168), ('urgent', 12)]"
    )


@pytest.mark.parametrize("value", ["urgent=0", "soon=3", "urgent=tomorrow", "urgent"])
def test_bad_values_refuse_to_boot(value):
    done = _manage("shell", "-c", PRINT, DEBUG="True", GRIEVANCE_SLA_HOURS=value)
    assert done.returncode != 0 and "GRIEVANCE_SLA_HOURS takes hours per priority" in done.stderr
