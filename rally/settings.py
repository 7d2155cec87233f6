"""Rally's one settings module: everything comes from the environment (django-environ).

Development defaults make `make run` work with nothing set; production switches on with
DEBUG=false and real secrets. `.env.example` lists every variable.
"""

from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=True)
DEV_SECRET_KEY = "rally-dev-secret-key-not-for-production"  # noqa: S105
SECRET_KEY = env.str("SECRET_KEY", default=DEV_SECRET_KEY if DEBUG else environ.Env.NOTSET)
# Fernet keys for secrets stored in the database (rally/encryption.py), newest first.
# Make one: python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key())"
FIELD_ENCRYPTION_KEYS = env.list("FIELD_ENCRYPTION_KEYS", default=[])
if not DEBUG and not FIELD_ENCRYPTION_KEYS:
    raise environ.ImproperlyConfigured("FIELD_ENCRYPTION_KEYS must be set when DEBUG is off.")
# The public sign-up page (/signup/: a new workspace and its first Admin); off by default,
# workspaces are then made with `manage.py create_workspace`.
SIGNUP_ENABLED = env.bool("SIGNUP_ENABLED", default=False)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# The sandbox (a stand-in for User Interviews) is on by default in development only.
SANDBOX_ENABLED = env.bool("SANDBOX_ENABLED", default=DEBUG)
SANDBOX_TIME_SCALE = env.float("SANDBOX_TIME_SCALE", default=60.0)
SANDBOX_REVIEW_DELAY_SECONDS = env.int("SANDBOX_REVIEW_DELAY_SECONDS", default=20)
SANDBOX_API_KEYS = env.list("SANDBOX_API_KEYS", default=["rally-dev-key"] if DEBUG else [])
SANDBOX_RATE_LIMIT_PER_MINUTE = env.int("SANDBOX_RATE_LIMIT_PER_MINUTE", default=60)
SANDBOX_RATE_LIMIT_BURST = env.int("SANDBOX_RATE_LIMIT_BURST", default=20)
SANDBOX_PAYMENT_FAILURE_RATE = env.float("SANDBOX_PAYMENT_FAILURE_RATE", default=0.0)
SANDBOX_TICK_SECONDS = 5.0
SANDBOX_WEBHOOK_TIMEOUT_SECONDS = 10.0
SANDBOX_FAULT_TIMEOUT_SECONDS = 30.0  # how long an injected timeout hangs before dropping

# User Interviews, reached only through recruitment/user_interviews/.
UI_API_URL = env.str("UI_API_URL", default="http://127.0.0.1:8001/sandbox/ui/api")
# Each workspace connects its own account (Workspace settings → User Interviews); these two
# are only development defaults for a workspace that has not (the demo's sandbox account).
UI_API_KEY = env.str("UI_API_KEY", default="rally-dev-key" if DEBUG else "")
UI_WEBHOOK_SECRET = env.str("UI_WEBHOOK_SECRET", default="")
# UI's rate limit per API key, spent from one token bucket all of Rally's processes share
# (recruitment/user_interviews/ratelimit.py); 0 turns Rally's own bucket off.
UI_RATE_LIMIT_PER_MINUTE = env.int("UI_RATE_LIMIT_PER_MINUTE", default=60)
UI_RATE_LIMIT_BURST = env.int("UI_RATE_LIMIT_BURST", default=20)
UI_API_TIMEOUT_SECONDS = env.float("UI_API_TIMEOUT_SECONDS", default=10.0)
# /metrics answers Prometheus only with this bearer token (unset: /metrics is off).
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
# /readyz fails when the oldest due outbox row has waited longer than this.
READYZ_OUTBOX_MAX_AGE_SECONDS = env.int("READYZ_OUTBOX_MAX_AGE_SECONDS", default=900)
# Hosts' calendars are fetched from addresses people type in: outside development only from
# public internet addresses, so a calendar address cannot reach into Rally's own network.
CALENDAR_PRIVATE_ADDRESSES_ALLOWED = env.bool("CALENDAR_PRIVATE_ADDRESSES_ALLOWED",
                                              default=DEBUG)
# Where User Interviews (or the sandbox) delivers webhooks and sends participants to book.
RALLY_BASE_URL = env.str("RALLY_BASE_URL", default="http://127.0.0.1:8000")

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "django_htmx",
    # Rally's apps, in dependency order: each may import only those listed before it.
    "rally",
    "billing",
    "studies",
    "participants",
    "scheduling",
    "panel",
    "recruitment",
    "sandbox",
]
if DEBUG or SANDBOX_ENABLED:
    INSTALLED_APPS.append("demo")  # demo data for `make run`: `manage.py seed_demo`


MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "rally.middleware.current_workspace",
    "rally.middleware.user_time_zone",
    "rally.middleware.request_log",
]

ROOT_URLCONF = "rally.urls"
# The study page's tabs, panels, list columns and row actions, declared in the top layer and
# read by the apps below it (studies.pages.study_page), as ROOT_URLCONF names the URLconf.
STUDY_PAGE = "recruitment.study_page.STUDY_PAGE"
WSGI_APPLICATION = "rally.wsgi.application"

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
                "django.template.context_processors.csp",
                "rally.context_processors.workspace",
            ],
            "builtins": ["django.templatetags.static", "rally.templatetags.rally_time"],
        },
    },
]

DATABASES = {
    "default": env.db("DATABASE_URL", default="postgres://postgres@127.0.0.1:5432/rally"),
}
# Persistent connections in production: opening a Postgres connection per request was 14 % of
# a page's time under load. The development server starts a thread per request, where
# keeping connections only leaks them, so development closes each one.
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=0 if DEBUG else 60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DATABASES["default"]["ATOMIC_REQUESTS"] = False
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "rally.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
# Sign-in attempts per account within a window (counted atomically before the password is
# checked; a success clears them).
LOGIN_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
LOGIN_FAILURE_WINDOW_SECONDS = env.int("LOGIN_FAILURE_WINDOW_SECONDS", default=900)
# One address (an office behind NAT) is locked only after many more failures than one account.
LOGIN_ADDRESS_FAILURE_LIMIT = env.int("LOGIN_ADDRESS_FAILURE_LIMIT", default=100)
# Password reset emails per window: per account, and per address.
PASSWORD_RESET_ACCOUNT_LIMIT = env.int("PASSWORD_RESET_ACCOUNT_LIMIT", default=3)
PASSWORD_RESET_ADDRESS_LIMIT = env.int("PASSWORD_RESET_ADDRESS_LIMIT", default=20)

REDIS_URL = env.str("REDIS_URL", default="redis://127.0.0.1:6379/0")
if REDIS_URL.startswith("filesystem://"):
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.db.DatabaseCache",
                          "LOCATION": "rally_cache"}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                          "LOCATION": REDIS_URL,
                          "KEY_PREFIX": "rally",
                          "KEY_FUNCTION": "rally.cache.database_scoped_key"}}
SESSION_ENGINE = "django.contrib.sessions.backends.db"

# Celery: Redis when there is one; otherwise kombu's filesystem transport under .var/.
CELERY_BROKER_URL = REDIS_URL
CELERY_BROKER_TRANSPORT_OPTIONS = {}
if REDIS_URL.startswith("filesystem://"):
    _queue = BASE_DIR / ".var" / "celery"
    for _folder in ("in", "processed", "control"):
        (_queue / _folder).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_queue / "in"),
        "data_folder_out": str(_queue / "in"),
        "processed_folder": str(_queue / "processed"),
        "control_folder": str(_queue / "control"),
    }
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1

