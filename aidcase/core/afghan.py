"""Dates and digits as people in Afghanistan read them.

Afghanistan's official calendar is the Solar Hijri one (the same year and day count as Iran's, computed by
jdatetime), with its own month names: the zodiac names in Dari (Hamal, Sawr, ...) and their Pashto names
(Wray, Ghwayay, ...). Dari and Pashto text is written with Eastern Arabic-Indic (Persian) digits; identifiers
that people copy into other systems (case numbers, phone and Tazkira numbers, references) keep ASCII digits.
"""

from dataclasses import dataclass
from datetime import date, datetime

import jdatetime
from django.utils import timezone
from django.utils.translation import get_language

RTL_LANGUAGES = ("fa", "ps")

MONTHS = {
    "fa": ["حمل", "ثور", "جوزا", "سرطان", "اسد", "سنبله", "میزان", "عقرب", "قوس", "جدی", "دلو", "حوت"],
    "ps": ["وری", "غویی", "غبرگولی", "چنګاښ", "زمری", "وږی", "تله", "لړم", "لیندۍ", "مرغومی", "سلواغه", "کب"],
    "en": [
        "Hamal",
        "Sawr",
        "Jawza",
        "Saratan",
        "Asad",
        "Sonbola",
        "Mizan",
        "Aqrab",
        "Qaws",
        "Jadi",
        "Dalw",
        "Hut",
    ],
}
PERSIAN_DIGITS = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")
ASCII_DIGITS = str.maketrans("۰۱۲۳۴۵۶۷۸۹٠١٢٣٤٥٦٧٨٩", "01234567890123456789")


@dataclass(frozen=True)
class SolarHijri:
    year: int
    month: int  # 1 = Hamal (starts at the March equinox)
    day: int


def base_language(language: str | None = None) -> str:
    return (language or get_language() or "en").split("-")[0].split("_")[0].lower()


def uses_persian_digits(language: str | None = None) -> bool:
    return base_language(language) in RTL_LANGUAGES


def to_solar_hijri(value: date) -> SolarHijri:
    if isinstance(value, datetime):
        value = timezone.localtime(value).date() if timezone.is_aware(value) else value.date()
    converted = jdatetime.date.fromgregorian(date=value)
    return SolarHijri(converted.year, converted.month, converted.day)


def from_solar_hijri(year: int, month: int, day: int) -> date:
    return jdatetime.date(year, month, day).togregorian()


def localize_digits(text, language: str | None = None) -> str:
    """Persian digits in Dari and Pashto, the text unchanged otherwise."""
    text = str(text)
    return text.translate(PERSIAN_DIGITS) if uses_persian_digits(language) else text


def ascii_digits(text: str) -> str:
    """What a user typed with a Persian or Arabic keyboard, as ASCII digits (for numbers and dates)."""
    return text.translate(ASCII_DIGITS)


def solar_hijri_text(value: date, language: str | None = None) -> str:
    """'13 Qaws 1405' in English, '۱۳ قوس ۱۴۰۵' in Dari, '۱۳ لیندۍ ۱۴۰۵' in Pashto."""
    language = base_language(language)
    sh = to_solar_hijri(value)
    months = MONTHS.get(language, MONTHS["en"])
    return localize_digits(f"{sh.day} {months[sh.month - 1]} {sh.year}", language)
