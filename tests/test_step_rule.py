"""The step rule (README, "Limits and guarantees"; ``_maths.as_step``): NaN steps give NaN in every
family and composite, steps saturate into [0, 2^31−1] and never wrap, half-precision steps become
float32; values and gradients are finite on valid input.
"""

import jax
import jax.numpy as jnp
import numpy as np

import jaxsched as js
from tests.test_hypergradients import one_of_each

T = 2**31 - 1


def test_nan_steps_give_nan_everywhere():
  for s in one_of_each():
    out = np.asarray(s(np.array([np.nan, 3.0], np.float32)))
    assert np.isnan(out[0]) and np.isfinite(out[1]), s.family


def test_steps_saturate_and_never_wrap():
  s = js.warmup(js.linear(1.0, 0.0, 2**31 - 1, begin=7), 10)
  top = float(s(T))
  assert float(s(2**31)) == top and float(s(2**70)) == top
  assert float(s(np.uint32(2**31 + 50))) == top
  assert float(s(jnp.asarray(2**31 + 50, jnp.uint32))) == top
  assert float(s(np.int64(2**40))) == top  # int64 without x64: no wrap
  np.testing.assert_array_equal(s([2**65, -(2**65)]), [top, float(s(0))])
  with jax.enable_x64(True):
    assert float(js.step(1.0, 2**30, 0.5)(jnp.asarray(2**31, jnp.int64))) == 0.5  # at 2^31 − 1
    assert float(js.wsd(1.0, 10, 10, 2**30)(jnp.asarray(2**31, jnp.int64))) == 0.0
    assert float(js.warmup(js.constant(1.0), 2**30)(2**31)) == 1.0
  # floats clamp too: +inf and 1e10 are the last float32 step below 2^31, -inf is 0
  c = js.exponential(1.0, 0.999999999)
  last = float(c(np.float32(2147483520.0)))
  np.testing.assert_array_equal(c(np.array([np.inf, 1e10, -np.inf], np.float32)), [last, last, 1.0])
  assert float(c(1e10)) == last


def test_half_precision_steps_become_float32():
  s = js.linear(1.0, 0.0, 1000, begin=7)
  assert float(s(jnp.bfloat16(300))) == np.float32(1 - 293 / 1000)
  assert s(jnp.float16(300)).dtype == jnp.float32


def test_finite_on_valid_input():
  assert float(js.inverse_time(1.0, 1e30)(T)) == 0.0
  assert float(js.inverse_time(1.0, 1e36)(1000)) == 0.0
  assert float(js.inverse_time(1.0, 1e36, staircase=True)(1000)) == 0.0
  t = np.array([0, 1, 2**24, T])
  for s in [
    js.polynomial(1e-3, 0.0, 5, power=32.0),
    js.cosine(1e-3, 3, exponent=32.0),
    js.exponential(1e-3, 1e-30),
    js.cosine_restarts(0.1, 1, period_mult=65536.0),
    js.inverse_sqrt(1e-3, 1e-30),
  ]:
    assert np.all(np.isfinite(s(t))), s.family
    g = jax.grad(lambda s: s(t).sum(), allow_int=True)(s)
    assert all(np.all(np.isfinite(x)) for x in jax.tree.leaves(js.partition(g)[0])), s.family
