"""Keyset (seek) pagination over a unique ordering: `{"next": url | null, "results": [...]}`.

DRF's CursorPagination positions on the first ordering field plus an offset, which can skip or repeat rows
when rows change between pages. Here the cursor holds the full ordering key of the last row returned
(e.g. `updated_at`, `id`), and the next page is `WHERE (updated_at, id) > (cursor)`: a row is never skipped,
an unchanged row never repeats, and a row that changes moves to a later page.
"""

import base64
import binascii
import json
from collections import OrderedDict

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Q
from rest_framework import pagination
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.utils.urls import replace_query_param

INVALID_LIMIT = "Ensure this value is an integer between 1 and {max}."
INVALID_CURSOR = "Invalid cursor."


class CursorPagination(pagination.BasePagination):
    page_size = 100
    max_page_size = 500
    cursor_query_param = "cursor"
    page_size_query_param = "limit"
    # Unique ordering; the last field must be unique (a primary key) so the key identifies one row.
    ordering: tuple[str, ...] = ("-created_at", "id")

    def get_ordering(self, view) -> tuple[str, ...]:
        return tuple(getattr(view, "pagination_ordering", None) or self.ordering)

    def get_page_size(self, request) -> int:
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        try:
            value = int(raw)
        except ValueError:
            value = 0
        if not 1 <= value <= self.max_page_size:
            raise ValidationError(
                {self.page_size_query_param: [INVALID_LIMIT.format(max=self.max_page_size)]}
            )
        return value

    def _decode_cursor(self, raw: str, model, ordering) -> list:
        try:
            values = json.loads(base64.urlsafe_b64decode(raw.encode("ascii") + b"==").decode("utf-8"))
            if not isinstance(values, list) or len(values) != len(ordering):
                raise ValueError
            return [
                model._meta.get_field(name.lstrip("-")).to_python(value)
                for name, value in zip(ordering, values, strict=True)
            ]
        except (ValueError, UnicodeError, binascii.Error, DjangoValidationError, TypeError):
            raise ValidationError({self.cursor_query_param: [INVALID_CURSOR]}) from None

    @staticmethod
    def _encode_cursor(values: list) -> str:
        raw = json.dumps([v.isoformat() if hasattr(v, "isoformat") else str(v) for v in values])
        return base64.urlsafe_b64encode(raw.encode("utf-8")).decode("ascii").rstrip("=")

    @staticmethod
    def _after(ordering, values) -> Q:
        """(a, b, c) > (x, y, z) in the mixed asc/desc sense of `ordering`.

        The leading `a >= x` is implied by the rest but lets the database start an index range scan at the
        cursor instead of filtering every row before it (a page deep into a sync stays as fast as the first).
        """
        first = ordering[0].lstrip("-")
        bound = Q(**{f"{first}__{'lte' if ordering[0].startswith('-') else 'gte'}": values[0]})
        return bound & CursorPagination._strictly_after(ordering, values)

    @staticmethod
    def _strictly_after(ordering, values) -> Q:
        condition = Q()
        for i in reversed(range(len(ordering))):
            name = ordering[i].lstrip("-")
            op = "lt" if ordering[i].startswith("-") else "gt"
            step = Q(**{f"{name}__{op}": values[i]})
            if i < len(ordering) - 1:
                step |= Q(**{name: values[i]}) & condition
            condition = step
        return condition

    def paginate_queryset(self, queryset, request, view=None):
        ordering = self.get_ordering(view)
        limit = self.get_page_size(request)
        raw_cursor = request.query_params.get(self.cursor_query_param)
        queryset = queryset.order_by(*ordering)
        if raw_cursor:
            queryset = queryset.filter(
                self._after(ordering, self._decode_cursor(raw_cursor, queryset.model, ordering))
            )
        rows = list(queryset[: limit + 1])
        self.request = request
        self.next_cursor = None
        if len(rows) > limit:
            rows = rows[:limit]
            last = rows[-1]
            self.next_cursor = self._encode_cursor(
                [
                    last[n] if isinstance(last, dict) else getattr(last, n)
                    for n in (o.lstrip("-") for o in ordering)
                ]
            )
        return rows

    def get_next_link(self) -> str | None:
        if self.next_cursor is None:
            return None
        url = self.request.build_absolute_uri()
        return replace_query_param(url, self.cursor_query_param, self.next_cursor)

    def get_paginated_response(self, data):
        return Response(OrderedDict([("next", self.get_next_link()), ("results", data)]))

    def get_paginated_response_schema(self, schema):
        return {
            "type": "object",
            "required": ["next", "results"],
            "properties": {
                "next": {
                    "type": "string",
                    "nullable": True,
                    "format": "uri",
                    "example": "https://aidcase.example.org/api/v1/referrals/?cursor=WyIyMDI2LTExLTIwVDA5OjEyOjQ0KzA0OjMwIiwgIjZmMWMiXQ&limit=100",
                },
                "results": schema,
            },
        }

    def get_schema_operation_parameters(self, view):
        return [
            {
                "name": self.cursor_query_param,
                "required": False,
                "in": "query",
                "description": "Opaque cursor from the `next` link of the previous page.",
                "schema": {"type": "string"},
            },
            {
                "name": self.page_size_query_param,
                "required": False,
                "in": "query",
                "description": f"Page size, 1 to {self.max_page_size} (default {self.page_size}).",
                "schema": {"type": "integer", "minimum": 1, "maximum": self.max_page_size},
            },
        ]
