"""Specialisation (a real field's ``special=``): exact special values take cheaper formulas at trace time.

Each fast path is checked against float64 NumPy closed forms (tests/reference.py, written from the
README), against the general formula of the same values (``core.generalised``), and for gradients at
the special value against finite differences. Then the structural rules: what ``jit`` retraces, what
``stack`` and ``tree.map`` do with settings that differ in a special value, and what a restore does.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxsched as js
from jaxsched import core
from tests import reference as ref
from tests.reference import assert_rel
from tests.test_cyclic import ref_restarts

T_MAX = 2**31 - 1
LARGE = [2**24 - 1, 2**24, 2**24 + 1, T_MAX - 1, T_MAX]


def _steps(*boundaries):
  """Every boundary b at b−1, b, b+1, a dense start, and the large steps."""
  near = [b + d for b in boundaries for d in (-1, 0, 1) if 0 <= b + d <= T_MAX]
  return np.unique(np.array(list(range(0, 300)) + near + LARGE, np.int64))


def _special(s):
  return dict(s.specialisation or ())


# (schedule, float64 reference of the same values, expected specialisation)
CASES = [
  (
    js.cosine(0.1, 1000, end_value=1e-4),
    lambda t: ref.cosine(t, 0.1, 1000, 1e-4),
    {"exponent": 1.0},
  ),
  (
    js.cosine(0.1, 1000, exponent=2.0),
    lambda t: ref.cosine(t, 0.1, 1000, exponent=2.0),
    {"exponent": 2.0},
  ),
  (
    js.cosine(0.1, 3000, exponent=0.5, end_value=0.01),
    lambda t: ref.cosine(t, 0.1, 3000, 0.01, exponent=0.5),
    {"exponent": 0.5},
  ),
  (
    js.cosine(0.1, T_MAX - 5, exponent=2.0),
    lambda t: ref.cosine(t, 0.1, T_MAX - 5, exponent=2.0),
    {"exponent": 2.0},
  ),
  (
    js.warmup_cosine(0.1, 100, 1000, exponent=2.0),
    lambda t: ref.warmup_cosine(t, 0.1, 100, 1000, exponent=2.0),
    {"exponent": 2.0},
  ),
  (
    js.polynomial(0.1, 0.001, 1000, power=2.0),
    lambda t: ref.polynomial(t, 0.1, 0.001, 1000, power=2.0),
    {"power": 2.0},
  ),
  (
    js.polynomial(0.1, 0.0, T_MAX - 1, power=0.5),
    lambda t: ref.polynomial(t, 0.1, 0.0, T_MAX - 1, power=0.5),
    {"power": 0.5},
  ),
  (
    js.cosine_restarts(0.1, 100, period_mult=2.0),
    lambda t: ref_restarts(t, 0.1, 100, 2.0),
    {"period_mult": "table", "decay": 1.0},
  ),
  (
    js.cosine_restarts(0.1, 10, period_mult=1.5, decay=0.9, end_value=1e-4),
    lambda t: ref_restarts(t, 0.1, 10, 1.5, 0.9, 1e-4),
    {"period_mult": "table"},
  ),
  (
    js.cosine_restarts(0.1, 7, decay=0.999),
    lambda t: ref_restarts(t, 0.1, 7, 1.0, 0.999),
    {"period_mult": "unit"},
  ),
  (
    js.cosine_restarts(0.1, 1),
    lambda t: ref_restarts(t, 0.1, 1),
    {"period_mult": "unit", "decay": 1.0},
  ),
]
IDS = [f"{s.family}-{sorted(want.items())}" for s, _, want in CASES]


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_fast_paths_match_float64_and_the_general_formula(case):
  s, reference, want = case
  assert _special(s) == want
  bounds = [100, 1000, 3000] if s.family != "cosine_restarts" else [10, 25, 47, 100, 300, 700]
  t = _steps(*bounds)
  if s.family == "cosine_restarts":
    t = t[(t < 20000) | (t >= 2**24 - 1) & (t <= 2**24 + 1)]  # the Fraction reference is slow
  fast = np.asarray(s(t), np.float64)
  assert_rel(fast, reference(t), rtol=1e-6)
  general = core.generalised(s)
  assert not general.specialisation
  assert_rel(fast, np.asarray(general(t), np.float64), rtol=1e-6)


def test_whole_int32_range_of_restarts_against_exact_starts():
  # every start of period 1, mult 2 up to 2^31 − 1 is 2^i − 1: at b−1, b, b+1 the cycle changes
  s = js.cosine_restarts(0.1, 1, period_mult=2.0, decay=0.5)
  starts = [2**i - 1 for i in range(1, 32)]
  t = np.array(sorted({x + d for x in starts for d in (-1, 0, 1) if 0 <= x + d <= T_MAX}), np.int64)
  i = np.floor(np.log2(t + 1)).astype(np.int64)  # exact for these integers
  start, length = 2.0**i - 1, 2.0**i
  q = (start + length - t) / length  # 1 − p, from the integers
  expected = 0.1 * 0.5**i * np.sin(np.pi * q / 2) ** 2  # ½(1 + cos πp), without cancelling
  assert_rel(np.asarray(s(t), np.float64), expected, rtol=1e-6)


GRAD_CASES = [  # (field, make(value), special value, step)
  ("exponent", lambda k: js.cosine(0.1, 100, exponent=k), 1.0, 37),
  ("exponent", lambda k: js.cosine(0.1, 100, exponent=k), 2.0, 81),
  ("exponent", lambda k: js.cosine(0.1, 100, exponent=k), 0.5, 60),
  ("power", lambda k: js.polynomial(0.1, 0.0, 100, power=k), 1.0, 50),
  ("power", lambda k: js.polynomial(0.1, 0.0, 100, power=k), 2.0, 50),
  ("exponent", lambda k: js.warmup_cosine(0.1, 10, 100, exponent=k), 1.0, 70),
  ("period_mult", lambda m: js.cosine_restarts(0.1, 10, period_mult=m), 1.0, 77),
  ("period_mult", lambda m: js.cosine_restarts(0.1, 10, period_mult=m), 2.0, 77),
  ("period_mult", lambda m: js.cosine_restarts(0.1, 10, period_mult=m, decay=0.8), 1.5, 301),
  ("decay", lambda d: js.cosine_restarts(0.1, 10, period_mult=2.0, decay=d), 1.0, 77),
  ("decay", lambda d: js.cosine_restarts(0.1, 10, decay=d), 1.0, 77),
  ("gamma", lambda g: js.multistep(0.1, [30, 60], g), 0.5, 65),
]


@pytest.mark.parametrize("field, make, x, step", GRAD_CASES)
def test_gradient_at_the_special_value_matches_finite_differences(field, make, x, step):
  with jax.enable_x64(True):
    s = make(x)
    assert s.specialisation or field == "gamma"  # multistep: its table of gamma^j, always
    g = float(getattr(jax.grad(lambda s: s(step), allow_int=True)(s), field))
    h = 1e-6
    if field == "period_mult" and x == 1.0:  # period_mult >= 1: one-sided
      fd = (float(make(x + h)(step)) - float(s(step))) / h
    else:
      fd = (float(make(x + h)(step)) - float(make(x - h)(step))) / (2 * h)
  assert g != 0.0
  assert g == pytest.approx(fd, rel=1e-4), (field, x, g, fd)


def test_jit_specialises_and_only_crossing_a_special_value_retraces():
  @jax.jit
  @chex_max_traces(3)
  def f(s, t):
    return s(t)

  t = jnp.arange(0, 200, 7)
  for k in (1.0, 1.0, 1.5, 1.7, 3.0, 2.0, 2.0):  # traces: exponent 1, general, 2
    out = f(js.cosine(0.1, 200, exponent=k), t)
    assert_rel(out, ref.cosine(np.asarray(t), 0.1, 200, exponent=k))


def chex_max_traces(n):
  import chex

  return chex.assert_max_traces(n=n)


def test_a_jit_argument_at_a_special_value_runs_no_power():
  jaxpr = str(jax.make_jaxpr(lambda s, t: s(t))(js.cosine(0.1, 100, exponent=2.0), jnp.int32(3)))
  assert " log " not in jaxpr and " exp " not in jaxpr
  general = str(jax.make_jaxpr(lambda s, t: s(t))(js.cosine(0.1, 100, exponent=2.5), jnp.int32(3)))
  assert " exp " in general
  # the gradient at the special value still needs ln w, and gets it
  grad = str(
    jax.make_jaxpr(jax.grad(lambda s, t: s(t), allow_int=True))(
      js.cosine(0.1, 100, exponent=2.0), jnp.int32(3)
    )
  )
  assert " log " in grad


def test_a_tree_map_to_other_values_drops_the_specialisation():
  s = js.cosine(0.1, 100, exponent=1.0)
  moved = jax.tree.map(lambda x: x * 3 if x.dtype == s.exponent.dtype and x.shape == () else x, s)
  # every float leaf tripled (the derived ones too, but cosine has none): exponent 3, general
  assert float(moved.exponent) == 3.0 and not _special(moved)
  t = np.array([0, 10, 50, 99, 100])
  assert_rel(moved(t), ref.cosine(t, 0.3, 100, 0.0, exponent=3.0))
  same = jax.tree.map(lambda x: x, s)
  assert _special(same) == {"exponent": 1.0}
  assert jax.tree.structure(same) == jax.tree.structure(s)


def test_stack_keeps_each_settings_formula_and_equals_a_loop_bit_for_bit():
  settings = [js.cosine(0.1, 100, exponent=k) for k in (1.0, 2.0, 1.5, 0.5)]
  batch = js.stack(settings)
  t = _steps(50, 100)
  got = np.asarray(batch(t))
  for i, s in enumerate(settings):
    np.testing.assert_array_equal(got[i], np.asarray(s(t)))
  # the special exponents share one group whose formula selects per row; 1.5 is a group of its own
  assert [_special(g) for g in batch.groups] == [{"exponent": (0.5, 1.0, 2.0)}, {}]
  specials_only = js.stack(settings[:2] + settings[3:])
  assert not isinstance(specials_only, js.batches.Mixed)
  assert _special(specials_only) == {"exponent": (0.5, 1.0, 2.0)}
  # same special value everywhere: an ordinary batch that keeps it
  same = js.stack([js.cosine(a, 100) for a in (0.1, 0.2)])
  assert _special(same) == {"exponent": 1.0}
  # batches that differ in it stack too, each row still with its own formula
  a = js.stack([js.cosine(0.1, 100), js.cosine(0.2, 100)])
  b = js.stack([js.cosine(0.1, 100, exponent=2.0), js.cosine(0.2, 100, exponent=2.0)])
  both = js.stack([a, b])
  assert both.batch_shape == (2, 2) and _special(both) == {"exponent": (1.0, 2.0)}
  np.testing.assert_array_equal(np.asarray(both(t))[1, 0], np.asarray(settings[1](t)))
  # and a sweep's chunk of such a batch keeps the batch's program (a subset of its values)
  chunk = jax.tree.map(lambda x: x[:1], specials_only)
  assert jax.tree.structure(chunk) == jax.tree.structure(specials_only)
  # a raw tree.map over settings of different specialisations is JAX's structure error
  with pytest.raises(ValueError, match="metadata"):
    jax.tree.map(lambda *x: jnp.stack(x), *settings[:2])


def test_traced_construction_takes_the_general_formulas():
  t = jnp.array([0, 25, 50, 99])
  out = jax.jit(jax.vmap(lambda k: js.cosine(0.1, 100, exponent=k)(t)))(jnp.array([1.0, 2.0]))
  for row, k in zip(np.asarray(out), (1.0, 2.0), strict=True):
    assert_rel(row, ref.cosine(np.asarray(t), 0.1, 100, exponent=k))
  seen = []
  jax.jit(lambda k: seen.append(js.cosine(0.1, 100, exponent=k).specialisation) or k)(1.0)
  assert seen == [None]  # nothing special is known about a traced value


def test_a_restore_into_a_template_of_other_special_values_is_right():
  from flax import serialization

  saved = js.cosine(0.1, 100, exponent=2.0)
  template = js.cosine(0.5, 100, exponent=1.0)
  restored = serialization.from_bytes(template, serialization.to_bytes(saved))
  assert restored == saved and _special(restored) == {"exponent": 2.0}
  t = np.array([0, 30, 70, 100])
  np.testing.assert_array_equal(np.asarray(restored(t)), np.asarray(saved(t)))


def test_a_schedule_rebuilt_inside_a_scan_keeps_its_structure():
  for s in [
    js.cosine(0.1, 100),
    js.polynomial(0.1, 0.0, 100, 2.0),
    js.cosine_restarts(0.1, 10, decay=0.9),
  ]:

    def body(s, _):
      s = s.replace(init_value=s.init_value * 0.5)
      return s, s(5)

    _, got = jax.lax.scan(body, s, None, length=3)
    want = [float(s.replace(init_value=0.1 * 0.5**k)(5)) for k in (1, 2, 3)]
    assert_rel(got, want, rtol=1e-6)
  # a replaced special field is traced: nothing special is known about it
  out = jax.jit(lambda k: js.cosine(0.1, 100).replace(exponent=k)(50))(2.0)
  assert_rel(out, ref.cosine(np.array(50), 0.1, 100, exponent=2.0))


def test_a_schedule_from_a_trace_gets_host_tables_when_a_batch_specialises_it():
  # built inside jit: general (nothing special is known), its SGDR tables only device stand-ins
  traced = jax.jit(lambda mult: js.cosine_restarts(0.1, 10, period_mult=mult, decay=0.9))(2.0)
  assert not _special(traced)
  batch = js.stack([traced, traced])
  host = js.stack([js.cosine_restarts(0.1, 10, period_mult=2.0, decay=0.9)] * 2)
  assert _special(batch) == _special(host) == {"period_mult": "table"}
  t = _steps(10, 30, 70, 150)
  np.testing.assert_array_equal(np.asarray(batch(t)), np.asarray(host(t)))
  grad = lambda b: np.asarray(
    jax.grad(lambda b: b(jnp.asarray([77, 301])).sum(), allow_int=True)(b).period_mult
  )
  np.testing.assert_array_equal(grad(batch), grad(host))
  assert np.all(grad(host) != 0)
