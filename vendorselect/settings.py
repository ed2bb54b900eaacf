"""VendorSelect settings: one module, driven by the environment.

Defaults give the embedded setup (the embedded PostgreSQL server of deploy/localdb.py, on a socket
under var/, and a file-system Celery broker under var/), so `make run` needs no servers. Production
sets DATABASE_URL, CELERY_BROKER_URL, CACHE_URL, SECRET_KEY and ALLOWED_HOSTS and leaves DJANGO_DEBUG
off.
"""

import os
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote

import dj_database_url
import pghistory
from celery.schedules import crontab
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("VENDORSELECT_VAR_DIR", BASE_DIR / "var"))


def env_bool(name: str, default: bool = False) -> bool:
    return os.environ.get(name, str(default)).strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DJANGO_DEBUG")
SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DJANGO_DEBUG is off.")
    SECRET_KEY = "insecure-development-key-only-used-with-debug-on"  # noqa: S105 - DEBUG only

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost" if DEBUG else "")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_countries",
    "django_htmx",
    "axes",
    "csp",
    "pgtrigger",
    "pghistory",
    # Shared infrastructure, after pgtrigger: its post_migrate step runs after pgtrigger's installs.
    "core",
    "accounts",
    "vendors",
    "audits",
    "oversight",
    "scoring",
    "rfp",
    "portal",
    "vendorselect",
]

