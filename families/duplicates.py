"""Finding possible duplicates of a household being registered.

Candidates come from indexes only (never a table scan): exact Tazkira digits (btree on Member.tazkira_key),
exact phone (btree on Family.phone), exact head key (btree on Family.head_name_key) and, on PostgreSQL,
similar head keys (pg_trgm GIN index, `%` operator). rapidfuzz then scores each candidate.
"""

from dataclasses import dataclass, field

from django.conf import settings
from django.db import connection
from django.db.models import Q

from families.models import Family, Member
from families.names import head_key, name_similarity

MAX_CANDIDATES = 50


@dataclass
class Applicant:
    """What is known of a household before (or after) it is saved."""

    head_given_name: str
    head_father_name: str
    head_birth_year: int | None = None
    phone: str = ""
    tazkira_keys: list[str] = field(default_factory=list)
    exclude_id: object | None = None

    @property
    def key(self) -> str:
        return head_key(self.head_given_name, self.head_father_name)


@dataclass
class Match:
    family: Family
    score: int
    reasons: list[str]


def _candidate_ids(applicant: Applicant) -> set:
    ids: set = set()
    if applicant.tazkira_keys:
        ids.update(
            Member.objects.filter(tazkira_key__in=applicant.tazkira_keys).values_list("family_id", flat=True)[
                :MAX_CANDIDATES
            ]
        )
    if applicant.phone:
        ids.update(Family.objects.filter(phone=applicant.phone).values_list("id", flat=True)[:MAX_CANDIDATES])
    key = applicant.key
    if key:
        by_key = Family.objects.filter(head_name_key=key)
        if applicant.head_birth_year:
            year = applicant.head_birth_year
            by_key = by_key.filter(
                Q(head_birth_year__isnull=True) | Q(head_birth_year__range=(year - 3, year + 3))
            )
        ids.update(by_key.values_list("id", flat=True)[:MAX_CANDIDATES])
        if connection.vendor == "postgresql":
            ids.update(
                Family.objects.filter(head_name_key__trigram_similar=key).values_list("id", flat=True)[
                    :MAX_CANDIDATES
                ]
            )
    ids.discard(applicant.exclude_id)
    return ids


def score_candidate(applicant: Applicant, family, head, tazkira_hits: set) -> Match | None:
    """Score one candidate: `family` needs id, phone and head_birth_year; `head` given_name and father_name."""
    reasons: list[str] = []
    score = 0
    if family.id in tazkira_hits:
        reasons.append("same Tazkira number")
        score = 100
    if applicant.phone and family.phone == applicant.phone:
        reasons.append("same phone number")
        score = max(score, 70)
    if head is not None:
        given = name_similarity(applicant.head_given_name, head.given_name)
        father = name_similarity(applicant.head_father_name, head.father_name)
        name_score = (given + father) / 2
        if name_score >= 80:
            reasons.append(f"head's name and father's name similar ({name_score:.0f}/100)")
            years = (applicant.head_birth_year, family.head_birth_year)
            if None not in years:
                if abs(years[0] - years[1]) <= 1:
                    reasons.append(f"head born around the same year ({years[1]})")
                    name_score = min(100, name_score + 5)
                else:
                    name_score -= min(30, 5 * abs(years[0] - years[1]))
            if score and name_score >= 80:  # a shared phone plus the same name is strong evidence
                name_score = min(100, name_score + 15)
            score = max(score, round(name_score))
    if not reasons:
        return None
    return Match(family=family, score=int(score), reasons=reasons)


def find_possible_duplicates(applicant: Applicant, *, threshold: int | None = None) -> list[Match]:
    """Possible duplicates of `applicant`, best first; phone or document matches are always reported."""
    threshold = settings.DUPLICATE_SCORE_THRESHOLD if threshold is None else threshold
    ids = _candidate_ids(applicant)
    if not ids:
        return []
    tazkira_hits = set()
    if applicant.tazkira_keys:
        tazkira_hits = set(
            Member.objects.filter(family_id__in=ids, tazkira_key__in=applicant.tazkira_keys).values_list(
                "family_id", flat=True
            )
        )
    families = Family.objects.filter(id__in=ids).select_related("crossing_point")
    # Only the heads are scored: loading every member of up to 150 candidates cost more than the scoring.
    heads = {
        m.family_id: m
        for m in Member.objects.filter(family_id__in=ids, relationship="head").only(
            "family_id", "given_name", "father_name"
        )
    }
    matches = [
        m for m in (score_candidate(applicant, f, heads.get(f.id), tazkira_hits) for f in families) if m
    ]
    matches = [m for m in matches if is_reportable(m, threshold)]
    return sorted(matches, key=lambda m: (-m.score, m.family.case_number))


def is_reportable(match: Match, threshold: int) -> bool:
    """A match is shown to the case worker at or above the threshold, or always when a document or phone
    is shared (evidence a reviewer must see whatever the names say)."""
    return match.score >= threshold or bool({"same Tazkira number", "same phone number"} & set(match.reasons))
