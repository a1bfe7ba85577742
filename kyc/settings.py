"""Settings for the KYC analyst dashboard: one file, every value from the environment.

SQLite works with zero configuration; `DATABASE_URL`, `REDIS_URL` and the storage variables switch
the same code to PostgreSQL, RQ workers and an S3-compatible bucket. `.env.example` lists every
variable, and the README's table explains each one.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent


def env_str(name: str, default: str = "") -> str:
    """Empty means unset, as in .env.example: `SQLITE_PATH=` must not become the current folder."""
    return os.environ.get(name) or default


def env_bool(name: str, default: bool) -> bool:
    """A boolean accepts only "True" or "False", so a typo never silently means False."""
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    if value not in ("True", "False"):
        raise ImproperlyConfigured(f"{name} must be True or False, not {value!r}")
    return value == "True"


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be an integer, not {value!r}") from exc


def env_float(name: str, default: float) -> float:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        return float(value)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be a number, not {value!r}") from exc


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in env_str(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG", False)

SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is not True")
    SECRET_KEY = "django-insecure-dev-only-key-never-use-in-production"  # noqa: S105

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]" if DEBUG else "")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_htmx",
    "django_tasks_db",
    "axes",
    "kyc",
]
# The demo app (demo/: `seed_demo`, `seed_bench`) is development tooling, outside the product
# package: installed in development (DEBUG) and wherever DEMO_APP=True asks for it (a demo server,
# the benchmarks), never otherwise in production.
DEMO_APP = env_bool("DEMO_APP", DEBUG)
if DEMO_APP:
    INSTALLED_APPS.append("demo")

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "kyc.middleware.ChunkedBodyMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "kyc.middleware.PrivateNoStoreMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "kyc.middleware.IdleSessionMiddleware",
    "kyc.middleware.RequestContextMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Last, as django-axes asks: it answers for a log-in that axes refused (kyc.views.auth).
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "kyc.urls"
WSGI_APPLICATION = "kyc.wsgi.application"
ASGI_APPLICATION = "kyc.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.template.context_processors.csp",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "kyc.context_processors.navigation",
            ],
        },
    },
]

# --- Database -----------------------------------------------------------------------------------
# SQLite by default: WAL so the web server and the worker read while one writes, IMMEDIATE
# transactions so writers queue on the busy timeout instead of failing with "database is locked".
SQLITE_PATH = Path(env_str("SQLITE_PATH", str(BASE_DIR / "var" / "db.sqlite3")))
DATABASE_URL = env_str("DATABASE_URL")
if DATABASE_URL:
    DATABASES = {
        "default": dj_database_url.parse(
            DATABASE_URL, conn_max_age=env_int("DB_CONN_MAX_AGE", 60), conn_health_checks=True
        )
    }
    if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        # An unreachable server must fail a request (and /healthz/) in seconds, not after the
        # operating system's TCP timeout of about two minutes.
        DATABASES["default"].setdefault("OPTIONS", {}).setdefault(
            "connect_timeout", env_int("DB_CONNECT_TIMEOUT", 5)
        )
else:
    # Zero configuration: the SQLite file's folder is created on first use.
    SQLITE_PATH.parent.mkdir(parents=True, exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(SQLITE_PATH),
            # Kept open across requests, as with PostgreSQL: a new SQLite connection per request
            # reads the schema again and starts with a cold page cache (measured in bench/: the
            # revalidated live-status poll went from 409 to 611 requests/s, webhooks from 214 to
            # 440 per second, at 100,000 customers).
            "CONN_MAX_AGE": env_int("DB_CONN_MAX_AGE", 60),
            "CONN_HEALTH_CHECKS": True,
            "OPTIONS": {
                "transaction_mode": "IMMEDIATE",
                "timeout": env_int("SQLITE_BUSY_TIMEOUT", 20),
                "init_command": (
                    "PRAGMA journal_mode=WAL;"
                    "PRAGMA synchronous=NORMAL;"
                    "PRAGMA foreign_keys=ON;"
                    "PRAGMA cache_size=-20000;"
                ),
            },
        }
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Background tasks ---------------------------------------------------------------------------
REDIS_URL = env_str("REDIS_URL")
# "default" holds the work any worker can do (the built-in engine, webhooks); each vendor's jobs
# (Provider.queue_name) and the Artemis pushes have a queue of their own, so only the workers
# started with that vendor's credentials listen on it. A worker that takes a task it cannot run
# leaves its job alone.
TASK_QUEUES = ["default", "october", "finovox", "mindee", "artemis"]
if REDIS_URL:
    INSTALLED_APPS.append("django_rq")
    TASKS = {"default": {"BACKEND": "django_tasks_rq.RQBackend", "QUEUES": TASK_QUEUES}}
    RQ_QUEUES = {
        name: {"URL": REDIS_URL, "DEFAULT_TIMEOUT": env_int("RQ_JOB_TIMEOUT", 600)}
        for name in TASK_QUEUES
    }
    # rqworker must run jobs with django_tasks_rq's job class, or every task fails to start.
    # SimpleWorker runs jobs in the worker process instead of a fork per job, so the OCR model
    # loads once per worker, not once per document (a dead worker's jobs are recovered by their
    # lease and the sweeper, as with any worker).
    RQ = {
        "JOB_CLASS": "django_tasks_rq.Job",
        "WORKER_CLASS": env_str("RQ_WORKER_CLASS", "rq.worker.SimpleWorker"),
    }
else:
    TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": TASK_QUEUES}}

# Webhook rate limits count in the cache: per process in local memory, or shared by every process
# on Redis when REDIS_URL is set. Log-in failures do not (see Authentication): a Redis outage
# must not stop anyone from logging in.
CACHES = {
    "default": (
        {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
        if REDIS_URL
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    )
}

# --- Files --------------------------------------------------------------------------------------
# Uploaded documents are private: they live outside static/, have no public URL and are served
# only by the permission-checked view.
PRIVATE_MEDIA_ROOT = Path(env_str("PRIVATE_MEDIA_ROOT", str(BASE_DIR / "var" / "private")))
MAX_UPLOAD_BYTES = env_int("MAX_UPLOAD_BYTES", 20 * 1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
FILE_UPLOAD_PERMISSIONS = 0o600
FILE_UPLOAD_DIRECTORY_PERMISSIONS = 0o700

STORAGES: dict[str, dict[str, Any]] = {
    "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": PRIVATE_MEDIA_ROOT, "base_url": None},
    },
    "staticfiles": {
        # Outside DEBUG, `manage.py collectstatic` must run before start: hashed, compressed
        # files served by whitenoise (a page that names a file missing from the manifest fails).
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        ),
    },
}
STATIC_URL = "static/"
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(BASE_DIR / "var" / "staticfiles")))
STATICFILES_DIRS = [BASE_DIR / "static"]

# Documents on an S3-compatible bucket when S3_BUCKET is set. Objects are private (no public ACL,
# optional server-side encryption); pages never link to the bucket: every file still goes through
# the permission-checked view, which reads it with default_storage.open(). Signed URLs stay on
# (short-lived) only so that an accidental .url() can never produce a public link.
S3_BUCKET = env_str("S3_BUCKET") or env_str("AWS_STORAGE_BUCKET_NAME")
if S3_BUCKET:
    from botocore.config import Config as _BotoConfig

    S3_SSE = env_str("S3_SSE")
    S3_SSE_KMS_KEY_ID = env_str("S3_SSE_KMS_KEY_ID")
    if S3_SSE not in ("", "AES256", "aws:kms"):
        raise ImproperlyConfigured(f"S3_SSE must be AES256, aws:kms or empty, not {S3_SSE!r}")
    if S3_SSE_KMS_KEY_ID and S3_SSE != "aws:kms":
        raise ImproperlyConfigured("S3_SSE_KMS_KEY_ID needs S3_SSE=aws:kms")
    _s3_object_parameters = {"ServerSideEncryption": S3_SSE} if S3_SSE else {}
    if S3_SSE_KMS_KEY_ID:
        _s3_object_parameters["SSEKMSKeyId"] = S3_SSE_KMS_KEY_ID
    _s3_addressing = env_str("S3_ADDRESSING_STYLE") or None
    STORAGES["default"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": S3_BUCKET,
            "location": env_str("S3_PREFIX").strip("/"),
            "endpoint_url": env_str("S3_ENDPOINT_URL") or None,
            "region_name": env_str("S3_REGION") or None,
            # Unset: boto3's own chain (AWS_ACCESS_KEY_ID, instance or pod role, ...).
            "access_key": env_str("S3_ACCESS_KEY_ID") or None,
            "secret_key": env_str("S3_SECRET_ACCESS_KEY") or None,
            # S3_ACL=none sends no ACL at all, for buckets with ACLs disabled (objects are then
            # private by the bucket's ownership setting).
            "default_acl": None if env_str("S3_ACL") == "none" else env_str("S3_ACL", "private"),
            "object_parameters": _s3_object_parameters,
            # Report attachments keep their vendor's file name: never overwrite another one.
            "file_overwrite": False,
            "querystring_auth": True,
            "querystring_expire": env_int("S3_SIGNED_URL_SECONDS", 60),
            "custom_domain": None,
            "client_config": _BotoConfig(
                connect_timeout=env_float("S3_TIMEOUT", 10.0),
                read_timeout=env_float("S3_TIMEOUT", 10.0) * 3,
                retries={"mode": "standard", "max_attempts": 3},
                s3={"addressing_style": _s3_addressing} if _s3_addressing else {},
            ),
        },
    }

# --- Authentication -----------------------------------------------------------------------------
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "kyc:home"
LOGOUT_REDIRECT_URL = "login"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
SESSION_COOKIE_AGE = env_int("SESSION_IDLE_SECONDS", 30 * 60)
# The age above is an idle timeout: kyc.middleware.IdleSessionMiddleware renews it on activity.
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
# Failed log-ins: this many for one username, or from one IP (an office may share one), counted
# until LOGIN_LOCKOUT_SECONDS pass without a failure, lock it for LOGIN_LOCKOUT_SECONDS.
LOGIN_MAX_FAILURES = env_int("LOGIN_MAX_FAILURES", 5)
LOGIN_MAX_FAILURES_PER_IP = env_int("LOGIN_MAX_FAILURES_PER_IP", 20)
LOGIN_LOCKOUT_SECONDS = env_int("LOGIN_LOCKOUT_SECONDS", 15 * 60)
# django-axes counts them in the database (shared by every process, whatever happens to Redis,
# visible in the admin); kyc.lockout applies the limits above, one per scope, which axes' own
# single limit cannot (so its own lock-at-failure is off and kyc.lockout decides).
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # first: refuses a locked attempt before any password
    "django.contrib.auth.backends.ModelBackend",
]
AXES_HANDLER = "kyc.lockout.LockoutHandler"
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_FAILURE_LIMIT = LOGIN_MAX_FAILURES  # what the admin's access attempts list shows
AXES_LOCK_OUT_AT_FAILURE = False
AXES_COOLOFF_TIME = "kyc.lockout.cool_off"
AXES_USERNAME_CALLABLE = "kyc.lockout.username_of"
AXES_CLIENT_IP_CALLABLE = "kyc.middleware.client_ip"  # X-Forwarded-For from TRUSTED_PROXIES only
AXES_RESET_ON_SUCCESS = False  # kyc.lockout clears the username's failures only
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False  # attempts refused while locked don't count
AXES_LOCKOUT_CALLABLE = "kyc.views.auth.lockout_response"
# No row per successful log-in: the table would grow for ever with nothing reading it.
AXES_DISABLE_ACCESS_LOG = True
AXES_VERBOSE = False  # no banner at every process start; each failure is still logged

# --- Internationalisation -----------------------------------------------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("fr", _("French"))]
LOCALE_PATHS = [BASE_DIR / "kyc" / "locale"]
TIME_ZONE = env_str("TIME_ZONE", "Europe/Paris")
USE_I18N = True
USE_TZ = True

# --- Security headers ---------------------------------------------------------------------------
# No inline script or style anywhere: htmx is configured by a <meta> tag and loaded from static/.
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:", "blob:"],
    "font-src": [CSP.SELF],
    "connect-src": [CSP.SELF],
    "frame-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.SELF],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
}
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"  # no page frames another (the viewer shows images, not frames)
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = False  # htmx reads the token from hx-headers, not the cookie
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", not DEBUG)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", not DEBUG)
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", not DEBUG)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
# Preloading is the domain owner's decision (it binds every sub-domain and takes months to undo),
# so it stays off by default and check --deploy does not ask for it.
SILENCED_SYSTEM_CHECKS = [] if SECURE_HSTS_PRELOAD else ["security.W021"]
# Reverse proxies whose X-Forwarded-For we believe (their own addresses, comma-separated).
TRUSTED_PROXIES = frozenset(env_list("TRUSTED_PROXIES"))
if env_bool("BEHIND_TLS_PROXY", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# The health check is probed over plain HTTP by load balancers.
SECURE_REDIRECT_EXEMPT = [r"^healthz/$"]

# --- Providers and jobs -------------------------------------------------------------------------
# A vendor is enabled when its credentials are set; the built-in engine always is.
KYC_PROVIDERS = [
    "kyc.providers.local.LocalProvider",
    "kyc.providers.october.OctoberProvider",
    "kyc.providers.finovox.FinovoxProvider",
    "kyc.providers.mindee.MindeeProvider",
]
# A worker holds a job this long while it talks to the provider; past it, the sweeper hands the job
# to another worker (the first one is presumed dead).
JOB_LEASE_SECONDS = env_int("JOB_LEASE_SECONDS", 300)
# Delay before retrying a failed vendor call (doubles each time, with jitter, up to the cap).
JOB_RETRY_BASE_SECONDS = env_float("JOB_RETRY_BASE_SECONDS", 10.0)
JOB_RETRY_MAX_SECONDS = env_float("JOB_RETRY_MAX_SECONDS", 900.0)
WEBHOOK_MAX_BYTES = env_int("WEBHOOK_MAX_BYTES", 1024 * 1024)
# Webhooks per provider and source IP: a token bucket refilled at this rate (0: no limit) holding
# up to BURST deliveries. High by default: a vendor catching up after an outage sends in bursts.
WEBHOOK_RATE_PER_SECOND = env_float("WEBHOOK_RATE_PER_SECOND", 1000.0)
WEBHOOK_RATE_BURST = env_int("WEBHOOK_RATE_BURST", 5000)
# Deliveries refused for a missing or wrong signature have a bucket of their own, per provider and
# source IP, much smaller: each keeps a row (metadata and a short prefix of the body); past it,
# 429 and no row. Forgeries never eat into the vendor's own allowance.
WEBHOOK_REFUSED_RATE_PER_SECOND = env_float("WEBHOOK_REFUSED_RATE_PER_SECOND", 1.0)
WEBHOOK_REFUSED_BURST = env_int("WEBHOOK_REFUSED_BURST", 20)
# A delivery still `received` this many seconds after it was last handed to the task queue is
# presumed lost (a worker died, the queue was down) and `manage.py jobs_sweep` enqueues it again.
WEBHOOK_STALE_SECONDS = env_int("WEBHOOK_STALE_SECONDS", 300)
# Documents (files) are purged this many days after a customer's final decision (AML: 5 years).
RETENTION_DAYS_AFTER_DECISION = env_int("RETENTION_DAYS_AFTER_DECISION", 5 * 365)
# A webhook delivery's raw body and headers (Mindee's carry the OCR of identity documents) are
# blanked this many days after it was received, once processed; the row stays for deduplication.
WEBHOOK_RETENTION_DAYS = env_int("WEBHOOK_RETENTION_DAYS", 30)
# Finished task-queue results (the database backend writes one per enqueue, every poll
# included) are deleted by `manage.py jobs_sweep` this many days after they finished.
TASK_RESULTS_RETENTION_DAYS = env_int("TASK_RESULTS_RETENTION_DAYS", 7)

VENDOR_TIMEOUT = env_float("VENDOR_TIMEOUT", 30.0)

OCTOBER_BASE_URL = env_str("OCTOBER_BASE_URL", "https://api.october.eu").rstrip("/")
OCTOBER_USER_ID = env_str("OCTOBER_USER_ID")
OCTOBER_SESSION_TOKEN = env_str("OCTOBER_SESSION_TOKEN")
OCTOBER_VERSION = env_str("OCTOBER_VERSION", "2024-01-25")
OCTOBER_WEBHOOK_SECRET = env_str("OCTOBER_WEBHOOK_SECRET")
# Without OCTOBER_WEBHOOK_SECRET, /webhooks/october/ answers 404 unless this is True: then anyone
# may post there (harmless, a delivery only triggers a re-fetch with our credentials, but every
# delivery is a row).
OCTOBER_WEBHOOK_ALLOW_UNSIGNED = env_bool("OCTOBER_WEBHOOK_ALLOW_UNSIGNED", False)
OCTOBER_TIMEOUT = env_float("OCTOBER_TIMEOUT", VENDOR_TIMEOUT)

FINOVOX_BASE_URL = env_str("FINOVOX_BASE_URL", "https://api-v2.finovox.com").rstrip("/")
FINOVOX_API_KEY = env_str("FINOVOX_API_KEY")
FINOVOX_POLL_SECONDS = env_int("FINOVOX_POLL_SECONDS", 30)
# Finovox's own examples wait 150 s for /analyse and /retrieve, and its docs ask for at least that
# on synchronous calls (vendor-apis.md 2.2): VENDOR_TIMEOUT's 30 s would cut analyses short.
FINOVOX_TIMEOUT = env_float("FINOVOX_TIMEOUT", 150.0)
# Extra analyse_type values asked of Finovox besides "risk" (each may be billed).
FINOVOX_EXPLANATION = env_bool("FINOVOX_EXPLANATION", False)
FINOVOX_PDF_REPORT = env_bool("FINOVOX_PDF_REPORT", False)

MINDEE_BASE_URL = env_str("MINDEE_BASE_URL", "https://api.mindee.net").rstrip("/")
MINDEE_API_KEY = env_str("MINDEE_API_KEY")
MINDEE_WEBHOOK_SECRET = env_str("MINDEE_WEBHOOK_SECRET")
MINDEE_TIMEOUT = env_float("MINDEE_TIMEOUT", VENDOR_TIMEOUT)
# First poll of an International ID job (then backing off); Mindee's SDK waits 2 s.
MINDEE_POLL_SECONDS = env_float("MINDEE_POLL_SECONDS", 2.0)
# Below this confidence any field Mindee reads gets a reason and turns the Mindee report orange.
MINDEE_MIN_CONFIDENCE = env_float("MINDEE_MIN_CONFIDENCE", 0.8)

ARTEMIS_BASE_URL = env_str("ARTEMIS_BASE_URL", "https://api.artemis.cynopsis.co").rstrip("/")
ARTEMIS_AUTH_URL = env_str("ARTEMIS_AUTH_URL", "https://crm.cynopsis.co").rstrip("/")
ARTEMIS_CLIENT_ID = env_str("ARTEMIS_CLIENT_ID")
ARTEMIS_CLIENT_SECRET = env_str("ARTEMIS_CLIENT_SECRET")
ARTEMIS_DOMAIN_ID = env_str("ARTEMIS_DOMAIN_ID")
ARTEMIS_TIMEOUT = env_float("ARTEMIS_TIMEOUT", VENDOR_TIMEOUT)

# --- Logging ------------------------------------------------------------------------------------
LOG_LEVEL = env_str("LOG_LEVEL", "INFO")
# "json": one JSON object per line (time, level, logger, message, request_id, user_id, job_id)
# for log collectors; "plain" for people; "short", plain without the time, for a process
# manager that stamps each line itself (`make run`).
LOG_FORMAT = env_str("LOG_FORMAT", "plain")
if LOG_FORMAT not in ("plain", "short", "json"):
    raise ImproperlyConfigured(f"LOG_FORMAT must be plain, short or json, not {LOG_FORMAT!r}")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"context": {"()": "kyc.logging.ContextFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "short": {"format": "%(levelname)s %(name)s %(message)s"},
        "json": {"()": "kyc.logging.JsonFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["context"],
        }
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        # Django's default config gives "django" its own console handler (plain text, DEBUG
        # only) besides ours on the root: every line of Django and of the task worker was
        # printed twice. One handler, on the root, for everything.
        "django": {"level": "INFO", "handlers": []},
        "django.db.backends": {"level": "INFO"},
        # axes logs each failure as a warning (username and address masked), and two lines of
        # housekeeping at INFO around it.
        "axes": {"level": "WARNING"},
    },
}

# /healthz/: how long each check (database, task backend, storage) may take.
HEALTH_CHECK_TIMEOUT = env_float("HEALTH_CHECK_TIMEOUT", 3.0)
