"""Settings, read from the environment (django-environ).

Embedded default: SQLite file, tasks run eagerly, email to the console.
Production and CI: DATABASE_URL (PostgreSQL), CELERY_BROKER_URL (Redis).
"""
from datetime import timedelta
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()

DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
    SECRET_KEY = "insecure-development-key-only-used-with-DEBUG-on"

SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000")

# A real deployment behind HTTPS sets these (README › Deploying); `manage.py check --deploy` is then clean.
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=False)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=False)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
SESSION_ENGINE = "core.sessions"
SESSION_COOKIE_SECURE = env.bool("SECURE_COOKIES", default=False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
if env.bool("BEHIND_HTTPS_PROXY", default=False):  # the proxy terminates TLS and says so in this header
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "strict-origin-when-cross-origin"
X_FRAME_OPTIONS = "DENY"
# Scripts and styles from this site only (no inline script); Stripe's own script and frames for card payments.
STRIPE_JS_ORIGINS = env.list("STRIPE_JS_ORIGINS", default=["https://js.stripe.com"])
CONTENT_SECURITY_POLICY = {
    "default-src": ["'self'"],
    "script-src": ["'self'", *STRIPE_JS_ORIGINS],
    "style-src": ["'self'", "'unsafe-inline'"],
    "img-src": ["'self'", "data:"],
    "connect-src": ["'self'", "https://api.stripe.com"],
    "frame-src": ["'self'", *STRIPE_JS_ORIGINS, "https://hooks.stripe.com"],
    "frame-ancestors": ["'none'"],
    "form-action": ["'self'"],
    "base-uri": ["'self'"],
    "object-src": ["'none'"],
}
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "config",
    "core",
    "notifications",
    "catalog",
    "inventory",
    "customers",
    "orders",
    "fulfillment",
    "backoffice",
    "storefront",
    "demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "core.middleware.RequestGuardMiddleware",
    "core.middleware.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "customers.attribution.AttributionMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

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
                "storefront.context_processors.shop",
            ],
        },
    },
]

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Stock writes take the write lock up front, so two writers wait instead of failing.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"transaction_mode": "IMMEDIATE", "timeout": 20, "init_command": "PRAGMA journal_mode=WAL;"}
    )
elif DATABASES["default"]["ENGINE"].startswith("django.db.backends.postgresql"):
    # No JIT: every query here is short, and PostgreSQL's JIT spent 30-80 ms compiling a broad search's price sort
    # that runs in 40 ms without it (bench/search.py).
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("options", "-c jit=off")
    # The hot paths' fixed SQL as prepared statements (core.inserts.prepared_cursor; Django's own queries are never
    # prepared). Off for a connection pooler that cannot keep them (PgBouncer before 1.21 in transaction mode).
    if env.bool("DB_PREPARED_STATEMENTS", default=True):
        DATABASES["default"]["OPTIONS"].setdefault("prepare_threshold", 5)

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-gb"
TIME_ZONE = env.str("TIME_ZONE", default="Europe/London")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
# Uploaded files (product pictures and their renditions, catalog/images.py): local files served by
# core.media.serve_media by default; MEDIA_STORAGE=s3 keeps them in any S3-compatible store instead (AWS, R2,
# MinIO…; `pip install .[s3]`), read by browsers straight from it or from AWS_S3_CUSTOM_DOMAIN (a CDN).
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(BASE_DIR / "media")))
MEDIA_URL = env.str("MEDIA_URL", default="/media/")
MEDIA_STORAGE = env.str("MEDIA_STORAGE", default="local")
if MEDIA_STORAGE not in ("local", "s3"):
    raise ImproperlyConfigured(f"MEDIA_STORAGE must be local or s3, not {MEDIA_STORAGE!r}.")
