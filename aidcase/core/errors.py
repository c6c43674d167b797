"""Error answers. Under /api/ every error is JSON in the contract's shape, even when no API view answered (an id
that is not a UUID, a malformed multipart body, a crash); pages keep Django's HTML ones.

The last-resort answer (handler500) never shows a traceback (it goes to the log only), and says 503 when the
database is away.

A database that restarts or fails over makes the requests in flight fail with OperationalError/InterfaceError;
they get 503 with `Retry-After` (JSON for the API, a small page otherwise) so clients retry, and the next
request gets a fresh connection (CONN_HEALTH_CHECKS). Anything else is a plain 500. Neither page uses the
database or a template that could fail in turn.
"""

import logging
import sys

from django.db import InterfaceError, OperationalError
from django.http import HttpResponse, JsonResponse
from django.utils.html import escape
from django.utils.translation import gettext as _
from django.views import defaults

logger = logging.getLogger(__name__)
RETRY_AFTER_SECONDS = 5
API_PREFIX = "/api/"

PAGE = (
    '<!doctype html><html><head><meta charset="utf-8"><title>{title}</title></head>'
    "<body><h1>{title}</h1><p>{message}</p></body></html>"
)


def _is_api(request) -> bool:
    return request.path.startswith(API_PREFIX)


def bad_request(request, exception):
    if _is_api(request):
        return JsonResponse({"detail": "The request could not be read.", "code": "bad_request"}, status=400)
    return defaults.bad_request(request, exception)


def permission_denied(request, exception):
    if _is_api(request):
        return JsonResponse(
            {"detail": "You do not have permission to perform this action.", "code": "permission_denied"},
            status=403,
        )
    return defaults.permission_denied(request, exception)


def page_not_found(request, exception):
    if _is_api(request):
        return JsonResponse({"detail": "Not found.", "code": "not_found"}, status=404)
    return defaults.page_not_found(request, exception)


def server_error(request, *args, **kwargs):
    exc = sys.exc_info()[1]  # handler500 runs inside Django's `except`: the error being handled
    unavailable = isinstance(exc, (OperationalError, InterfaceError))
    if unavailable:
        logger.warning("database unavailable while serving %s: %s", request.path, exc)
        status, code = 503, "unavailable"
        message = _("The service is briefly unavailable. Please try again in a few seconds.")
    else:
        status, code = 500, "server_error"
        message = _("Something went wrong on our side. The error has been logged.")
    if _is_api(request) or "application/json" in request.headers.get("Accept", ""):
        response = JsonResponse({"detail": message, "code": code}, status=status)
    else:
        title = _("Service unavailable") if unavailable else _("Server error")
        response = HttpResponse(PAGE.format(title=escape(title), message=escape(message)), status=status)
    if unavailable:
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response
