"""Precision where formulas amplify rounding: large powers and cosine exponents, and fractional
epochs, within 1e-6 relative of float64 up to 2^31−1 (README, "Numbers you can trust").

References are float64 NumPy closed forms (tests/reference.py) or worked by hand.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxsched as js
from tests import reference as ref
from tests.reference import assert_rel

T = 2**31 - 1
evaluate = jax.jit(lambda s, t: s(t))


def _steps(n, extra=()):
  pts = set(range(0, min(n, 64))) | set(np.linspace(0, n, 257).astype(np.int64).tolist())
  pts |= {n // 2 - 1, n // 2, n // 2 + 1, n - 2, n - 1, n, n + 1, 2**24 + 1, T, *extra}
  return np.array(sorted(x for x in pts if 0 <= x <= T), np.int64)


@pytest.mark.parametrize("n", [100, 2**24 + 1, T])
def test_large_powers_within_1e6(n):
  t = _steps(n)
  for power in (8.0, 30.0, 32.0, 1.7):
    for end in (0.0, 1e-4):
      s = js.polynomial(0.1, end, n, power=power)
      assert_rel(
        evaluate(s, jnp.asarray(t, jnp.int32)),
        ref.polynomial(t, 0.1, end, n, power=power),
        rtol=1e-6,
      )


@pytest.mark.parametrize("n", [100, 2**24 + 1, T])
def test_large_cosine_exponents_within_1e6(n):
  t = _steps(n)
  for exponent in (8.0, 32.0, 2.5):
    for end in (0.0, 1e-4):
      s = js.cosine(0.1, n, end_value=end, exponent=exponent)
      assert_rel(
        evaluate(s, jnp.asarray(t, jnp.int32)),
        ref.cosine(t, 0.1, n, end_value=end, exponent=exponent),
        rtol=1e-6,
      )
  s = js.warmup_cosine(0.1, 10, n, exponent=8.0, end_value=1e-5)
  assert_rel(
    evaluate(s, jnp.asarray(t, jnp.int32)),
    ref.warmup_cosine(t, 0.1, 10, n, end_value=1e-5, exponent=8.0),
    rtol=1e-6,
  )


def test_fractional_per_epoch_keeps_the_exponent_exact():
  # gamma^(t/3): the float32 rounding of t/3 alone would be off by up to 2e-6 here.
  t = np.concatenate([np.arange(0, 2000), [2**24 + 1, T]]).astype(np.int64)
  for s in [
    js.per_epoch(js.exponential(1.0, 0.9), 3, fractional=True),
    js.per_epoch(js.exponential(1.0, 0.9), 3, fractional=True) * 2.0,
  ]:
    scale = 1.0 if s.family == "per_epoch" else 2.0
    assert_rel(evaluate(s, jnp.asarray(t, jnp.int32)), scale * 0.9 ** (t / 3.0), rtol=1e-6)
