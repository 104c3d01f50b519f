"""Edges found by hostile inputs, each tested as a class: growing schedules at large steps,
zero-length phases at the top of the step range, empty milestone lists, deep JSON, ``--log``.

References are float64 NumPy written from the formulas (in log space where a factor grows), never
from jaxsched. Settings are drawn at random (seeded) across each class's parameter space.
"""

import json
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxsched as js
from tests import reference as ref

T = 2**31 - 1
F32_MAX = float(np.finfo(np.float32).max)


def _steps(extra=()):
  """Steps across the whole int32 range: dense near 0, log-spaced, the float32-integer edge, the
  top, and ``extra`` (an overflow onset, boundaries) with their neighbours."""
  pts = {0, 1, 2, 3, 2**24 - 1, 2**24, 2**24 + 1, T - 2, T - 1, T}
  pts.update(int(x) for x in np.geomspace(4, T, 160))
  pts.update(int(x) for x in np.linspace(0, T, 40))
  for b in extra:
    pts.update(x for x in (int(b) - 1, int(b), int(b) + 1) if 0 <= x <= T)
  return np.array(sorted(pts), np.int64)


def _check_growth(got, log_value, sign=1.0, cap=None):
  """``got`` against ``sign·exp(log_value)`` (float64), optionally capped by ``cap``: within 1e-6
  relative where float32 holds the value, +inf (with the sign) where it overflows, never NaN."""
  got = np.asarray(got, np.float64)
  assert not np.any(np.isnan(got)), "NaN"
  with np.errstate(over="ignore"):
    want = sign * np.exp(log_value)
  if cap is not None:
    want = np.minimum(want, cap)
  over = np.abs(want) > F32_MAX * (1 + 1e-6)
  near = (np.abs(want) >= F32_MAX * (1 - 1e-6)) & ~over  # the last float32 ulps: either way
  assert np.all(got[over] == sign * np.inf), got[over]
  fine = ~over & ~near & (np.abs(want) >= 1e-30)
  assert np.all(np.isfinite(got[fine]))
  err = np.abs(got[fine] - want[fine]) / np.abs(want[fine])
  assert err.size == 0 or err.max() <= 1e-6, (err.max(), np.flatnonzero(fine)[np.argmax(err)])
  tiny = ~over & ~near & ~fine
  assert np.all(np.abs(got[tiny]) <= 1e-29)


def _onset(log_init, log_rate):
  """The step at which ``init·rate^t`` passes float32's range (for the steps tested)."""
  return (math.log(F32_MAX) - log_init) / log_rate if log_rate > 0 else 0


RNG = np.random.default_rng(17)


def _draws(n):
  """Random growing settings: init log-uniform in [1e-8, 10], gamma in [1 + 1e-6, 30]."""
  for _ in range(n):
    init = float(10 ** RNG.uniform(-8, 1))
    gamma = float(1 + 10 ** RNG.uniform(-6, math.log10(29)))
    yield init, gamma


@pytest.mark.parametrize("staircase", [False, True])
@pytest.mark.parametrize("with_cap", [False, True])
def test_exponential_growth_is_right_or_inf(staircase, with_cap):
  for init, gamma in _draws(6):
    decay_steps = int(RNG.choice([1, 7, 1000, 2**20 + 3]))
    begin = int(RNG.choice([0, 5, 10**6]))
    cap = float(init * 10 ** RNG.uniform(0.5, 30)) if with_cap else None
    s = js.exponential(
      init, gamma, decay_steps=decay_steps, begin=begin, staircase=staircase, end_value=cap
    )
    onset = begin + _onset(math.log(init), math.log(gamma) / decay_steps)
    t = _steps([min(onset, T), begin, begin + decay_steps])
    n = np.maximum(t - begin, 0).astype(np.float64)
    p = np.floor(n / decay_steps) if staircase else n / decay_steps
    got = s(t)
    _check_growth(got, math.log(init) + p * math.log(gamma), cap=cap)
    if cap is not None:
      assert np.all(np.asarray(got) <= np.float32(cap)), "a ceiling holds at every step"


def test_exponential_examples_from_the_report():
  s = js.exponential(1e-6, 2.0, end_value=0.1)
  assert np.all(np.asarray(s(np.array([10**6, 48_000_390, 48_868_447, T]))) == np.float32(0.1))
  assert float(js.step(0.1, 1, 2.0)(T - 1)) == np.inf
  got = float(js.exponential(0.001, 1.0001, decay_steps=1000)(889_558_217))
  want = math.exp(math.log(0.001) + 889_558_217 / 1000 * math.log(1.0001))
  assert math.isfinite(got) and abs(got - want) <= 1e-6 * want  # 4.3e35: gamma^p alone overflows


