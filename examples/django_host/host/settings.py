"""A host project's settings with the portal's apps embedded.

Everything below "the portal's settings" is what an embedding project adds
(docs/embedding.md lists each with its default). The database and the secret
keys come from the environment here, as they should in any real project.
"""

import os
import sys
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
SECRET_KEY = os.environ["HOST_SECRET_KEY"]
DEBUG = False
ALLOWED_HOSTS = ["localhost", "127.0.0.1", "testserver"]

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
    "guardian",
    "jobs",
    "notifications",
    "accounts",
    "host",
]
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]
ROOT_URLCONF = "host.urls"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
            # The admin's templates show times in the portal's zone with it.
            "libraries": {"portal_time": "jobportal.templatetags.portal_time"},
        },
    },
]
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ.get("HOST_DB_PATH", str(BASE_DIR / "host.sqlite3")),
        "OPTIONS": {"timeout": 20, "transaction_mode": "IMMEDIATE"},
    }
}
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "guardian.backends.ObjectPermissionBackend",
]
USE_TZ = True
TIME_ZONE = "UTC"
STATIC_URL = "static/"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    # Where the portal keeps the files runs leave (any Django storage works).
    "artifacts": {"BACKEND": "jobs.storage.ArtifactStorage"},
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.api.authentication.APIKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PARSER_CLASSES": ["jobportal.api.parsers.BoundedJSONParser"],
    "DEFAULT_PAGINATION_CLASS": "jobportal.api.pagination.PortalPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "jobportal.api.errors.exception_handler",
}

# --- the portal's settings (docs/embedding.md) -------------------------------
JOB_PORTAL_TIMEZONE = "Asia/Hong_Kong"
JOB_PORTAL_SCRIPTS_DIR = BASE_DIR / "scripts"
JOB_PORTAL_ALLOWED_EXTENSIONS = [".py", ".sh"]
JOB_PORTAL_REQUIRE_SCRIPT_APPROVAL = True
JOB_PORTAL_ENCRYPTION_KEY = os.environ["HOST_ENCRYPTION_KEY"]
JOB_PORTAL_ARTIFACTS_DIR = Path(
    os.environ.get("HOST_ARTIFACTS_DIR", str(BASE_DIR / "var" / "artifacts"))
)
JOB_PORTAL_PYTHON = sys.executable
JOB_PORTAL_RUN_STATE_DIR = BASE_DIR / "var" / "run-state"
JOB_PORTAL_DEFAULTS = {
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
JOB_PORTAL_WORKER_POLL_INTERVAL = 5.0
JOB_PORTAL_WORKER_JOB_TIMEOUT = 3600
JOB_PORTAL_WORKER_MAX_CONCURRENT = 4
JOB_PORTAL_WORKER_LOST_AFTER = 60.0
JOB_PORTAL_WORKER_SHUTDOWN_GRACE = 30.0
JOB_PORTAL_RUN_EVENT_RETENTION_DAYS = 7
JOB_PORTAL_RETENTION_DAYS = 90
JOB_PORTAL_RETENTION_RUNS = 0
JOB_PORTAL_OUTPUT_RETENTION_DAYS = 30
JOB_PORTAL_RETENTION_INTERVAL = 60.0
JOB_PORTAL_RETENTION_BATCH = 500
JOB_PORTAL_ARTIFACTS_MAX_BYTES = 100 * 2**20
JOB_PORTAL_ARTIFACT_RETENTION_DAYS = 30
JOB_PORTAL_MAX_CONCURRENT_TOTAL = 0
JOB_PORTAL_CIRCUIT_BREAKER_AFTER = 0
JOB_PORTAL_PUBLIC_URL = "http://127.0.0.1:8000"
JOB_PORTAL_WEBHOOK_URL = ""
JOB_PORTAL_SMTP_HOST = "localhost"
JOB_PORTAL_SMTP_PORT = 25
JOB_PORTAL_SMTP_USER = ""
JOB_PORTAL_SMTP_PASSWORD = ""
JOB_PORTAL_SMTP_TLS = False
JOB_PORTAL_SMTP_SSL = False
JOB_PORTAL_SMTP_FROM = "jobportal@localhost"
JOB_PORTAL_METRICS_TOKEN = ""
JOB_PORTAL_METRICS_ALLOWED_IPS: list[str] = []
JOB_PORTAL_METRICS_PER_JOB = False
JOB_PORTAL_LOG_LEVEL = "INFO"
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
