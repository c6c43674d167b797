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
