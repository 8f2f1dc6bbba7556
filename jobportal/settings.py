"""Settings for the Job Trigger Portal: one module, read from the environment.

Every operator-facing variable has the ``JOB_PORTAL_`` prefix and a safe
default, so that a fresh checkout runs on SQLite with no configuration. An
optional ``.env`` file in the project root is read first, then the optional
YAML file named by ``JOB_PORTAL_CONFIG_FILE`` (jobportal/config_file.py), whose
keys the environment overrides. Values whose meaning
is checked beyond their type (timezone, scripts directory, extensions) are
validated by system checks in ``jobs/checks.py`` so that a bad value is
reported with its variable's name instead of a traceback.
"""

import os
import re
import tempfile
import warnings
from datetime import timedelta
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

from jobportal import config_file

BASE_DIR = Path(__file__).resolve().parent.parent


class _Env(environ.Env):
    """environ.Env that remembers the variables read, for check jobs.E210."""

    def __init__(self) -> None:
        super().__init__()
        self.read: set[str] = set()

    def get_value(self, var, *args, **kwargs):  # type: ignore[no-untyped-def]
        self.read.add(var)
        return super().get_value(var, *args, **kwargs)


env = _Env()


def _read_env_file() -> None:
    """Read the optional .env file (JOB_PORTAL_ENV_FILE; empty: read none).

    Its variables never override the environment's. The default file may be
    missing; a file named by JOB_PORTAL_ENV_FILE must exist. A relative path
    is taken relative to the project root.
    """
    named = os.environ.get("JOB_PORTAL_ENV_FILE")
    if named is not None and not named.strip():
        return
    path = BASE_DIR / (named.strip() if named else ".env")
    if path.is_file():
        environ.Env.read_env(path, overwrite=False)
    elif named:
        raise ImproperlyConfigured(
            f"JOB_PORTAL_ENV_FILE={named!r} is not a file; name an existing "
            ".env file, or set it empty to read none."
        )


_read_env_file()


def _config_file() -> tuple[str, dict[str, str]]:
    """Read the YAML file JOB_PORTAL_CONFIG_FILE names, if any; refuse a bad one.

    A relative path is taken relative to the project root, as the scripts
    directory is.
    """
    name = os.environ.get(config_file.VARIABLE, "").strip()
    if not name:
        return "", {}
    path = BASE_DIR / name
    try:
        return str(path), config_file.load(path)
    except config_file.ConfigFileError as exc:
        raise ImproperlyConfigured(str(exc)) from exc


# The environment (and .env) wins over the configuration file.
JOB_PORTAL_CONFIG_FILE, JOB_PORTAL_CONFIG_VALUES = _config_file()
env.ENVIRON = {**JOB_PORTAL_CONFIG_VALUES, **os.environ}
# Every variable the settings read (the set keeps growing to the module's
# end); check jobs.E210 refuses a file key that is not among them.
JOB_PORTAL_SETTINGS_READ = env.read


def _bool(name: str, default: bool) -> bool:
    """Read a boolean strictly: a typo must not silently mean False."""
    raw = env.str(name, default=str(default)).strip().lower()
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off", ""):
        return False
    raise ImproperlyConfigured(f"{name}={raw!r} is not a boolean; use true or false.")


def _database(name: str, default: str) -> dict:
    """Read a database URL; refuse one Django cannot use, naming the variable."""
    url = env.str(name, default=default)
    try:
        with warnings.catch_warnings():
            # django-environ warns about an unknown scheme; the error says it.
            warnings.simplefilter("ignore")
            config = environ.Env.db_url_config(url)
    except (KeyError, ValueError, ImproperlyConfigured):
        config = {}
    if config.get("ENGINE") not in (
        "django.db.backends.sqlite3",
        "django.db.backends.postgresql",
    ):
        raise ImproperlyConfigured(
            f"{name}={url!r} is not a supported database URL; use "
            "sqlite:////absolute/path.sqlite3 or postgres://user@host:5432/name."
        )
    return config


def _number(name: str, default: float, *, cast: type = int) -> float | None:
    """Read a number; leave a bad value as None for the system checks."""
    raw = env.str(name, default=str(default))
    try:
        return cast(raw)
    except ValueError:
        return None


def _minutes(name: str, default: int) -> timedelta:
    """Read a whole, positive number of minutes strictly."""
    raw = env.str(name, default=str(default)).strip()
    if not raw.isdigit() or int(raw) < 1:
        raise ImproperlyConfigured(
            f"{name}={raw!r} is not a whole number of minutes of at least 1."
        )
    return timedelta(minutes=int(raw))


