"""What a partner sees of a referral: exactly the contract's fields (data minimisation).

Shared by the partner API and the webhook payloads so the two never drift apart. Never ID document numbers,
never members' dates of birth.
"""

from rest_framework import serializers


class PartnerFamilySerializer(serializers.Serializer):
    case_number = serializers.CharField()
    head_name = serializers.CharField()
    household_size = serializers.IntegerField()
    phone = serializers.CharField()
    destination_province = serializers.CharField(source="destination_province.code")
    destination_district = serializers.CharField()
    vulnerabilities = serializers.ListField(child=serializers.CharField())


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


class StaffReferralSerializer(PartnerReferralSerializer):
    family_id = serializers.UUIDField()
    created_by = serializers.CharField(source="created_by.username")


# The partner list builds the same representation from `.values()` rows: a page of 100 model instances and
# their serializers cost several times the query itself. tests/referrals check both give identical output.
PARTNER_VALUES = (
    "id", "organization__code", "status", "service__code", "urgency", "note", "status_note", "created_at",
    "updated_at", "family__case_number", "family__head_name", "family__household_size", "family__phone",
    "family__destination_province__code", "family__destination_district", "family__vulnerabilities",
)  # fmt: skip
_datetime = serializers.DateTimeField()


def partner_referral_from_values(row: dict) -> dict:
    """PartnerReferralSerializer's output for one row of `Referral.objects.values(*PARTNER_VALUES)`."""
    return {
        "id": str(row["id"]),
        "organization": row["organization__code"],
        "status": row["status"],
        "service": row["service__code"],
        "urgency": row["urgency"],
        "note": row["note"],
        "status_note": row["status_note"],
        "created_at": _datetime.to_representation(row["created_at"]),
        "updated_at": _datetime.to_representation(row["updated_at"]),
        "family": {
            "case_number": row["family__case_number"],
            "head_name": row["family__head_name"],
            "household_size": row["family__household_size"],
            "phone": row["family__phone"],
            "destination_province": row["family__destination_province__code"],
            "destination_district": row["family__destination_district"],
            "vulnerabilities": [str(v) for v in row["family__vulnerabilities"]],
        },
    }
