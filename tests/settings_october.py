"""Settings for worker subprocesses in the October tests.

tests.settings switches every vendor off whatever the environment says; the real worker that the
end-to-end test starts must talk to the fake October server, so this turns October back on from
the OCTOBER_* variables the test passes (kyc.settings reads the others: base URL, timeout).
"""

import os

from tests.settings import *  # noqa: F403

OCTOBER_USER_ID = os.environ.get("OCTOBER_USER_ID", "")
OCTOBER_SESSION_TOKEN = os.environ.get("OCTOBER_SESSION_TOKEN", "")