def _rate(name: str, default: str) -> str:
    """Read a request rate such as "100/minute" strictly (DRF's throttle form)."""
    raw = env.str(name, default=default).strip()
    if not re.fullmatch(r"[1-9][0-9]*/(second|minute|hour|day)", raw):
        raise ImproperlyConfigured(
            f"{name}={raw!r} is not a rate; use requests/period, "
            "e.g. 100/minute (periods: second, minute, hour, day)."
        )
    return raw


DEBUG = _bool("JOB_PORTAL_DEBUG", default=False)
# No built-in secret: the README's first command writes a random one to .env.
SECRET_KEY = env.str("JOB_PORTAL_SECRET_KEY", default="")
if not SECRET_KEY:
    raise ImproperlyConfigured(
        "JOB_PORTAL_SECRET_KEY is not set: run './portal start' once (it writes a "
        "random one to .env) or set the variable."
    )
ALLOWED_HOSTS = env.list("JOB_PORTAL_ALLOWED_HOSTS", default=["localhost", "127.0.0.1"])
CSRF_TRUSTED_ORIGINS = env.list("JOB_PORTAL_CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "jobportal.admin_site.PortalAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "guardian",
    "jobs",
    "notifications",
    "accounts",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "accounts.middleware.DisplayZoneMiddleware",
    "jobportal.request_memo.RequestMemoMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "jobportal.urls"
WSGI_APPLICATION = "jobportal.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        # Inside the packages, so that the wheel ships them: the admin's in
        # jobs/templates (an app), the browsable API's branding here (it must
        # come before rest_framework's own, which an app folder would not).
        "DIRS": [BASE_DIR / "jobportal" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
            "libraries": {"portal_time": "jobportal.templatetags.portal_time"},
        },
    },
]

DATABASES = {
    "default": _database("JOB_PORTAL_DB_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}")
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # One test database per test process, so that runs side by side (two
    # checkouts, or a developer beside CI) never share or drop each other's.
    DATABASES["default"].setdefault("TEST", {}).setdefault(
        "NAME", f"test_{DATABASES['default']['NAME']}_{os.getpid()}"
    )
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the web and worker processes read while the other writes; the
    # busy timeout makes a writer wait for the lock instead of failing.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "timeout": 20,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
    # A file, not memory, so that worker subprocesses in tests share it; one
    # per test process, so that test runs side by side do not collide.
    DATABASES["default"].setdefault("TEST", {}).setdefault(
        "NAME",
        str(Path(tempfile.gettempdir()) / f"jobportal-test-{os.getpid()}.sqlite3"),
    )

AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "guardian.backends.ObjectPermissionBackend",
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": f"django.contrib.auth.password_validation.{name}"}
    for name in (
        "UserAttributeSimilarityValidator",
        "MinimumLengthValidator",
        "CommonPasswordValidator",
        "NumericPasswordValidator",
    )
]

