"""aidcase settings: everything deploy-specific comes from the environment (see README, "Configuration").

With nothing set, aidcase runs as a local demo: SQLite, Celery tasks run eagerly, DEBUG on.
As soon as DATABASE_URL points at a real database, DEBUG defaults to off and SECRET_KEY becomes mandatory.
"""

from datetime import timedelta
from pathlib import Path

import environ
from django.conf.locale import LANG_INFO
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent

# Docker/Kubernetes secrets: SECRET_KEY_FILE=/run/secrets/... is read like SECRET_KEY (any variable).
env = environ.FileAwareEnv()

DATABASE_URL_SET = bool(env.str("DATABASE_URL", default="")) or bool(env.str("DATABASE_URL_FILE", default=""))
DEBUG = env.bool("DEBUG", default=not DATABASE_URL_SET)

_INSECURE_DEV_KEY = "django-insecure-aidcase-local-development-only-never-in-production"
SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. With DEBUG off aidcase refuses to start without a real secret key "
            "(set SECRET_KEY or SECRET_KEY_FILE to 50+ random characters)."
        )
    SECRET_KEY = _INSECURE_DEV_KEY
elif not DEBUG and (len(SECRET_KEY) < 50 or SECRET_KEY.startswith("django-insecure")):
    raise ImproperlyConfigured("SECRET_KEY is too weak for production: use at least 50 random characters.")

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "rest_framework",
    "rest_framework_api_key",
    "django_filters",
    "drf_spectacular",
    "django_celery_beat",
    "axes",
    "aidcase.core",
    "accounts",
    "families",
    "disbursements",
    "referrals",
    "reports",
    "grievances",
    "privacy",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "aidcase.core.nul.RejectNulMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",
    "aidcase.core.replica.PrimaryPinMiddleware",
]

ROOT_URLCONF = "aidcase.urls"
WSGI_APPLICATION = "aidcase.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'aidcase.sqlite3'}"),
}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
# A connection killed by a database restart is noticed and replaced instead of failing the request.
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"] = {"timeout": 20}
IS_POSTGRES = DATABASES["default"]["ENGINE"].endswith("postgresql")
if IS_POSTGRES:
    # An unreachable database server fails the request within seconds (503) instead of holding it.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault(
        "connect_timeout", env.int("DATABASE_CONNECT_TIMEOUT", default=5)
    )

# An optional streaming replica of the primary: report queries and partner pulls read from it
# (aidcase/core/replica.py), unless it is down or lags more than REPLICA_MAX_LAG_SECONDS.
DATABASE_REPLICA_URL = env.str("DATABASE_REPLICA_URL", default="")
if DATABASE_REPLICA_URL:
    DATABASES["replica"] = {
        **env.db_url_config(DATABASE_REPLICA_URL),
        "CONN_MAX_AGE": DATABASES["default"]["CONN_MAX_AGE"],
        "CONN_HEALTH_CHECKS": True,
        # A replica that does not answer quickly is skipped, not waited for.
        "OPTIONS": {"connect_timeout": env.int("REPLICA_CONNECT_TIMEOUT", default=2)},
        "TEST": {"MIRROR": "default"},
    }
DATABASE_ROUTERS = ["aidcase.core.replica.PrimaryReplicaRouter"]
REPLICA_MAX_LAG_SECONDS = env.float("REPLICA_MAX_LAG_SECONDS", default=30)
REPLICA_CHECK_SECONDS = env.float("REPLICA_CHECK_SECONDS", default=5)
# After a change, its user reads from the primary for this long (read your own writes across requests).
REPLICA_PIN_SECONDS = env.int("REPLICA_PIN_SECONDS", default=10)

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# django-axes: lock a username+IP pair after repeated failed logins (brute force on shared laptops).
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=10)
AXES_COOLOFF_TIME = timedelta(minutes=30)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_ENABLED = env.bool("AXES_ENABLED", default=True)

