"""Test settings: the real settings module, with test-only speed-ups.

DATABASE_URL picks PostgreSQL exactly as in production; unset, the suite runs on SQLite files.
"""

import os
import tempfile
from pathlib import Path

os.environ.setdefault("DEBUG", "False")
os.environ.setdefault("SECRET_KEY", "tests-only-secret-key-not-for-production")
os.environ.setdefault("SECURE_SSL_REDIRECT", "False")
os.environ.setdefault("SESSION_COOKIE_SECURE", "False")
os.environ.setdefault("CSRF_COOKIE_SECURE", "False")
os.environ.setdefault("ALLOWED_HOSTS", "testserver,127.0.0.1,localhost")
# The seed tests run `seed_demo` and `seed_bench`, which live in the demo app.
os.environ.setdefault("DEMO_APP", "True")
_TMP = Path(tempfile.mkdtemp(prefix="kyc-tests-"))
os.environ.setdefault("SQLITE_PATH", str(_TMP / "db.sqlite3"))
os.environ.setdefault("PRIVATE_MEDIA_ROOT", str(_TMP / "private"))

from kyc.settings import *  # noqa: E402, F403
from kyc.settings import STORAGES  # noqa: E402

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STATIC_ROOT = _TMP / "static"
STATIC_ROOT.mkdir(exist_ok=True)
STORAGES = {
    **STORAGES,
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# Vendors are off unless a test configures one against its local fake server.
for _name in (
    "OCTOBER_USER_ID",
    "OCTOBER_SESSION_TOKEN",
    "FINOVOX_API_KEY",
    "MINDEE_API_KEY",
    "ARTEMIS_CLIENT_ID",
    "ARTEMIS_CLIENT_SECRET",
):
    globals()[_name] = ""

# The engine's tests swap in a fake provider, also inside worker subprocesses.
if os.environ.get("KYC_TEST_PROVIDERS"):
    KYC_PROVIDERS = os.environ["KYC_TEST_PROVIDERS"].split(",")
