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

if DANGO_DOMAIN:
    _default_hosts = [DANGO_DOMAIN]
elif IS_PRODUCTION:
    _default_hosts = []
else:
    _default_hosts = ["127.0.0.1", "localhost", "[::1]"]
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
    "csp",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "hardening.headers.PermissionsPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "audit.middleware.RequestContextMiddleware",
    "hardening.allowlist.IPAllowlistMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "accounts.twofactor.middleware.TwoFactorVerificationMiddleware",
    # Before the session timeout, which adds a message when it ends a session.
    "django.contrib.messages.middleware.MessageMiddleware",
    "accounts.middleware.SessionTimeoutMiddleware",
    "accounts.middleware.PasswordChangeRequiredMiddleware",
    "accounts.twofactor.middleware.TwoFactorPolicyMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "accounts.bruteforce.middleware.SignInReservationMiddleware",
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
    # Lockout counters and the audit chain rely on row locks. On SQLite an
    # immediate transaction takes the write lock up front, so two requests
    # cannot both hold a read lock and then fail with "database is locked".
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
    {"NAME": "accounts.password_validators.PasswordReuseValidator"},
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
    MESSAGE_STORAGE = "hardening.cookies.HostPrefixedFallbackStorage"
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
# Sign-in and password-reset limits are the project's own (accounts.bruteforce):
# atomic, shared through the cache, answered with 429 + Retry-After and audited.
# allauth's login_failed limit would also lock an email from every address.
ACCOUNT_RATE_LIMITS = {"login": None, "login_failed": None, "reset_password": None}
ACCOUNT_FORMS = {
    "login": "accounts.login_forms.LoginForm",
    "reset_password": "accounts.bruteforce.password_reset.RateLimitedResetPasswordForm",
}


# Sign-in with Google and GitHub (accounts.oauth). Each provider is configured
# either from these environment variables or as a SocialApp in the admin, never
# both. Identities are matched to users by provider-verified email in
# accounts.oauth.matching, so allauth's own email authentication stays off.
SOCIALACCOUNT_QUERY_EMAIL = True
SOCIALACCOUNT_STORE_TOKENS = False
SOCIALACCOUNT_LOGIN_ON_GET = False
SOCIALACCOUNT_EMAIL_AUTHENTICATION = False
SOCIALACCOUNT_EMAIL_AUTHENTICATION_AUTO_CONNECT = False
SOCIALACCOUNT_EMAIL_VERIFICATION = "none"
SOCIALACCOUNT_PROVIDERS = {"google": {"OAUTH_PKCE_ENABLED": True}, "github": {}}
for _provider, _label in [("google", "Google"), ("github", "GitHub")]:
    _app = env.get_oauth_app(_provider, _label)
    if _app:
        SOCIALACCOUNT_PROVIDERS[_provider]["APP"] = _app
# allauth reads provider endpoints once, when it imports the provider, so
# they can only be moved here (to a GitHub Enterprise host, or to the fake
# provider the tests start on 127.0.0.1), not with override_settings.
_google_base_url = env.get_base_url("DANGO_GOOGLE_BASE_URL")
if _google_base_url:
    SOCIALACCOUNT_PROVIDERS["google"].update(
        AUTHORIZE_URL=f"{_google_base_url}/o/oauth2/v2/auth",
        ACCESS_TOKEN_URL=f"{_google_base_url}/token",
        IDENTITY_URL=f"{_google_base_url}/oauth2/v2/userinfo",
        CERTS_URL=f"{_google_base_url}/oauth2/v1/certs",
        ID_TOKEN_ISSUER=_google_base_url,
    )
_github_url = env.get_base_url("DANGO_GITHUB_URL")
if _github_url:
    SOCIALACCOUNT_PROVIDERS["github"]["GITHUB_URL"] = _github_url

