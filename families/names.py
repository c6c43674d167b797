"""Name and number normalisation for duplicate detection and search.

Case workers type the same Afghan name many ways: Mohammad / Muhammad / Mohammed / محمد, Gul / Gol,
Abdul Rahman / Abd-ul-Rahman / Abdulrahman, with Persian (ی ک) or Arabic (ي ك) letters. Two layers:

1. `canonical_name`: script clean-up, then a dictionary of known variants (data/names.csv) maps every
   spelling, Latin or Perso-Arabic, to one canonical Latin form; unknown Perso-Arabic names are romanised.
2. `name_skeleton`: a phonetic key (consonant skeleton) of the canonical form that absorbs the remaining
   vowel and doubling differences. Keys are what the database indexes; rapidfuzz scores the candidates.
"""

import csv
import re
import unicodedata
from functools import cache, lru_cache
from pathlib import Path

from rapidfuzz import fuzz
from unidecode import unidecode

NAMES_CSV = Path(__file__).parent / "data" / "names.csv"

_ARABIC_TO_PERSIAN = str.maketrans(
    {"ي": "ی", "ى": "ی", "ك": "ک", "ة": "ه", "أ": "ا", "إ": "ا", "آ": "ا", "ٱ": "ا"}
)
# Zero-width non-joiner/joiner, tatweel, and Arabic diacritics (harakat) carry no identity.
_INVISIBLE = re.compile("[\u200c\u200d\u0640\u064b-\u065f\u0670]")
_ARABIC_SCRIPT = re.compile("[\u0600-\u06ff]")
_NOT_LETTER = re.compile(r"[^a-z]")
_DIGITS = str.maketrans("۰۱۲۳۴۵۶۷۸۹٠١٢٣٤٥٦٧٨٩", "01234567890123456789")

# Phonetic folds applied to the Latin canonical form, longest first.
_FOLDS = [("kh", "x"), ("gh", "g"), ("ph", "f"), ("ck", "k"), ("q", "k"), ("v", "w"), ("dh", "z")]
_VOWELS = re.compile("[aeiouy]")
_REPEATS = re.compile(r"(.)\1+")


@lru_cache(maxsize=200_000)
def clean_script(text: str) -> str:
    """Unicode-normalise, unify Arabic and Persian letters, drop invisible marks, collapse spaces."""
    text = unicodedata.normalize("NFKC", text or "").translate(_ARABIC_TO_PERSIAN)
    text = _INVISIBLE.sub("", text)
    return " ".join(text.split())


def _compact(text: str) -> str:
    """A lookup key: Latin lowercase letters only, or Perso-Arabic without spaces."""
    text = clean_script(text)
    if _ARABIC_SCRIPT.search(text):
        return re.sub(r"[\s\-]", "", text)
    return _NOT_LETTER.sub("", unidecode(text).lower())


@cache
def _variants() -> dict[str, str]:
    table: dict[str, str] = {}
    with NAMES_CSV.open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            canonical = _compact(row["latin"])
            spellings = [row["latin"], row["arabic_script"], *(row["variants"] or "").split("|")]
            for spelling in filter(None, (s.strip() for s in spellings)):
                table.setdefault(_compact(spelling), canonical)
    return table


@lru_cache(maxsize=200_000)  # names repeat a lot: a bulk import or a duplicate search asks for the same ones
def canonical_name(text: str) -> str:
    """One canonical Latin spelling for a name as typed, e.g. 'Muhammed' and 'محمد' -> 'mohammad'."""
    compact = _compact(text)
    if not compact:
        return ""
    known = _variants().get(compact)
    if known:
        return known
    if _ARABIC_SCRIPT.search(compact):
        # Romanised Perso-Arabic has no short vowels; restore the common "-ullah" ending (الله -> llh).
        return re.sub("llh$", "ullah", _NOT_LETTER.sub("", unidecode(compact).lower()))
    return compact


@lru_cache(maxsize=200_000)
def name_skeleton(text: str) -> str:
    """Phonetic key of a name: canonical form, folded, vowels after the first letter dropped, no doubles."""
    name = canonical_name(text)
    if not name:
        return ""
    name = re.sub(r"(?<=[aeiou])h$", "", name)  # Fatimah/Fatima, ...ullah/...ulla
    for old, new in _FOLDS:
        name = name.replace(old, new)
    name = name[0] + _VOWELS.sub("", name[1:])
    return _REPEATS.sub(r"\1", name)


def person_key(given_name: str, father_name: str, family_name: str = "") -> str:
    """Indexed key of a person: skeletons of given name and father's name (and family name if any)."""
    return " ".join(
        filter(None, (name_skeleton(given_name), name_skeleton(father_name), name_skeleton(family_name)))
    )


def head_key(given_name: str, father_name: str) -> str:
    """Key used for duplicate candidates: given name and father's name, the usual Afghan identifier."""
    return f"{name_skeleton(given_name)} {name_skeleton(father_name)}".strip()


def name_similarity(a: str, b: str) -> float:
    """0-100 similarity of two names as typed, tolerant to transliteration (best of canonical and key)."""
    if not a or not b:
        return 0.0
    return max(
        fuzz.ratio(canonical_name(a), canonical_name(b)), fuzz.ratio(name_skeleton(a), name_skeleton(b))
    )


def digits_key(text: str) -> str:
    """Document numbers compared by their digits only (Persian or Latin), e.g. '۱۴۰۰-۰۱۰۱' -> '14000101'."""
    return re.sub(r"\D", "", clean_script(text).translate(_DIGITS))


def search_key(text: str) -> str:
    """Turn a free-text name query into the same key space as `Member.name_key`."""
    return " ".join(filter(None, (name_skeleton(word) for word in clean_script(text).split())))
