"""OpenAPI generation details: Bearer API keys, and unique names for the nested Input/Output serializers."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from rest_framework import serializers


class AutoSchema(SpectacularAutoSchema):
    def _get_paginator(self):
        # Our list APIs paginate by hand with a keyset cursor; they say so with `pagination_ordering`.
        if getattr(self.view, "pagination_ordering", None):
            from aidcase.core.pagination import CursorPagination

            return CursorPagination()
        return super()._get_paginator()

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


ERROR_SCHEMA = {
    "type": "object",
    "description": '`{"detail", "code"}`, or field errors `{"field": ["message"]}`.',
    "properties": {"detail": {"type": "string"}, "code": {"type": "string"}},
    "additionalProperties": True,
}
ERROR_DESCRIPTIONS = {
    "400": "Invalid input or query parameter: field errors, or `detail` and `code`.",
    "401": "No, malformed, revoked or unknown credentials.",
    "403": "Authenticated, but this role may not do this.",
    "404": "No such object, or not one this caller may see.",
    "409": "The current state does not allow this (e.g. already paid, already decided).",
    "429": "Too many requests for this API key; see `Retry-After`.",
}


def add_error_responses(result, generator, request, public):
    """Postprocessing hook: document the error answers every API operation can give, in the contract's shape."""
    result.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    for path, operations in result.get("paths", {}).items():
        if not path.startswith("/api/v1/"):
            continue
        for method, operation in operations.items():
            codes = ["400", "401", "403"]
            if "{" in path:
                codes.append("404")
            if method == "post":
                codes.append("409")
            if path.startswith("/api/v1/referrals/"):
                codes.append("429")
            responses = operation.setdefault("responses", {})
            for code in codes:
                responses.setdefault(
                    code,
                    {
                        "description": ERROR_DESCRIPTIONS[code],
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
                    },
                )
    return result
