"""The double-float layer: exactness of its building blocks, accuracy of log, and its defences
against XLA's algebraic simplifier."""

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from jaxsched import _df
from jaxsched.core import FAMILIES, Schedule, family, real


def _f64(x: _df.DF):
  return np.asarray(x.hi, np.float64) + np.asarray(x.lo, np.float64)


def test_from_int_is_exact_over_int32():
  n = np.array([0, 1, 2**24 - 1, 2**24, 2**24 + 1, 2**24 + 3, 123456789, 2**31 - 1], np.int32)
  got = jax.jit(lambda n: _df.from_int(n, jnp.float32))(n)
  np.testing.assert_array_equal(_f64(got), n.astype(np.float64))


def test_mul_and_div_carry_about_48_bits():
  rng = np.random.default_rng(0)
  a, b = rng.uniform(0.1, 10, 1000), rng.uniform(0.1, 10, 1000)
  pa, pb = (_df.DF(*map(jnp.asarray, _df.split_host(x, np.float32))) for x in (a, b))
  prod = jax.jit(_df.mul)(pa, pb)
  quot = jax.jit(_df.div)(pa, pb)
  # the inputs themselves hold ~2^-48 of a and b; the operations must add little to that
  assert np.max(np.abs(_f64(prod) / (_f64(pa) * _f64(pb)) - 1)) < 2**-44
  assert np.max(np.abs(_f64(quot) / (_f64(pa) / _f64(pb)) - 1)) < 2**-44


def test_log_to_pair_precision():
  rng = np.random.default_rng(1)
  x = np.concatenate(
    [
      np.exp(rng.uniform(-60, 60, 20000)),
      1 + rng.uniform(-1e-3, 1e-3, 20000),
      [0.999999, 1.0, 0.5, 2.0, 1e-20],
    ]
  )
  pair = _df.DF(*map(jnp.asarray, _df.split_host(x, np.float32)))
  got = _f64(jax.jit(_df.log)(pair))
  exact = np.log(_f64(pair))  # the log of what the pair holds, in float64
  assert np.max(np.abs(got - exact)) < 1e-12


def test_log_gradient():
  g = jax.grad(lambda x: _df.value(_df.log(_df.of(x))))(jnp.float32(0.25))
  np.testing.assert_allclose(g, 4.0, rtol=1e-7)


def _textbook_two_sum(a, b):
  s = a + b
  bb = s - a
  return (a - (s - bb)) + (b - bb)


X = jnp.float32(0.13686837)
EXACT = float(np.float64(1.0) + np.float64(X) - np.float64(np.float32(1.0 + X)))  # 1.49e-8


def test_error_terms_survive_constants_under_jit():
  """XLA rewrites (c + x) − c to x for a constant c: the textbook two_sum loses its error term under
  jit when its first operand is a literal. Ours, the same IEEE operations, keeps it."""
  one = jnp.ones((), jnp.float32)
  assert float(jax.jit(lambda x: _textbook_two_sum(one, x))(X)) == 0.0  # the hazard is real
  assert float(jax.jit(lambda x: _df.two_sum(one, x).lo)(X)) == EXACT != 0.0
  assert float(jax.jit(lambda x: _df.two_sum(x, one).lo)(X)) == EXACT
  assert float(jax.jit(lambda x: _df.fast_two_sum(one, x).lo)(X)) == EXACT
  assert float(_df.two_sum(one, X).lo) == EXACT  # and eagerly


def test_closed_over_hyperparameters_keep_their_error_terms():
  """The same hazard for hyperparameters: a schedule closed over by jit has constant leaves. A probe
  family puts its leaf first in two_sum."""

  @family("_probe_leaf_first")
  class Probe(Schedule):
    a: Any = real()

    step_form = "exact"

    def formula(self, t):
      return _df.two_sum(self.a, t).lo

  try:
    probe = Probe(1.0)
    assert float(jax.jit(lambda t: probe(t))(X)) == EXACT
    assert float(jax.jit(lambda s, t: s(t))(probe, X)) == EXACT
  finally:
    del FAMILIES["_probe_leaf_first"]
