"""Numeric core v2 (issue 7, issue 11 items 1, 3, 4): precision where formulas amplify rounding,
one public leaf per hyperparameter, hypergradients (every family against finite differences), the
update route, the step rule, finiteness on valid input, linear composition, hashing, chex routes.

References are float64 NumPy closed forms (tests/reference.py) or worked by hand.
"""
import os
import re
import time

import chex
import jax
import jax.numpy as jnp
import numpy as np
import optax
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


# --- precision: large powers and exponents, fractional epochs -------------------------------------


@pytest.mark.parametrize("n", [100, 2**24 + 1, T])
def test_large_powers_within_1e6(n):
  t = _steps(n)
  for power in (8.0, 30.0, 32.0, 1.7):
    for end in (0.0, 1e-4):
      s = js.polynomial(0.1, end, n, power=power)
      assert_rel(evaluate(s, jnp.asarray(t, jnp.int32)),
                 ref.polynomial(t, 0.1, end, n, power=power), rtol=1e-6)


@pytest.mark.parametrize("n", [100, 2**24 + 1, T])
def test_large_cosine_exponents_within_1e6(n):
  t = _steps(n)
  for exponent in (8.0, 32.0, 2.5):
    for end in (0.0, 1e-4):
      s = js.cosine(0.1, n, end_value=end, exponent=exponent)
      assert_rel(evaluate(s, jnp.asarray(t, jnp.int32)),
                 ref.cosine(t, 0.1, n, end_value=end, exponent=exponent), rtol=1e-6)
  s = js.warmup_cosine(0.1, 10, n, exponent=8.0, end_value=1e-5)
  assert_rel(evaluate(s, jnp.asarray(t, jnp.int32)),
             ref.warmup_cosine(t, 0.1, 10, n, end_value=1e-5, exponent=8.0), rtol=1e-6)


def test_fractional_per_epoch_keeps_the_exponent_exact():
  # gamma^(t/3): the float32 rounding of t/3 alone would be off by up to 2e-6 here.
  t = np.concatenate([np.arange(0, 2000), [2**24 + 1, T]]).astype(np.int64)
  for s in [js.per_epoch(js.exponential(1.0, 0.9), 3, fractional=True),
            js.per_epoch(js.exponential(1.0, 0.9), 3, fractional=True) * 2.0]:
    scale = 1.0 if s.family == "per_epoch" else 2.0
    assert_rel(evaluate(s, jnp.asarray(t, jnp.int32)), scale * 0.9 ** (t / 3.0), rtol=1e-6)


# --- the public face: one array per hyperparameter, exact doubles kept --------------------------


def test_one_public_array_per_hyperparameter():
  s = js.exponential(0.1, 0.999999, decay_steps=3)
  assert isinstance(s.gamma, jax.Array) and s.gamma.dtype == jnp.float32 and s.gamma.shape == ()
  assert s.to_config()["gamma"] == 0.999999
  assert "gamma=0.999999" in repr(s)
  # derived leaves are private: they do not enter == or hash
  other = js.exponential(0.1, 0.999999, decay_steps=3)
  object.__setattr__(other, "_derived", {k: jax.tree.map(lambda x: x + 1, v)
                                         for k, v in other._derived.items()})
  assert other == s and hash(other) == hash(s)


def test_constructing_concrete_schedules_compiles_nothing():
  # Validation and derivation run in NumPy on the host: no jitted program is built for them.
  jax.clear_caches()
  with jax.log_compiles(True):
    import logging
    records = []
    handler = logging.Handler()
    handler.emit = records.append
    logger = logging.getLogger("jax")
    logger.addHandler(handler)
    try:
      js.cosine_restarts(0.1, 10, period_mult=1.5, decay=0.9)
      js.one_cycle(0.1, 1000, three_phase=True)
      js.exponential(0.1, 0.99, decay_steps=3, end_value=1e-3)
      js.warmup(js.cosine(0.1, 100, exponent=2.0), 10)
    finally:
      logger.removeHandler(handler)
  assert not [r for r in records if "Compiling" in r.getMessage()]


# --- hypergradients -----------------------------------------------------------------------------


