"""Solar Hijri dates and Persian digits, against dates everyone in Afghanistan knows."""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.template import Context, Template
from django.utils import translation
from hypothesis import given
from hypothesis import strategies as st

from aidcase.core.afghan import (
    SolarHijri,
    ascii_digits,
    from_solar_hijri,
    localize_digits,
    solar_hijri_text,
    to_solar_hijri,
)

KNOWN = [
    (date(2024, 3, 20), SolarHijri(1403, 1, 1)),  # Nowruz 1403
    (date(2025, 3, 21), SolarHijri(1404, 1, 1)),  # Nowruz 1404
    (date(2026, 3, 21), SolarHijri(1405, 1, 1)),  # Nowruz 1405
    (date(2023, 8, 19), SolarHijri(1402, 5, 28)),  # Independence Day, 28 Asad
    (date(2021, 8, 19), SolarHijri(1400, 5, 28)),
    (date(2025, 3, 20), SolarHijri(1403, 12, 30)),  # last day of the leap year 1403
    (date(2000, 1, 1), SolarHijri(1378, 10, 11)),
    (date(2026, 12, 4), SolarHijri(1405, 9, 13)),
]


@pytest.mark.parametrize(("gregorian", "solar"), KNOWN)
def test_known_dates(gregorian, solar):
    assert to_solar_hijri(gregorian) == solar
    assert from_solar_hijri(solar.year, solar.month, solar.day) == gregorian


@given(st.dates(min_value=date(1900, 1, 1), max_value=date(2100, 12, 31)))
def test_round_trip_and_next_day(day):
    solar = to_solar_hijri(day)
    assert from_solar_hijri(solar.year, solar.month, solar.day) == day
    following = to_solar_hijri(day + timedelta(days=1))
    if following.month == solar.month:
        assert (following.year, following.day) == (solar.year, solar.day + 1)
    else:
        assert following.day == 1
        assert (following.year, following.month) in ((solar.year, solar.month + 1), (solar.year + 1, 1))
        assert solar.day in ((31,) if solar.month <= 6 else (30,) if solar.month <= 11 else (29, 30))


@given(st.text(alphabet="0123456789-:/ abc", max_size=30))
def test_digits_round_trip(text):
    persian = localize_digits(text, "fa")
    assert not any(c in "0123456789" for c in persian)
    assert ascii_digits(persian) == text
    assert localize_digits(text, "en") == text


def test_month_names_per_language():
    assert solar_hijri_text(date(2026, 12, 4), "en") == "13 Qaws 1405"
    assert solar_hijri_text(date(2026, 12, 4), "fa") == "۱۳ قوس ۱۴۰۵"
    assert solar_hijri_text(date(2026, 12, 4), "ps") == "۱۳ لیندۍ ۱۴۰۵"
    assert solar_hijri_text(date(2027, 3, 21), "fa") == "۱ حمل ۱۴۰۶"


def render(source, lang, **context):
    with translation.override(lang):
        return Template(source).render(Context(context))


def test_afdate_filter_shows_both_calendars():
    day = date(2026, 12, 4)
    assert render("{{ d|afdate }}", "en", d=day) == (
        '<time datetime="2026-12-04">2026-12-04 <span class="alt">(13 Qaws 1405)</span></time>'
    )
    assert render("{{ d|afdate }}", "fa", d=day) == (
        '<time datetime="2026-12-04">۱۳ قوس ۱۴۰۵ <span class="alt">(<bdi dir="ltr">۲۰۲۶-۱۲-۰۴</bdi>)</span></time>'
    )
    # A date-time is shown on the day it is in Kabul (UTC 21:00 is already the next morning there).
    late = datetime(2026, 12, 4, 21, 0, tzinfo=ZoneInfo("UTC"))
    assert "2026-12-05" in render("{{ d|afdate:'time' }}", "en", d=late)
    assert "01:30" in render("{{ d|afdate:'time' }}", "en", d=late)
    assert render("{{ d|afdate }}", "en", d=None) == ""


def test_digits_and_amounts():
    assert render("{{ n|digits }}", "fa", n=1234) == "۱۲۳۴"
    assert render("{{ n|digits }}", "ps", n=5) == "۵"
    assert render("{{ n|digits }}", "en", n=1234) == "1234"
    assert render("{{ a|amount }}", "en", a="10000.00") == "10,000"
    assert render("{{ a|amount }}", "fa", a="12500.50") == "۱۲٬۵۰۰٫۵۰"
