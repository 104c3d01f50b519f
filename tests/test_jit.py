"""Schedules under ``jit``: compile cost linear in nesting depth, hashing consistent with ``==`` (a
schedule as a static argument), the jit and no-jit routes agree (chex variants) and new values
trace once.
"""

import time

import chex
import jax
import jax.numpy as jnp
import numpy as np

import jaxsched as js
from tests.test_hypergradients import one_of_each

T = 2**31 - 1
evaluate = jax.jit(lambda s, t: s(t))


def _warmup_nest(depth):
  s = js.cosine(0.1, 1000, exponent=2.0)
  for i in range(depth):
    s = js.warmup(s, 10 + i, shape="cosine" if i % 2 else "linear")
  return s


def test_composition_is_linear_in_depth():
  t = jnp.arange(64, dtype=jnp.int32)
  sizes, times = {}, {}
  for depth in (6, 12):
    s = _warmup_nest(depth)
    sizes[depth] = len(str(jax.make_jaxpr(lambda t: s(t))(t)).splitlines())
    best = np.inf
    for _ in range(2):
      t0 = time.perf_counter()
      jax.jit(lambda t: s(t)).lower(t).compile()
      best = min(best, time.perf_counter() - t0)
    times[depth] = best
  assert sizes[12] < 2.5 * sizes[6]
  assert times[12] < 3 * times[6]


def test_schedules_hash_consistently_with_equality():
  a, b = js.cosine(0.1, 100), js.cosine(0.1, 100)
  assert a == b and hash(a) == hash(b)
  assert js.cosine(0.1, 100) != js.cosine(0.1 + 1e-12, 100)
  assert len({a, b, js.cosine(0.1, 101), js.linear(0.1, 0.0, 100)}) == 3
  f = jax.jit(lambda s, t: s(t), static_argnums=0)
  np.testing.assert_array_equal(f(a, jnp.arange(5)), a(jnp.arange(5)))
  for _ in range(3):  # optax's own schedule tests do this, 30 times
    np.testing.assert_allclose(jax.jit(js.cosine(0.1, 100))(7), a(7))


class RoutesTest(chex.TestCase):
  """The jit and no-jit routes give the same numbers and trace once per structure."""

  @chex.variants(with_jit=True, without_jit=True)
  def test_routes_agree(self):
    t = jnp.asarray([0, 1, 50, 99, 100, 2**24 + 1, T], jnp.int32)
    for s in one_of_each():
      got = self.variant(lambda s, t: s(t))(s, t)
      chex.assert_trees_all_close(got, evaluate(s, t), rtol=2e-7)

  def test_new_values_trace_once(self):
    chex.clear_trace_counter()

    @jax.jit
    @chex.assert_max_traces(n=1)
    def f(s, t):
      return s(t)

    for gamma in (0.9, 0.99, 0.5):
      f(js.exponential(0.1, gamma, decay_steps=3, staircase=True), jnp.arange(4))
