"""The browser tests run on the end-to-end tests' stack: the same fixtures
(stack, api, db, factory, fake), loaded from tests/e2e/conftest.py."""
import importlib.util
import os
import sys

E2E = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "e2e")
sys.path.insert(0, E2E)  # repairs_support and friends
_spec = importlib.util.spec_from_file_location("e2e_conftest", os.path.join(E2E, "conftest.py"))
e2e = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(e2e)

# The e2e helpers import from "conftest", which is this module here: it
# offers all of the e2e conftest (fixtures and helpers, not its hooks).
globals().update({k: v for k, v in vars(e2e).items() if not k.startswith("__") and not k.startswith("pytest_")})