MIDDLEWARE = [
    # First: every log line of the request, and every task it queues, carries its request id.
    "vendorselect.logging.RequestIdMiddleware",
    # Request counts, latencies and database queries per view, for /metrics (vendorselect/metrics.py).
    "vendorselect.metrics.MetricsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Attaches the acting user and URL to every audit-trail event a request writes (also for DRF,
    # whose authentication happens in the view).
    "pghistory.middleware.HistoryMiddleware",
    # Last, so that it sees the outcome of authentication in the views.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "vendorselect.urls"
WSGI_APPLICATION = "vendorselect.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "vendorselect.navigation.navigation",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------
# PostgreSQL only: the audit trail, the protecting triggers and the row locks are PostgreSQL's. Without
# DATABASE_URL (development only) the embedded server's socket under var/ (`make run` starts it).
DATABASE_URL = os.environ.get("DATABASE_URL", "")
if not DATABASE_URL:
    if not DEBUG:
        raise ImproperlyConfigured("DATABASE_URL must be set when DJANGO_DEBUG is off.")
    DATABASE_URL = f"postgres://postgres@{quote(str(VAR_DIR / 'pgdata'), safe='')}:5432/vendorselect"
DATABASES = {
    "default": dj_database_url.parse(
        DATABASE_URL,
        conn_max_age=int(os.environ.get("DB_CONN_MAX_AGE", "60")),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
    raise ImproperlyConfigured("DATABASE_URL must name a PostgreSQL database (postgres://...).")

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache: shared by web and worker processes (import progress lives here) ----------------
CACHE_URL = os.environ.get("CACHE_URL", "")
if CACHE_URL.startswith("redis"):
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": CACHE_URL}}
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache"),
        }
    }

# --- Accounts, sessions, lockout ---------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Argon2id first (accounts/hashers.py: 19 MiB, 3 passes, 1 lane, about 60 ms a check here): new
# passwords get it, and an older hash (PBKDF2, or Argon2 with other parameters) is re-hashed with it
# at the next successful sign-in. The PBKDF2 hashers stay so that those older hashes still verify.
PASSWORD_HASHERS = [
    "accounts.hashers.Argon2idPasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
SESSION_COOKIE_AGE = 8 * 60 * 60
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"

AXES_FAILURE_LIMIT = int(os.environ.get("AXES_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = timedelta(minutes=int(os.environ.get("AXES_COOLOFF_MINUTES", "15")))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_IPWARE_PROXY_COUNT = int(os.environ.get("AXES_PROXY_COUNT", "0")) or None

# --- Security -----------------------------------------------------------------------------
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
if not DEBUG:
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", str(365 * 24 * 3600)))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    if env_bool("BEHIND_TLS_PROXY", True):
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    # Health checks from the load balancer / compose and Prometheus' scrapes come in over plain HTTP.
    SECURE_REDIRECT_EXEMPT = [r"^healthz(/live|/ready)?$", r"^metrics$"]

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "frame-ancestors": [NONE],
        "form-action": [SELF],
    }
}

# --- Static and media -----------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
NODE_MODULES = BASE_DIR / "node_modules"
# Front-end assets come from npm (package.json) and are served by the app itself.
STATICFILES_DIRS = [
    BASE_DIR / "static",
    ("vendor/bootstrap", NODE_MODULES / "bootstrap" / "dist"),
    ("vendor/bootstrap-icons", NODE_MODULES / "bootstrap-icons" / "font"),
    ("vendor/htmx", NODE_MODULES / "htmx.org" / "dist"),
    ("vendor/chartjs", NODE_MODULES / "chart.js" / "dist"),
    ("vendor/tom-select", NODE_MODULES / "tom-select" / "dist"),
]
# Uploaded and generated files (attachments, evidence, imports, packets, audit reports) go through
# Django's storage API only. One host: the file system under MEDIA_ROOT. Web and workers on several
# hosts: an S3-compatible bucket (AWS_STORAGE_BUCKET_NAME), private objects (no ACL is sent, so the
# bucket's own private default applies), encrypted at rest (AWS_S3_SERVER_SIDE_ENCRYPTION, AES256 by
# default), never linked from a page: every download is streamed by the app after its permission check,
# so `.url` yields no signed link (querystring auth off). docs/operations.md "File storage on S3".


def s3_storage(environ) -> dict:
    """STORAGES["default"] for an S3-compatible bucket, from the environment (tests pass their own)."""
    from botocore.config import Config

    sse = environ.get("AWS_S3_SERVER_SIDE_ENCRYPTION", "AES256")
    object_parameters = {"ServerSideEncryption": sse} if sse else {}
    if sse == "aws:kms" and environ.get("AWS_S3_SSE_KMS_KEY_ID"):
        object_parameters["SSEKMSKeyId"] = environ["AWS_S3_SSE_KMS_KEY_ID"]
    return {
        "BACKEND": "core.storage.S3Storage",
        "OPTIONS": {
            "bucket_name": environ["AWS_STORAGE_BUCKET_NAME"],
            # Empty: AWS itself; else e.g. https://minio.internal:9000 or another S3-compatible service.
            "endpoint_url": environ.get("AWS_S3_ENDPOINT_URL") or None,
            "region_name": environ.get("AWS_S3_REGION_NAME") or None,
            # Unset: boto3's own chain (instance or task role, web identity, ~/.aws).
            "access_key": environ.get("AWS_ACCESS_KEY_ID") or None,
            "secret_key": environ.get("AWS_SECRET_ACCESS_KEY") or None,
            "location": environ.get("AWS_LOCATION", ""),
            "addressing_style": environ.get("AWS_S3_ADDRESSING_STYLE") or None,
            "signature_version": "s3v4",
            "default_acl": None,  # no ACL sent: the bucket's private default (block public access on)
            "object_parameters": object_parameters,
            "querystring_auth": False,  # no signed links: downloads are streamed after the permission check
            # A name already taken gets a suffix, as on the file system, instead of replacing the object.
            "file_overwrite": False,
            # A download is spooled to a temporary file past this size instead of held in memory.
            "max_memory_size": 5 * 1024 * 1024,
            "client_config": Config(
                connect_timeout=float(environ.get("AWS_S3_CONNECT_TIMEOUT", "5")),
                read_timeout=float(environ.get("AWS_S3_READ_TIMEOUT", "60")),
                retries={"max_attempts": 3, "mode": "standard"},
            ),
        },
    }


AWS_STORAGE_BUCKET_NAME = os.environ.get("AWS_STORAGE_BUCKET_NAME", "")
if AWS_STORAGE_BUCKET_NAME:
    _default_storage = s3_storage(os.environ)
else:
    _default_storage = {
        "BACKEND": os.environ.get("DEFAULT_FILE_STORAGE", "django.core.files.storage.FileSystemStorage"),
    }
STORAGES = {
    "default": _default_storage,
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage",
    },
}
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", VAR_DIR / "media"))
MEDIA_URL = "/media/"
WHITENOISE_USE_FINDERS = DEBUG
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
IMPORT_MAX_BYTES = int(os.environ.get("IMPORT_MAX_BYTES", str(20 * 1024 * 1024)))
IMPORT_MAX_ROWS = int(os.environ.get("IMPORT_MAX_ROWS", "50000"))
# An .xlsx is a zip: a small upload can unpack to gigabytes of sheet XML. Refused before parsing
# when its members add up to more than this (a full 50,000-row vendor sheet is ~37 MB unpacked).
IMPORT_MAX_UNCOMPRESSED_BYTES = int(os.environ.get("IMPORT_MAX_UNCOMPRESSED_BYTES", str(100 * 1024 * 1024)))
# Months until an approved site must be audited again (conditional approvals: half of it).
REQUALIFICATION_MONTHS = int(os.environ.get("REQUALIFICATION_MONTHS", "24"))
# PDF rendering (audit reports, shortlists, RFP packets) runs in a child process under these limits.
PDF_RENDER_TIMEOUT = float(os.environ.get("PDF_RENDER_TIMEOUT", "120"))
PDF_RENDER_MEMORY_MB = int(os.environ.get("PDF_RENDER_MEMORY_MB", "1024"))
# Signed approvals a shortlist needs at least (e.g. 2: procurement manager and QA head); a lead may ask for more.
SHORTLIST_REQUIRED_APPROVALS = int(os.environ.get("SHORTLIST_REQUIRED_APPROVALS", "1"))

# --- Audit trail ------------------------------------------------------------------------------
# PostgreSQL triggers write an event row for every insert, update and delete of a regulated
# record, whatever the path (ORM, bulk, raw SQL). The context (user, URL, reason) is copied into
# each event row, and the event tables refuse UPDATE and DELETE.
PGHISTORY_DEFAULT_TRACKERS = (pghistory.InsertEvent(), pghistory.UpdateEvent(), pghistory.DeleteEvent())
PGHISTORY_APPEND_ONLY = True
# The time of the write itself (not of the transaction start), so events order as they happened.
PGHISTORY_CREATED_AT_FUNCTION = "clock_timestamp()"
PGHISTORY_CONTEXT_FIELD = pghistory.ContextJSONField()
PGHISTORY_MIDDLEWARE_METHODS = ("POST", "PUT", "PATCH", "DELETE")
# Triggers on many-to-many link tables (auto-created models) cannot live in migrations; pgtrigger
# installs every registered trigger after each `migrate` (idempotent). Off only for a migrate to an
# older state (tests/test_upgrade.py), whose tables do not all exist yet.
PGTRIGGER_INSTALL_ON_MIGRATE = os.environ.get("PGTRIGGER_INSTALL_ON_MIGRATE", "1") != "0"
# The role the application connects as (DATABASE_URL's user): it owns nothing, and after every
# migrate (run as the owner role) it is granted what it needs and no UPDATE/DELETE on append-only
# tables (core/records.py). Empty: the deployment connects as the owner (not for GxP use).
DATABASE_APP_ROLE = os.environ.get("DATABASE_APP_ROLE", "")

# --- REST API -----------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Token first, so that an unauthenticated API call gets 401 with a WWW-Authenticate header.
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_PAGINATION_CLASS": "core.pagination.Pagination",
    "DEFAULT_SCHEMA_CLASS": "core.openapi.AutoSchema",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    # A service's refusal (core.errors.ServiceError) becomes its 4xx here; everything else is DRF's.
    "EXCEPTION_HANDLER": "core.errors.api_exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "VendorSelect API",
    "DESCRIPTION": "Register, scoring, audits, approvals and RFPs for choosing CROs, CMOs and CDMOs.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "AgencyEnum": "vendors.models.RegulatoryInspection.Agency",
        "AreaEnum": "audits.models.AREAS",
        "QualificationOutcomeEnum": "audits.models.OUTCOMES",
        # The award (rfp.Award) shares the shortlist's states, its notices the packets' job states.
        "ShortlistStatusEnum": "scoring.models.Shortlist.Status",
        "PacketStatusEnum": "rfp.models.Packet.Status",
    },
}

