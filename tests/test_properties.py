"""Hypothesis properties: monotone decays, bounds, continuity where the formula is continuous,
join semantics, config round trips. One jitted evaluator, so new values never recompile."""

import jax
import jax.numpy as jnp
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

import jaxsched as js

evaluate = jax.jit(lambda s, t: s(t))
ULP = 3e-7  # float32 rounding slack, relative

lr = st.floats(1e-6, 10.0)
# 0, or far from float32's underflow (nonzero values below its smallest normal are refused)
frac = st.one_of(st.just(0.0), st.floats(1e-6, 1.0))
steps = st.integers(1, 2**31 - 1)
small_steps = st.integers(1, 10_000)
step_arrays = st.lists(st.integers(0, 2**31 - 1), min_size=32, max_size=32).map(
  lambda xs: jnp.asarray(sorted(xs), jnp.int32)
)

decays = st.one_of(
  st.builds(
    lambda i, g, d, stair: js.exponential(i, g, decay_steps=d, staircase=stair),
    lr,
    st.floats(0.05, 0.999999),
    small_steps,
    st.booleans(),
  ),
  st.builds(lambda i, s, g: js.step(i, s, g), lr, small_steps, st.floats(0.05, 0.99)),
  st.builds(
    lambda i, r, d: js.inverse_time(i, r, decay_steps=d),
    lr,
    st.one_of(st.just(0.0), st.floats(1e-30, 100)),
    small_steps,
  ),
  st.builds(lambda i, f, n, b: js.linear(i, i * f, n, begin=b), lr, frac, steps, small_steps),
  st.builds(
    lambda i, f, n, p: js.polynomial(i, i * f, n, power=p), lr, frac, steps, st.floats(0.1, 5.0)
  ),
  st.builds(
    lambda i, f, n, e: js.cosine(i, n, end_value=i * f, exponent=e),
    lr,
    frac,
    steps,
    st.floats(0.25, 4.0),
  ),
  st.builds(lambda i, ts: js.inverse_sqrt(i, ts), lr, st.floats(1.0, 1e6)),
)


@settings(max_examples=60, deadline=None)
@given(decays, step_arrays)
def test_decays_are_monotone_non_increasing(s, t):
  v = np.asarray(evaluate(s, t), np.float64)
  assert np.all(np.isfinite(v))
  assert np.all(np.diff(v) <= ULP * np.abs(v[:-1]))


@settings(max_examples=60, deadline=None)
@given(decays, step_arrays)
def test_values_stay_between_start_and_floor(s, t):
  v = np.asarray(evaluate(s, t), np.float64)
  first = float(evaluate(s, jnp.zeros((), jnp.int32)))
  assert np.all(v <= first * (1 + ULP))
  assert np.all(v >= 0)


continuous = st.one_of(
  st.builds(lambda i, e, n: (js.linear(i, e, n), abs(i - e) / n), lr, lr, small_steps),
  st.builds(
    lambda i, e, n: (js.cosine(i, n, end_value=e), abs(i - e) * np.pi / 2 / n), lr, lr, small_steps
  ),
  st.builds(
    lambda i, e, n: (js.polynomial(i, e, n, power=2.0), 2 * abs(i - e) / n), lr, lr, small_steps
  ),
  st.builds(
    lambda p, w, extra: (js.warmup_cosine(p, w, w + extra), p * max(1 / w, np.pi / 2 / extra)),
    lr,
    small_steps,
    small_steps,
  ),
)


@settings(max_examples=60, deadline=None)
@given(continuous, st.integers(0, 20_000))
def test_one_step_changes_by_at_most_the_slope(case, start):
  s, slope = case
  t = jnp.arange(start, start + 32, dtype=jnp.int32)
  v = np.asarray(evaluate(s, t), np.float64)
  assert np.all(np.abs(np.diff(v)) <= slope * (1 + 1e-5) + ULP * np.abs(v[1:]))


@settings(max_examples=40, deadline=None)
@given(lr, lr, small_steps, small_steps, st.integers(0, 5000))
def test_join_is_piecewise_with_shifted_steps(a, b, n, boundary, start):
  first, second = js.linear(a, b, n), js.cosine(b, n, end_value=a)
  joined = js.join([first, second], [boundary])
  t = jnp.arange(start, start + 32, dtype=jnp.int32)
  want = np.where(
    np.asarray(t) < boundary, evaluate(first, t), evaluate(second, jnp.maximum(t - boundary, 0))
  )
  np.testing.assert_array_equal(evaluate(joined, t), want)


@settings(max_examples=60, deadline=None)
@given(decays)
def test_config_round_trip_is_exact(s):
  assert js.from_config(s.to_config()) == s