# Invitations (accounts.invites). Invite links start with DANGO_SITE_URL when
# it is known; otherwise with the admin request's own address, or with
# http://127.0.0.1:8000 on the command line.
DANGO_INVITE_EXPIRY_HOURS = env.get_int("DANGO_INVITE_EXPIRY_HOURS", 72, minimum=1)
DANGO_SITE_URL = env.get_base_url("DANGO_SITE_URL", allow_http=True) or (
    f"https://{DANGO_DOMAIN}" if DANGO_DOMAIN else None
)

# django-axes: its counters are authoritative per (email, client IP) pair.
AXES_ENABLED = env.get_bool("DANGO_AXES_ENABLED", True)
AXES_FAILURE_LIMIT = env.get_int("DANGO_LOCKOUT_FAILURES", 5, minimum=1)
AXES_COOLOFF_TIME = timedelta(seconds=env.get_int("DANGO_LOCKOUT_SECONDS", 15 * 60, minimum=1))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_SENSITIVE_PARAMETERS = ["username", "ip_address", "login", "email", "otp_token", "code"]
# The handler reserves a place per pair before any password check, so parallel
# attempts cannot overshoot the limit; docs/brute-force.md explains the keying.
AXES_HANDLER = "accounts.bruteforce.handler.LockoutHandler"
AXES_USERNAME_CALLABLE = "accounts.bruteforce.identity.get_login_identifier"
AXES_CLIENT_IP_CALLABLE = "hardening.client_ip.get_client_ip"
AXES_LOCKOUT_CALLABLE = "accounts.bruteforce.responses.lockout_response"
AXES_COOLOFF_MESSAGE = "Too many failed sign-in attempts. Try again later."
DANGO_SIGN_IN_IP_LIMIT = env.get_int("DANGO_SIGN_IN_IP_LIMIT", 30, minimum=1)
DANGO_SIGN_IN_IP_WINDOW = env.get_int("DANGO_SIGN_IN_IP_WINDOW", 300, minimum=1)
DANGO_PASSWORD_RESET_EMAIL_LIMIT = env.get_int("DANGO_PASSWORD_RESET_EMAIL_LIMIT", 3, minimum=1)
DANGO_PASSWORD_RESET_EMAIL_WINDOW = env.get_int("DANGO_PASSWORD_RESET_EMAIL_WINDOW", 3600, minimum=1)
DANGO_PASSWORD_RESET_IP_LIMIT = env.get_int("DANGO_PASSWORD_RESET_IP_LIMIT", 10, minimum=1)
DANGO_PASSWORD_RESET_IP_WINDOW = env.get_int("DANGO_PASSWORD_RESET_IP_WINDOW", 3600, minimum=1)

# django-otp
OTP_TOTP_ISSUER = os.environ.get("DANGO_OTP_ISSUER", "Dango")
# Accept exactly the previous, current and next 30-second step; learning a
# clock drift would widen that window for every later code.
OTP_TOTP_SYNC = False
OTP_ADMIN_HIDE_SENSITIVE_DATA = True

# Two-factor policy (accounts.twofactor) and recent re-authentication (accounts.reauth).
DANGO_2FA_REQUIRED_FOR_ADMINS = env.get_bool("DANGO_2FA_REQUIRED_FOR_ADMINS", True)
DANGO_2FA_REQUIRED_FOR_ALL = env.get_bool("DANGO_2FA_REQUIRED_FOR_ALL", False)
DANGO_REAUTH_TIMEOUT = env.get_int("DANGO_REAUTH_TIMEOUT", 10 * 60, minimum=1)