if MEDIA_STORAGE == "s3":
    MEDIA_BACKEND = {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": {
        "bucket_name": env.str("AWS_STORAGE_BUCKET_NAME"),
        "endpoint_url": env.str("AWS_S3_ENDPOINT_URL", default="") or None,
        "region_name": env.str("AWS_S3_REGION_NAME", default="") or None,
        "custom_domain": env.str("AWS_S3_CUSTOM_DOMAIN", default="") or None,
        "location": env.str("AWS_LOCATION", default=""),
        # Pictures are public and their names never change content: plain URLs that caches keep for a year,
        # not signed ones that expire.
        "querystring_auth": env.bool("AWS_QUERYSTRING_AUTH", default=False),
        "default_acl": env.str("AWS_DEFAULT_ACL", default="") or None,
        "object_parameters": {"CacheControl": "public, max-age=31536000, immutable"},
        "file_overwrite": True,  # a name is a hash of the content: the same name holds the same bytes
    }}  # credentials: AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY from the environment, or the instance's role
    MEDIA_ORIGIN = (f"https://{MEDIA_BACKEND['OPTIONS']['custom_domain']}" if MEDIA_BACKEND["OPTIONS"]["custom_domain"]
                    else MEDIA_BACKEND["OPTIONS"]["endpoint_url"] or "https://*.amazonaws.com")
    CONTENT_SECURITY_POLICY["img-src"].append(MEDIA_ORIGIN)
else:
    MEDIA_BACKEND = {"BACKEND": "django.core.files.storage.FileSystemStorage"}
STORAGES = {
    "default": MEDIA_BACKEND,
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# The shop's name: the back office's header, receipts, the till.
SHOP_NAME = env.str("SHOP_NAME", default="Hearth & Thread")
# How a phone typed without a country code is read; every phone is stored in E.164 (+447700900123).
PHONE_REGION = env.str("PHONE_REGION", default="GB")
# Printed on receipts (a UK VAT receipt must show it); empty leaves the line off.
SHOP_VAT_NUMBER = env.str("SHOP_VAT_NUMBER", default="")
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Hearth & Thread <hello@hearthandthread.example>")
SMS_BACKEND = env.str("SMS_BACKEND", default="notifications.backends.ConsoleTextBackend")
MESSENGER_BACKEND = env.str("MESSENGER_BACKEND", default="notifications.backends.ConsoleTextBackend")
# EMAIL_URL (e.g. smtp+tls://user:password@smtp.example.com:587) sets host, port, login and TLS at once.
vars().update(env.email_url("EMAIL_URL", default="consolemail://"))
EMAIL_BACKEND = env.str("EMAIL_BACKEND", default=EMAIL_BACKEND)  # noqa: F821 (set by the line above)
EMAIL_FILE_PATH = env.str("EMAIL_FILE_PATH", default=str(BASE_DIR / "sent-emails"))

CACHES = {"default": env.cache("CACHE_URL", default="locmemcache://")}

# Celery: without a broker every task runs eagerly in the calling process.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="")
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
# A worker keeps its database connection between tasks (Celery closes it after every task otherwise: a new
# PostgreSQL backend per confirmation sent, bench/checkout.py); Django still drops a broken or CONN_MAX_AGE-old one.
CELERY_DB_REUSE_MAX = env.int("CELERY_DB_REUSE_MAX", default=1000)
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"

REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "core.schema.ApiAutoSchema",
    "EXCEPTION_HANDLER": "core.exceptions.api_exception_handler",
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PARSER_CLASSES": [
        "core.parsers.BoundedJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 24,
    "DEFAULT_THROTTLE_RATES": {"auth": env.str("AUTH_THROTTLE_RATE", default="10/minute"),
                               "auth_account": env.str("AUTH_ACCOUNT_THROTTLE_RATE", default="20/hour")},
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Omnichannel retail API",
    "DESCRIPTION": "One catalog, one per-store stock and one customer and cart for the web storefront, the mobile "
                   "app and the shops' tills. Apps sign in at /api/v1/auth/token/ and send "
                   "`Authorization: Token <token>`; guests name their cart with the X-Cart-Token header. Every "
                   "error, whatever its status, has one shape: `{\"code\", \"message\", \"detail\"}` (ApiError).",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,  # the schema's own endpoint is not part of the API it describes
    "COMPONENT_SPLIT_REQUEST": True,  # what a client sends and what it gets back are separate components
    # Bodies are documented as JSON, what every client of ours sends; the form parsers stay for the browsable API
    # but cannot carry the nested bodies (lines, addresses) most operations take.
    "PARSER_WHITELIST": ["core.parsers.BoundedJSONParser"],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {
        "PaymentMethodEnum": "orders.models.Payment.Method",
        "PaymentStatusEnum": "orders.models.Payment.Status",
        "OrderStatusEnum": "orders.models.Order.Status",
        "FulfillmentMethodEnum": "fulfillment.models.Fulfillment.Method",
        "FulfillmentStatusEnum": "fulfillment.models.Fulfillment.Status",
        "ReturnStatusEnum": "fulfillment.models.Return.Status",
        "CartFulfilmentEnum": "customers.models.Cart.Fulfilment",
        "OrderFulfilmentEnum": "orders.models.Order.Fulfilment",
        "CheckoutPaymentMethodEnum": ["card", "pay_at_pickup"],
        "CheckoutFulfilmentEnum": ["pickup", "delivery"],
        "TillPaymentMethodEnum": ["cash", "card_present"],
    },
}

