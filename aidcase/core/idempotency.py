"""`Idempotency-Key` for unsafe API calls: a retry gets the first response, whatever it was.

The same user, key, method and path replay the stored status and body; the same key with a different JSON
body is 422; a retry while the first request still runs is 409. Records live in the database for
`IDEMPOTENCY_RETENTION_HOURS` (default 48) and are purged by a periodic task.
"""

import hashlib
import json
from datetime import timedelta
from functools import wraps

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework.response import Response

from aidcase.core.exceptions import Conflict, Unprocessable
from aidcase.core.models import IdempotencyRecord

HEADER = "Idempotency-Key"
KEY_REUSED = "This Idempotency-Key was already used with a different request body."
STILL_RUNNING = "A request with this Idempotency-Key is still being processed; retry later."
KEY_TOO_LONG = "Idempotency-Key must be at most 255 characters."
REPLAY_HEADER = "Idempotent-Replayed"


def _request_hash(request) -> str:
    body = json.dumps(request.data, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def _claim(request, key: str) -> IdempotencyRecord | Response:
    """Insert the in-progress record, or answer from the existing one."""
    request_hash = _request_hash(request)
    lookup = {"user": request.user, "key": key, "method": request.method, "path": request.path}
    stale_before = timezone.now() - timedelta(seconds=getattr(settings, "IDEMPOTENCY_LOCK_SECONDS", 300))
    try:
        with transaction.atomic():
            return IdempotencyRecord.objects.create(request_hash=request_hash, **lookup)
    except IntegrityError:
        pass
    with transaction.atomic():
        record = IdempotencyRecord.objects.select_for_update().get(**lookup)
        if record.request_hash != request_hash:
            raise Unprocessable(KEY_REUSED, code="idempotency_key_reused")
        if record.state == IdempotencyRecord.State.DONE:
            response = Response(record.response_body, status=record.response_status)
            response[REPLAY_HEADER] = "true"
            return response
        if record.created_at > stale_before:
            raise Conflict(STILL_RUNNING, code="idempotency_in_progress")
        # The first attempt died without an answer: this retry takes the key over.
        record.created_at = timezone.now()
        record.save(update_fields=["created_at"])
        return record


def idempotent(view_method):
    """Decorate an APIView method; requests without the header are handled as usual."""

    @wraps(view_method)
    def wrapper(self, request, *args, **kwargs):
        key = request.headers.get(HEADER, "").strip()
        if not key:
            return view_method(self, request, *args, **kwargs)
        if len(key) > 255:
            return Response({"detail": KEY_TOO_LONG, "code": "invalid"}, status=400)
        claimed = _claim(request, key)
        if isinstance(claimed, Response):
            return claimed
        try:
            response = view_method(self, request, *args, **kwargs)
        except Exception as exc:
            # Render expected errors (409, 400, ...) like DRF would, so that they are replayed too.
            try:
                response = self.handle_exception(exc)
            except Exception:
                claimed.delete()
                raise
        if response.status_code >= 500:
            claimed.delete()  # a server error is not an answer: let the client retry for real
            return response
        IdempotencyRecord.objects.filter(pk=claimed.pk).update(
            state=IdempotencyRecord.State.DONE,
            response_status=response.status_code,
            response_body=json.loads(json.dumps(response.data, default=str)),
        )
        return response

    return wrapper


def idempotency_records_purge() -> int:
    """Delete records older than the retention period (at least 24 hours)."""
    hours = max(24, getattr(settings, "IDEMPOTENCY_RETENTION_HOURS", 48))
    deleted, _ = IdempotencyRecord.objects.filter(
        created_at__lt=timezone.now() - timedelta(hours=hours)
    ).delete()
    return deleted
