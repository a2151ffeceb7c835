"""Settings, read from the environment (12-factor) with embedded development defaults."""

import os
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

from devtools.devsecret import development_secret_key

BASE_DIR = Path(__file__).resolve().parent.parent
LOCAL_DIR = BASE_DIR / ".local"

env = environ.Env()

DEBUG = env.bool("DEBUG", default=True)
SECRET_KEY = env.str("SECRET_KEY", default="") or (
    development_secret_key(LOCAL_DIR) if DEBUG else ""
)
if not SECRET_KEY:
    raise ImproperlyConfigured("SECRET_KEY must be set in the environment when DEBUG is off.")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
# Links and incoming webhook URLs; without it, the address the web process binds (WEB_BIND,
# as the Procfile's gunicorn does), with 0.0.0.0 read as this machine's loopback.
_BIND_HOST, _, _BIND_PORT = env.str("WEB_BIND", default="127.0.0.1:8000").rpartition(":")
PUBLIC_BASE_URL = env.str("PUBLIC_BASE_URL", default="") or (
    f"http://{'127.0.0.1' if _BIND_HOST in {'', '0.0.0.0', '::', '[::]'} else _BIND_HOST}"
    f":{_BIND_PORT}"
)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "accounts",
    "workflows",
    "datasets",
    "events",
    "subscriptions",
    "incoming",
    "delivery",
    "ops",
]

MIDDLEWARE = [
    "api.request_limits.RequestLimitsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "webhooks_project.urls"
WSGI_APPLICATION = "webhooks_project.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        # Project-wide overrides (the API docs pages without any external URL).
        "DIRS": [BASE_DIR / "api" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# SQLite by default, in WAL mode with a busy timeout so the web process and the workers can
# write side by side (each worker process writes from one thread: delivery/pipeline.py);
# DATABASE_URL switches to PostgreSQL with nothing else changed.
DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{LOCAL_DIR / 'db.sqlite3'}")
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "timeout": 30,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
    # Tests run a real worker in another process: the test database must be a file it can open.
    # One file per test run, so that runs side by side do not share a database.
    DATABASES["default"]["TEST"] = {"NAME": str(LOCAL_DIR / f"test-db-{os.getpid()}.sqlite3")}
# Connections are kept (per thread) rather than opened for every request and task: a worker's
# pipeline writes from one long-lived thread, and a new SQLite connection costs more than most
# of the statements it would run.
DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
DATABASES["default"].setdefault("CONN_HEALTH_CHECKS", True)

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = DEBUG

EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
EMAIL_FILE_PATH = env.str("EMAIL_FILE_PATH", default=str(LOCAL_DIR / "mail"))
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="webhooks@localhost")

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)

DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=1024 * 1024)

# --- Redis and Celery -------------------------------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="redis://127.0.0.1:6379/0")

# A task whose countdown exceeds the visibility timeout is handed out twice by the Redis
# transport; every retry delay is kept well under it (checked by a system check).
CELERY_VISIBILITY_TIMEOUT = env.int("CELERY_VISIBILITY_TIMEOUT", default=2 * 3600)
CELERY_BROKER_URL = REDIS_URL
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": CELERY_VISIBILITY_TIMEOUT,
    "socket_connect_timeout": 2,
    "socket_timeout": 5,
    # Publishing while Redis is down must fail fast: the change is committed and the sweeper
    # enqueues its deliveries later, so a web request should not wait on reconnects.
    "max_retries": 1,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.2,
}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_TASK_IGNORE_RESULT = True
# A worker reserves no more tasks than it has threads for: a batch waiting in one worker's
# buffer while another worker is idle is a batch sent late.
CELERY_WORKER_PREFETCH_MULTIPLIER = env.int("CELERY_WORKER_PREFETCH_MULTIPLIER", default=1)
# Celery's Django fixup closes a task thread's database connection before and after every task
# unless told to reuse it, and a new PostgreSQL connection costs a worker more than a delivery's
# own work at light load (docs/decisions/0010-task-connections.md). Connections are kept instead;
# before each task the thread's connection is checked the way Django checks it for a request
# (CONN_MAX_AGE, CONN_HEALTH_CHECKS, an unfinished transaction), by webhooks_project/celery.py.
CELERY_DB_REUSE_MAX = env.int("CELERY_DB_REUSE_MAX", default=100_000)
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_DEFAULT_QUEUE = "webhooks"
CELERY_BEAT_SCHEDULE_FILENAME = str(LOCAL_DIR / "celerybeat-schedule")