# Stripe. STRIPE_API_BASE points the SDK at a local double (localstripe) in tests and the demo.
STRIPE_SECRET_KEY = env.str("STRIPE_SECRET_KEY", default="sk_test_local_double" if DEBUG else "")
# The storefront's card form sends card details straight to Stripe with this key; our server never sees them.
STRIPE_PUBLISHABLE_KEY = env.str("STRIPE_PUBLISHABLE_KEY", default="pk_test_local_double" if DEBUG else "")
STRIPE_API_BASE = env.str("STRIPE_API_BASE", default="")
STRIPE_WEBHOOK_SECRET = env.str("STRIPE_WEBHOOK_SECRET", default="whsec_local_double" if DEBUG else "")
STRIPE_WEBHOOK_TOLERANCE_SECONDS = 300
# Stripe.js, which the card form loads: Stripe's own script, or the local double's emulation of it when
# STRIPE_API_BASE points at one (empty: chosen that way; see orders.stripe_gateway.stripe_js_url).
STRIPE_JS_URL = env.str("STRIPE_JS_URL", default="")
# How long a card authorisation holds before the bank lets it lapse (7 days for Stripe's online card payments).
# A pickup that could wait longer than that is charged when it is ready to collect.
CARD_AUTHORISATION_VALIDITY = timedelta(days=env.int("CARD_AUTHORISATION_DAYS", default=7))
# The job that reports authorisations near lapsing warns this long before they do.
CARD_AUTHORISATION_WARNING = timedelta(days=1)

# Engagement jobs
ABANDONED_CART_AFTER = timedelta(hours=env.int("ABANDONED_CART_AFTER_HOURS", default=24))
ABANDONED_CART_DISCOUNT_PERCENT = env.int("ABANDONED_CART_DISCOUNT_PERCENT", default=10)
ABANDONED_CART_VOUCHER_DAYS = env.int("ABANDONED_CART_VOUCHER_DAYS", default=3)
REVIEW_REQUEST_DELAY = timedelta(days=env.int("REVIEW_REQUEST_DELAY_DAYS", default=3))
# A pickup store could not find an item: how long the shopper has to choose (another store, delivery or a
# refund) before it is dropped and refunded.
LINE_PROBLEM_CHOOSE_HOURS = env.int("LINE_PROBLEM_CHOOSE_HOURS", default=48)

# A checkout's claim on its Idempotency-Key outlives a request that died (a killed worker or database
# connection) by this long at most; then a retry with the key takes it over.
CHECKOUT_CLAIM_LEASE = timedelta(seconds=env.int("CHECKOUT_CLAIM_LEASE_SECONDS", default=120))

# Inventory
STOCK_RESERVATION_HOLD = timedelta(minutes=env.int("STOCK_RESERVATION_HOLD_MINUTES", default=15))

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
}
