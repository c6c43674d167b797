"""The last-resort error answer (Django's handler500): never a traceback, and 503 when the database is away.

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

logger = logging.getLogger(__name__)
RETRY_AFTER_SECONDS = 5

PAGE = (
    '<!doctype html><html><head><meta charset="utf-8"><title>{title}</title></head>'
    "<body><h1>{title}</h1><p>{message}</p></body></html>"
)


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
    if request.path.startswith("/api/") or "application/json" in request.headers.get("Accept", ""):
        response = JsonResponse({"detail": message, "code": code}, status=status)
    else:
        title = _("Service unavailable") if unavailable else _("Server error")
        response = HttpResponse(PAGE.format(title=escape(title), message=escape(message)), status=status)
    if unavailable:
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response
