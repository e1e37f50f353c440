"""One settings module, driven by the environment (SPEC §10).

Local development needs nothing: SQLite (WAL) and a filesystem broker under ``DATA_DIR``. Production sets
``DATABASE_URL``, ``REDIS_URL``, ``SECRET_KEY`` and ``ALLOWED_HOSTS``. Invalid values stop start-up with a
message naming the variable (see ``orchestrator.lib.env``).
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path
from typing import Any

import dj_database_url
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured

from orchestrator.lib.env import env

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(env.str("DATA_DIR", str(BASE_DIR / "var")) or "var").resolve()
DATA_DIR.mkdir(parents=True, exist_ok=True)

# prometheus_client picks its storage when first imported: multiprocess mode must be chosen before that, so
# counters from every gunicorn worker and Celery process add up in one scrape (SPEC §9).
os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", str(DATA_DIR / "metrics"))
Path(os.environ["PROMETHEUS_MULTIPROC_DIR"]).mkdir(parents=True, exist_ok=True)

DEBUG = env.bool("DEBUG", False)
_DEV_SECRET = "insecure-local-development-key-change-me-0123456789abcdefghijklmnop"  # noqa: S105
SECRET_KEY = env.secret("SECRET_KEY") or _DEV_SECRET
PRODUCTION = env.bool("PRODUCTION", False)
if PRODUCTION and SECRET_KEY == _DEV_SECRET:
    raise ImproperlyConfigured("SECRET_KEY: required when PRODUCTION=true")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_prometheus",
    "orchestrator.apps.OrchestratorConfig",
    "audit.apps.AuditConfig",
    "webhooks.apps.WebhooksConfig",
    "workspaces.apps.WorkspacesConfig",
    "approvals.apps.ApprovalsConfig",
]

MIDDLEWARE = [
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "orchestrator.lib.context.RequestContextMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "orchestrator.lib.idempotency.IdempotencyMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
]

ROOT_URLCONF = "orchestrator.urls"
WSGI_APPLICATION = "orchestrator.wsgi.application"
APPEND_SLASH = False

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
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------------------------
DATABASE_URL = env.url("DATABASE_URL", None, ("postgres", "postgresql", "sqlite"))
if DATABASE_URL:
    DATABASES: dict[str, dict[str, Any]] = {
        "default": dict(dj_database_url.parse(DATABASE_URL, conn_max_age=60, conn_health_checks=True))
    }
    if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        # django-prometheus's backend with a health check that needs no round trip (orchestrator/lib/postgresql),
        # plus pre-commit work (orchestrator/lib/postgresql_precommit: the audit chain, issue 22).
        DATABASES["default"]["ENGINE"] = "orchestrator.lib.postgresql_precommit"
        DATABASES["default"].setdefault("OPTIONS", {})["connect_timeout"] = 5
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": DATA_DIR / "orchestrator.sqlite3",
            # WAL lets the web server read while a worker writes; IMMEDIATE takes the write lock up front so
            # two writers queue on the busy timeout instead of failing with "database is locked" mid-transaction.
            "OPTIONS": {
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
                "transaction_mode": "IMMEDIATE",
                "timeout": 30,
            },
            "TEST": {"NAME": str(DATA_DIR / "test.sqlite3")},
        }
    }
DATABASE_IS_POSTGRES = "postgresql" in DATABASES["default"]["ENGINE"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Celery -------------------------------------------------------------------------------------------------
REDIS_URL = env.url("REDIS_URL", None, ("redis", "rediss"))
CELERY_BROKER_URL: str = env.url("CELERY_BROKER_URL", REDIS_URL, ("redis", "rediss", "amqp", "filesystem")) or ""
BROKER_DIR = DATA_DIR / "broker"
if not CELERY_BROKER_URL:
    # Embedded broker: kombu's filesystem layout with atomic publish, rename-to-claim and a rejected/ folder for
    # unreadable messages (orchestrator/broker.py; why in docs/decisions.md "The embedded default").
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT = "orchestrator.broker:Transport"
    for sub in ("in", "tmp", "processed", "rejected", "control"):
        (BROKER_DIR / sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, Any] = {
        "data_folder_in": str(BROKER_DIR / "in"),
        "data_folder_out": str(BROKER_DIR / "in"),
        "tmp_folder": str(BROKER_DIR / "tmp"),
        "processed_folder": str(BROKER_DIR / "processed"),
        "rejected_folder": str(BROKER_DIR / "rejected"),
        "store_processed": False,
        "control_folder": str(BROKER_DIR / "control"),
        "polling_interval": 0.05,
    }
else:
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
    if CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
        # kombu's Redis transport, except that an undecodable message is acked and logged (orchestrator/broker.py).
        CELERY_BROKER_TRANSPORT = "orchestrator.broker:RedisTransport"
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
CELERY_RESULT_BACKEND = None
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_QUEUES_NAMES = ["default", "scheduler", "executor", "webhooks", "maintenance"]
CELERY_TASK_TIME_LIMIT = 15 * 60
CELERY_TASK_SOFT_TIME_LIMIT = 14 * 60
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE_FILENAME = str(DATA_DIR / "celerybeat-schedule")
# The periodic tasks: every entry is a safety net or housekeeping; real work is woken on commit.
CELERY_BEAT_SCHEDULE: dict[str, dict] = {
    "prune-idempotency-keys": {
        "task": "orchestrator.tasks.prune_idempotency_keys",
        "schedule": crontab(minute="*/15"),
        "options": {"queue": "maintenance"},
    },
    "workspaces-sweep": {
        "task": "workspaces.tasks.sweep_workspaces",
        "schedule": timedelta(seconds=60),
        "options": {"queue": "maintenance"},
    },
    "purge-expired-audit-logs": {
        "task": "audit.tasks.purge_expired_audit_logs",
        "schedule": crontab(hour="3", minute="17"),
        "options": {"queue": "maintenance"},
    },
    # Workflow engine safety nets: work is woken on commit; these catch lost wake-ups, expired leases, due WAIT
    # timers and task-controller attempts that went quiet.
    "workflow-scheduler-tick": {
        "task": "orchestrator.tasks.scheduler_tick",
        "schedule": 5.0,
        "options": {"queue": "scheduler", "expires": 5},
    },
    "workflow-reap-expired-leases": {
        "task": "orchestrator.tasks.reap_expired_leases",
        "schedule": 10.0,
        "options": {"queue": "scheduler", "expires": 10},
    },
    "workflow-poll-task-controller": {
        "task": "orchestrator.tasks.poll_quiet_attempts",
        "schedule": 30.0,
        "options": {"queue": "maintenance", "expires": 30},
    },
}
# Tests run tasks in-process only where they opt in; everything else goes through a real broker and worker.
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", False)

# --- Auth, sessions ---------------------------------------------------------------------------------------------
LOGIN_URL = "/console/login/"
LOGIN_REDIRECT_URL = "/console/"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if env.bool("TRUST_X_FORWARDED_PROTO", False) else None
if PRODUCTION:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", True)
    # Probes and scrapes reach the pods over plain HTTP (Django's setting name is SECURE_REDIRECT_EXEMPT).
    SECURE_REDIRECT_EXEMPT = [r"^api/v1/health/", r"^api/v1/metrics"]
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", 31536000, minimum=0)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_CONTENT_TYPE_NOSNIFF = True

# --- REST framework ---------------------------------------------------------------------------------------------
API_THROTTLE_RATE = env.str("API_THROTTLE_RATE", "1200/min")
REST_FRAMEWORK: dict[str, Any] = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "orchestrator.lib.auth.ApiKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["orchestrator.lib.permissions.IsTenantCaller"],
    "DEFAULT_PAGINATION_CLASS": "orchestrator.lib.pagination.LimitCursorPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": ["orchestrator.lib.filters.QuickFilterBackend"],
    "DEFAULT_THROTTLE_CLASSES": ["orchestrator.lib.throttling.CallerRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {"caller": API_THROTTLE_RATE},
    "EXCEPTION_HANDLER": "orchestrator.lib.problems.problem_exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    # DRF's JSONRenderer, bytes for bytes, encoded by orjson (docs/decisions.md, "API read path and create").
    "DEFAULT_RENDERER_CLASSES": ["orchestrator.lib.renderers.FastJSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["orchestrator.lib.parsers.StrictJSONParser"],
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
if DEBUG:
    REST_FRAMEWORK["DEFAULT_RENDERER_CLASSES"].append("rest_framework.renderers.BrowsableAPIRenderer")

SPECTACULAR_SETTINGS = {
    "TITLE": "Workflow Orchestrator API",
    "DESCRIPTION": "DAG workflows in persistent workspaces with human approval of high-risk actions.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
}

# Cache: Redis when available (throttling is then shared across processes), the database otherwise.
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(DATA_DIR / "cache"),
        }
    }

# --- Static files ---------------------------------------------------------------------------------------------
STATIC_URL = "/static/"
# The image collects static files at build time into a read-only folder outside DATA_DIR (STATIC_ROOT there).
STATIC_ROOT = Path(env.str("STATIC_ROOT", str(DATA_DIR / "static")) or "static").resolve()
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STATICFILES_DIRS = [BASE_DIR / "static"] if (BASE_DIR / "static").is_dir() else []
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

EMAIL_BACKEND = env.str("EMAIL_BACKEND", "django.core.mail.backends.filebased.EmailBackend")
EMAIL_FILE_PATH = str(DATA_DIR / "outbox")
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", "orchestrator@localhost")

# --- Product settings (SPEC §10) ----------------------------------------------------------------------------------
EXECUTOR_BACKEND = env.choice("EXECUTOR_BACKEND", "local", ("local", "task_controller"))
# Executors a workflow may pick per run or per TASK (`"executor"`, issue 19); EXECUTOR_BACKEND is the default.
EXECUTOR_CHOICES = env.list("EXECUTOR_CHOICES", [EXECUTOR_BACKEND])
if set(EXECUTOR_CHOICES) - {"local", "task_controller"}:
    raise ImproperlyConfigured("EXECUTOR_CHOICES: a comma-separated list of local and task_controller")
# The task controller's action catalogue (JSON, docs/task-controller-capabilities.md); empty: the built-in default.
TASK_CONTROLLER_CATALOGUE_FILE = env.str("TASK_CONTROLLER_CATALOGUE_FILE", "") or ""
# > 0: each process refreshes the catalogue from the controller's GET /api/v1/capabilities at most this often.
TASK_CONTROLLER_CAPABILITIES_TTL_SECONDS = env.int("TASK_CONTROLLER_CAPABILITIES_TTL_SECONDS", 0, minimum=0)
TASK_CONTROLLER_URL = env.url("TASK_CONTROLLER_URL", "http://bytebot-task-controller:8080", ("http", "https"))
INTERNAL_SERVICE_TOKEN = env.secret("INTERNAL_SERVICE_TOKEN")
SCHEDULER_ENABLED = env.bool("SCHEDULER_ENABLED", True)
SCHEDULER_BATCH_SIZE = env.int("SCHEDULER_BATCH_SIZE", 10, minimum=1, maximum=1000)
# Batch jobs (issue 16, ``orchestrator.lib.units``): a unit (run node, attempt, approval, delivery, workspace) that
# fails this many times in a row is quarantined (its terminal state); the count lives in the cache and is forgotten
# after UNIT_FAILURE_WINDOW_SECONDS without a new failure.
UNIT_QUARANTINE_AFTER_FAILURES = env.int("UNIT_QUARANTINE_AFTER_FAILURES", 5, minimum=1, maximum=1000)
UNIT_FAILURE_WINDOW_SECONDS = env.int("UNIT_FAILURE_WINDOW_SECONDS", 3600, minimum=10, maximum=7 * 86400)
HIGH_RISK_APPROVAL_EXPIRY_MINUTES = env.int("HIGH_RISK_APPROVAL_EXPIRY_MINUTES", 60, minimum=1)
APPROVAL_VALIDITY_MINUTES = env.int("APPROVAL_VALIDITY_MINUTES", 60, minimum=1)
IDEMPOTENCY_TTL_HOURS = env.int("IDEMPOTENCY_TTL_HOURS", 24, minimum=1)
WEBHOOK_TIMEOUT_MS = env.int("WEBHOOK_TIMEOUT_MS", 30000, minimum=100, maximum=300000)
WEBHOOK_SECRET_GRACE_HOURS = env.int("WEBHOOK_SECRET_GRACE_HOURS", 24, minimum=0)
WEBHOOK_DISABLE_AFTER_HOURS = env.int("WEBHOOK_DISABLE_AFTER_HOURS", 120, minimum=1)
WEBHOOK_ALLOW_PRIVATE_NETWORKS = env.bool("WEBHOOK_ALLOW_PRIVATE_NETWORKS", False)
AUDIT_LOG_RETENTION_DAYS = env.int("AUDIT_LOG_RETENTION_DAYS", 90, minimum=0)
METRICS_TOKEN = env.secret("METRICS_TOKEN")
CONSOLE_BASE_URL = (env.url("CONSOLE_BASE_URL", "http://localhost:8000", ("http", "https")) or "").rstrip("/")
# How long a held Idempotency-Key request may stay IN_PROGRESS before a crashed holder is presumed dead.
IDEMPOTENCY_IN_PROGRESS_TIMEOUT = timedelta(seconds=env.int("IDEMPOTENCY_IN_PROGRESS_SECONDS", 60, minimum=1))
API_KEY_TOUCH_INTERVAL = timedelta(seconds=60)
# Per-process cache of API-key lookups (orchestrator/lib/keycache.py): dropped everywhere on any key change; this
# is only the backstop lifetime of an entry when the shared cache is unreachable at revocation time. 0 disables it.
API_KEY_CACHE_SECONDS = env.int("API_KEY_CACHE_SECONDS", 30, minimum=0, maximum=3600)

# Workspaces (SPEC §4; see docs/decisions.md "Workspaces"). The provider follows the executor backend by default.
WORKSPACE_PROVIDER = env.choice("WORKSPACE_PROVIDER", EXECUTOR_BACKEND, ("local", "task_controller"))
WORKSPACE_IDLE_HIBERNATE_MINUTES = env.int("WORKSPACE_IDLE_HIBERNATE_MINUTES", 30, minimum=0)  # 0: never
WORKSPACE_PROVISION_MAX_ATTEMPTS = env.int("WORKSPACE_PROVISION_MAX_ATTEMPTS", 6, minimum=1, maximum=100)
WORKSPACE_PROVISION_BACKOFF_SECONDS = env.int("WORKSPACE_PROVISION_BACKOFF_SECONDS", 2, minimum=1)
WORKSPACE_PROVISION_MAX_BACKOFF_SECONDS = env.int("WORKSPACE_PROVISION_MAX_BACKOFF_SECONDS", 60, minimum=1)
WORKSPACE_PROVISION_POLL_SECONDS = env.int("WORKSPACE_PROVISION_POLL_SECONDS", 2, minimum=1)
WORKSPACE_PROVISION_TIMEOUT_SECONDS = env.int("WORKSPACE_PROVISION_TIMEOUT_SECONDS", 900, minimum=10)
WORKSPACE_PROVIDER_TIMEOUT_SECONDS = env.int("WORKSPACE_PROVIDER_TIMEOUT_SECONDS", 15, minimum=1, maximum=300)
WORKSPACE_MAX_FILE_BYTES = env.int("WORKSPACE_MAX_FILE_BYTES", 10 * 1024 * 1024, minimum=1)

# Workflow engine: how long a worker's lease on an attempt lasts between heartbeats, how long a dispatched attempt
# may wait in the queue before the reaper retries it, and when a task-controller attempt counts as quiet.
NODE_LEASE_SECONDS = env.int("NODE_LEASE_SECONDS", 30, minimum=1, maximum=3600)
NODE_DISPATCH_TIMEOUT_SECONDS = env.int("NODE_DISPATCH_TIMEOUT_SECONDS", 600, minimum=1)
TASK_CONTROLLER_POLL_SECONDS = env.int("TASK_CONTROLLER_POLL_SECONDS", 60, minimum=1)
# Crash recovery (orchestrator/recovery.py, docs/decisions.md "Crash recovery"): executor processes beat every
# WORKER_HEARTBEAT_SECONDS and count as gone after WORKER_HEARTBEAT_TIMEOUT_SECONDS without one; an attempt no worker
# started is re-published after NODE_REDISPATCH_SECONDS in the queue (doubling each time), at most
# NODE_MAX_REDISPATCHES times; a started attempt of an idempotent tool whose worker died is retried up to
# NODE_CRASH_RETRIES times (its own budget), after NODE_CRASH_RETRY_BACKOFF_SECONDS doubling.
WORKER_HEARTBEAT_SECONDS = env.int("WORKER_HEARTBEAT_SECONDS", 3, minimum=1, maximum=300)
WORKER_HEARTBEAT_TIMEOUT_SECONDS = env.int(
    "WORKER_HEARTBEAT_TIMEOUT_SECONDS", 4 * WORKER_HEARTBEAT_SECONDS, minimum=2 * WORKER_HEARTBEAT_SECONDS
)
NODE_REDISPATCH_SECONDS = env.int("NODE_REDISPATCH_SECONDS", 10, minimum=1)
NODE_MAX_REDISPATCHES = env.int("NODE_MAX_REDISPATCHES", 5, minimum=0, maximum=100)
NODE_CRASH_RETRIES = env.int("NODE_CRASH_RETRIES", 3, minimum=0, maximum=100)
NODE_CRASH_RETRY_BACKOFF_SECONDS = env.int("NODE_CRASH_RETRY_BACKOFF_SECONDS", 1, minimum=0, maximum=3600)
CELERY_BEAT_SCHEDULE["workflow-recover-attempts"] = {
    "task": "orchestrator.tasks.recover_attempts",
    "schedule": 5.0,
    "options": {"queue": "scheduler", "expires": 5},
}
TASK_CONTROLLER_TIMEOUT_SECONDS = env.int("TASK_CONTROLLER_TIMEOUT_SECONDS", 10, minimum=1, maximum=300)
# Base URL the task controller uses for result callbacks (defaults to the console's public URL).
INTERNAL_CALLBACK_BASE_URL = (
    env.url("INTERNAL_CALLBACK_BASE_URL", CONSOLE_BASE_URL, ("http", "https")) or CONSOLE_BASE_URL
).rstrip("/")

# Status enums get stable names in the OpenAPI schema (several models have a "status").
SPECTACULAR_SETTINGS.setdefault("ENUM_NAME_OVERRIDES", {}).update(  # type: ignore[attr-defined]
    {
        "RunStatusEnum": "orchestrator.models.RunStatus",
        "NodeStatusEnum": "orchestrator.models.NodeStatus",
        "NodeRunStatusEnum": "orchestrator.models.NodeRunStatus",
        "NodeTypeEnum": "orchestrator.nodes.NODE_TYPES",
        "ReportedStatusEnum": "orchestrator.api.internal.ReportedStatus",
        "ApprovalStatusEnum": "approvals.models.ApprovalStatus",
        "RiskLevelEnum": "approvals.models.RiskLevel",
        "ExecutionStatusEnum": "approvals.models.ExecutionStatus",
        "DeliveryStatusEnum": "webhooks.models.DeliveryStatus",
        "WorkspaceStatusEnum": "workspaces.models.WorkspaceStatus",
    }
)
# Every operation documents the problem documents it can answer with (400/401/403/404/409/429/503 ...).
SPECTACULAR_SETTINGS["POSTPROCESSING_HOOKS"] = [
    "drf_spectacular.hooks.postprocess_schema_enums",
    "orchestrator.lib.schema.add_problem_responses",
    # Summaries, descriptions and examples written for API users (docstrings are for maintainers).
    "orchestrator.api.openapi.describe_operations",
]

LOG_LEVEL = env.choice("LOG_LEVEL", "INFO", ("DEBUG", "INFO", "WARNING", "ERROR"))
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

# --- Approvals (SPEC §6.2) ----------------------------------------------------------------------------------------
# The default risk policy; a tenant's ``risk_policy`` JSON is merged over it (dicts key by key). Shape and rule
# semantics: docs/decisions.md, "Approvals". Levels: LOW < MEDIUM < HIGH < CRITICAL.
APPROVAL_RISK_POLICY: dict[str, Any] = {
    "default_level": "LOW",  # the floor, and the level of an action that is not a registered tool
    "approval_threshold": "MEDIUM",  # this level and above need approval
    "required_approvers": {"LOW": 1, "MEDIUM": 1, "HIGH": 1, "CRITICAL": 2},
    # Who may decide per level: "humans" (a person signed in to the console) or "humans_or_services" (any
    # credential with approvals:decide). Issue 15; approvals/authority.py.
    "deciders": {"LOW": "humans_or_services", "MEDIUM": "humans_or_services", "HIGH": "humans", "CRITICAL": "humans"},
    # Tool name (exact) or fnmatch pattern -> level and reason. An exact name wins over patterns, and either
    # overrides the risk a registered tool declares in its ``@tool(...)`` (which is where built-in tools say it).
    "tools": {
        "sms.send": {"level": "HIGH", "reason": "sends text messages to people"},
        "payment*": {"level": "HIGH", "reason": "moves money (payment)"},
        "*.payment*": {"level": "HIGH", "reason": "moves money (payment)"},
        "pay.*": {"level": "HIGH", "reason": "moves money (payment)"},
        "transfer*": {"level": "HIGH", "reason": "moves money (transfer)"},
        "*.transfer": {"level": "HIGH", "reason": "moves money (transfer)"},
        "bank.*": {"level": "HIGH", "reason": "moves money (bank operation)"},
        "*payout*": {"level": "HIGH", "reason": "moves money (payout)"},
    },
    "http": {
        "tools": ["http.request"],
        "safe_methods": ["GET", "HEAD", "OPTIONS"],
        "mutating_methods": ["POST", "PUT", "PATCH", "DELETE"],
        "mutating_level": "MEDIUM",  # unknown or malformed methods are treated as mutating
    },
    # Tools whose name contains one of these words delete things.
    "delete": {"verbs": ["delete", "remove", "destroy", "drop", "purge", "erase", "wipe"], "level": "MEDIUM"},
    "desktop": {
        "tool_prefixes": ["desktop."],
        "verb_params": ["verb", "action", "intent"],  # besides the tool name's last segment
        "url_params": ["url", "host", "page_url"],
        "risky_verbs": ["buy", "purchase", "pay", "confirm", "subscribe", "delete", "remove", "cancel", "submit"],
        "sensitive_host_keywords": ["payment", "checkout", "billing", "bank"],
        "verb_level": "MEDIUM",
        "host_level": "HIGH",
        "both_level": "CRITICAL",
    },
}
# --- Approval routing and notifications (issue 20; approvals/routing.py, docs/decisions.md) -----------------------
# Rules (first match wins) route a request to reviewer groups (Django groups; members count only in tenants where
# they may decide); a tenant's override (``TenantRouting``) is merged over this. Shape: approvals/schemas/
# routing.schema.json. Expiry per level defaults to the global HIGH_RISK_APPROVAL_EXPIRY_MINUTES.
APPROVAL_ROUTING: dict[str, Any] = {
    "rules": [],
    "expiry_minutes": {level: HIGH_RISK_APPROVAL_EXPIRY_MINUTES for level in ("LOW", "MEDIUM", "HIGH", "CRITICAL")},
    "reminder_fraction": env.int("APPROVAL_REMINDER_PERCENT", 50, minimum=1, maximum=99) / 100,
    "escalation_fraction": env.int("APPROVAL_ESCALATION_PERCENT", 75, minimum=1, maximum=99) / 100,
    # Whether a level may be decided from a notification (Slack buttons); otherwise "Open in console".
    "decide_outside_console": {"LOW": True, "MEDIUM": True, "HIGH": False, "CRITICAL": False},
}
# E-mail: the file backend (DATA_DIR/outbox) unless EMAIL_HOST is set, then SMTP.
EMAIL_HOST = env.str("EMAIL_HOST", "") or ""
EMAIL_PORT = env.int("EMAIL_PORT", 587, minimum=1, maximum=65535)
EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", "") or ""
EMAIL_HOST_PASSWORD = env.secret("EMAIL_HOST_PASSWORD") or ""
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", bool(EMAIL_HOST))
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT_SECONDS", 15, minimum=1, maximum=300)
if EMAIL_HOST and "EMAIL_BACKEND" not in os.environ:
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
NOTIFICATION_MAX_ATTEMPTS = env.int("NOTIFICATION_MAX_ATTEMPTS", 5, minimum=1, maximum=50)
# Slack: a bot token (chat:write, users:read, users:read.email) and the app's signing secret; the API base URL is
# a setting so tests (and proxies) can point it elsewhere.
SLACK_BOT_TOKEN = env.secret("SLACK_BOT_TOKEN") or ""
SLACK_SIGNING_SECRET = env.secret("SLACK_SIGNING_SECRET") or ""
SLACK_API_URL = env.url("SLACK_API_URL", "https://slack.com/api/", ("http", "https")) or "https://slack.com/api/"
CELERY_BEAT_SCHEDULE["approval-reminders"] = {
    "task": "approvals.tasks.remind_and_escalate",
    "schedule": timedelta(seconds=60),
    "options": {"queue": "maintenance"},
}
CELERY_BEAT_SCHEDULE["approval-notifications-sweep"] = {
    "task": "approvals.tasks.send_pending_notifications",
    "schedule": timedelta(seconds=60),
    "options": {"queue": "maintenance"},
}
CELERY_BEAT_SCHEDULE["expire-approvals"] = {
    "task": "approvals.tasks.expire_overdue_approvals",
    "schedule": timedelta(seconds=30),
    "options": {"queue": "maintenance"},
}
CELERY_BEAT_SCHEDULE["prune-approval-execution-records"] = {
    "task": "approvals.tasks.prune_execution_records",
    "schedule": crontab(minute="*/15"),
    "options": {"queue": "maintenance"},
}
# --- Webhooks (SPEC §7.1; decisions in docs/decisions.md "Webhooks") ---------------------------------------------
# Fernet keys (comma-separated, newest first) that encrypt webhook secrets at rest; empty derives one from
# SECRET_KEY with HKDF. Rotate by prepending a key and running `manage.py reencrypt_webhook_secrets`.
# (Checked at start-up by webhooks.apps.)
WEBHOOK_ENCRYPTION_KEYS = [k.strip() for k in (env.secret("WEBHOOK_ENCRYPTION_KEYS") or "").split(",") if k.strip()]
# How long a claimed delivery may stay in flight before the sweep presumes its worker dead and hands it out again.
WEBHOOK_LEASE_SECONDS = env.int("WEBHOOK_LEASE_SECONDS", WEBHOOK_TIMEOUT_MS // 1000 + 30, minimum=1)
# A QUEUED delivery whose task the broker lost (a Redis restart) is handed out again by the sweep after this long.
WEBHOOK_REDISPATCH_SECONDS = env.int("WEBHOOK_REDISPATCH_SECONDS", 300, minimum=1)
WEBHOOK_SWEEP_SECONDS = env.int("WEBHOOK_SWEEP_SECONDS", 15, minimum=1, maximum=3600)
WEBHOOK_DELIVERY_RETENTION_DAYS = env.int("WEBHOOK_DELIVERY_RETENTION_DAYS", 30, minimum=0)
# The sender (webhooks.sender, issue 22): per worker process, this many HTTP requests in flight at once, at most
# WEBHOOK_ENDPOINT_CONCURRENCY of them to one endpoint (so an endpoint that answers slowly holds only that many and
# the others proceed); deliveries are claimed from the database in batches of at most the free threads.
WEBHOOK_SENDER_THREADS = env.int("WEBHOOK_SENDER_THREADS", 16, minimum=1, maximum=256)
WEBHOOK_ENDPOINT_CONCURRENCY = env.int("WEBHOOK_ENDPOINT_CONCURRENCY", 4, minimum=1, maximum=256)
CELERY_BEAT_SCHEDULE["webhooks-dispatch-due"] = {
    "task": "webhooks.dispatch_due",
    "schedule": timedelta(seconds=WEBHOOK_SWEEP_SECONDS),
    # On "maintenance", so a deep backlog of deliveries does not hold up the sweep.
    "options": {"queue": "maintenance", "expires": WEBHOOK_SWEEP_SECONDS},
}
CELERY_BEAT_SCHEDULE["webhooks-prune-deliveries"] = {
    "task": "webhooks.prune_deliveries",
    "schedule": crontab(minute="17"),
    "options": {"queue": "maintenance"},
}
# --- Audit log integrity (issue 17; docs/audit-keys.md, docs/decisions.md "Audit tamper evidence") -----------------
# AUDIT_CHAIN_KEY (or AUDIT_CHAIN_KEY_FILE) keys the HMAC chain and signs checkpoints; it never goes to the
# database. AUDIT_CHAIN_PREVIOUS_KEYS (comma-separated, or _FILE) are still accepted by the verifier after a
# rotation. A development key is used only for DEBUG, the embedded default (no DATABASE_URL) and test runs;
# anywhere else, and always with PRODUCTION=true, start-up stops without a real key.
_DEV_AUDIT_CHAIN_KEY = "insecure-local-development-audit-chain-key-0123456789abcdef"
AUDIT_CHAIN_KEY = env.secret("AUDIT_CHAIN_KEY") or ""
AUDIT_CHAIN_PREVIOUS_KEYS = [k.strip() for k in (env.secret("AUDIT_CHAIN_PREVIOUS_KEYS") or "").split(",") if k.strip()]
if not AUDIT_CHAIN_KEY:
    if PRODUCTION or not (DEBUG or not DATABASE_URL or os.environ.get("PYTEST_VERSION")):
        raise ImproperlyConfigured(
            "AUDIT_CHAIN_KEY: required outside DEBUG and the embedded default (see docs/audit-keys.md)"
        )
    AUDIT_CHAIN_KEY = _DEV_AUDIT_CHAIN_KEY
elif PRODUCTION and AUDIT_CHAIN_KEY == _DEV_AUDIT_CHAIN_KEY:
    raise ImproperlyConfigured("AUDIT_CHAIN_KEY: the development key is refused when PRODUCTION=true")
for _audit_key in (AUDIT_CHAIN_KEY, *AUDIT_CHAIN_PREVIOUS_KEYS):
    if len(_audit_key) < 32:
        raise ImproperlyConfigured("AUDIT_CHAIN_KEY/AUDIT_CHAIN_PREVIOUS_KEYS: every key needs 32+ characters")
# Signed checkpoints are appended here (one JSON Lines file per chain): a volume outside the database.
AUDIT_ANCHOR_DIR = Path(env.str("AUDIT_ANCHOR_DIR", str(DATA_DIR / "audit-anchors")) or "audit-anchors").resolve()
AUDIT_CHECKPOINT_MINUTES = env.int("AUDIT_CHECKPOINT_MINUTES", 60, minimum=1, maximum=24 * 60)
CELERY_BEAT_SCHEDULE["audit-checkpoint"] = {
    "task": "audit.tasks.checkpoint_audit_chains",
    "schedule": timedelta(minutes=AUDIT_CHECKPOINT_MINUTES),
    "options": {"queue": "maintenance"},
}
# --- Input limits at the API boundary (issue 16; docs/decisions.md "Input limits") ------------------------------
# Largest request body (bytes) before a 413 payload_too_large; Django's own limit, made configurable.
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("API_MAX_BODY_BYTES", 2 * 1024 * 1024, minimum=1024, maximum=100 * 1024 * 1024)
# How far ahead a WAIT node's `until` (or `seconds`) may end.
MAX_WAIT_DAYS = env.int("MAX_WAIT_DAYS", 366, minimum=1, maximum=3660)
# Per-workspace quotas of the local provider's file tools (0: no limit).
WORKSPACE_QUOTA_BYTES = env.int("WORKSPACE_QUOTA_BYTES", 1024 * 1024 * 1024, minimum=0)
WORKSPACE_QUOTA_FILES = env.int("WORKSPACE_QUOTA_FILES", 10000, minimum=0)
# `format` is not a magic query parameter: content negotiation is by Accept only (a `?format=` used to be
# taken over by DRF and answer 404).
REST_FRAMEWORK["URL_FORMAT_OVERRIDE"] = None
MIDDLEWARE.insert(
    MIDDLEWARE.index("django.middleware.security.SecurityMiddleware"), "orchestrator.lib.boundary.ApiBoundaryMiddleware"
)

# --- Principals, login protection, step-up, headers (issue 15; docs/decisions.md "Principals") ------------------
from csp.constants import NONE, SELF  # noqa: E402

INSTALLED_APPS += ["axes", "django_otp", "django_otp.plugins.otp_totp"]
# Outside the session and CSRF middleware, so the cookies they set are marked Secure on HTTPS requests.
MIDDLEWARE.insert(
    MIDDLEWARE.index("django.middleware.security.SecurityMiddleware") + 1,
    "orchestrator.lib.headers.SensitivePageHeadersMiddleware",
)
MIDDLEWARE += [
    "csp.middleware.CSPMiddleware",
    "axes.middleware.AxesMiddleware",  # last, as django-axes asks: turns a lockout into its response
]
# django-axes first: it refuses a locked-out account or address before the password is even checked.
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]
AXES_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("LOGIN_LOCKOUT_MINUTES", 15, minimum=1))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]  # each on its own: per account and per address
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_VERBOSE = False
# Sessions: a working day by default; cookies are Secure whenever the request came over HTTPS.
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE_SECONDS", 12 * 3600, minimum=60)
# Deciding HIGH/CRITICAL approvals needs an authentication at most this old (approvals.authority).
STEP_UP_MAX_AGE_SECONDS = env.int("STEP_UP_MAX_AGE_SECONDS", 300, minimum=10)
# Console and admin pages show action parameters: never stored by a browser or a proxy.
NO_STORE_PATH_PREFIXES = ("/console/", "/admin/")
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        # The console and the admin set widths with style attributes; scripts stay strictly same-origin.
        "style-src": [SELF, "'unsafe-inline'"],
        "img-src": [SELF, "data:"],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

# --- Deployment: safe defaults and operational alerts (issue 23; docs/deploying.md) -------------------------------
# The image and `manage.py runserver` refuse a non-loopback bind while this is true (orchestrator.lib.bindguard).
USING_DEVELOPMENT_SECRET_KEY = SECRET_KEY == _DEV_SECRET
# Feeds the `audit_chain_verify_ok` gauge (orchestrator.ops_metrics) behind the AuditChainVerifyFailed alert.
CELERY_BEAT_SCHEDULE["verify-audit-chains"] = {
    "task": "orchestrator.ops_metrics.verify_audit_chains",
    "schedule": crontab(minute="*/30"),
    "options": {"queue": "maintenance", "expires": 25 * 60},
}
