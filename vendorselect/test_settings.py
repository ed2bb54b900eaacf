"""Settings for the test suite: production-like (DEBUG off), with fast hashing and eager tasks."""

import os
import tempfile

os.environ.setdefault("SECRET_KEY", "test-only-secret-key-not-for-production")
os.environ.setdefault("DJANGO_DEBUG", "0")
os.environ.setdefault("SECURE_SSL_REDIRECT", "0")
os.environ.setdefault("CELERY_TASK_ALWAYS_EAGER", "1")
os.environ.setdefault("VENDORSELECT_VAR_DIR", tempfile.mkdtemp(prefix="vendorselect-test-"))

from vendorselect.settings import *  # noqa: F403
from vendorselect.settings import STORAGES

ALLOWED_HOSTS = ["testserver", "localhost", "127.0.0.1"]
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES = {**STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
# The suite runs as the owner (it creates its database); the application's role is exercised with
# SET ROLE in tests/test_records.py. tests/conftest.py creates the role when it is missing.
DATABASE_APP_ROLE = os.environ.get("DATABASE_APP_ROLE", "vendorselect_app")
