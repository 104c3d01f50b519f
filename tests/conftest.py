import os
import sys

# The tests import ``tests.cases``: the repository root is importable. jaxsched itself is not
# (it lives in src/); the tests run against the installed package, editable or a wheel.
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
if os.environ.get("JAXSCHED_TEST_INSTALLED"):  # CI: fail if the checkout's sources are under test
  import jaxsched

  if os.path.realpath(jaxsched.__file__).startswith(os.path.join(ROOT, "src") + os.sep):
    raise RuntimeError(f"JAXSCHED_TEST_INSTALLED is set, but jaxsched is {jaxsched.__file__}")
# Keras 3 (a test-only peer) on JAX, whichever test imports it first: no TensorFlow needed.
os.environ.setdefault("KERAS_BACKEND", "jax")

# Hypothesis profiles. "ci" (the default) is fast and derandomized, so CI runs are reproducible;
# HYPOTHESIS_PROFILE=big explores far more (and randomly) on demand. Tests that pin their own
# max_examples keep them.
from hypothesis import HealthCheck, settings  # noqa: E402

settings.register_profile(
  "ci",
  max_examples=30,
  deadline=None,
  derandomize=True,
  suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
  "big", max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
