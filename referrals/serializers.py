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