# --- Celery ---------------------------------------------------------------------------------
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "filesystem://localhost/")
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER")
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = int(os.environ.get("CELERY_TASK_SOFT_TIME_LIMIT", "600"))
CELERY_TASK_TIME_LIMIT = CELERY_TASK_SOFT_TIME_LIMIT + 60
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Daily reminders (overdue CAPAs, due requalifications) by `celery beat` (compose service "beat").
# The supplier portal: the largest upload, and a virus scanner that reads the file on stdin and exits
# 0 (clean) or 1 (infected), e.g. "clamdscan --no-summary --fdpass -"; none by default.
PORTAL_MAX_UPLOAD_MB = int(os.environ.get("PORTAL_MAX_UPLOAD_MB", "100"))
UPLOAD_SCAN_COMMAND = os.environ.get("UPLOAD_SCAN_COMMAND", "")

CELERY_BEAT_SCHEDULE = {
    "daily-reminders": {
        "task": "audits.tasks.send_reminders",
        "schedule": crontab(hour=int(os.environ.get("REMINDER_HOUR_UTC", "6")), minute=0),
    },
    # Publishes what a broker outage left in the outbox (core.outbox: packets, audit reports, imports,
    # e-mails) and sweeps the work whose message the broker lost or whose worker died.
    "relay-outbox": {
        "task": "core.tasks.relay_outbox",
        "schedule": float(os.environ.get("OUTBOX_RELAY_SECONDS", "60")),
    },
    # Deadline reminders to invited vendors (3 days and 1 day ahead, each once): hourly, so that a
    # deadline at any hour is met on time.
    "portal-reminders": {"task": "rfp.tasks.send_portal_reminders", "schedule": crontab(minute=15)},
}
# Work still waiting this long after its message was sent, with the broker's queue empty, is announced
# again (the broker lost it); work claimed this many times without finishing is failed, not queued
# again. Their former, packets-only names PACKET_REQUEUE_AFTER / PACKET_MAX_ATTEMPTS are still read.
OUTBOX_REQUEUE_AFTER = int(os.environ.get("OUTBOX_REQUEUE_AFTER", os.environ.get("PACKET_REQUEUE_AFTER", "120")))
OUTBOX_MAX_ATTEMPTS = int(os.environ.get("OUTBOX_MAX_ATTEMPTS", os.environ.get("PACKET_MAX_ATTEMPTS", "5")))
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
if CELERY_BROKER_URL.startswith("filesystem"):
    _broker_dir = VAR_DIR / "celery"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        "control_folder": str(_broker_dir / "control"),  # else kombu writes it into the working directory
        "store_processed": False,
    }
    for _folder in ("queue", "processed", "control"):
        (_broker_dir / _folder).mkdir(parents=True, exist_ok=True)
