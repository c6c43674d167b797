"""PostgreSQL text cannot hold a NUL character: refuse it at the edge with a 400 instead of a 500 later."""

from django.http import JsonResponse
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

NUL_MESSAGE = "Text may not contain NUL (\\x00) characters."


def _has_nul(value) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return any(_has_nul(v) for v in value)
    return False


class NulRefusingJSONParser(JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        data = super().parse(stream, media_type, parser_context)
        if _has_nul(data):
            raise ParseError(NUL_MESSAGE)
        return data


class RejectNulMiddleware:
    """Query strings and form fields with a NUL byte get 400 before any view runs."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if (
            "\x00" in request.path
            or any(_has_nul(v) for v in request.GET.lists())
            or (
                request.method == "POST"
                and request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data")
                and any(_has_nul(v) for v in request.POST.lists())
            )
        ):
            return JsonResponse({"detail": NUL_MESSAGE, "code": "invalid"}, status=400)
        return self.get_response(request)