def _fd_cases():
  return {
      "constant": (lambda: js.constant(0.3), [0, 5]),
      "exponential": (lambda: js.exponential(0.3, 0.97, decay_steps=3, end_value=1e-3), [0, 7, 100]),
      "step": (lambda: js.step(0.3, 7, 0.8), [3, 20, 100]),
      "multistep": (lambda: js.multistep(0.3, [5, 20], 0.7), [3, 10, 30]),
      "piecewise": (lambda: js.piecewise([5, 20], [0.3, 0.2, 0.1]), [3, 10, 30]),
      "inverse_time": (lambda: js.inverse_time(0.3, 0.5, decay_steps=3), [1, 10, 100]),
      "inverse_sqrt": (lambda: js.inverse_sqrt(0.3, 20.0, warmup_steps=5), [2, 10, 100]),
      "linear": (lambda: js.linear(0.3, 0.01, 50, begin=3), [2, 10, 40]),
      "polynomial": (lambda: js.polynomial(0.3, 0.01, 50, power=1.0), [2, 10, 40]),
      "cosine": (lambda: js.cosine(0.3, 50, end_value=0.01, exponent=1.0), [2, 10, 40]),
      "warmup_cosine": (lambda: js.warmup_cosine(0.3, 5, 50, init_value=0.01, end_value=0.02,
                                                 exponent=1.5), [2, 10, 40]),
      "cosine_restarts": (lambda: js.cosine_restarts(0.3, 10, period_mult=1.5, decay=0.8,
                                                     end_value=0.01), [3, 14, 30, 60]),
      "one_cycle": (lambda: js.one_cycle(0.3, 100, pct_start=0.3, div_factor=20.0,
                                         final_div_factor=100.0), [5, 50, 80]),
      "cyclic": (lambda: js.cyclic(0.01, 0.3, 5, step_size_down=7, mode="exp_range", gamma=0.98),
                 [2, 8, 30]),
      "wsd": (lambda: js.wsd(0.3, 5, 10, 20, init_value=0.01, end_value=0.02,
                             warmup_shape="cosine", decay_shape="sqrt"), [2, 10, 20, 30]),
      "join": (lambda: js.join([js.linear(0.0, 0.3, 10), js.cosine(0.3, 50)], [10]), [5, 20]),
      "warmup": (lambda: js.warmup(js.exponential(0.3, 0.97), 10, init_value=0.01,
                                   shape="exponential"), [5, 20]),
      "product": (lambda: js.step(0.3, 7, 0.8) * js.exponential(1.0, 0.99), [3, 20]),
      "clip": (lambda: js.clip(js.inverse_sqrt(0.3, 20.0), min_value=0.05, max_value=0.25),
               [0, 10, 1000]),
      "per_epoch": (lambda: js.per_epoch(js.exponential(0.3, 0.9), 3, fractional=True), [4, 10]),
      "scaled": (lambda: js.cosine(0.3, 50) * 2.0, [10]),
      "sum": (lambda: js.cosine(0.3, 50) - js.linear(0.1, 0.0, 40), [10, 45]),
      "offset": (lambda: js.exponential(0.3, 0.97) + 0.01, [0, 20]),
      "shift": (lambda: js.shift(js.cosine(0.3, 50, end_value=0.01), 5), [3, 20]),
      "repeat": (lambda: js.repeat(js.linear(0.3, 0.01, 20), 20), [5, 33]),
  }


def test_every_family_has_a_gradient_case():
  assert set(_fd_cases()) == set(js.FAMILIES)


@pytest.mark.parametrize("name", sorted(_fd_cases()))
def test_gradients_match_finite_differences_x64(name):
  """d/d(each real hyperparameter), once per field, through both routes (grad w.r.t. the schedule
  and w.r.t. ``partition``'s params), against central differences of freshly built schedules."""
  build, steps = _fd_cases()[name]
  with jax.enable_x64(True):
    s = build()
    t = jnp.asarray(steps, jnp.int64)
    params, rest = js.partition(s)
    g_params = jax.grad(lambda p: js.combine(p, rest)(t).sum())(params)
    g_tree = jax.grad(lambda s: s(t).sum(), allow_int=True)(s)
    chex.assert_trees_all_close(js.partition(g_tree)[0], g_params, rtol=1e-9, atol=1e-12)
    leaves, treedef = jax.tree.flatten(params)
    got = jax.tree.leaves(g_params)
    for k, (leaf, g) in enumerate(zip(leaves, got)):
      leaf = np.asarray(leaf, np.float64)
      for j in np.ndindex(leaf.shape):
        h = 1e-6 * max(abs(float(leaf[j])), 1e-3)
        def at(d):
          moved = [np.asarray(x, np.float64).copy() for x in leaves]
          moved[k][j] += d
          return float(np.sum(js.combine(jax.tree.unflatten(treedef, moved), rest)(t)))
        fd = (at(h) - at(-h)) / (2 * h)
        np.testing.assert_allclose(np.asarray(g)[j], fd, rtol=2e-5, atol=1e-9,
                                   err_msg=f"{name}: field {k} index {j}")


def test_gradient_at_exponent_and_power_one_is_not_zero():
  # d/dk of 0.1·0.5^k at k = 1 (step 50 of 100): 0.1·0.5·ln 0.5, worked by hand.
  want = 0.1 * 0.5 * np.log(0.5)
  for s in [js.polynomial(0.1, 0.0, 100, power=1.0), js.cosine(0.1, 100, exponent=1.0)]:
    g = jax.grad(lambda s: s(50), allow_int=True)(s)
    field = "power" if s.family == "polynomial" else "exponent"
    np.testing.assert_allclose(getattr(g, field), want, rtol=1e-5)


