"""Settings for the test suite: production-like (DEBUG off), with fast hashing and eager tasks."""

import os
import tempfile

os.environ.setdefault("SECRET_KEY", "test-only-secret-key-not-for-production")
os.environ.setdefault("DJANGO_DEBUG", "0")
os.environ.setdefault("SECURE_SSL_REDIRECT", "0")
os.environ.setdefault("CELERY_TASK_ALWAYS_EAGER", "1")
os.environ.setdefault("VENDORSELECT_VAR_DIR", tempfile.mkdtemp(prefix="vendorselect-test-"))
# Under pytest-xdist each worker (and the Celery worker processes it starts, which inherit its
# environment) has its own var directory: media, file cache and file-system broker are not shared.
XDIST_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")
if XDIST_WORKER and os.path.basename(os.environ["VENDORSELECT_VAR_DIR"]) != XDIST_WORKER:
    os.environ["VENDORSELECT_VAR_DIR"] = os.path.join(os.environ["VENDORSELECT_VAR_DIR"], XDIST_WORKER)
    os.makedirs(os.environ["VENDORSELECT_VAR_DIR"], exist_ok=True)

from vendorselect.settings import *  # noqa: E402, F403
from vendorselect.settings import CACHES, STORAGES  # noqa: E402

# A shared cache (CACHE_URL=redis://... in CI) is shared by the xdist workers: their keys are kept apart.
CACHES = {**CACHES, "default": {**CACHES["default"], "KEY_PREFIX": XDIST_WORKER}}
ALLOWED_HOSTS = ["testserver", "localhost", "127.0.0.1"]
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES = {**STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
# The suite runs as the owner (it creates its database); the application's role is exercised with
# SET ROLE in tests/test_records.py. tests/conftest.py creates the role when it is missing.
DATABASE_APP_ROLE = os.environ.get("DATABASE_APP_ROLE", "vendorselect_app")
