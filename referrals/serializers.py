"""What a partner sees of a referral: exactly the contract's fields (data minimisation).

Shared by the partner API and the webhook payloads so the two never drift apart. Never ID document numbers,
never members' dates of birth. A family that withdrew its consent to share (or was anonymised) is withheld:
its referrals keep their place in the partner's sync, with the same keys, but without personal data.
"""

from rest_framework import serializers

# The family's personal data in a referral, and what replaces it once the family's data is withheld.
WITHHELD_FAMILY = {"head_name": "", "phone": "", "destination_district": "", "vulnerabilities": []}
WITHHELD_REFERRAL = {"note": "", "status_note": ""}


def family_data_withheld(family) -> bool:
    """Partners get no personal data of a family without consent to share (withdrawn) or anonymised."""
    return not family.consent_to_share or family.anonymised_at is not None


class StaffFamilySerializer(serializers.Serializer):
    case_number = serializers.CharField()
    head_name = serializers.CharField()
    household_size = serializers.IntegerField()
    phone = serializers.CharField()
    destination_province = serializers.CharField(source="destination_province.code")
    destination_district = serializers.CharField()
    vulnerabilities = serializers.ListField(child=serializers.CharField())


class PartnerFamilySerializer(StaffFamilySerializer):
    def to_representation(self, family):
        data = super().to_representation(family)
        if family_data_withheld(family):
            data.update(WITHHELD_FAMILY)
        return data


class PartnerReferralSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    organization = serializers.CharField(source="organization.code")
    status = serializers.CharField()
    service = serializers.CharField(source="service.code")
    urgency = serializers.CharField()
    note = serializers.CharField()
    status_note = serializers.CharField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    family = PartnerFamilySerializer()
    # True when the family withdrew its consent to share (or was anonymised): the family's personal fields
    # and the notes are then empty. The family object keeps exactly the contract's keys.
    family_data_withheld = serializers.SerializerMethodField()

    def get_family_data_withheld(self, referral) -> bool:
        return family_data_withheld(referral.family)

    def to_representation(self, referral):
        data = super().to_representation(referral)
        if data["family_data_withheld"]:  # the case worker's note may name people too
            data.update(WITHHELD_REFERRAL)
        return data


class StaffReferralSerializer(PartnerReferralSerializer):
    family_id = serializers.UUIDField()
    created_by = serializers.CharField(source="created_by.username")
    family = StaffFamilySerializer()

    def to_representation(self, referral):
        return serializers.Serializer.to_representation(self, referral)


# The partner list builds the same representation from `.values()` rows: a page of 100 model instances and
# their serializers cost several times the query itself. tests/referrals check both give identical output.
PARTNER_VALUES = (
    "id", "organization__code", "status", "service__code", "urgency", "note", "status_note", "created_at",
    "updated_at", "family__case_number", "family__head_name", "family__household_size", "family__phone",
    "family__destination_province__code", "family__destination_district", "family__vulnerabilities",
    "family__consent_to_share", "family__anonymised_at",
)  # fmt: skip
_datetime = serializers.DateTimeField()


def partner_referral_from_values(row: dict) -> dict:
    """PartnerReferralSerializer's output for one row of `Referral.objects.values(*PARTNER_VALUES)`."""
    withheld = not row["family__consent_to_share"] or row["family__anonymised_at"] is not None
    family = {
        "case_number": row["family__case_number"],
        "head_name": row["family__head_name"],
        "household_size": row["family__household_size"],
        "phone": row["family__phone"],
        "destination_province": row["family__destination_province__code"],
        "destination_district": row["family__destination_district"],
        "vulnerabilities": [str(v) for v in row["family__vulnerabilities"]],
    }
    data = {
        "id": str(row["id"]),
        "organization": row["organization__code"],
        "status": row["status"],
        "service": row["service__code"],
        "urgency": row["urgency"],
        "note": row["note"],
        "status_note": row["status_note"],
        "created_at": _datetime.to_representation(row["created_at"]),
        "updated_at": _datetime.to_representation(row["updated_at"]),
        "family": family,
        "family_data_withheld": withheld,
    }
    if withheld:
        family.update(WITHHELD_FAMILY)
        data.update(WITHHELD_REFERRAL)
    return data