def test_growth_with_negative_init_is_minus_inf_and_decay_underflows_to_zero():
  t = _steps()
  got = np.asarray(js.exponential(-0.01, 3.0)(t), np.float64)
  _check_growth(got, math.log(0.01) + t * math.log(3.0), sign=-1.0)
  down = np.asarray(js.exponential(5.0, 1e-3)(t))  # underflow: 0, never NaN
  assert np.all(np.isfinite(down)) and np.all(down >= 0)


def test_huge_init_times_tiny_power_keeps_precision():
  # init·gamma^p representable although gamma^p alone underflows float32 (and init alone is big)
  s = js.exponential(1e30, 0.5)
  t = np.arange(100, 260, 7)
  _check_growth(s(t), math.log(1e30) + t * math.log(0.5))


@pytest.mark.parametrize("route", ["eager", "jit_argument", "closed_over"])
def test_step_growth_every_route(route):
  for init, gamma in _draws(5):
    size = int(RNG.choice([1, 3, 2**24 + 1]))
    s = js.step(init, size, gamma)
    t = _steps([_onset(math.log(init), math.log(gamma) / size)])
    if route == "eager":
      got = s(t)
    elif route == "jit_argument":
      got = jax.jit(lambda s, t: s(t))(s, jnp.asarray(t, jnp.int32))
    else:
      got = jax.jit(lambda t: s(t))(jnp.asarray(t, jnp.int32))
    _check_growth(got, math.log(init) + (t // size) * math.log(gamma))


def test_multistep_growth():
  for init, gamma in _draws(5):
    milestones = sorted(int(x) for x in RNG.integers(0, T, size=int(RNG.integers(1, 40))))
    s = js.multistep(init, milestones, gamma)
    t = _steps(milestones)
    k = np.sum(np.asarray(milestones)[None, :] <= t[:, None], axis=1)
    _check_growth(s(t), math.log(init) + k * math.log(gamma))


def _restarts_log_peak(t, init, period, mult, decay):
  """(log of the cycle's peak, cosine weight of the peak, weight of the end) in float64."""
  out_i, out_w, out_wc = [], [], []
  for x in t.tolist():
    if mult == 1:
      i, start, length = x // period, (x // period) * period, period
    else:
      i, start, length = 0, 0, period
      while start + length <= x:
        i, start, length = i + 1, start + length, length * mult
    p, q = (x - start) / length, (start + length - x) / length
    w, wc = (
      (math.cos(math.pi * p / 2) ** 2, math.sin(math.pi * p / 2) ** 2)
      if p <= 0.5
      else (math.sin(math.pi * q / 2) ** 2, math.cos(math.pi * q / 2) ** 2)
    )
    out_i.append(math.log(init) + i * math.log(decay))
    out_w.append(w)
    out_wc.append(wc)
  return np.array(out_i), np.array(out_w), np.array(out_wc)


@pytest.mark.parametrize("mult", [1.0, 2.0, 1.5])
def test_cosine_restarts_growing_peaks(mult):
  for _ in range(3):
    init = float(10 ** RNG.uniform(-6, 0))
    decay = float(RNG.choice([1.5, 3.0, 100.0]))
    period = int(RNG.choice([1, 10, 1000]))
    s = js.cosine_restarts(init, period, period_mult=mult, decay=decay, end_value=1e-4)
    t = _steps()
    log_peak, w, wc = _restarts_log_peak(t, init, period, mult, decay)
    got = np.asarray(s(t), np.float64)
    assert not np.any(np.isnan(got))
    with np.errstate(over="ignore"):
      peak = np.exp(log_peak)
    over = peak > F32_MAX  # the cycle's peak itself passes float range: +inf
    assert np.all(got[over & (w > 0)] == np.inf)
    want = peak[~over] * w[~over] + 1e-4 * wc[~over]
    ok = want <= F32_MAX * (1 - 1e-6)
    # the README's bound ("Numbers you can trust"): 1e-6 relative, or near a fractional cycle end
    # (mult 1.5), whose position is known to ~2^-46 of itself, 2^-24 of the larger endpoint absolute
    err = np.abs(got[~over][ok] - want[ok])
    bound = 1e-6 * np.abs(want[ok])
    if mult != int(mult):
      bound = np.maximum(bound, 2.0**-24 * np.maximum(peak[~over][ok], 1e-4))
    assert np.all(err <= bound), (err / bound).max()


def test_products_and_warmups_of_growing_schedules():
  t = _steps([10, 1000])
  grow = js.exponential(1e-3, 2.0)
  log_grow = math.log(1e-3) + t * math.log(2.0)
  # a factor that reaches exactly 0 makes the product 0, not inf·0 = NaN
  prod = np.asarray((grow * js.linear(1.0, 0.0, 1000))(t), np.float64)
  assert not np.any(np.isnan(prod))
  assert np.all(prod[t >= 1000] == 0)
  early = t < 1000
  _check_growth(prod[early], log_grow[early] + np.log((1000 - t[early]) / 1000))
  assert np.all(np.asarray((grow * 0.0)(t)) == 0)
  _check_growth((grow * 4.0)(t), log_grow + math.log(4.0))
  _check_growth(js.product(grow, js.constant(3.0))(t), log_grow + math.log(3.0))
  # a warmup of a growing schedule: the prefix, then the growth from W on
  warm = np.asarray(js.warmup(grow, 10)(t), np.float64)
  assert not np.any(np.isnan(warm))
  late = t >= 10
  _check_growth(warm[late], math.log(1e-3) + (t[late] - 10) * math.log(2.0))
  _check_growth(
    js.warmup(grow, 10, init_value=1e-5, shape="exponential")(t[late]),
    math.log(1e-3) + (t[late] - 10) * math.log(2.0),
  )


# --- zero-length phases at the very top of the step range ------------------------------------------

TOP = [T - 2, T - 1, T]
TOP_INPUTS = [
  T,
  2**40,
  np.int64(2**62),
  np.uint32(2**32 - 1),
  np.array([T - 1, T]),
  jnp.asarray([T, T - 1], jnp.int32),
]

ZERO_PHASES = [
  ("linear", js.linear(0.1, 0.01, 0), 0.01),
  ("linear_begin_near_top", js.linear(0.1, 0.01, 0, begin=T - 2), 0.01),
  ("polynomial", js.polynomial(0.1, 0.01, 0), 0.01),
  ("polynomial_power3", js.polynomial(0.1, 0.01, 0, power=3.0), 0.01),
  ("polynomial_power_half", js.polynomial(0.1, 0.01, 0, power=0.5), 0.01),
  ("cosine", js.cosine(0.1, 0, end_value=0.01), 0.01),
  ("cosine_exponent", js.cosine(0.1, 0, end_value=0.01, exponent=3.0), 0.01),
  ("cosine_begin", js.cosine(0.1, 0, end_value=0.01, begin=1000), 0.01),
  ("warmup_cosine", js.warmup_cosine(0.1, 0, 0, init_value=0.3, end_value=0.01), 0.01),
  ("warmup_cosine_w_eq_t", js.warmup_cosine(0.1, 50, 50, end_value=0.01), 0.01),
  ("warmup_cosine_exponent", js.warmup_cosine(0.1, 0, 0, end_value=0.01, exponent=2.5), 0.01),
  ("wsd", js.wsd(0.1, 0, 0, 0, end_value=0.01), 0.01),
  *[
    (f"wsd_{a}_{d}", js.wsd(0.1, 0, 5, 0, end_value=0.01, warmup_shape=a, decay_shape=d), 0.01)
    for a in ("linear", "cosine", "sqrt")
    for d in ("linear", "cosine", "sqrt")
  ],
  ("warmup_composite", js.warmup(js.linear(0.1, 0.01, 0), 0), 0.01),
  ("join_of_jumps", js.join([js.constant(0.5), js.cosine(0.1, 0, end_value=0.01)], [100]), 0.01),
  ("shift", js.shift(js.linear(0.1, 0.01, 0), 10), 0.01),
  ("inverse_sqrt_no_warmup", js.inverse_sqrt(0.1, 1.0), 0.1 / math.sqrt(T + 1.0)),
]


@pytest.mark.parametrize("name,s,end", ZERO_PHASES, ids=[c[0] for c in ZERO_PHASES])
def test_zero_length_phase_is_skipped_at_the_top(name, s, end):
  for step in TOP_INPUTS:
    got = np.asarray(s(step), np.float64)
    np.testing.assert_allclose(got, np.full(got.shape, end), rtol=1e-6, err_msg=repr(step))
  got = jax.jit(lambda s, t: s(t))(s, jnp.asarray(TOP, jnp.int32))
  np.testing.assert_allclose(np.asarray(got, np.float64), end, rtol=1e-6)
  got = np.asarray(js.evaluate(js.stack([s, s]), np.array(TOP)))
  np.testing.assert_allclose(got, end, rtol=1e-6)


def test_zero_length_phases_against_float64_at_every_step_class():
  rng = np.random.default_rng(2)
  t = _steps()
  for _ in range(20):
    init, end = rng.uniform(-1, 1, size=2)
    begin = int(rng.choice([0, 1, 2**24, T - 1, T]))
    for factory in (js.linear, js.cosine):
      if factory is js.linear:
        got, want = js.linear(init, end, 0, begin=begin)(t), ref.linear(t, init, end, 0, begin)
      else:
        got = js.cosine(init, 0, end_value=end, begin=begin)(t)
        want = ref.cosine(t, init, 0, end_value=end, begin=begin)
      np.testing.assert_allclose(np.asarray(got, np.float64), want, rtol=1e-6)
    got = js.polynomial(init, end, 0, float(rng.uniform(0.1, 5)), begin=begin)(t)
    np.testing.assert_allclose(
      np.asarray(got, np.float64), ref.linear(t, init, end, 0, begin), rtol=1e-6
    )


# --- multistep with no milestones: the constant it means -------------------------------------------


def test_multistep_without_milestones_is_a_constant():
  s = js.multistep(0.1, [], 0.5)
  t = np.array([0, 3, 2**24 + 1, T])
  assert np.all(np.asarray(s(t)) == np.float32(0.1))
  assert float(s(3)) == np.float32(0.1)
  assert float(jax.jit(lambda s, t: s(t))(s, 7)) == np.float32(0.1)
  assert float(s(jnp.float32(2.5))) == np.float32(0.1)
  batch = js.stack([s, js.multistep(0.2, [], 0.5)])
  np.testing.assert_array_equal(
    np.asarray(js.evaluate(batch, t)), np.array([[0.1] * 4, [0.2] * 4], np.float32)
  )
  mixed = js.stack([s, js.multistep(0.1, [2], 0.5), js.cosine(0.1, 10)])
  np.testing.assert_allclose(
    np.asarray(js.evaluate(mixed, np.arange(4)))[:2], [[0.1] * 4, [0.1, 0.1, 0.05, 0.05]], rtol=1e-6
  )
  grads = jax.grad(lambda s: s(5), allow_int=True)(s)
  assert float(grads.init_value) == 1.0 and float(grads.gamma) == 0.0
  assert js.from_config(s.to_config()) == s and js.parse(repr(s)) == s


# --- deep JSON: a ValueError, never a RecursionError -----------------------------------------------


def _deep_dict(depth):
  return (
    '{"family": "scaled", "factor": 1.0, "schedule": ' * depth
    + '{"family": "constant", "value": 0.1}'
    + "}" * depth
  )


@pytest.mark.parametrize(
  "text",
  [
    _deep_dict(65),
    _deep_dict(3_000),
    _deep_dict(100_000),
    '{"family": "piecewise", "boundaries": ' + "[" * 50_000 + "]" * 50_000 + ', "values": [1]}',
    '{"family": "product", "schedules": [' + "[" * 20_000 + "]" * 20_000 + "]}",
  ],
  ids=["65", "3000", "100000", "lists", "children"],
)
def test_deep_json_is_a_value_error(text):
  with pytest.raises(ValueError, match="nested|deep"):
    js.parse(text)


def test_json_at_the_depth_limit_still_parses():
  s = js.parse(_deep_dict(63))
  assert float(s(0)) == np.float32(0.1)


# --- plot --log on non-positive values: one line of our own ----------------------------------------


def test_plot_log_says_what_it_leaves_out(tmp_path, capsys):
  pytest.importorskip("matplotlib")
  import warnings

  from jaxsched import cli

  for spec, hidden in (("linear(0.1, -0.1, 100)", 950), ("linear(-0.1, -0.2, 100)", 1000)):
    out = tmp_path / "p.png"
    with warnings.catch_warnings():
      warnings.simplefilter("error")  # matplotlib's own two-line warning would fail here
      assert cli.main(["plot", spec, "--log", "-o", str(out)]) == 0
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
      f"note: --log shows positive values only; {hidden} of 1000 values are <= 0 and are left out"
    ]
    assert out.read_bytes().startswith(b"\x89PNG")
  assert cli.main(["plot", "cosine(0.1, 100, end_value=0.01)", "--log", "-o", str(out)]) == 0
  assert capsys.readouterr().err == ""


def test_float_steps_saturate_where_documented():
  # float32 cannot hold 2^31 − 1: a float step saturates at 2147483520, the largest float32 below
  # it (README, Limits and guarantees); an integer step reaches the very top
  s = js.piecewise([T], [0.1, 0.2])
  assert float(s(float("inf"))) == np.float32(0.1)
  assert float(s(np.float32(2147483520))) == np.float32(0.1)
  assert float(s(T)) == np.float32(0.2)
  assert float(js.piecewise([2147483520], [0.1, 0.2])(float("inf"))) == np.float32(0.2)


def test_config_json_round_trip_of_the_edges():
  for s in (
    js.multistep(0.1, [], 2.0),
    js.exponential(1e-6, 2.0, end_value=0.1),
    js.cosine(0.1, 0, end_value=0.01),
  ):
    assert js.from_config(json.loads(json.dumps(s.to_config()))) == s