else:
    # Unacked tasks return to the queue after the visibility timeout: keep it above the
    # hard time limit, or a long task would be handed to a second worker while it runs.
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": CELERY_TASK_TIME_LIMIT * 2}

# --- Mail, i18n, logging -----------------------------------------------------------------------
EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS")
EMAIL_TIMEOUT = 30
# The file-based backend (EMAIL_BACKEND=django.core.mail.backends.filebased.EmailBackend) writes here.
EMAIL_FILE_PATH = os.environ.get("EMAIL_FILE_PATH", str(VAR_DIR / "mail"))
# Who hears about failed signature passwords and server errors: "Name <a@b>, c@d".
ADMINS = [(address.strip(), address.strip()) for address in os.environ.get("ADMINS", "").split(",") if address.strip()]
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "vendorselect@localhost")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# Links in e-mails point here.
SITE_URL = os.environ.get("SITE_URL", "http://127.0.0.1:8000").rstrip("/")
LANGUAGE_CODE = "en-us"
# Fixed: pages, PDFs and the audit trail label their times UTC.
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Operations: metrics, health, logs ------------------------------------------------------------
# /metrics answers only a scrape with `Authorization: Bearer <METRICS_TOKEN>`; without a token set it
# answers no one. Several gunicorn workers: PROMETHEUS_MULTIPROC_DIR (an empty directory per host,
# emptied at start by gunicorn.conf.py) lets one scrape see every worker's request counts.
METRICS_TOKEN = os.environ.get("METRICS_TOKEN", "")
PROMETHEUS_MULTIPROC_DIR = os.environ.get("PROMETHEUS_MULTIPROC_DIR", "")
# /healthz/ready gives each dependency (database, broker, storage) this long to answer.
HEALTH_CHECK_TIMEOUT = float(os.environ.get("HEALTH_CHECK_TIMEOUT", "3"))
# LOG_FORMAT=json: one JSON object a line (time, level, logger, message, request_id, task), for a log
# shipper; the request id comes from X-Request-ID (or is made) and follows the tasks a request queues.
LOG_FORMAT = os.environ.get("LOG_FORMAT", "text")
if LOG_FORMAT not in ("text", "json"):
    raise ImproperlyConfigured("LOG_FORMAT must be text or json.")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "vendorselect.logging.RequestIdFilter"}},
    "formatters": {
        "text": {"format": "%(message)s"},
        "json": {
            "()": "vendorselect.logging.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s",
        },
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "filters": ["request_id"], "formatter": LOG_FORMAT},
    },
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    # Axes logs every reset at INFO, WeasyPrint every layout step and fontTools every subset: warnings
    # and errors still reach the log.
    "loggers": {name: {"level": "WARNING"} for name in ("axes", "weasyprint", "fontTools")},
}
