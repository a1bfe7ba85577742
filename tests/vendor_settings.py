"""tests.settings for worker processes that talk to the fake vendor servers.

tests.settings blanks every vendor credential so that no test enables a vendor by accident; the
provider tests start `db_worker` with this module instead, and put the fake servers' URLs and
test credentials in the worker's environment.
"""

import os

from tests.settings import *  # noqa: F403

FINOVOX_API_KEY = os.environ.get("FINOVOX_API_KEY", "")
MINDEE_API_KEY = os.environ.get("MINDEE_API_KEY", "")
