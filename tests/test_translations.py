"""The Dari and Pashto catalogues are complete, keep every placeholder, and match their committed .mo files."""

import ast
import gettext
import re
from pathlib import Path

import pytest

LOCALE = Path(__file__).resolve().parents[1] / "locale"
CATALOGUES = sorted(LOCALE.glob("*/LC_MESSAGES/django.po"))
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]|%[sd]|\{\w*\}")


def entries(path: Path) -> list[dict]:
    """A small reader of the .po format: msgctxt, msgid, msgid_plural, msgstr / msgstr[n], flags."""
    result, current, key = [], None, None
    for raw in path.read_text(encoding="utf-8").splitlines() + [""]:
        line = raw.strip()
        if not line or line.startswith("#~"):
            if current and "msgid" in current:
                result.append(current)
            current, key = (None, None) if not line else (current, key)
            continue
        if current is None:
            current = {"flags": set(), "msgstr": {}}
        if line.startswith("#,"):
            current["flags"].update(flag.strip() for flag in line[2:].split(","))
        elif line.startswith("#"):
            continue
        elif line.startswith('"'):
            value = ast.literal_eval(line)
            if isinstance(key, tuple):
                current["msgstr"][key[1]] += value
            else:
                current[key] += value
        else:
            word, _, rest = line.partition(" ")
            value = ast.literal_eval(rest)
            match = re.fullmatch(r"msgstr\[(\d+)\]", word)
            if match:
                key = ("msgstr", int(match[1]))
                current["msgstr"][key[1]] = value
            elif word == "msgstr":
                key = ("msgstr", 0)
                current["msgstr"][0] = value
            else:
                key = word
                current[word] = value
    return [e for e in result if e["msgid"]]  # the header has an empty msgid


def test_dari_and_pashto_catalogues_exist():
    assert {p.parts[-3] for p in CATALOGUES} >= {"fa", "ps"}


@pytest.mark.parametrize("path", CATALOGUES, ids=lambda p: p.parts[-3])
def test_every_message_is_translated(path):
    problems = []
    for entry in entries(path):
        where = entry["msgid"][:60]
        if "fuzzy" in entry["flags"]:
            problems.append(f"fuzzy: {where}")
        if not entry["msgstr"] or any(not text.strip() for text in entry["msgstr"].values()):
            problems.append(f"untranslated: {where}")
        if "python-format" in entry["flags"]:
            if "msgid_plural" in entry:
                # Each plural form may use the singular's or the plural's placeholders, and nothing else.
                allowed = set(PLACEHOLDER.findall(entry["msgid"] + entry["msgid_plural"]))
                if any(set(PLACEHOLDER.findall(text)) - allowed for text in entry["msgstr"].values()):
                    problems.append(f"unknown placeholder: {where}")
            elif sorted(PLACEHOLDER.findall(entry["msgstr"][0])) != sorted(
                PLACEHOLDER.findall(entry["msgid"])
            ):
                problems.append(f"placeholders differ: {where}")
    assert len(entries(path)) > 300
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("path", CATALOGUES, ids=lambda p: p.parts[-3])
def test_compiled_catalogue_matches_the_po_file(path):
    """The .mo files are committed: one left behind would show old or English text."""
    with path.with_suffix(".mo").open("rb") as handle:
        compiled = gettext.GNUTranslations(handle)
    stale = []
    for entry in entries(path):
        if "msgid_plural" in entry or "msgctxt" in entry:
            continue
        if compiled.gettext(entry["msgid"]) != entry["msgstr"][0]:
            stale.append(entry["msgid"][:60])
    assert not stale, "recompile: python manage.py compilemessages\n" + "\n".join(stale)


def test_the_reader_sees_fuzzy_and_empty_entries(tmp_path):
    po = tmp_path / "x.po"
    po.write_text(
        'msgid ""\nmsgstr "Language: fa\\n"\n\n#, fuzzy\nmsgid "Hello"\nmsgstr "سلام"\n\n'
        'msgid "Bye"\nmsgstr ""\n\nmsgid "one"\nmsgid_plural "many"\nmsgstr[0] "یک"\nmsgstr[1] ""\n',
        encoding="utf-8",
    )
    found = {e["msgid"]: e for e in entries(po)}
    assert "fuzzy" in found["Hello"]["flags"]
    assert found["Bye"]["msgstr"] == {0: ""}
    assert found["one"]["msgstr"] == {0: "یک", 1: ""}
