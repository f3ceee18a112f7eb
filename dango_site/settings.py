# Settings come from environment variables (DANGO_* plus DATABASE_URL and
# REDIS_URL) with defaults that are safe for a single local process. The README
# lists each variable; production-only refusals live in hardening.production.

import os
from datetime import timedelta
from pathlib import Path

from dango_site import env

BASE_DIR = Path(__file__).resolve().parent.parent
PROJECT_ROOT = Path(os.environ.get("DANGO_PROJECT_ROOT", os.getcwd())).resolve()
STATE_DIR = PROJECT_ROOT / ".dango"

DANGO_ENV = os.environ.get("DANGO_ENV", "development").strip().lower()
DANGO_DOMAIN = os.environ.get("DANGO_DOMAIN", "").strip()
IS_PRODUCTION = DANGO_ENV == "production" or bool(DANGO_DOMAIN)

_secret_keys = env.load_or_create_secret_key(STATE_DIR / "secret_key")
SECRET_KEY = _secret_keys[0]
SECRET_KEY_FALLBACKS = _secret_keys[1:]

DEBUG = env.get_bool("DANGO_DEBUG", False)

_default_hosts = [DANGO_DOMAIN] if DANGO_DOMAIN else ([] if IS_PRODUCTION else ["127.0.0.1", "localhost", "[::1]"])
ALLOWED_HOSTS = env.get_list("DANGO_ALLOWED_HOSTS", _default_hosts)
CSRF_TRUSTED_ORIGINS = [f"https://{DANGO_DOMAIN}"] if DANGO_DOMAIN else []

INSTALLED_APPS = [
    "accounts.apps.DangoAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "allauth",
    "allauth.account",
    "allauth.socialaccount",
    "allauth.socialaccount.providers.google",
    "allauth.socialaccount.providers.github",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "axes",
    "hardening.apps.HardeningConfig",
    "audit.apps.AuditConfig",
    "rbac.apps.RbacConfig",
    "accounts.apps.AccountsConfig",
    "credentials.apps.CredentialsConfig",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "audit.middleware.RequestContextMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "accounts.middleware.SessionTimeoutMiddleware",
    "accounts.middleware.PasswordChangeRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "dango_site.urls"
WSGI_APPLICATION = "dango_site.wsgi.application"
ASGI_APPLICATION = "dango_site.asgi.application"

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

DATABASES = {
    "default": env.parse_database_url(os.environ.get("DATABASE_URL", ""), STATE_DIR / "dango.sqlite3")
}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # Lockout counters and the audit chain lean on row locks; on SQLite an
    # immediate transaction takes the write lock up front instead of failing
    # with "database is locked" when two requests upgrade a read lock at once.
    DATABASES["default"]["OPTIONS"] = {"transaction_mode": "IMMEDIATE", "timeout": 20}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = os.environ.get("REDIS_URL", "").strip()
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
    SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "dango"}}
    SESSION_ENGINE = "django.contrib.sessions.backends.db"

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
# Argon2 first; the others stay so that hashes made by older settings still
# verify and are upgraded at the next sign-in.
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {
        "NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator",
        "OPTIONS": {"user_attributes": ("email", "full_name")},
    },
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 8}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "account_login"

# Sessions: the cookie lives as long as the absolute lifetime; the idle timeout
# is enforced server-side by accounts.middleware.SessionTimeoutMiddleware.
DANGO_SESSION_IDLE_TIMEOUT = env.get_int("DANGO_SESSION_IDLE_TIMEOUT", 60 * 60)
DANGO_SESSION_ABSOLUTE_TIMEOUT = env.get_int("DANGO_SESSION_ABSOLUTE_TIMEOUT", 30 * 24 * 60 * 60)
DANGO_SESSION_TOUCH_INTERVAL = env.get_int("DANGO_SESSION_TOUCH_INTERVAL", 60)
SESSION_COOKIE_AGE = DANGO_SESSION_ABSOLUTE_TIMEOUT or 30 * 24 * 60 * 60
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True
_https = env.get_bool("DANGO_HTTPS", IS_PRODUCTION)
SESSION_COOKIE_SECURE = _https
CSRF_COOKIE_SECURE = _https
if _https:
    # The __Host- prefix makes browsers refuse the cookie unless it is Secure,
    # host-only and path=/, so a sibling subdomain cannot plant or shadow it.
    SESSION_COOKIE_NAME = "__Host-sessionid"
    CSRF_COOKIE_NAME = "__Host-csrftoken"
    SECURE_HSTS_SECONDS = env.get_int("DANGO_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env.get_bool("DANGO_HSTS_INCLUDE_SUBDOMAINS", False)
    SECURE_SSL_REDIRECT = env.get_bool("DANGO_SSL_REDIRECT", True)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# django-allauth: email login, sign-up closed (accounts.adapters).
ACCOUNT_ADAPTER = "accounts.adapters.AccountAdapter"
SOCIALACCOUNT_ADAPTER = "accounts.adapters.SocialAccountAdapter"
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_EMAIL_VERIFICATION = "none"
ACCOUNT_PREVENT_ENUMERATION = True
ACCOUNT_LOGOUT_ON_GET = False
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
ACCOUNT_SESSION_REMEMBER = True
ACCOUNT_DEFAULT_HTTP_PROTOCOL = "https" if _https else "http"
ALLAUTH_TRUSTED_CLIENT_IP_HEADER = None

# django-axes: its counters are authoritative per (email, client IP) pair.
AXES_ENABLED = env.get_bool("DANGO_AXES_ENABLED", True)
AXES_FAILURE_LIMIT = env.get_int("DANGO_LOCKOUT_FAILURES", 5, minimum=1)
AXES_COOLOFF_TIME = timedelta(seconds=env.get_int("DANGO_LOCKOUT_SECONDS", 15 * 60, minimum=1))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_SENSITIVE_PARAMETERS = ["username", "ip_address", "login", "email", "otp_token", "code"]

# django-otp
OTP_TOTP_ISSUER = os.environ.get("DANGO_OTP_ISSUER", "Dango")

# API keys: lifetimes in days (0 = no expiry, or no maximum) and the per-key rate limit.
DANGO_API_KEY_DEFAULT_EXPIRY_DAYS = env.get_int("DANGO_API_KEY_DEFAULT_EXPIRY_DAYS", 90)
DANGO_API_KEY_MAX_EXPIRY_DAYS = env.get_int("DANGO_API_KEY_MAX_EXPIRY_DAYS", 365)
DANGO_API_KEY_RATE_LIMIT = env.get_int("DANGO_API_KEY_RATE_LIMIT", 300, minimum=1)
DANGO_API_KEY_RATE_WINDOW = env.get_int("DANGO_API_KEY_RATE_WINDOW", 60, minimum=1)
DANGO_API_KEY_MAX_PER_USER = env.get_int("DANGO_API_KEY_MAX_PER_USER", 20)

STATIC_URL = "static/"
STATIC_ROOT = STATE_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

EMAIL_BACKEND = os.environ.get("DANGO_EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = os.environ.get("DANGO_FROM_EMAIL", "dango@localhost")

LOG_LEVEL = os.environ.get("DANGO_LOG_LEVEL", "INFO").upper()
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {"django": {"handlers": ["console"], "level": LOG_LEVEL, "propagate": False}},
}
