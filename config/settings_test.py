"""Test settings: the real settings with fast hashing, in-process tasks and a file-backed SQLite test database."""

from __future__ import annotations

import os

from cryptography.fernet import Fernet

from .test_workers import redis_url_of_this_worker

os.environ.setdefault("SECRET_KEY", "test-secret-key-that-is-long-enough-for-the-suite-0123456789")
os.environ.setdefault("FIELD_ENCRYPTION_KEY", Fernet.generate_key().decode())
os.environ.setdefault("VISMA_ALLOW_LOOPBACK", "True")  # the suite talks to the sandbox on loopback

# Each pytest-xdist worker flushes its own Redis database (a cluster subprocess inherits the environment).
os.environ.update(redis_url_of_this_worker(os.environ))

from .settings import *  # noqa: F403
from .settings import DATABASES, Q_CLUSTER

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_AUTOREFRESH = True
# The test client and the browser tests' live server speak plain HTTP.
SECURE_SSL_REDIRECT = SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = False
SECURE_HSTS_SECONDS = 0

# django-q2 reads Q_CLUSTER once at import; tasks run in the calling process unless a test starts a real cluster.
Q_CLUSTER = {**Q_CLUSTER, "sync": True}
ORDER_WAKEUPS = False  # no timer threads in tests; the cluster tests turn them on

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A file, not :memory:, so a real cluster in a subprocess sees the same test database.
    DATABASES["default"]["TEST"] = {"NAME": str(BASE_DIR / f".test-db-{os.getpid()}.sqlite3")}  # noqa: F405