# --- Webhooks ---------------------------------------------------------------------------------
# Every WEBHOOK_* and INCOMING_* setting is declared here, once, with its default; the code reads
# them as plain `settings.X`. The table in docs/operations.md lists them with the same defaults.
# Outgoing webhooks an organization may have.
WEBHOOK_MAX_PER_ORGANIZATION = env.int("WEBHOOK_MAX_PER_ORGANIZATION", default=50)
# Seconds to connect to a receiver, and to wait for its answer, on each try.
WEBHOOK_CONNECT_TIMEOUT = env.float("WEBHOOK_CONNECT_TIMEOUT", default=5.0)
WEBHOOK_READ_TIMEOUT = env.float("WEBHOOK_READ_TIMEOUT", default=15.0)
# Tries per delivery, ever (Process Street's "at most 3 tries"); fixed, not read from the
# environment.
WEBHOOK_MAX_TRIES = 3
# Seconds before try 2, try 3, ... (the last repeats), each spread at random by
# ±WEBHOOK_RETRY_JITTER (a fraction) so deliveries that failed together do not retry together.
WEBHOOK_RETRY_DELAYS = tuple(env.list("WEBHOOK_RETRY_DELAYS", cast=float, default=[30.0, 300.0]))
WEBHOOK_RETRY_JITTER = env.float("WEBHOOK_RETRY_JITTER", default=0.2)
# A receiver's Retry-After is honoured up to this many seconds.
WEBHOOK_RETRY_AFTER_CAP = env.float("WEBHOOK_RETRY_AFTER_CAP", default=3600.0)
# Bytes of each response body kept with its try.
WEBHOOK_RESPONSE_EXCERPT_BYTES = env.int("WEBHOOK_RESPONSE_EXCERPT_BYTES", default=4096)
# Seconds an old signing secret keeps signing after a rotation.
WEBHOOK_SECRET_ROTATION_GRACE = env.int("WEBHOOK_SECRET_ROTATION_GRACE", default=24 * 3600)
# Networks a destination may resolve into although they are private (e.g. 127.0.0.1/32 for a
# local receiver). Empty in production: every private, loopback and reserved address is refused.
WEBHOOK_ALLOWED_NETWORKS = env.list("WEBHOOK_ALLOWED_NETWORKS", default=[])
# How long past its timeouts a try may still be running before the sweeper takes it for lost.
WEBHOOK_TRY_LEASE_MARGIN = env.float("WEBHOOK_TRY_LEASE_MARGIN", default=30.0)
# At most this many tries in flight to a slow host at once, so hanging receivers cannot take
# every worker thread; tries over the limit wait a moment without using up a try. A host is slow
# for 5 minutes after a try to it timed out or took longer than WEBHOOK_SLOW_RESPONSE_SECONDS.
WEBHOOK_MAX_INFLIGHT_PER_ENDPOINT = env.int("WEBHOOK_MAX_INFLIGHT_PER_ENDPOINT", default=4)
WEBHOOK_SLOW_RESPONSE_SECONDS = env.float("WEBHOOK_SLOW_RESPONSE_SECONDS", default=1.0)
# Auto-disable: a webhook whose deliveries have all failed for this long, and at least
# this many in a row, is disabled and its organization's Admins are emailed.
WEBHOOK_AUTO_DISABLE_AFTER = env.float("WEBHOOK_AUTO_DISABLE_AFTER", default=5 * 24 * 3600)
WEBHOOK_AUTO_DISABLE_MIN_FAILURES = env.int("WEBHOOK_AUTO_DISABLE_MIN_FAILURES", default=20)
# Retention, in days, of deliveries (with their attempts) by outcome; pruned by beat.
WEBHOOK_RETENTION_SUCCEEDED_DAYS = env.float("WEBHOOK_RETENTION_SUCCEEDED_DAYS", default=14)
WEBHOOK_RETENTION_FAILED_DAYS = env.float("WEBHOOK_RETENTION_FAILED_DAYS", default=60)
# Rows per batch for recovery, replay and pruning.
WEBHOOK_BATCH_SIZE = env.int("WEBHOOK_BATCH_SIZE", default=500)
# A fan-out's deliveries go to the workers in `deliver` tasks of up to this many, and a
# webhook's stream is drained in batches of this many.
WEBHOOK_DELIVERY_BATCH_SIZE = env.int("WEBHOOK_DELIVERY_BATCH_SIZE", default=100)
# Flow control (delivery/flow.py). POSTs in flight per worker process, and of those, to one
# endpoint (host and port; 0, the default: no such limit beyond the slow-endpoint one above,
# docs/decisions). A try waits for a place before it is claimed; one that finds none within
# WEBHOOK_ADMISSION_WAIT seconds is put back, untried, for a moment.
WEBHOOK_MAX_POSTS_IN_FLIGHT = env.int("WEBHOOK_MAX_POSTS_IN_FLIGHT", default=128)
WEBHOOK_MAX_POSTS_PER_ENDPOINT = env.int("WEBHOOK_MAX_POSTS_PER_ENDPOINT", default=0)
WEBHOOK_ADMISSION_WAIT = env.float("WEBHOOK_ADMISSION_WAIT", default=5.0)
# The committing request hands its wake-up to a background thread instead of publishing itself.
WEBHOOK_PUBLISH_IN_BACKGROUND = env.bool("WEBHOOK_PUBLISH_IN_BACKGROUND", default=True)
# A webhook's stream of lone deliveries is coalesced into drain batches (delivery/drain.py).
WEBHOOK_DRAIN_STREAMS = env.bool("WEBHOOK_DRAIN_STREAMS", default=True)
# Seconds between sweeps (beat), and how long a due delivery may wait in the queue before the
# sweeper enqueues it again.
WEBHOOK_SWEEP_INTERVAL = env.float("WEBHOOK_SWEEP_INTERVAL", default=30.0)
WEBHOOK_SWEEP_GRACE = env.float("WEBHOOK_SWEEP_GRACE", default=60.0)
# A delivery of an ordered webhook held behind an earlier one of its subject is due again
# this many seconds later at the latest (delivery/ordering.py); the end of the earlier one
# makes it due at once, so this only bounds how long a lost wake-up could keep it waiting.
WEBHOOK_ORDER_RECHECK = env.float("WEBHOOK_ORDER_RECHECK", default=600.0)

