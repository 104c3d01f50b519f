"""Every route in: eager, jit (closed over and as an argument), vmap, grad, lax.scan, x64 on/off."""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxsched as js
from tests.cases import CASES, reference_values
from tests.reference import assert_rel

T_SMALL = np.array([0, 1, 5, 9, 10, 11, 29, 30, 31, 99, 100, 101, 2**24 + 1, 2**31 - 1])


def _stack(schedules):
  return jax.tree.map(lambda *x: jnp.stack(x), *schedules)


@pytest.mark.parametrize("case", CASES[::2], ids=[c["name"] for c in CASES[::2]])
def test_jit_closed_over_and_as_argument(case):
  s = case["factory"](**case["kwargs"])
  want = reference_values(case, T_SMALL)
  t = jnp.asarray(T_SMALL, jnp.int32)
  assert_rel(jax.jit(lambda t: s(t))(t), want)
  assert_rel(jax.jit(lambda s, t: s(t))(s, t), want)


def test_new_values_do_not_recompile():
  chex.clear_trace_counter()

  @jax.jit
  @chex.assert_max_traces(n=2)  # one per structure, never per value
  def f(s, t):
    return s(t)

  t = jnp.arange(10)
  for init, gamma, begin in [(0.1, 0.9, 0), (0.5, 0.99, 3), (1e-4, 0.5, 2**30)]:
    f(js.exponential(init, gamma, decay_steps=3, begin=begin, staircase=True), t)
  for w, total in [(10, 100), (0, 5), (3, 2**31 - 1)]:
    f(js.warmup_cosine(0.1, w, total, end_value=1e-5), t)


def test_bf16_and_fp16_parameters_keep_float32_precision():
  s = js.exponential(jnp.bfloat16(0.5), jnp.float16(0.5))
  assert s.dtype == jnp.float32 and s(3).dtype == jnp.float32
  assert float(s(3)) == 0.0625


@pytest.mark.parametrize("case", CASES[1::3], ids=[c["name"] for c in CASES[1::3]])
def test_vmap_over_a_stack_equals_a_loop(case):
  scales = [1.0, 0.5, 0.25]
  kw = case["kwargs"]
  schedules = [
    case["factory"](**{k: (v * c if isinstance(v, float) else v) for k, v in kw.items()})
    for c in scales
  ]
  batch = _stack(schedules)
  t = jnp.asarray(T_SMALL, jnp.int32)
  vmapped = jax.jit(jax.vmap(lambda s: s(t)))(batch)
  loop = np.stack([np.asarray(jax.jit(lambda s: s(t))(s)) for s in schedules])
  assert_rel(vmapped, loop, rtol=2e-7)  # fusion may differ by an ulp, never more
  assert batch.batch_shape == (3,)
  assert_rel(batch(t), loop, rtol=2e-7)  # a batch called directly


def _fd(f, x, h):
  return (f(x + h) - f(x - h)) / (2 * h)


@pytest.mark.parametrize(
  "name,build,t",
  [
    ("exponential", lambda v: js.exponential(v, 0.999, decay_steps=3), 1000),
    ("cosine", lambda v: js.cosine(0.1, 1000, end_value=v, exponent=1.5), 700),
    ("polynomial", lambda v: js.polynomial(0.1, 1e-3, 100, power=v), 60),
    ("join", lambda v: js.join([js.linear(0.0, v, 10), js.cosine(v, 100)], [10]), 50),
    ("join_warm", lambda v: js.join([js.linear(0.0, v, 10), js.cosine(v, 100)], [10]), 5),
    ("warmup_linear", lambda v: js.warmup(js.exponential(v, 0.99), 20), 7),
    (
      "warmup_exp",
      lambda v: js.warmup(js.exponential(v, 0.99), 20, init_value=1e-4, shape="exponential"),
      7,
    ),
    (
      "warmup_after",
      lambda v: js.warmup(js.polynomial(v, 0.0, 50, power=2.0), 20, shape="cosine"),
      40,
    ),
  ],
)
def test_grad_matches_finite_differences(name, build, t):
  with jax.enable_x64(True):
    f = lambda v: build(v)(t)
    v0 = 0.3 if name != "polynomial" else 1.7
    g = jax.grad(f)(jnp.float64(v0))
    assert np.isfinite(g)
    np.testing.assert_allclose(g, _fd(f, v0, 1e-6), rtol=1e-5)
  g32 = jax.jit(jax.grad(lambda v: build(v)(t)))(jnp.float32(v0))
  assert np.isfinite(g32)
  np.testing.assert_allclose(g32, g, rtol=1e-3)