# API keys: lifetimes in days (0 = no expiry, or no maximum) and the per-key rate limit.
DANGO_API_KEY_DEFAULT_EXPIRY_DAYS = env.get_int("DANGO_API_KEY_DEFAULT_EXPIRY_DAYS", 90)
DANGO_API_KEY_MAX_EXPIRY_DAYS = env.get_int("DANGO_API_KEY_MAX_EXPIRY_DAYS", 365)
DANGO_API_KEY_RATE_LIMIT = env.get_int("DANGO_API_KEY_RATE_LIMIT", 300, minimum=1)
DANGO_API_KEY_RATE_WINDOW = env.get_int("DANGO_API_KEY_RATE_WINDOW", 60, minimum=1)
DANGO_API_KEY_MAX_PER_USER = env.get_int("DANGO_API_KEY_MAX_PER_USER", 20)
DANGO_API_KEY_ROTATION_GRACE_HOURS = env.get_int("DANGO_API_KEY_ROTATION_GRACE_HOURS", 24)

STATIC_URL = "static/"
STATIC_ROOT = STATE_DIR / "static"
# WhiteNoise serves files from the app folders (WHITENOISE_USE_FINDERS) until
# collectstatic fills STATIC_ROOT; the folder must exist either way.
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
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
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "django.server": {"()": "django.utils.log.ServerFormatter", "format": "[{server_time}] {message}", "style": "{"},
    },
    # Every handler must carry scrub_secrets: it masks store values and
    # secret shapes (API keys, Bearer headers, token= parameters) in records.
    "filters": {"scrub_secrets": {"()": "credentials.log_filters.SecretScrubbingFilter"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["scrub_secrets"]},
        # Replaces Django's own django.server handler, which would print
        # request lines (query strings included) without the filter.
        "django.server": {
            "class": "logging.StreamHandler",
            "formatter": "django.server",
            "filters": ["scrub_secrets"],
        },
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django": {"handlers": ["console"], "level": LOG_LEVEL, "propagate": False},
        "django.server": {"handlers": ["django.server"], "level": "INFO", "propagate": False},
    },
}

# Audit log (see docs/audit.md); AUDIT_LOG_PATH defaults to .dango/logs/audit.jsonl.
AUDIT_LOG_MAX_BYTES = env.get_int("DANGO_AUDIT_LOG_MAX_BYTES", 50 * 1024 * 1024, minimum=0)
AUDIT_LOG_FSYNC = env.get_bool("DANGO_AUDIT_LOG_FSYNC", True)

# Hardening: how the client IP is found (hardening.client_ip), the IP
# allowlist (hardening.allowlist) and the browser security policies.
DANGO_CLIENT_IP_MODE = os.environ.get("DANGO_CLIENT_IP_MODE", "direct").strip().lower()
DANGO_TRUSTED_PROXIES = env.get_list("DANGO_TRUSTED_PROXIES")
# None uses the Cloudflare ranges shipped in hardening.cloudflare.
DANGO_CLOUDFLARE_IP_RANGES = env.get_list("DANGO_CLOUDFLARE_IP_RANGES") if "DANGO_CLOUDFLARE_IP_RANGES" in os.environ else None
DANGO_IP_ALLOWLIST = env.get_list("DANGO_IP_ALLOWLIST")
DANGO_IP_ALLOWLIST_EXEMPT_PATHS = env.get_list("DANGO_IP_ALLOWLIST_EXEMPT_PATHS")
DANGO_IP_BLOCKED_EVENT_INTERVAL = env.get_int("DANGO_IP_BLOCKED_EVENT_INTERVAL", 60, minimum=1)
# The site's templates carry no inline script or style, so 'self' suffices.
# form-action lists the OAuth providers because a sign-in form's POST
# redirects there, and browsers apply form-action to that redirect.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'", "https://accounts.google.com", "https://github.com"],
        "upgrade-insecure-requests": _https,
    },
}

# Error reports (debug pages, error e-mails) mask secrets too.
DEFAULT_EXCEPTION_REPORTER_FILTER = "credentials.error_reports.SecretScrubbingExceptionReporterFilter"
DEFAULT_EXCEPTION_REPORTER = "credentials.error_reports.SecretScrubbingExceptionReporter"

if IS_PRODUCTION:
    from hardening.production import check_production_settings

    check_production_settings(globals())