LANGUAGE_CODE = "en-us"
# Django stores and compares UTC; TIME_ZONE is only the admin's display zone.
USE_TZ = True
JOB_PORTAL_TIMEZONE = env.str("JOB_PORTAL_TIMEZONE", default="Asia/Hong_Kong")
TIME_ZONE = "UTC"
USE_I18N = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
    # Collected run artifacts (jobs.services.artifacts): local files under
    # JOB_PORTAL_ARTIFACTS_DIR/stored by default; any storage backend works.
    "artifacts": {"BACKEND": "jobs.storage.ArtifactStorage"},
}
WHITENOISE_USE_FINDERS = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REST_FRAMEWORK = {
    # The first class's challenge makes DRF answer 401 (not 403) to a request
    # without credentials; a session still needs its CSRF token to write.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.api.authentication.APIKeyAuthentication",
        "rest_framework_simplejwt.authentication.JWTAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # JSON bodies only (any other media type is a 415); the browsable API
    # sends JSON through its raw-data form.
    "DEFAULT_PARSER_CLASSES": ["jobportal.api.parsers.BoundedJSONParser"],
    "DEFAULT_PAGINATION_CLASS": "jobportal.api.pagination.PortalPagination",
    "PAGE_SIZE": 50,
    # Each list's FilterSet holds its filters and its ?ordering= (400 for a
    # value it cannot read).
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "jobportal.api.errors.exception_handler",
    "DEFAULT_THROTTLE_CLASSES": ["jobportal.api.throttling.ClientRateThrottle"],
    # Requests per client (API key, user, or IP address when anonymous);
    # README: "Configuration".
    "DEFAULT_THROTTLE_RATES": {
        "user": _rate("JOB_PORTAL_API_RATE", "1000/minute"),
        "anon": _rate("JOB_PORTAL_API_ANON_RATE", "60/minute"),
    },
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Job Trigger Portal API",
    "DESCRIPTION": "Jobs, runs, schedules, scripts and versions: what the admin does.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI from the project's own static files, never a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "PREPROCESSING_HOOKS": ["jobportal.api.schema.documented_paths"],
    "ENUM_NAME_OVERRIDES": {
        "RunStatusEnum": "jobs.models.JobRun.Status",
        "ScriptStatusEnum": "jobs.models.Script.Status",
        "APIKeyStatusEnum": "accounts.models.APIKey.Status",
    },
}
SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": _minutes("JOB_PORTAL_JWT_ACCESS_MINUTES", 15),
    "REFRESH_TOKEN_LIFETIME": _minutes("JOB_PORTAL_JWT_REFRESH_MINUTES", 1440),
    "UPDATE_LAST_LOGIN": False,
    # Tokens carry a digest of the password hash: changing a password (or an
    # admin resetting it) ends every token issued before.
    "CHECK_REVOKE_TOKEN": True,
}
# Throttle counters live where every web process sees them: the database
# (`createcachetable`), so a limit holds across gunicorn workers.
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    "throttle": {
        "BACKEND": "django.core.cache.backends.db.DatabaseCache",
        "LOCATION": "jobportal_cache",
    },
}

