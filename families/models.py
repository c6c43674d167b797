import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Upper
from django.utils.translation import gettext_lazy as _


class CrossingPoint(models.Model):
    code = models.CharField(max_length=32, unique=True)
    name = models.CharField(max_length=100)
    # Short prefix of the case numbers registered here, e.g. TKM-2026-000123.
    case_prefix = models.CharField(max_length=4, unique=True)
    border = models.CharField(max_length=20, default="PK")
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Province(models.Model):
    code = models.CharField(max_length=6, unique=True)  # ISO 3166-2:AF, e.g. AF-NAN
    name = models.CharField(max_length=100)
    capital = models.CharField(max_length=100, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Vulnerability(models.TextChoices):
    FEMALE_HEADED = "female_headed", _("Female-headed household")
    ELDERLY_HEADED = "elderly_headed", _("Elderly-headed household")
    CHILD_HEADED = "child_headed", _("Child-headed household")
    DISABILITY = "disability", _("Person with disability")
    UNACCOMPANIED_CHILD = "unaccompanied_child", _("Unaccompanied child")
    SEPARATED_CHILD = "separated_child", _("Separated child")
    CHRONIC_ILLNESS = "chronic_illness", _("Chronic illness")
    SERIOUS_MEDICAL_CONDITION = "serious_medical_condition", _("Serious medical condition")
    PREGNANT_LACTATING = "pregnant_lactating", _("Pregnant or lactating")
    OLDER_PERSON_AT_RISK = "older_person_at_risk", _("Older person at risk")


class DocumentationStatus(models.TextChoices):
    POR_CARD = "por_card", _("Proof of Registration (PoR) card")
    ACC = "acc", _("Afghan Citizen Card (ACC)")
    UNDOCUMENTED = "undocumented", _("Undocumented")


class ReturnType(models.TextChoices):
    DEPORTED = "deported", _("Deported")
    SPONTANEOUS = "spontaneous", _("Spontaneous return")


class Sex(models.TextChoices):
    FEMALE = "F", _("Female")
    MALE = "M", _("Male")


class Relationship(models.TextChoices):
    HEAD = "head", _("Head of household")
    SPOUSE = "spouse", _("Spouse")
    CHILD = "child", _("Child")
    PARENT = "parent", _("Parent")
    SIBLING = "sibling", _("Sibling")
    GRANDCHILD = "grandchild", _("Grandchild")
    GRANDPARENT = "grandparent", _("Grandparent")
    OTHER_RELATIVE = "other_relative", _("Other relative")
    NON_RELATIVE = "non_relative", _("Not related")


# Trigram (pg_trgm) GIN indexes on head_name_key and Member.name_key are created by migration
# families/0002 on PostgreSQL only, so that the SQLite quick-start keeps working.
class Family(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        MERGED = "merged", _("Merged into another family")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    case_number = models.CharField(max_length=20, unique=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    # Set when a review decided this record is the same household as another: it is kept, never paid.
    duplicate_of = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="merged_duplicates"
    )

    crossing_point = models.ForeignKey(CrossingPoint, on_delete=models.PROTECT, related_name="families")
    arrival_date = models.DateField()
    origin_location = models.CharField(_("origin in Pakistan (city/district)"), max_length=100, blank=True)
    documentation_status = models.CharField(max_length=20, choices=DocumentationStatus.choices, blank=True)
    return_type = models.CharField(max_length=20, choices=ReturnType.choices, blank=True)
    destination_province = models.ForeignKey(Province, on_delete=models.PROTECT, related_name="families")
    destination_district = models.CharField(max_length=100, blank=True)
    phone = models.CharField(max_length=20, blank=True, help_text=_("E.164, e.g. +93700123456"))

    # Consent to share data with partners. Never a condition of assistance: it only gates referrals.
    consent_to_share = models.BooleanField(default=False)
    consent_recorded_at = models.DateTimeField(null=True, blank=True)
    consent_recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    # Household vulnerabilities: those recorded for the household plus every member's.
    vulnerabilities = models.JSONField(default=list, blank=True)
    household_size = models.PositiveSmallIntegerField(default=0)

    # Denormalised from the head, for duplicate detection and search without joins.
    head_name = models.CharField(max_length=300, blank=True)
    head_name_key = models.CharField(max_length=200, blank=True)
    head_birth_year = models.PositiveSmallIntegerField(null=True, blank=True)

    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # Set when the family came from a household list: the same household imported again is recognised.
    import_fingerprint = models.CharField(max_length=64, blank=True, editable=False)
    # Id generated by the registering device (offline queue): a registration sent twice is taken once.
    client_reference = models.UUIDField(null=True, blank=True, unique=True, editable=False)

    # Case closure and retention (privacy/): a case is closed when its support payment is paid and every
    # referral is finished (found by the nightly retention run), or when a case worker closes it; a new
    # referral or payment request reopens it. Closed longer than RETENTION_CLOSED_CASE_DAYS: anonymised.
    case_closed_at = models.DateTimeField(null=True, blank=True, editable=False)
    case_closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        editable=False,
    )
    anonymised_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name_plural = "families"
        indexes = [
            models.Index(fields=["head_name_key", "head_birth_year"], name="family_head_key_idx"),
            models.Index(fields=["phone"], name="family_phone_idx", condition=~Q(phone="")),
            models.Index(fields=["arrival_date", "crossing_point"], name="family_arrival_idx"),
            models.Index(fields=["-created_at", "id"], name="family_created_idx"),
            models.Index(
                fields=["case_closed_at"],
                name="family_retention_idx",
                condition=Q(anonymised_at__isnull=True),
            ),
            # Search matches the case number case-insensitively (`iexact` is UPPER(case_number) = UPPER(%s)).
            models.Index(Upper("case_number"), name="family_case_number_upper_idx"),
            # The admin's "merged" filter: few rows, and the only status value worth an index.
            models.Index(fields=["status"], condition=Q(status="merged"), name="family_merged_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(status="merged", duplicate_of__isnull=False)
                | Q(status="active", duplicate_of__isnull=True),
                name="family_merged_has_target",
            ),
            models.CheckConstraint(
                condition=~Q(duplicate_of=models.F("id")), name="family_not_duplicate_of_itself"
            ),
            models.UniqueConstraint(
                fields=["import_fingerprint"], condition=~Q(import_fingerprint=""), name="family_import_once"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.case_number} {self.head_name}"

    @property
    def is_merged(self) -> bool:
        return self.duplicate_of_id is not None

    @property
    def is_anonymised(self) -> bool:
        return self.anonymised_at is not None


class Member(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    family = models.ForeignKey(Family, on_delete=models.CASCADE, related_name="members")
    given_name = models.CharField(max_length=100)
    father_name = models.CharField(max_length=100)
    family_name = models.CharField(max_length=100, blank=True)
    sex = models.CharField(max_length=1, choices=Sex.choices)
    date_of_birth = models.DateField(null=True, blank=True)
    # Estimated age in years at arrival, when the date of birth is not known (most adults).
    age_years = models.PositiveSmallIntegerField(null=True, blank=True)
    birth_year = models.PositiveSmallIntegerField(null=True, blank=True)
    relationship = models.CharField(max_length=20, choices=Relationship.choices)
    tazkira_number = models.CharField(max_length=40, blank=True)
    # Digits only, for exact matching whatever the separators or digits (Persian or Latin) typed.
    tazkira_key = models.CharField(max_length=40, blank=True)
    vulnerabilities = models.JSONField(default=list, blank=True)
    name_key = models.CharField(max_length=300, blank=True)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["family", "position"]
        indexes = [
            models.Index(fields=["tazkira_key"], name="member_tazkira_idx", condition=~Q(tazkira_key="")),
        ]
        constraints = [
            # Exactly one head: at most one here, at least one is checked by the registration service.
            models.UniqueConstraint(
                fields=["family"], condition=Q(relationship="head"), name="one_head_per_family"
            ),
            models.CheckConstraint(
                condition=Q(date_of_birth__isnull=False) | Q(age_years__isnull=False),
                name="member_has_dob_or_age",
            ),
        ]

    def __str__(self) -> str:
        return self.full_name

    @property
    def full_name(self) -> str:
        return " ".join(p for p in (self.given_name, self.father_name, self.family_name) if p)


class CaseNumberCounter(models.Model):
    """Last sequence number used per (prefix, year). Incremented with one atomic upsert per registration."""

    prefix = models.CharField(max_length=4)
    year = models.PositiveSmallIntegerField()
    last = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["prefix", "year"], name="case_counter_unique")]

    def __str__(self) -> str:
        return f"{self.prefix}-{self.year}: {self.last}"


class DuplicateFlag(models.Model):
    """A possible duplicate found at registration, waiting for a case worker's review."""

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        DISTINCT = "distinct", _("Not the same family")
        MERGED = "merged", _("Merged")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    family = models.ForeignKey(Family, on_delete=models.CASCADE, related_name="duplicate_flags")
    candidate = models.ForeignKey(Family, on_delete=models.CASCADE, related_name="+")
    score = models.PositiveSmallIntegerField()
    reasons = models.JSONField(default=list)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    note = models.TextField(blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-score", "created_at"]
        constraints = [
            models.UniqueConstraint(fields=["family", "candidate"], name="duplicate_flag_unique_pair"),
            models.CheckConstraint(
                condition=~Q(family=models.F("candidate")), name="duplicate_flag_not_self"
            ),
        ]
        indexes = [
            # The review page (open, highest score first), the API list (newest first), the admin's order.
            models.Index(fields=["status", "-score"], name="duplicate_flag_queue_idx"),
            models.Index(fields=["status", "-created_at", "id"], name="duplicate_flag_api_idx"),
            models.Index(fields=["-score", "created_at"], name="duplicate_flag_score_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.family_id} ~ {self.candidate_id} ({self.score}, {self.status})"


class FamilyImport(models.Model):
    """An uploaded household list: kept with its result so the uploader can follow it and fetch the report."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    filename = models.CharField(max_length=255)
    sha256 = models.CharField(max_length=64)
    content = models.BinaryField()
    dry_run = models.BooleanField(default=False)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    households_total = models.PositiveIntegerField(default=0)
    households_done = models.PositiveIntegerField(default=0)
    summary = models.JSONField(default=dict, blank=True)
    report = models.BinaryField(blank=True, default=b"")
    error = models.TextField(blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["created_by", "-created_at"], name="family_import_user_idx")]

    def __str__(self) -> str:
        return f"{self.filename} ({self.status})"

    @property
    def is_finished(self) -> bool:
        return self.status in (self.Status.DONE, self.Status.FAILED)

    @property
    def percent(self) -> int:
        return round(100 * self.households_done / self.households_total) if self.households_total else 0


class KoboForm(models.Model):
    """A KoBoToolbox/ODK registration form whose submissions become registrations.

    The mapping is set once per form: which form field holds each of aidcase's columns (the household
    columns of the import template, and the member columns inside the form's repeat group), and how the
    form's choice values translate to aidcase's codes.
    """

    asset_uid = models.CharField(_("form (asset) uid"), max_length=64, unique=True)
    name = models.CharField(max_length=200)
    server_url = models.URLField(
        blank=True, help_text=_("e.g. https://kf.kobotoolbox.org; empty: this form's exports are uploaded")
    )
    api_token = models.CharField(max_length=200, blank=True)
    members_group = models.CharField(
        max_length=200, default="members", help_text=_("name of the repeat group that holds the members")
    )
    household_fields = models.JSONField(
        default=dict, help_text=_('{"crossing_point": "border_point", "arrival_date": "arrival", ...}')
    )
    member_fields = models.JSONField(
        default=dict, help_text=_('{"given_name": "name", "father_name": "father", "sex": "sex", ...}')
    )
    value_maps = models.JSONField(
        default=dict,
        blank=True,
        help_text=_('{"sex": {"female": "F", "male": "M"}, "crossing_point": {...}}'),
    )
    approved_only = models.BooleanField(
        default=True, help_text=_("take only submissions whose validation status is Approved")
    )
    import_as = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_("the case worker the registrations are recorded as"),
    )
    is_active = models.BooleanField(default=True)
    last_pulled_at = models.DateTimeField(null=True, blank=True)
    last_pull_error = models.TextField(blank=True)

    class Meta:
        verbose_name = "KoBo/ODK form"

    def __str__(self) -> str:
        return f"{self.name} ({self.asset_uid})"


class KoboSubmission(models.Model):
    """One submission of a form, taken once: its uuid is unique per form."""

    class Status(models.TextChoices):
        REGISTERED = "registered", _("Registered")
        ALREADY_IMPORTED = "already_imported", _("Already registered")
        REJECTED = "rejected", _("Has errors (taken again when corrected)")

    form = models.ForeignKey(KoboForm, on_delete=models.CASCADE, related_name="submissions")
    uuid = models.CharField(max_length=64)
    status = models.CharField(max_length=20, choices=Status.choices)
    family = models.ForeignKey(Family, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    errors = models.JSONField(default=list, blank=True)
    submitted_at = models.CharField(max_length=40, blank=True)
    first_seen_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["form", "uuid"], name="kobo_submission_once")]
        indexes = [models.Index(fields=["status"], name="kobo_submission_status_idx")]

    def __str__(self) -> str:
        return f"{self.form.asset_uid}/{self.uuid} ({self.status})"
