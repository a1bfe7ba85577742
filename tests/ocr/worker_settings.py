"""Settings for the worker process of tests/ocr/test_worker.py.

tests.settings blanks the Artemis credentials so that no test enables Artemis by accident; the
worker that pushes a correction must talk to the fake Artemis, so this takes them back from
the environment the test gives it (kyc.settings reads the URLs and the domain id itself).
"""

import os

from tests.vendor_settings import *  # noqa: F403

ARTEMIS_CLIENT_ID = os.environ.get("ARTEMIS_CLIENT_ID", "")
ARTEMIS_CLIENT_SECRET = os.environ.get("ARTEMIS_CLIENT_SECRET", "")