# --- the portal's own settings (README: "Configuration") ---------------------
# A relative scripts directory is taken relative to the project root.
JOB_PORTAL_SCRIPTS_DIR = BASE_DIR / env.str("JOB_PORTAL_SCRIPTS_DIR", default="scripts")
JOB_PORTAL_ALLOWED_EXTENSIONS = env.list(
    "JOB_PORTAL_ALLOWED_EXTENSIONS", default=[".py", ".sh"]
)
JOB_PORTAL_REQUIRE_SCRIPT_APPROVAL = _bool(
    "JOB_PORTAL_REQUIRE_SCRIPT_APPROVAL", default=True
)
# Fernet keys for secrets at rest, comma-separated: the first encrypts, all
# decrypt (rotation: put the new key first, run `rotatekey`, drop the old).
# No built-in value; checks jobs.E010/E011 report a missing or bad key.
JOB_PORTAL_ENCRYPTION_KEY = env.str("JOB_PORTAL_ENCRYPTION_KEY", default="")
# Secret backends besides the built-in store, asked at run time
# (jobs/secret_backends.py): Vault KV v2 and AWS Secrets Manager.
JOB_PORTAL_VAULT_ADDR = env.str("JOB_PORTAL_VAULT_ADDR", default="")
JOB_PORTAL_VAULT_TOKEN = env.str("JOB_PORTAL_VAULT_TOKEN", default="")
JOB_PORTAL_VAULT_MOUNT = env.str("JOB_PORTAL_VAULT_MOUNT", default="secret")
JOB_PORTAL_AWS_REGION = env.str("JOB_PORTAL_AWS_REGION", default="")
JOB_PORTAL_AWS_ENDPOINT_URL = env.str("JOB_PORTAL_AWS_ENDPOINT_URL", default="")
# The numbers' defaults, stated once: the variables below start from them,
# and jobs.conf falls back to them when a value is bad (None, reported by
# the system checks) so that a misconfigured worker still runs.
JOB_PORTAL_DEFAULTS: dict[str, float] = {
    "JOB_PORTAL_WORKER_POLL_INTERVAL": 5.0,
    "JOB_PORTAL_WORKER_JOB_TIMEOUT": 3600,
    "JOB_PORTAL_WORKER_MAX_CONCURRENT": 4,
    "JOB_PORTAL_WORKER_LOST_AFTER": 60.0,
    "JOB_PORTAL_WORKER_SHUTDOWN_GRACE": 30.0,
    "JOB_PORTAL_RUN_EVENT_RETENTION_DAYS": 7,
    "JOB_PORTAL_RETENTION_DAYS": 90,
    "JOB_PORTAL_RETENTION_RUNS": 0,
    "JOB_PORTAL_OUTPUT_RETENTION_DAYS": 30,
    "JOB_PORTAL_RETENTION_INTERVAL": 60.0,
    "JOB_PORTAL_RETENTION_BATCH": 500,
    "JOB_PORTAL_ARTIFACTS_MAX_BYTES": 100 * 2**20,
    "JOB_PORTAL_ARTIFACT_RETENTION_DAYS": 30,
}
JOB_PORTAL_WORKER_POLL_INTERVAL = _number(
    "JOB_PORTAL_WORKER_POLL_INTERVAL",
    JOB_PORTAL_DEFAULTS["JOB_PORTAL_WORKER_POLL_INTERVAL"],
    cast=float,
)
JOB_PORTAL_WORKER_JOB_TIMEOUT = _number(
    "JOB_PORTAL_WORKER_JOB_TIMEOUT",
    JOB_PORTAL_DEFAULTS["JOB_PORTAL_WORKER_JOB_TIMEOUT"],
)
JOB_PORTAL_WORKER_MAX_CONCURRENT = _number(
    "JOB_PORTAL_WORKER_MAX_CONCURRENT",
    JOB_PORTAL_DEFAULTS["JOB_PORTAL_WORKER_MAX_CONCURRENT"],
)
# A worker silent this long is dead: any live worker marks its runs lost.
JOB_PORTAL_WORKER_LOST_AFTER = _number(
    "JOB_PORTAL_WORKER_LOST_AFTER",
    JOB_PORTAL_DEFAULTS["JOB_PORTAL_WORKER_LOST_AFTER"],
    cast=float,
)
# On SIGTERM, running jobs get this long to finish before they are stopped.
JOB_PORTAL_WORKER_SHUTDOWN_GRACE = _number(
    "JOB_PORTAL_WORKER_SHUTDOWN_GRACE",
    JOB_PORTAL_DEFAULTS["JOB_PORTAL_WORKER_SHUTDOWN_GRACE"],
    cast=float,
)
# Run events (jobs.services.events) are deleted once every registered consumer
# has acked them, and in any case this many days after the run ended.
JOB_PORTAL_RUN_EVENT_RETENTION_DAYS = _number(
    "JOB_PORTAL_RUN_EVENT_RETENTION_DAYS",
    JOB_PORTAL_DEFAULTS["JOB_PORTAL_RUN_EVENT_RETENTION_DAYS"],
)
# Retention (jobs.services.retention): finished runs are deleted after this
# many days and beyond this many per job (0: no limit), their output emptied
# after this many days (0: kept); a job's own numbers win. The worker applies
# it at most every RETENTION_INTERVAL seconds, BATCH rows per step.
JOB_PORTAL_RETENTION_DAYS = _number(
    "JOB_PORTAL_RETENTION_DAYS", JOB_PORTAL_DEFAULTS["JOB_PORTAL_RETENTION_DAYS"]
)
JOB_PORTAL_RETENTION_RUNS = _number(
    "JOB_PORTAL_RETENTION_RUNS", JOB_PORTAL_DEFAULTS["JOB_PORTAL_RETENTION_RUNS"]
)
JOB_PORTAL_OUTPUT_RETENTION_DAYS = _number(
    "JOB_PORTAL_OUTPUT_RETENTION_DAYS",
    JOB_PORTAL_DEFAULTS["JOB_PORTAL_OUTPUT_RETENTION_DAYS"],
)
JOB_PORTAL_RETENTION_INTERVAL = _number(
    "JOB_PORTAL_RETENTION_INTERVAL",
    JOB_PORTAL_DEFAULTS["JOB_PORTAL_RETENTION_INTERVAL"],
    cast=float,
)
JOB_PORTAL_RETENTION_BATCH = _number(
    "JOB_PORTAL_RETENTION_BATCH", JOB_PORTAL_DEFAULTS["JOB_PORTAL_RETENTION_BATCH"]
)
# Artifacts a run may leave, in bytes (more fails the run: artifacts_too_large),
# and the days collected artifacts are kept (0: as long as their run).
JOB_PORTAL_ARTIFACTS_MAX_BYTES = _number(
    "JOB_PORTAL_ARTIFACTS_MAX_BYTES",
    JOB_PORTAL_DEFAULTS["JOB_PORTAL_ARTIFACTS_MAX_BYTES"],
)
JOB_PORTAL_ARTIFACT_RETENTION_DAYS = _number(
    "JOB_PORTAL_ARTIFACT_RETENTION_DAYS",
    JOB_PORTAL_DEFAULTS["JOB_PORTAL_ARTIFACT_RETENTION_DAYS"],
)
# Runs executing at once across every worker (jobs.services.claims); empty or
# 0 means no cap. A bad value is None here and reported by check jobs.E120.
JOB_PORTAL_MAX_CONCURRENT_TOTAL = (
    _number("JOB_PORTAL_MAX_CONCURRENT_TOTAL", 0)
    if env.str("JOB_PORTAL_MAX_CONCURRENT_TOTAL", default="").strip()
    else 0
)
# The interpreter of .py jobs (absolute path; check jobs.E200); empty: the
# worker's own (jobs.conf.job_python).
JOB_PORTAL_PYTHON = env.str("JOB_PORTAL_PYTHON", default="")
# Each run gets its own folder here (JOB_ARTIFACTS_DIR in its environment).
JOB_PORTAL_ARTIFACTS_DIR = BASE_DIR / env.str(
    "JOB_PORTAL_ARTIFACTS_DIR", default="var/artifacts"
)
# Where a run's supervisor saves its script's outcome until the database has
# it (jobs.run_outcomes): local to the host, read by recovery on this host.
JOB_PORTAL_RUN_STATE_DIR = BASE_DIR / env.str(
    "JOB_PORTAL_RUN_STATE_DIR", default="var/run-state"
)
JOB_PORTAL_SMTP_HOST = env.str("JOB_PORTAL_SMTP_HOST", default="localhost")
JOB_PORTAL_SMTP_PORT = _number("JOB_PORTAL_SMTP_PORT", 25)
JOB_PORTAL_SMTP_USER = env.str("JOB_PORTAL_SMTP_USER", default="")
JOB_PORTAL_SMTP_PASSWORD = env.str("JOB_PORTAL_SMTP_PASSWORD", default="")
JOB_PORTAL_SMTP_TLS = _bool("JOB_PORTAL_SMTP_TLS", default=False)
JOB_PORTAL_SMTP_SSL = _bool("JOB_PORTAL_SMTP_SSL", default=False)
JOB_PORTAL_SMTP_FROM = env.str("JOB_PORTAL_SMTP_FROM", default="jobportal@localhost")
# When set, notifications create a "Default webhook" channel with a global
# rule for failures and recoveries (see README "Notifications").
JOB_PORTAL_WEBHOOK_URL = env.str("JOB_PORTAL_WEBHOOK_URL", default="")
# Circuit breaker default: pause a job after this many failures in a row
# (0: off; a job may set its own in its notification state).
JOB_PORTAL_CIRCUIT_BREAKER_AFTER = _number("JOB_PORTAL_CIRCUIT_BREAKER_AFTER", 0)
# Links in notifications point here (the admin's address as people see it).
JOB_PORTAL_PUBLIC_URL = env.str(
    "JOB_PORTAL_PUBLIC_URL", default="http://127.0.0.1:8000"
)
# /metrics (Prometheus): a bearer token and/or client addresses (networks
# allowed); neither set means loopback only. Per-job series are opt-in.
JOB_PORTAL_METRICS_TOKEN = env.str("JOB_PORTAL_METRICS_TOKEN", default="")
JOB_PORTAL_METRICS_ALLOWED_IPS = env.list("JOB_PORTAL_METRICS_ALLOWED_IPS", default=[])
JOB_PORTAL_METRICS_PER_JOB = _bool("JOB_PORTAL_METRICS_PER_JOB", default=False)
EMAIL_HOST = JOB_PORTAL_SMTP_HOST
EMAIL_PORT = JOB_PORTAL_SMTP_PORT or 25
EMAIL_HOST_USER = JOB_PORTAL_SMTP_USER
EMAIL_HOST_PASSWORD = JOB_PORTAL_SMTP_PASSWORD
EMAIL_USE_TLS = JOB_PORTAL_SMTP_TLS
EMAIL_USE_SSL = JOB_PORTAL_SMTP_SSL
DEFAULT_FROM_EMAIL = JOB_PORTAL_SMTP_FROM

JOB_PORTAL_LOG_LEVEL = env.str("JOB_PORTAL_LOG_LEVEL", default="INFO").upper()
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
# A bad level is reported by check jobs.E006; logging still starts at INFO.
_log_level = JOB_PORTAL_LOG_LEVEL if JOB_PORTAL_LOG_LEVEL in LOG_LEVELS else "INFO"
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
    "loggers": {
        name: {"handlers": ["console"], "level": _log_level, "propagate": False}
        for name in ("jobs", "notifications", "accounts")
    },
}
