"""Where the tests find the checkout and the jaxsched under test.

The package lives in ``src/``, so the checkout's root on ``sys.path`` exposes ``tests`` but not
``jaxsched``: the tests import whichever jaxsched is installed (editable for development, the
built wheel in CI). Subprocesses get the same one through ``PYTHONPATH``.
"""

import os
from pathlib import Path

import jaxsched

ROOT = Path(__file__).resolve().parents[1]
# The directory that holds the jaxsched under test: src/ for an editable install, site-packages
# for a wheel.
PACKAGE_PARENT = Path(jaxsched.__file__).resolve().parents[1]


def pythonpath() -> str:
  """``PYTHONPATH`` for a subprocess that must import this jaxsched (and ``tests``)."""
  parts = (str(ROOT), str(PACKAGE_PARENT), os.environ.get("PYTHONPATH"))
  return os.pathsep.join(p for p in parts if p)
