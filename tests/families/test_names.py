import csv
from pathlib import Path

import pytest

from families.names import canonical_name, digits_key, head_key, name_similarity, name_skeleton, search_key

NAMES = list(
    csv.DictReader((Path(__file__).resolve().parents[2] / "families/data/names.csv").open(encoding="utf-8"))
)


def to_arabic_codepoints(text: str) -> str:
    return text.replace("ی", "ي").replace("ک", "ك")


@pytest.mark.parametrize("row", NAMES, ids=[r["latin"] for r in NAMES])
def test_every_spelling_of_a_name_has_the_same_key(row):
    spellings = [row["latin"], row["arabic_script"], to_arabic_codepoints(row["arabic_script"])]
    spellings += [v for v in row["variants"].split("|") if v]
    keys = {name_skeleton(s) for s in spellings}
    assert len(keys) == 1, dict(zip(spellings, map(name_skeleton, spellings), strict=True))


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Mohammad", "Muhammad"),
        ("Mohammed", "محمد"),
        ("Gul", "Gol"),
        ("Abdul Rahman", "Abd-ul-Rahman"),
        ("Abdulrahman", "عبدالرحمن"),
        ("Najibullah", "نجيب الله"),
        ("Rahmatullah", "رحمت الله"),
    ],
)
def test_transliteration_variants_are_similar(a, b):
    assert name_similarity(a, b) >= 90


@pytest.mark.parametrize(("a", "b"), [("Mohammad", "Fatima"), ("Gul", "Karim"), ("Ahmad", "Zainab")])
def test_different_names_are_not_similar(a, b):
    assert name_similarity(a, b) < 60


def test_zero_width_non_joiner_and_diacritics_are_ignored():
    assert canonical_name("نجیب\u200cالله") == canonical_name("نجیبالله") == "najibullah"
    assert canonical_name("مُحَمَّد") == "mohammad"


def test_head_key_and_search_key_share_the_key_space():
    assert head_key("Muhammed", "Ahmed") == "mhmd ahmd"
    assert search_key("محمد احمد") == "mhmd ahmd"


def test_digits_key_reads_persian_digits_and_ignores_separators():
    assert digits_key("۱۴۰۰-۰۱۰۱-۱۲۳۴۵") == digits_key("1400 0101 12345") == "1400010112345"
    assert digits_key("") == ""
