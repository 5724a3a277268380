"""Operations tests (make test-ops): certificate and secret reload, hand-over
to a new binary under load, backup and restore, and the Debian package
against Debian's own MariaDB service.

They reuse the end-to-end fixtures (tests/e2e/conftest.py: a private MariaDB,
the fake WeChat, the gateway) and helpers, loaded here under this module so
that the e2e helper modules' `from conftest import ...` keeps working."""
import importlib.util
import os
import sys

E2E = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "e2e")
sys.path.insert(0, E2E)
_spec = importlib.util.spec_from_file_location("e2e_conftest", os.path.join(E2E, "conftest.py"))
_e2e = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_e2e)
globals().update({k: v for k, v in vars(_e2e).items() if not k.startswith("__")})

# The load tests (upgrade, backup) file leads from one buyer for as long as
# they run; the daily cap per buyer is the leads tests' subject, not theirs.
TEST_CONFIG["lead_daily_max_per_submitter"] = 1000000
