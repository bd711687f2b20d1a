"""Settings for the test suite: the real settings with a throwaway key and fast hashing.

The database still comes from DATABASE_URL, so CI runs everything on PostgreSQL.
"""
import atexit
import os
import shutil
import tempfile
from pathlib import Path

os.environ.setdefault("SECRET_KEY", "test-only-secret-key")
os.environ.pop("CELERY_BROKER_URL", None)
os.environ.setdefault("STRIPE_SECRET_KEY", "sk_test_local_double")
os.environ.setdefault("STRIPE_PUBLISHABLE_KEY", "pk_test_local_double")
os.environ.setdefault("STRIPE_WEBHOOK_SECRET", "whsec_test_secret")

from .settings import *  # noqa: E402,F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
STORAGES["staticfiles"]["BACKEND"] = "django.contrib.staticfiles.storage.StaticFilesStorage"  # noqa: F405
CELERY_TASK_ALWAYS_EAGER = True
WHITENOISE_AUTOREFRESH = True  # no collected static files in tests: serve from the finders
WHITENOISE_USE_FINDERS = True
DATABASES["default"]["CONN_MAX_AGE"] = 0  # noqa: F405
LOGGING["root"]["level"] = "WARNING"  # noqa: F405
# Uploaded pictures go to a folder of the run's own, never into the repository's media/.
MEDIA_ROOT = Path(tempfile.mkdtemp(prefix="test-media-"))
atexit.register(shutil.rmtree, MEDIA_ROOT, ignore_errors=True)