# The one beat table: every periodic task of every app, written out here (no app adds to it).
# tests/rally/test_beat_schedule.py checks that each task named here is registered with Celery.
HEARTBEAT_SECONDS = 20  # rally.health: how often beat asks a worker to prove it is alive
CELERY_BEAT_SCHEDULE = {
    # Core: a worker that runs this records its heartbeat for /readyz.
    "rally-heartbeat": {"task": "rally.heartbeat", "schedule": float(HEARTBEAT_SECONDS)},
    # Core: notification emails that are due (digests, retries, lost messages).
    "rally-notification-emails": {"task": "rally.notification_emails_send", "schedule": 60.0},
    # Billing: incentives due 24 h after a session are paid by this sweep over the payouts'
    # `due_at` column, never a countdown (SPEC I2).
    "billing-payout-sweep": {"task": "billing.payouts_sweep", "schedule": 30.0},
    # Billing: receipt emails whose prompt send was lost or failed (SPEC B7).
    "billing-receipt-emails-sweep": {"task": "billing.receipt_emails_sweep", "schedule": 60.0},
    # Participants: a queued panel import whose task was lost (broker down at dispatch) is
    # dispatched again; one being written is locked and skipped, so no import runs twice.
    "participants-panel-imports-sweep": {"task": "participants.panel_imports_sweep",
                                         "schedule": 60.0},
    # Scheduling: calendar invites whose prompt send was lost (worker or broker down).
    "scheduling-invites-sweep": {"task": "scheduling.session_invites_sweep", "schedule": 60.0},
    # Scheduling: ended sessions nobody marked count as completed at their end (SPEC C5, I2),
    # so billing's payout sweep pays them 24 h later.
    "scheduling-sessions-sweep": {"task": "scheduling.sessions_sweep", "schedule": 30.0},
    # Scheduling: read every host calendar due for a refresh (each claimed, never raced).
    "scheduling-host-calendars-sync": {"task": "scheduling.host_calendars_sync_due",
                                       "schedule": 60.0},
    # Scheduling: write-backs to hosts' calendars whose prompt attempt was lost or refused.
    "scheduling-calendar-writes-sweep": {"task": "scheduling.session_calendar_writes_sweep",
                                         "schedule": 120.0},
    # Recruitment: re-dispatch due pending outbox rows (lost messages, finished backoffs).
    "recruitment-outbox-sweep": {"task": "recruitment.outbox_sweep", "schedule": 15.0},
    # Recruitment: queue stored webhook events still unprocessed, forget old processed ones.
    "recruitment-webhook-sweep": {"task": "recruitment.webhook_sweep", "schedule": 30.0},
    # Recruitment: the safety net under webhooks: sync every live recruitment from UI.
    "recruitment-poll": {"task": "recruitment.poll", "schedule": 60.0},
    # Recruitment: confirm sent payouts whose payment webhook was lost.
    "recruitment-payments-poll": {"task": "recruitment.payments_poll", "schedule": 60.0},
    # Recruitment: tell teams about sync problems with UI lasting over 15 minutes (SPEC R8).
    "recruitment-sync-problems": {"task": "recruitment.sync_problems_check", "schedule": 300.0},
    # Recruitment, daily: refresh the audience criteria catalog from UI's characteristics.
    "recruitment-criteria-sync": {"task": "recruitment.criteria_sync", "schedule": 24 * 3600.0},
    # Panel: invitation emails whose prompt send was lost (worker or broker down).
    "panel-invitation-emails-sweep": {"task": "panel.invitation_emails_sweep", "schedule": 60.0},
    # Panel: email the booking link to panel applicants invited to book; re-send lost ones.
    "panel-booking-emails-sweep": {"task": "panel.booking_emails_sweep", "schedule": 30.0},
    # Panel: email the session reminders now due (SPEC P8), each exactly once.
    "panel-session-reminders": {"task": "panel.session_reminders_send", "schedule": 60.0},
}
if SANDBOX_ENABLED:
    # Sandbox: the stand-in's simulation moves on by the clock (reviews, arrivals, payments,
    # webhooks); only when the sandbox is served at all.
    CELERY_BEAT_SCHEDULE["sandbox-simulation-tick"] = {
        "task": "sandbox.simulation_tick", "schedule": SANDBOX_TICK_SECONDS}

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

STATIC_URL = "static/"
# collectstatic's folder (relative to the project, or absolute).
STATIC_ROOT = BASE_DIR / env.str("STATIC_ROOT", default=".var/staticfiles")
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
WHITENOISE_USE_FINDERS = DEBUG
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

# Email through Django 6.1's MAILERS, configured from one django-environ email URL.
_email = env.email_url("EMAIL_URL", default="consolemail://")
_smtp_options = {"host": "EMAIL_HOST", "port": "EMAIL_PORT", "username": "EMAIL_HOST_USER",
                 "password": "EMAIL_HOST_PASSWORD", "use_tls": "EMAIL_USE_TLS",
                 "use_ssl": "EMAIL_USE_SSL"}
if _email["EMAIL_BACKEND"] == "django.core.mail.backends.console.EmailBackend":
    _email["EMAIL_BACKEND"] = "rally.mail.ConsoleEmailBackend"  # attachments named, not printed
MAILERS = {
    "default": {
        "BACKEND": _email["EMAIL_BACKEND"],
        "OPTIONS": {option: _email[key] for option, key in _smtp_options.items()
                    if _email.get(key) not in (None, "")}
        if _email["EMAIL_BACKEND"].endswith("smtp.EmailBackend") else {},
    },
}
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Rally <rally@example.com>")

# Content Security Policy with a nonce per response; no CDN anywhere.
from django.utils.csp import CSP  # noqa: E402

SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "connect-src": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
    "form-action": [CSP.SELF],
    "base-uri": [CSP.SELF],
    "object-src": [CSP.NONE],
}

# Secure transport when not in debug.
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
SESSION_COOKIE_HTTPONLY = True
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# JSON lines in production (one object per line, with the request id); readable lines in
# development. LOG_FORMAT=json|line chooses.
LOG_FORMAT = env.str("LOG_FORMAT", default="line" if DEBUG else "json")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "rally.logs.RequestIdFilter"}},
    "formatters": {"line": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
                   "json": {"()": "rally.logs.JsonFormatter"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "filters": ["request_id"],
                             "formatter": "json" if LOG_FORMAT == "json" else "line"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"django.server": {"level": "WARNING"}},
}
