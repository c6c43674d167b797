"""Template filters for Afghan dates and digits: {% load afghan %}.

{{ family.arrival_date|afdate }}        Solar Hijri beside Gregorian, in a <time> element
{{ event.created_at|afdate:"time" }}    the same with the local time of day
{{ count|digits }}                      Persian digits in Dari and Pashto
"""

from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from django import template
from django.utils import timezone
from django.utils.html import format_html

from aidcase.core.afghan import localize_digits, solar_hijri_text, uses_persian_digits

register = template.Library()


@register.filter
def digits(value):
    if value is None or value == "":
        return value
    return localize_digits(value)


@register.filter
def amount(value):
    """10000 -> '10,000' (Persian digits and separator in Dari and Pashto)."""
    if value is None or value == "":
        return value
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return value
    text = f"{number:,.0f}" if number == number.to_integral_value() else f"{number:,.2f}"
    if uses_persian_digits():
        text = text.replace(",", "٬").replace(".", "٫")  # Arabic thousands and decimal separators
    return localize_digits(text)


@register.filter
def afdate(value, arg=""):
    """A date (or date-time) as people in Afghanistan expect it.

    Dari and Pashto: Solar Hijri first, Gregorian after it; English: Gregorian first. The machine-readable
    ISO date is in the datetime attribute either way.
    """
    if not value:
        return ""
    if isinstance(value, datetime):
        local = timezone.localtime(value) if timezone.is_aware(value) else value
        day, iso = local.date(), local.isoformat()
        clock = local.strftime("%H:%M") if arg == "time" else ""
    elif isinstance(value, date):
        day, iso, clock = value, value.isoformat(), ""
    else:
        return value
    gregorian = day.isoformat()
    solar = solar_hijri_text(day)
    if uses_persian_digits():
        first, second = solar, localize_digits(gregorian)
        clock = localize_digits(clock)
    else:
        first, second = gregorian, solar
    # The ISO date keeps its year-month-day order inside right-to-left text.
    if uses_persian_digits():
        second = format_html('<bdi dir="ltr">{}</bdi>', second)
    if clock:
        return format_html(
            '<time datetime="{}">{} <span class="alt">({})</span> {}</time>', iso, first, second, clock
        )
    return format_html('<time datetime="{}">{} <span class="alt">({})</span></time>', iso, first, second)
