"""OpenAPI generation details: Bearer API keys, and unique names for the nested Input/Output serializers."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from rest_framework import serializers


class AutoSchema(SpectacularAutoSchema):
    def _get_serializer_name(self, serializer, direction, bypass_extensions=False):
        name = super()._get_serializer_name(serializer, direction, bypass_extensions)
        cls = type(serializer.child if isinstance(serializer, serializers.ListSerializer) else serializer)
        outer, _, _ = cls.__qualname__.rpartition(".")
        # `FamilyListCreateApi.InputSerializer` -> `FamilyListCreateInput`: one component per view, no clashes.
        if outer:
            return outer.removesuffix("Api") + name
        return name


class BearerAPIKeyScheme(OpenApiAuthenticationExtension):
    target_class = "accounts.authentication.BearerAPIKeyAuthentication"
    name = "BearerApiKey"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "An API key from `python manage.py createapikey USERNAME`: `Authorization: Bearer <key>`.",
        }
