import logging

import redis
from django.conf import settings
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

logger = logging.getLogger(__name__)


def _database_status() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return "ok"
    except Exception as exc:  # any failure means "down" to a probe; the reason goes to the log
        logger.warning("healthz: database unavailable: %s", exc)
        return "unavailable"


def _redis_status() -> str:
    if not settings.REDIS_URL:
        return "not configured"
    try:
        # retry=None: a probe answers within a second; redis-py would otherwise retry for seconds.
        client = redis.Redis.from_url(
            settings.REDIS_URL, socket_connect_timeout=1, socket_timeout=1, retry=None
        )
        client.ping()
        return "ok"
    except redis.RedisError as exc:
        logger.warning("healthz: redis unavailable: %s", exc)
        return "unavailable"


@never_cache
@require_GET
def healthz(request):
    body = {"database": _database_status(), "redis": _redis_status()}
    healthy = body["database"] == "ok" and body["redis"] in ("ok", "not configured")
    return JsonResponse(body, status=200 if healthy else 503)
