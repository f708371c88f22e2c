"""Settings for the Visma sales-order portal.

Everything comes from the environment (and an optional `.env` file beside manage.py). Every variable is listed with
its meaning in `.env.example` and in the README.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

from core import format_locales

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.FileAwareEnv()
# Variables already in the environment win over the file. ENV_FILE names another file; set but empty, none is read.
ENV_FILE = env.str("ENV_FILE", default=str(BASE_DIR / ".env"))
if ENV_FILE and Path(ENV_FILE).is_file():
    env.read_env(ENV_FILE, overwrite=False)

DEBUG = env.bool("DEBUG", default=False)

SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set (or DEBUG=True for local development).")
    SECRET_KEY = "insecure-development-key-only-used-when-DEBUG-is-on"  # noqa: S105

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_q",
    "django_htmx",
    "django_bootstrap5",
    "bootstrap",
    "csp",
    "axes",
    "auditlog",
    "core",
    "tenants",
    "orders",
    "sandbox",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "core.middleware.strip_nul_from_query_string",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "core.locale.user_locale",
    "auditlog.middleware.AuditlogMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "core.middleware.session_limits",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

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
                "core.context_processors.navigation",
            ],
        },
    },
]

# --- Database -----------------------------------------------------------------------------------------------------
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Web process and queue workers write the same file: WAL lets readers run beside a writer, IMMEDIATE takes the
    # write lock up front (no lock-upgrade deadlocks) and the busy timeout waits instead of failing.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
else:
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache and queue ----------------------------------------------------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    # A database cache is shared by the web process and every worker, which the token cache needs.
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "portal_cache"}}

Q_CLUSTER = {
    "name": "visma-portal",
    "workers": env.int("Q_WORKERS", default=2),
    # Above ORDER_TASK_BUDGET_SECONDS (set below; 180 s by default) with 60 s for the database; timeout < retry so a
    # slow task is never handed to a second worker while it still runs.
    "timeout": int(3 * env.float("VISMA_CALL_DEADLINE_SECONDS", default=60.0)) + 60,
    "retry": int(3 * env.float("VISMA_CALL_DEADLINE_SECONDS", default=60.0)) + 120,
    "max_attempts": 3,
    "ack_failures": False,
    "queue_limit": 4,
    "save_limit": 250,
    "catch_up": False,
    "poll": 0.5,
    "label": "Background tasks",
}
if REDIS_URL:
    Q_CLUSTER["redis"] = REDIS_URL
else:
    Q_CLUSTER["orm"] = "default"

# --- Auth ---------------------------------------------------------------------------------------------------------
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "login"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=10 * 60 * 60)  # a working day, however active
SESSION_IDLE_MINUTES = env.int("SESSION_IDLE_MINUTES", default=60)  # core.middleware.session_limits
# An order form posts about eight fields per line; allow 500 lines (orders.forms.MAX_LINES) and the header.
DATA_UPLOAD_MAX_NUMBER_FIELDS = 4500
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]
# django-axes counts wrong passwords of the last LOGIN_LOCKOUT_MINUTES per user name (from every address) and per
# address (for every user name), each against its own limit (core.security.LoginThrottle). Reaching one locks that
# user name or address, right password or not, until LOGIN_LOCKOUT_MINUTES after the last failure counted; tries
# while locked do not prolong it. A successful login resets the counts of its user name and address.
LOGIN_FAILURE_LIMITS = {
    "username": env.int("LOGIN_FAILURE_LIMIT", default=10),
    "ip_address": env.int("LOGIN_IP_FAILURE_LIMIT", default=20),
}
AXES_HANDLER = "core.security.LoginThrottle"
AXES_LOCKOUT_PARAMETERS = list(LOGIN_FAILURE_LIMITS)
AXES_FAILURE_LIMIT = LOGIN_FAILURE_LIMITS["username"]  # LoginThrottle reports failures on this scale
AXES_COOLOFF_TIME = timedelta(minutes=env.int("LOGIN_LOCKOUT_MINUTES", default=15))
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_RESET_ON_SUCCESS = True
AXES_CLIENT_IP_CALLABLE = "core.security.client_ip"  # TRUSTED_PROXY_COUNT, below; django-ipware is not used
AXES_LOCKOUT_CALLABLE = "core.security.lockout_response"
AXES_VERBOSE = False
AXES_SENSITIVE_PARAMETERS = []  # log lines name the user name and address; the password is always masked

# --- Security -----------------------------------------------------------------------------------------------------
# HTTPS only unless DEBUG is on: a plain-HTTP deployment (the local demo) turns these off in its environment.
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 365 * 24 * 60 * 60)
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE_HSTS_SECONDS > 0
SECURE_HSTS_PRELOAD = SECURE_HSTS_SECONDS > 0
BEHIND_TLS_PROXY = env.bool("BEHIND_TLS_PROXY", default=False)
if BEHIND_TLS_PROXY:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# Proxies in front of the portal that each append the address they saw to X-Forwarded-For. Login throttling counts
# the address the outermost one saw; 0 counts REMOTE_ADDR (every login behind a proxy would share its address).
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=1 if BEHIND_TLS_PROXY else 0)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
        "base-uri": ["'none'"],
        "object-src": ["'none'"],
    }
}

# Secrets of Visma service applications are encrypted with these Fernet keys (comma separated, newest first).
FIELD_ENCRYPTION_KEYS = env.list("FIELD_ENCRYPTION_KEY", default=[])

# --- Visma --------------------------------------------------------------------------------------------------------
VISMA_TOKEN_URL = env.str("VISMA_TOKEN_URL", default="https://connect.visma.com/connect/token")
VISMA_API_URL = env.str("VISMA_API_URL", default="https://salesorder.visma.net")
VISMA_CONNECT_TIMEOUT = env.float("VISMA_CONNECT_TIMEOUT", default=3.05)
VISMA_READ_TIMEOUT = env.float("VISMA_READ_TIMEOUT", default=30.0)
# Every Visma call ends within this many seconds, however slowly its answer trickles in.
VISMA_CALL_DEADLINE_SECONDS = env.float("VISMA_CALL_DEADLINE_SECONDS", default=60.0)
# The only hosts that ever receive the client secret or a token ("*.visma.net": any subdomain); https only.
VISMA_ALLOWED_HOSTS = env.list("VISMA_ALLOWED_HOSTS", default=["connect.visma.com", "*.visma.net"])
# Loopback (127.0.0.0/8, ::1, localhost) is allowed only for the local sandbox: the demo and the tests turn it on.
VISMA_ALLOW_LOOPBACK = env.bool("VISMA_ALLOW_LOOPBACK", default=False)
# A CA bundle to trust for Visma's certificates instead of the system's (e.g. the sandbox's self-signed one).
VISMA_CA_BUNDLE = env.str("VISMA_CA_BUNDLE", default="")
VISMA_SANDBOX_CLIENT_SECRET = env.str("VISMA_SANDBOX_CLIENT_SECRET", default="")
# Share of each rate-limit window that background work leaves to staff's own calls (Test connection, suggestions).
VISMA_RATE_RESERVE = env.float("VISMA_RATE_RESERVE", default=0.10)
# Reads of Visma one person may ask for a minute while they wait (Refresh now, delivery locations): those calls are
# not paced by the rate budget, so this keeps one person from spending Visma's window.
VISMA_STAFF_READS_PER_MINUTE = env.int("VISMA_STAFF_READS_PER_MINUTE", default=30)

# --- Customer sync ------------------------------------------------------------------------------------------------
CUSTOMER_SYNC_MINUTES = env.int("CUSTOMER_SYNC_MINUTES", default=60)
CUSTOMER_SYNC_PAGE_SIZE = env.int("CUSTOMER_SYNC_PAGE_SIZE", default=1000)
CUSTOMER_SYNC_MAX_WAIT = env.int("CUSTOMER_SYNC_MAX_WAIT", default=120)
CUSTOMER_SYNC_STALE_MINUTES = 10
CUSTOMER_SYNC_TASK_TIMEOUT = 900

# --- Order submission ---------------------------------------------------------------------------------------------
ORDER_MAX_ATTEMPTS = env.int("ORDER_MAX_ATTEMPTS", default=5)
ORDER_BACKOFF_SECONDS = env.int("ORDER_BACKOFF_SECONDS", default=30)
# After a POST whose answer was lost, the order is only looked up (never sent again) until that POST is this old:
# Visma documents no upper bound on how long it may take to create an order.
ORDER_RESEND_AFTER_SECONDS = env.int("ORDER_RESEND_AFTER_SECONDS", default=600)
# When a tenant's Visma cannot be reached (nothing could be sent), its orders wait and one probe is made this often.
VISMA_UNREACHABLE_RETRY_SECONDS = env.int("VISMA_UNREACHABLE_RETRY_SECONDS", default=60)
VISMA_UNREACHABLE_AFTER_FAILURES = 3
# One order task makes at most: a token request (up to 3 tries), a lookup before a resend, the POST, and a lookup
# after a lost answer, each ending within VISMA_CALL_DEADLINE_SECONDS; the task's client also has this budget in
# total, and the worker's timeout stays above it (plus time for the database) so a slow task is never cut short.
ORDER_TASK_BUDGET_SECONDS = 3 * VISMA_CALL_DEADLINE_SECONDS
# How many of one tenant's orders may be sent at once while another tenant has orders waiting (one per two workers
# by default): a customer with a backlog never holds every worker. Alone, a tenant uses them all.
ORDER_TENANT_CONCURRENCY = env.int("ORDER_TENANT_CONCURRENCY", default=max(1, env.int("Q_WORKERS", default=2) // 2))
# An order held back by a 429 or by the rate budget is handed to a worker again when its wait is over (True), rather
# than at the sweeper's next pass; off where tasks run in the calling process (unit tests).
ORDER_WAKEUPS = True

# --- Following orders after submission ----------------------------------------------------------------------------
# Each tenant with orders to follow asks Visma for the orders changed since the last look this often (one paged list).
ORDER_REFRESH_MINUTES = env.int("ORDER_REFRESH_MINUTES", default=5)
# Orders Visma completed or cancelled are followed this many days more, then no longer.
ORDER_REFRESH_DAYS = env.int("ORDER_REFRESH_DAYS", default=30)
# Notifications from Visma's webhooks: a burst within this many seconds makes one refresh of the tenant.
VISMA_WEBHOOK_DEBOUNCE_SECONDS = env.int("VISMA_WEBHOOK_DEBOUNCE_SECONDS", default=5)
# At most this many notifications a minute are taken in per tenant (per application when no tenant is named);
# more are answered 429. Bodies larger than 64 KB are refused (413).
VISMA_WEBHOOK_PER_MINUTE = env.int("VISMA_WEBHOOK_PER_MINUTE", default=120)
VISMA_WEBHOOK_MAX_BYTES = 64 * 1024

# --- Operations ---------------------------------------------------------------------------------------------------
API_LOG_DAYS = env.int("API_LOG_DAYS", default=30)
ALERT_EMAILS = env.list("ALERT_EMAILS", default=[])
PORTAL_URL = env.str("PORTAL_URL", default="")
# Audit trail (django-auditlog): secrets and password hashes are recorded as "secret changed", never their value.
# Only the fields staff change or care about are listed, so entries never show ids or reverse relations.
AUDITLOG_INCLUDE_TRACKING_MODELS = (
    {
        "model": "tenants.serviceapplication",
        "include_fields": [
            "name",
            "client_id",
            "description",
            "encrypted_secret",
            "token_url",
            "api_url",
            "token_lifetime",
            "active",
        ],
        "mask_fields": ["encrypted_secret"],
        "mask_callable": "core.audit.secret_changed",
    },
    {
        "model": "tenants.tenant",
        "include_fields": ["application", "tenant_id", "name", "can_read", "can_write", "active", "order_types"],
    },
    {
        "model": "orders.salesorder",
        "include_fields": [
            "tenant",
            "customer",
            "order_type",
            "date",
            "description",
            "customer_order",
            "status",
            "note",
            "reference",
            "state",
            "visma_type",
            "visma_number",
            "last_error",
            "submitted_by",
            "location_id",
            "request_on",
            "delivery_line1",
            "delivery_line2",
            "delivery_line3",
            "delivery_postal_code",
            "delivery_city",
            "delivery_country",
            "delivery_contact_name",
            "delivery_contact_attention",
            "delivery_contact_phone",
            "delivery_contact_email",
        ],
    },
    {
        "model": "orders.salesorderline",
        "include_fields": [
            "order",
            "position",
            "inventory_id",
            "description",
            "quantity",
            "unit_price",
            "tax_category",
        ],
        "serialize_data": True,
    },
    {
        "model": "orders.orderchange",
        "include_fields": ["order", "kind", "state", "body", "if_match", "last_error", "created_by", "finished_at"],
    },
    {
        "model": "auth.user",
        "include_fields": [
            "username",
            "first_name",
            "last_name",
            "email",
            "password",
            "is_active",
            "is_staff",
            "is_superuser",
        ],
        "mask_fields": ["password"],
        "mask_callable": "core.audit.secret_changed",
        "m2m_fields": ["groups", "user_permissions"],
    },
    {"model": "auth.group", "include_fields": ["name"], "m2m_fields": ["permissions"]},
)
AUDITLOG_DISABLE_REMOTE_ADDR = False

# --- I18N, static -------------------------------------------------------------------------------------------------
# The environment's LANGUAGE_CODE chooses how numbers and dates are written ("en-gb" or "nb"); each user may choose
# other formats and a time zone on their settings page (core.locale). The portal's text is English in every choice:
# each activates an English Django language with the chosen formats (core.format_locales, config/formats).
site_formats = format_locales.named(env.str("LANGUAGE_CODE", default="en-gb"))
if site_formats is None:
    raise ImproperlyConfigured(
        f"LANGUAGE_CODE must be one of {', '.join(dict(format_locales.CHOICES))} "
        "(formats for numbers and dates; the portal's text is English)."
    )
LANGUAGES = [(locale.language, f"English ({locale.label} formats)") for locale in format_locales.FORMAT_LOCALES]
LANGUAGE_CODE = site_formats.language
TIME_ZONE = env.str("TIME_ZONE", default="Europe/Oslo")
USE_I18N = True
USE_TZ = True
FORMAT_MODULE_PATH = ["config.formats"]
LOCALE_PATHS = [BASE_DIR / "locale"]  # the admin's English time shortcuts on the 24-hour clock

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

BOOTSTRAP5 = {
    "css_url": {"url": "/static/bootstrap/css/bootstrap.min.css"},
    "javascript_url": {"url": "/static/bootstrap/js/bootstrap.bundle.min.js"},
    "required_css_class": "required",  # portal.css marks these fields' labels with a red asterisk
}

# --- E-mail -------------------------------------------------------------------------------------------------------
EMAIL_CONFIG = env.email_url("EMAIL_URL", default="consolemail://")
vars().update(EMAIL_CONFIG)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="portal@localhost")
# Seconds an SMTP connection may wait; mail is only ever sent by a worker (tenants.notifications).
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10)
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- Logging ------------------------------------------------------------------------------------------------------
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOG_FORMAT = env.str("LOG_FORMAT", default="line")
if LOG_FORMAT not in ("line", "json"):
    raise ImproperlyConfigured("LOG_FORMAT must be line or json.")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"redact_secrets": {"()": "core.logging.RedactSecretsFilter"}},
    "formatters": {
        "line": {"()": "core.logging.LineFormatter", "format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {"()": "core.logging.JsonFormatter"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT, "filters": ["redact_secrets"]},
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {"urllib3": {"level": "WARNING"}},
}