def test_gradients_count_once():
  s = js.exponential(0.1, 0.99)
  g = jax.grad(lambda s: s(100), allow_int=True)(s)
  np.testing.assert_allclose(g.gamma, 0.1 * 100 * 0.99**99, rtol=1e-5)
  np.testing.assert_allclose(g.init_value, 0.99**100, rtol=1e-5)
  # the private leaves get nothing, so an update counts each derivative once
  assert all(float(jnp.abs(x).max()) == 0 for x in jax.tree.leaves((g._lo, g._derived))
             if jnp.issubdtype(x.dtype, jnp.floating))
  assert g.to_config()["gamma"] == pytest.approx(0.1 * 100 * 0.99**99, rel=1e-5)


def test_optax_step_through_partition_equals_a_fresh_schedule():
  for s, fresh in [
      (js.exponential(0.1, 0.99, decay_steps=3),
       lambda p: js.exponential(p["init_value"], p["gamma"], decay_steps=3)),
      (js.warmup(js.cosine_restarts(0.1, 10, period_mult=1.5, decay=0.9), 5, init_value=0.01),
       lambda p: js.warmup(js.cosine_restarts(p["schedule"]["init_value"], 10,
                                              period_mult=p["schedule"]["period_mult"],
                                              decay=p["schedule"]["decay"],
                                              end_value=p["schedule"]["end_value"]),
                           5, init_value=p["init_value"])),
  ]:
    params, rest = js.partition(s)
    opt = optax.adam(1e-2)
    state = opt.init(params)
    grads = jax.grad(lambda p: js.combine(p, rest)(jnp.arange(40)).sum())(params)
    updates, state = opt.update(grads, state, params)
    new = optax.apply_updates(params, updates)
    combined = js.combine(new, rest)
    built = fresh(new)
    assert combined == built
    chex.assert_trees_all_equal(combined, built)          # derived leaves too: re-derived
    assert combined != s
    # under jit the constants are re-derived on the device: same values to float32 rounding
    t = jnp.arange(0, 2000, 7)
    jitted = jax.jit(js.combine)(new, rest)
    # (SPEC §6: where the end value has crossed zero the bound is 2^-24·max|endpoint| absolute)
    bound = 2.0**-23 * max(abs(float(x)) for x in jax.tree.leaves(new))
    chex.assert_trees_all_close(evaluate(jitted, t), evaluate(built, t), rtol=2e-6, atol=bound)
  # unchanged values keep the user's exact double
  s = js.exponential(0.1, 0.999999, decay_steps=3)
  assert js.combine(*js.partition(s)) == s
  assert s.replace(gamma=0.5) == js.exponential(0.1, 0.5, decay_steps=3)


# --- the step rule ------------------------------------------------------------------------------


def _one_of_each():
  return [build() for build, _ in _fd_cases().values()]


def test_nan_steps_give_nan_everywhere():
  for s in _one_of_each():
    out = np.asarray(s(np.array([np.nan, 3.0], np.float32)))
    assert np.isnan(out[0]) and np.isfinite(out[1]), s.family


def test_steps_saturate_and_never_wrap():
  s = js.warmup(js.linear(1.0, 0.0, 2**31 - 1, begin=7), 10)
  top = float(s(T))
  assert float(s(2**31)) == top and float(s(2**70)) == top
  assert float(s(np.uint32(2**31 + 50))) == top
  assert float(s(jnp.asarray(2**31 + 50, jnp.uint32))) == top
  assert float(s(np.int64(2**40))) == top                      # int64 without x64: no wrap
  np.testing.assert_array_equal(s([2**65, -2**65]), [top, float(s(0))])
  with jax.enable_x64(True):
    assert float(js.step(1.0, 2**30, 0.5)(jnp.asarray(2**31, jnp.int64))) == 0.5   # at 2^31 − 1
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
  for s in [js.polynomial(1e-3, 0.0, 5, power=32.0), js.cosine(1e-3, 3, exponent=32.0),
            js.exponential(1e-3, 1e-30), js.cosine_restarts(0.1, 1, period_mult=65536.0),
            js.inverse_sqrt(1e-3, 1e-30)]:
    assert np.all(np.isfinite(s(t))), s.family
    g = jax.grad(lambda s: s(t).sum(), allow_int=True)(s)
    assert all(np.all(np.isfinite(x)) for x in jax.tree.leaves(js.partition(g)[0])), s.family


# --- composition cost, hashing, chex routes -----------------------------------------------------


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
  for _ in range(3):                        # optax's own schedule tests do this, 30 times
    np.testing.assert_allclose(jax.jit(js.cosine(0.1, 100))(7), a(7))


class RoutesTest(chex.TestCase):
  """The jit and no-jit routes give the same numbers and trace once per structure."""

  @chex.variants(with_jit=True, without_jit=True)
  def test_routes_agree(self):
    t = jnp.asarray([0, 1, 50, 99, 100, 2**24 + 1, T], jnp.int32)
    for s in _one_of_each():
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


def test_readme_hypergradient_step_runs():
  text = open(os.path.join(os.path.dirname(__file__), "..", "README.md")).read()
  code = re.search(r"### Hypergradients.*?```python\n(.*?)```", text, re.S).group(1)
  namespace = {}
  exec(compile(code, "README hypergradients", "exec"), namespace)
  assert isinstance(namespace["schedule"], js.Schedule)