# --- Redis, cache, Celery ---------------------------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
# Several installations (or test runs) on one Redis: prefixes cache keys, queue names and the beat lock.
REDIS_KEY_PREFIX = env.str("REDIS_KEY_PREFIX", default="")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": REDIS_KEY_PREFIX,
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = REDIS_URL or "cache+memory://"
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=30 * 60)
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=25 * 60)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_TRANSPORT_OPTIONS = {
    # A message a worker took and never acknowledged (the worker was killed) is delivered again after this;
    # longer than the longest task (time limits up to an hour), or a running task would get a second copy.
    "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=2 * 3600),
    # A broker that does not answer fails the publish quickly; the outbox keeps the task (core/outbox.py).
    "socket_connect_timeout": 3,
}
# Sent outbox rows are kept this long (to see what was sent when), then deleted by the drain.
OUTBOX_RETENTION_HOURS = env.int("OUTBOX_RETENTION_HOURS", default=24)
# Test hook (aidcase/core/faults.py): named points where code announces itself in Redis and waits.
FAULT_CHECKPOINTS = env.list("FAULT_CHECKPOINTS", default=[])
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=not REDIS_URL)
# Queues per workload (aidcase/celery.py): bulk (reconciliation, imports), webhooks, reports, housekeeping.
CELERY_QUEUE_PREFIX = REDIS_KEY_PREFIX
CELERY_TASK_QUEUES = {
    f"{CELERY_QUEUE_PREFIX}{name}": {} for name in ("bulk", "webhooks", "reports", "housekeeping")
}
CELERY_TASK_DEFAULT_QUEUE = f"{CELERY_QUEUE_PREFIX}housekeeping"
CELERY_TASK_ROUTES = ("aidcase.celery.route_task",)
# The database scheduler behind a Redis lock: a second beat (started by mistake, or a standby) waits.
CELERY_BEAT_SCHEDULER = "aidcase.core.beat:SingleBeatScheduler"
CELERY_BEAT_LOCK_SECONDS = env.int("CELERY_BEAT_LOCK_SECONDS", default=30)
CELERY_TIMEZONE = env.str("TIME_ZONE", default="Asia/Kabul")

# --- Internationalisation ------------------------------------------------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("fa", _("Dari")), ("ps", _("Pashto"))]
# Django knows Persian ("fa") but not Pashto; both are written right to left.
LANGUAGES_BIDI = ["he", "ar", "ar-dz", "ckb", "fa", "ur", "ug", "ps"]
LANG_INFO.update(
    {
        "fa": {"bidi": True, "code": "fa", "name": "Dari", "name_local": "دری"},
        "ps": {"bidi": True, "code": "ps", "name": "Pashto", "name_local": "پښتو"},
    }
)
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env.str("TIME_ZONE", default="Asia/Kabul")
USE_I18N = True
USE_TZ = True

# --- Static files ----------------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
MEDIA_ROOT = env.path("MEDIA_ROOT", default=BASE_DIR / "media")

# --- Security (python manage.py check --deploy is clean with DEBUG off) ----------------------------
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=12 * 3600)
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if not DEBUG:
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=True)
    # Behind a TLS-terminating proxy (nginx, a load balancer): trust its X-Forwarded-Proto.
    if env.bool("SECURE_PROXY_SSL_HEADER", default=True):
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    # /healthz is probed over plain HTTP inside the cluster.
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]

# --- REST framework --------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Bearer first: its WWW-Authenticate header turns "not authenticated" into 401, as the contract says.
        "accounts.authentication.BearerAPIKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": [
        "aidcase.core.nul.NulRefusingJSONParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_PAGINATION_CLASS": "aidcase.core.pagination.CursorPagination",
    "DEFAULT_SCHEMA_CLASS": "aidcase.core.schema.AutoSchema",
    "EXCEPTION_HANDLER": "aidcase.core.exceptions.exception_handler",
    "DEFAULT_THROTTLE_RATES": {
        "partner": env.str("PARTNER_THROTTLE_RATE", default="120/min"),
    },
    "DATETIME_FORMAT": "iso-8601",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "aidcase API",
    "DESCRIPTION": (
        "Registration of returning families, the 10,000 AFN support payment and referrals to partner "
        "organizations. Authenticate with `Authorization: Bearer <api key>` (see `createapikey`)."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "aidcase.core.schema.add_error_responses",
    ],
    # Several resources have a `status`; name each choice set after its resource in the schema.
    "ENUM_NAME_OVERRIDES": {
        "DisbursementStatusEnum": "disbursements.models.Disbursement.Status",
        "ReferralStatusEnum": "referrals.models.Referral.Status",
        "DuplicateFlagStatusEnum": "families.models.DuplicateFlag.Status",
        "WebhookDeliveryStatusEnum": "referrals.models.WebhookDelivery.Status",
        "FamilyStatusEnum": "families.models.Family.Status",
        "GrievanceStatusEnum": "grievances.models.Grievance.Status",
        "GrievanceChannelEnum": "grievances.models.Grievance.Channel",
        "GrievanceIntakeChannelEnum": ["in_person", "hotline"],
    },
}