def test_grad_through_a_schedule_pytree_with_int_leaves():
  s = js.join([js.linear(0.0, 0.1, 10), js.cosine(0.1, 100, end_value=1e-3)], [10])
  t = jnp.arange(0, 120)
  g = jax.grad(lambda s: s(t).sum(), allow_int=True)(s)
  d_peak = g.schedules[1].init_value
  # d/d(peak) of Σ cosine part = Σ w(t) over t ≥ 10, which is between 0 and 110
  assert 0 < float(d_peak) < 110
  assert all(np.all(np.isfinite(l)) for l in jax.tree.leaves(g) if l.dtype != jax.dtypes.float0)


def test_inactive_join_pieces_put_no_nan_into_gradients():
  # piece 0 would be differentiated at steps far past its end; piece 1 before its start
  s = js.join([js.polynomial(0.1, 0.0, 5, power=0.5), js.polynomial(0.1, 0.0, 5, power=0.5)], [5])
  g = jax.grad(lambda s: s(jnp.arange(0, 20)).sum(), allow_int=True)(s)
  assert all(np.all(np.isfinite(l)) for l in jax.tree.leaves(g) if l.dtype != jax.dtypes.float0)


def test_traced_boundaries_in_join():
  f = jax.jit(
    lambda b: js.join([js.constant(1.0), js.constant(2.0)], jnp.stack([b]))(jnp.arange(6))
  )
  np.testing.assert_array_equal(f(jnp.int32(3)), [1, 1, 1, 2, 2, 2])
  np.testing.assert_array_equal(f(jnp.int32(1)), [1, 2, 2, 2, 2, 2])


def test_lax_scan():
  s = js.warmup_cosine(0.1, 10, 100)

  def body(carry, t):
    return carry + s(t), s(t)

  total, lrs = jax.lax.scan(body, 0.0, jnp.arange(100))
  np.testing.assert_allclose(lrs, s(jnp.arange(100)), rtol=1e-7)


@pytest.mark.parametrize("case", CASES[::4], ids=[c["name"] for c in CASES[::4]])
def test_x64_gives_float64_results(case):
  with jax.enable_x64(True):
    s = case["factory"](**case["kwargs"])
    t = np.array([0, 1, 7, 10, 11, 100, 2**24 + 1, 2**31 - 1], np.int64)
    got = jax.jit(lambda s, t: s(t))(s, t)
    assert got.dtype == jnp.float64
    assert_rel(got, reference_values(case, t), rtol=1e-11)


CLOSURE_CASES = [
  (lambda: js.linear(0.1, 1e-5, 2**24 + 1), [2**24 - 7, 2**24, 2**24 + 1]),
  (lambda: js.cosine(1.0, 2**31 - 1), [2**31 - 9, 2**31 - 2]),
  (lambda: js.inverse_time(0.1, 0.999999, decay_steps=3), [2**24 + 2, 30_000_000]),
  (lambda: js.exponential(1.0, 0.999999, decay_steps=3, staircase=True), [2**24 + 2, 30_000_000]),
  (lambda: js.cosine_restarts(0.1, 1000, period_mult=1.1), [2099, 2100, 2101]),
]


@pytest.mark.parametrize("build,steps", CLOSURE_CASES)
def test_closed_over_constants_keep_full_precision(build, steps):
  """Closed over by a jitted step (XLA constants) or passed as an argument (traced), a schedule must
  give the same values to float32 rounding at its most precision-hungry steps. (test_df.py pins the
  simplifier hazard this guards against.)"""
  s = build()
  t = jnp.asarray(steps, jnp.int32)
  closed = np.asarray(jax.jit(lambda t: s(t))(t), np.float64)
  passed = np.asarray(jax.jit(lambda s, t: s(t))(s, t), np.float64)
  assert_rel(closed, passed, rtol=2.5e-7)