# --- Incoming webhooks (incoming/) -------------------------------------------------------------
# The largest body an incoming webhook's public URL accepts, in bytes; over it: 413.
INCOMING_WEBHOOK_MAX_BYTES = env.int("INCOMING_WEBHOOK_MAX_BYTES", default=1024 * 1024)
# Requests per incoming webhook token, counted in Redis across web processes; over it: 429.
INCOMING_RATE = env.str("INCOMING_RATE", default="600/min")
# Seconds during which a repeated Idempotency-Key (or webhook-id) is answered as the first
# request with it was, creating nothing.
INCOMING_IDEMPOTENCY_SECONDS = env.int("INCOMING_IDEMPOTENCY_SECONDS", default=24 * 3600)
# Requests kept in each incoming webhook's log (the newest); older ones are deleted.
INCOMING_WEBHOOK_REQUESTS_KEPT = env.int("INCOMING_WEBHOOK_REQUESTS_KEPT", default=100)
# The domain of the email of each organization's automation user, by whom incoming webhooks'
# changes are made (accounts/automation.py); `.invalid` never receives mail.
AUTOMATION_EMAIL_DOMAIN = env.str("AUTOMATION_EMAIL_DOMAIN", default="automation.invalid")

CELERY_BEAT_SCHEDULE = {
    "sweep-deliveries": {
        "task": "delivery.tasks.sweep_deliveries",
        "schedule": WEBHOOK_SWEEP_INTERVAL,
    },
    "record-heartbeat": {"task": "delivery.tasks.record_heartbeat", "schedule": 30.0},
    "prune-deliveries": {"task": "delivery.tasks.prune_deliveries", "schedule": 3600.0},
}

# --- Request limits and rate limits (docs/security.md) -----------------------------------------
# Over-long URLs answer 414, over-long header values or headers in total 431, /api/ bodies over
# DATA_UPLOAD_MAX_MEMORY_SIZE 413 (api.request_limits); JSON nested deeper than
# MAX_JSON_DEPTH is a 400.
MAX_URL_LENGTH = env.int("MAX_URL_LENGTH", default=4096)
MAX_HEADER_VALUE_LENGTH = env.int("MAX_HEADER_VALUE_LENGTH", default=8192)
MAX_HEADERS_SIZE = env.int("MAX_HEADERS_SIZE", default=32 * 1024)
MAX_JSON_DEPTH = env.int("MAX_JSON_DEPTH", default=32)
# Requests per API key (scope "api"; per incoming webhook token: INCOMING_RATE above), counted
# in Redis so every web process shares them (api.throttles); over it: 429.
API_RATE = env.str("API_RATE", default="1200/min")
# Wrong API keys per client address (REMOTE_ADDR; behind a proxy set NUM_PROXIES); over it: 429.
API_KEY_FAILURE_RATE = env.str("API_KEY_FAILURE_RATE", default="20/min")
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    "throttle": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": env.str("THROTTLE_REDIS_URL", default=REDIS_URL),
        "KEY_PREFIX": "throttle",
        # A Redis outage must not hang requests: the throttles let requests through then.
        "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
    },
}