# --- aidcase programme settings ---------------------------------------------------------------
# Exported disbursements with no statement line after this many days are reported as missing.
RECONCILIATION_GRACE_DAYS = env.int("RECONCILIATION_GRACE_DAYS", default=7)
RECONCILIATION_MAX_UPLOAD_BYTES = env.int("RECONCILIATION_MAX_UPLOAD_BYTES", default=20 * 1024 * 1024)
# Let the upload reach our own size check (and its 413) instead of Django's generic one.
DATA_UPLOAD_MAX_MEMORY_SIZE = RECONCILIATION_MAX_UPLOAD_BYTES + 1024 * 1024
# Seconds a partner's webhook endpoint gets to accept and to answer each read; then the delivery is retried.
WEBHOOK_TIMEOUT_SECONDS = env.float("WEBHOOK_TIMEOUT_SECONDS", default=5.0)
# Score (0-100) from which a registered family is reported as a possible duplicate.
DUPLICATE_SCORE_THRESHOLD = env.int("DUPLICATE_SCORE_THRESHOLD", default=85)
# Personal data of a case closed longer than this is anonymised (privacy/retention.py).
RETENTION_CLOSED_CASE_DAYS = env.int("RETENTION_CLOSED_CASE_DAYS", default=730)
if RETENTION_CLOSED_CASE_DAYS < 1:
    raise ImproperlyConfigured("RETENTION_CLOSED_CASE_DAYS must be a positive number of days.")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}, "axes": {"level": "WARNING"}},
}

# An uploaded XLSX is refused when its parts would inflate past this (checked before parsing: no zip bombs).
SPREADSHEET_MAX_INFLATED_BYTES = env.int("SPREADSHEET_MAX_INFLATED_BYTES", default=400 * 1024 * 1024)

# Household lists (bulk import): the largest file accepted, in bytes and rows; lists longer than
# FAMILY_IMPORT_INLINE_BYTES (about 2,000 rows) are imported by a Celery task (the page shows its progress).
FAMILY_IMPORT_MAX_UPLOAD_BYTES = env.int("FAMILY_IMPORT_MAX_UPLOAD_BYTES", default=50 * 1024 * 1024)
FAMILY_IMPORT_MAX_ROWS = env.int("FAMILY_IMPORT_MAX_ROWS", default=500_000)
FAMILY_IMPORT_INLINE_BYTES = env.int("FAMILY_IMPORT_INLINE_BYTES", default=256 * 1024)

# Complaints: hours from raising (or reopening) a complaint to its due date, per priority.
GRIEVANCE_SLA_HOURS = {"urgent": 24, "high": 72, "medium": 7 * 24, "low": 14 * 24}
try:
    for _item in filter(None, env.str("GRIEVANCE_SLA_HOURS", default="").replace(" ", "").split(",")):
        _priority, _hours = _item.split("=")
        GRIEVANCE_SLA_HOURS[_priority] = int(_hours)
except ValueError:
    GRIEVANCE_SLA_HOURS = {}
if set(GRIEVANCE_SLA_HOURS) != {"urgent", "high", "medium", "low"} or min(GRIEVANCE_SLA_HOURS.values()) < 1:
    raise ImproperlyConfigured(
        "GRIEVANCE_SLA_HOURS takes hours per priority, e.g. urgent=24,high=72,medium=168,low=336."
    )

# Bumped with each release that changes the offline registration page, so devices fetch the new one.
OFFLINE_CACHE_VERSION = env.str("OFFLINE_CACHE_VERSION", default="1")