# --- REST framework ---------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.ApiKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "api.pagination.Pagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "api.errors.exception_handler",
    "DEFAULT_FILTER_BACKENDS": ["api.filtering.StrictFilterBackend"],
    # The API speaks JSON only (as Process Street's); the public incoming endpoint, a plain
    # view, also takes form-encoded bodies.
    "DEFAULT_PARSER_CLASSES": ["api.strict_json.StrictJSONParser"],
    "DEFAULT_RENDERER_CLASSES": [
        "api.strict_json.SafeJSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    "DEFAULT_THROTTLE_CLASSES": ["api.throttles.ApiKeyRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {
        "api": API_RATE, "incoming": INCOMING_RATE, "api_key_failures": API_KEY_FAILURE_RATE,
    },
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Webhooks API",
    "DESCRIPTION": "Process Street style workflows, data sets, forms and webhooks.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # Several models have a `status` with different choices: name each set.
    "ENUM_NAME_OVERRIDES": {
        "DeliveryStatusEnum": "delivery.models.DeliveryStatus",
        "TaskStatusEnum": "workflows.models.runs.TaskStatus",
        "ApprovalStatusEnum": "workflows.models.runs.ApprovalStatus",
        "ActiveStatusEnum": "subscriptions.models.WebhookStatus",
    },
    # Swagger UI and ReDoc from the pinned drf-spectacular-sidecar package, served as our own
    # static files: the docs work offline and never load a script from elsewhere.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # validatorUrl None: Swagger UI would otherwise send the schema to an online validator.
    # An API key typed into "Authorize" is not persisted (it would sit in localStorage).
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "validatorUrl": None,
                            "persistAuthorization": False},
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "api.openapi.add_error_responses",
        "api.openapi_docs.document_operations",
        "events.catalogue.openapi_webhooks",
        "api.openapi_docs.openapi_31",
        "api.openapi_docs.drop_unreferenced_components",
    ],
    # 3.1: the outgoing events are documented in the schema's `webhooks` section.
    "OAS_VERSION": "3.1.0",
}

# --- Logging and metrics ----------------------------------------------------------------------
# "json": one JSON object per line (python-json-logger), with the `extra` fields of a log call
# (delivery logs carry event_id, delivery_id, try, outcome); "plain": human-readable lines.
LOG_FORMAT = env.str("LOG_FORMAT", default="plain" if DEBUG else "json").lower()
if LOG_FORMAT not in {"json", "plain"}:
    raise ImproperlyConfigured("LOG_FORMAT must be 'json' or 'plain'.")
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
# Celery's lines for every task received and every task that succeeded: a drain per quiet
# webhook's delivery, so a line or two per delivery, whose record is in the database anyway.
# Failed tasks are logged at ERROR whatever this says.
TASK_LOG_LEVEL = env.str("TASK_LOG_LEVEL", default="WARNING")
# Every log record is redacted of incoming webhook tokens, API keys and signing secrets
# (ops/log_redaction.py).
LOGGING_CONFIG = "ops.log_redaction.configure"
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(levelname)s %(name)s %(message)s",
            "timestamp": "time",  # ISO-8601, UTC
            "rename_fields": {"levelname": "level", "name": "logger"},
        },
    },
    "filters": {
        "redact_secrets": {"()": "ops.log_redaction.RedactSecretsFilter"},
        "health": {"()": "ops.service_health.HealthLogFilter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler", "formatter": LOG_FORMAT,
            "filters": ["redact_secrets"],
        },
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    # /healthz answering 503 is a report, not a server error (ops/service_health.py).
    "loggers": {
        "django.request": {"filters": ["health"]},
        "celery.app.trace": {"level": TASK_LOG_LEVEL},
        "celery.worker.strategy": {"level": TASK_LOG_LEVEL},
    },
}
# Workers log through the configuration above too, instead of Celery's own root handler.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# GET /metrics: open without a token only when DEBUG is on; otherwise send
# `Authorization: Bearer <METRICS_TOKEN>`.
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
# The try-duration histogram covers the tries started within this many seconds.
METRICS_WINDOW_SECONDS = env.int("METRICS_WINDOW_SECONDS", default=3600)
