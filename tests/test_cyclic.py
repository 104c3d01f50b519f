"""cosine_restarts, one_cycle, cyclic and wsd against independent float64 (or exact) closed forms.

The references below are written from the README's formulas ("Families") and the peers' definitions,
never from jaxsched.
Every step array is padded to one length and every schedule is a jit *argument*, so each family
structure compiles once for values, once for vmap and once for grad.
"""

import json
import math
from fractions import Fraction

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import jaxsched as js
from tests.reference import assert_rel

T_MAX = 2**31 - 1
LARGE = [2**24 - 1, 2**24, 2**24 + 1, 2**24 + 2, 2**31 - 2, T_MAX]
N = 512
evaluate = jax.jit(lambda s, t: s(t))
vmapped = jax.jit(jax.vmap(lambda s, t: s(t), in_axes=(0, None)))
grad_of_sum = jax.jit(jax.grad(lambda s, t: s(t).sum(), allow_int=True))


def values(s, steps):
  """``s(steps)`` through the shared jitted ``evaluate``, N steps at a time."""
  steps = np.asarray(steps, np.int64)
  out = []
  for i in range(0, len(steps), N):
    chunk = np.zeros(N, np.int32)
    chunk[: len(steps[i : i + N])] = steps[i : i + N]
    out.append(np.asarray(evaluate(s, chunk))[: len(steps[i : i + N])])
  return np.concatenate(out)


# --- float64 / exact references ------------------------------------------------------------------


def _cos_pair(done, left):
  """(½(1 + cos πp), ½(1 − cos πp)) from p and 1 − p given separately (no cancellation)."""
  if done <= 0.5:
    return math.cos(math.pi * done / 2) ** 2, math.sin(math.pi * done / 2) ** 2
  return math.sin(math.pi * left / 2) ** 2, math.cos(math.pi * left / 2) ** 2


def restart_starts(period, period_mult, limit=T_MAX):
  """Exact cycle starts S_0 = 0, S_{i+1} = S_i + period·multⁱ (Fractions) up to ``limit``."""
  starts, start, length = [], Fraction(0), Fraction(period)
  while start <= limit:
    starts.append(start)
    start, length = start + length, length * Fraction(period_mult)
  return starts, start


def ref_restarts(t, init_value, period, period_mult=1.0, decay=1.0, end_value=0.0, max_cycles=None):
  out = []
  mult = Fraction(period_mult)
  for x in np.asarray(t, np.int64).tolist():
    if mult == 1:
      i = x // period
      start, length = Fraction(i * period), Fraction(period)
    else:
      i, start, length = 0, Fraction(0), Fraction(period)
      while start + length <= x:
        i, start, length = i + 1, start + length, length * mult
    if max_cycles is not None and i >= max_cycles:
      out.append(end_value)
      continue
    w, wc = _cos_pair(float((x - start) / length), float((start + length - x) / length))
    out.append(init_value * decay**i * w + end_value * wc)
  return np.array(out)


def ref_one_cycle(
  t,
  max_value,
  total_steps,
  pct_start=0.3,
  div_factor=25.0,
  final_div_factor=1e4,
  anneal="cos",
  three_phase=False,
):
  """torch OneCycleLR's phases, with a phase of length <= 0 skipped, held after T − 1."""
  initial = max_value / div_factor
  low = initial / final_div_factor
  if three_phase:
    ends = [pct_start * total_steps - 1, 2 * pct_start * total_steps - 2, total_steps - 1]
    levels = [initial, max_value, initial, low]
  else:
    ends, levels = [pct_start * total_steps - 1, total_steps - 1], [initial, max_value, low]
  out = []
  for x in np.asarray(t, np.int64).tolist():
    x = min(x, total_steps - 1)
    start = 0.0
    for k, end in enumerate(ends):
      if (x <= end and end > start) or k == len(ends) - 1:
        if end > start:
          done, left = (x - start) / (end - start), (end - x) / (end - start)
        else:
          done, left = 1.0, 0.0
        a, b = levels[k], levels[k + 1]
        if anneal == "cos":
          w, wc = _cos_pair(done, left)
          out.append(a * w + b * wc)
        else:
          out.append(a * left + b * done)
        break
      start = end
  return np.array(out)


def ref_cyclic(
  t, base_value, max_value, step_size_up, step_size_down=None, mode="triangular", gamma=1.0
):
  up = step_size_up
  down = up if step_size_down is None else step_size_down
  out = []
  for x in np.asarray(t, np.int64).tolist():
    n, cycle = x % (up + down), x // (up + down) + 1
    height = n / up if n <= up else (up + down - n) / down
    scale = {"triangular": 1.0, "triangular2": 0.5 ** (cycle - 1), "exp_range": gamma**x}[mode]
    out.append(base_value + (max_value - base_value) * height * scale)
  return np.array(out)


def _rise(shape, p, q):
  if shape == "linear":
    return q, p
  if shape == "cosine":
    return _cos_pair(p, q)
  return math.sqrt(q), p / (1 + math.sqrt(q))  # w = 1 − √(1 − p)


def _fall(shape, p, q):
  if shape == "sqrt":
    return q / (1 + math.sqrt(p)), math.sqrt(p)  # f = 1 − √p
  return _rise(shape, p, q)


def ref_wsd(
  t,
  peak_value,
  warmup_steps,
  stable_steps,
  decay_steps,
  init_value=0.0,
  end_value=0.0,
  warmup_shape="linear",
  decay_shape="linear",
):
  w, s, d = warmup_steps, stable_steps, decay_steps
  out = []
  for x in np.asarray(t, np.int64).tolist():
    if x < w:
      a, b = _rise(warmup_shape, x / w, (w - x) / w)
      out.append(init_value * a + peak_value * b)
    elif x - w < s:
      out.append(peak_value)
    else:
      k = min(x - w - s, d)
      p, q = (k / d, (d - k) / d) if d else (1.0, 0.0)
      a, b = _fall(decay_shape, p, q)
      out.append(peak_value * a + end_value * b)
  return np.array(out)


# --- the cases: dense steps over >= 3 cycles, every boundary ±1, and the large steps -----------


def _around(points):
  out = set()
  for b in points:
    b = math.floor(b)
    out.update(x for x in (b - 1, b, b + 1, b + 2) if 0 <= x <= T_MAX)
  return out


def _restart_case(kwargs, dense):
  starts, _ = restart_starts(
    kwargs["period"],
    kwargs.get("period_mult", 1.0),
    limit=T_MAX if kwargs.get("period_mult", 1.0) != 1 else 10**4,
  )
  return (
    "cosine_restarts",
    js.cosine_restarts,
    kwargs,
    ref_restarts,
    set(range(dense)) | _around(starts),
  )


def _one_cycle_case(kwargs, dense):
  total, pct = kwargs["total_steps"], kwargs.get("pct_start", 0.3)
  ends = [pct * total - 1, 2 * pct * total - 2, total - 1, total]
  return ("one_cycle", js.one_cycle, kwargs, ref_one_cycle, set(range(dense)) | _around(ends))


def _cyclic_case(kwargs, dense):
  up = kwargs["step_size_up"]
  down = kwargs.get("step_size_down") or up
  points = [k * (up + down) + off for k in range(4) for off in (0, up)]
  points += [T_MAX // (up + down) * (up + down), T_MAX // (up + down) * (up + down) + up]
  return ("cyclic", js.cyclic, kwargs, ref_cyclic, set(range(dense)) | _around(points))


def _wsd_case(kwargs, dense):
  w, s, d = kwargs["warmup_steps"], kwargs["stable_steps"], kwargs["decay_steps"]
  return ("wsd", js.wsd, kwargs, ref_wsd, set(range(dense)) | _around([w, w + s, w + s + d]))


CASES = [
  _restart_case(dict(init_value=0.1, period=10, end_value=1e-4), 60),  # torch T_mult=1
  _restart_case(dict(init_value=0.1, period=7, period_mult=2.0, decay=0.5, end_value=1e-5), 250),
  _restart_case(dict(init_value=1.0, period=1, period_mult=2.0), 40),  # S_31 = 2^31 − 1
  _restart_case(dict(init_value=0.1, period=3, period_mult=2.0, end_value=1e-6), 30),
  _restart_case(dict(init_value=0.1, period=3, period_mult=3.0, max_cycles=4, end_value=1e-3), 150),
  _restart_case(dict(init_value=0.1, period=4, period_mult=1.5, decay=0.9, end_value=1e-6), 400),
  _restart_case(dict(init_value=0.1, period=5, period_mult=1.25, end_value=1e-7), 120),
  _restart_case(dict(init_value=0.1, period=2**24 + 1, end_value=1e-5), 10),
  _one_cycle_case(dict(max_value=0.1, total_steps=100), 110),
  _one_cycle_case(dict(max_value=0.1, total_steps=100, anneal="linear", three_phase=True), 110),
  _one_cycle_case(
    dict(
      max_value=0.1,
      total_steps=1000,
      pct_start=0.25,
      div_factor=10.0,
      final_div_factor=100.0,
      three_phase=True,
    ),
    60,
  ),
  _one_cycle_case(dict(max_value=0.1, total_steps=10, pct_start=0.1), 12),  # torch: 0/0 at t=0
  _one_cycle_case(dict(max_value=0.1, total_steps=7, pct_start=0.9, three_phase=True), 9),
  _one_cycle_case(dict(max_value=0.1, total_steps=T_MAX, pct_start=0.3), 10),
  _one_cycle_case(dict(max_value=0.1, total_steps=2**24 + 3, three_phase=True), 10),
  _cyclic_case(dict(base_value=0.01, max_value=0.1, step_size_up=5), 40),
  _cyclic_case(
    dict(base_value=0.01, max_value=0.1, step_size_up=4, step_size_down=7, mode="triangular2"), 60
  ),
  _cyclic_case(
    dict(
      base_value=0.01, max_value=0.1, step_size_up=3, step_size_down=2, mode="exp_range", gamma=0.99
    ),
    40,
  ),
  _cyclic_case(dict(base_value=0.1, max_value=0.01, step_size_up=3), 20),  # max < base
  _cyclic_case(dict(base_value=1e-3, max_value=1e-2, step_size_up=1, step_size_down=0), 8),
  _cyclic_case(dict(base_value=1e-3, max_value=1e-2, step_size_up=2**24 + 1), 5),
  _cyclic_case(
    dict(
      base_value=1e-3,
      max_value=1e-2,
      step_size_up=1000,
      step_size_down=3000,
      mode="exp_range",
      gamma=0.9999999,
    ),
    5,
  ),
  _cyclic_case(dict(base_value=1e-3, max_value=0.1, step_size_up=2**20, mode="triangular2"), 5),
  _wsd_case(
    dict(
      peak_value=0.1,
      warmup_steps=10,
      stable_steps=20,
      decay_steps=30,
      init_value=1e-3,
      end_value=1e-5,
    ),
    70,
  ),
  _wsd_case(
    dict(
      peak_value=0.1,
      warmup_steps=10,
      stable_steps=20,
      decay_steps=30,
      init_value=1e-3,
      end_value=1e-5,
      warmup_shape="cosine",
      decay_shape="cosine",
    ),
    70,
  ),
  _wsd_case(
    dict(
      peak_value=0.1,
      warmup_steps=10,
      stable_steps=20,
      decay_steps=30,
      end_value=1e-5,
      warmup_shape="sqrt",
      decay_shape="sqrt",
    ),
    70,
  ),
  _wsd_case(
    dict(
      peak_value=3e-4,
      warmup_steps=2**24 + 1,
      stable_steps=2**24,
      decay_steps=2**30,
      init_value=3e-6,
      end_value=3e-6,
      decay_shape="cosine",
    ),
    5,
  ),
]


@pytest.mark.parametrize(
  "name,factory,kwargs,reference,steps", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)]
)
def test_float32_within_1e6_of_float64(name, factory, kwargs, reference, steps):
  t = np.array(sorted(steps | set(LARGE)), np.int64)
  assert_rel(values(factory(**kwargs), t), reference(t, **kwargs), rtol=1e-6)


def test_restart_starts_are_exact_integers_up_to_2_31():
  # period 1, mult 2: cycle i starts at 2^i − 1; cycle 31 at 2^31 − 1, the last int32 step.
  s = js.cosine_restarts(1.0, 1, period_mult=2.0, decay=0.5)
  starts = [2**i - 1 for i in range(1, 32)]
  got = values(s, starts)
  np.testing.assert_array_equal(got, 0.5 ** np.arange(1, 32))  # each a fresh peak, exactly
  before = [x - 1 for x in starts[1:]]  # the last step of the cycle before
  assert_rel(values(s, before), ref_restarts(before, 1.0, 1, 2.0, decay=0.5))
  assert np.all(values(s, before[-5:]) < 1e-15)
  # period 3: cycle 29 starts at 3·(2^29 − 1) = 1610612733.
  s = js.cosine_restarts(1.0, 3, period_mult=2.0)
  v = values(s, [1610612732, 1610612733])
  assert v[0] < 1e-15 and v[1] == 1.0


def test_fractional_period_mult_snaps_integer_starts():
  # 1.1 is not a double-exact 11/10, but the start 1000·(1 + 1.1) = 2100 is meant: restart there.
  s = js.cosine_restarts(0.1, 1000, period_mult=1.1, decay=0.5)
  v = values(s, [2099, 2100, 3309, 3310])
  assert v[0] < 2e-7 and v[1] == np.float32(0.025) and v[2] < 2e-7
  assert_rel(v[3], 0.1 * 0.5**3)


def test_peer_boundaries():
  # one_cycle holds its T − 1 value for every later step (torch raises past T).
  s = js.one_cycle(0.1, 100, three_phase=True)
  v = values(s, [99, 100, 101, 10**6, T_MAX])
  assert np.all(v == v[0]) and np.isclose(v[0], 0.1 / 25 / 1e4, rtol=1e-6)
  # pct_start·T == 1: torch divides 0 by 0 at t = 0; the empty warmup is skipped -> max_value.
  assert values(js.one_cycle(0.1, 10, pct_start=0.1), [0])[0] == np.float32(0.1)
  # T = 1: torch's only step is the end of the last phase.
  assert_rel(values(js.one_cycle(0.1, 1), [0, 5]), [0.1 / 25 / 1e4] * 2)
  # cyclic: step_size_down=None is step_size_up, and stays None in the config.
  a, b = js.cyclic(0.01, 0.1, 6), js.cyclic(0.01, 0.1, 6, step_size_down=6)
  np.testing.assert_array_equal(values(a, range(40)), values(b, range(40)))
  assert a.to_config()["step_size_down"] is None
  # triangular2 halves the amplitude every cycle: peaks at 5, 15, 25.
  assert_rel(values(js.cyclic(0.0, 1.0, 5, mode="triangular2"), [5, 15, 25]), [1.0, 0.5, 0.25])
  # cosine_restarts: max_cycles cycles, then end_value for good.
  s = js.cosine_restarts(0.1, 10, max_cycles=2, end_value=1e-4)
  assert_rel(
    values(s, [19, 20, 10**9]), [ref_restarts([19], 0.1, 10, end_value=1e-4)[0]] + [1e-4] * 2
  )


def test_hf_wsd_mapping():
  # HF get_wsd_schedule(W, D, num_stable_steps=S, min_lr_ratio=m, decay_type="linear")
  base, m, w, s, d = 0.1, 0.05, 8, 12, 20
  sched = js.wsd(base, w, s, d, init_value=m * base, end_value=m * base)

  def hf(x):
    if x < w:
      return base * ((x / w) * (1 - m) + m)
    if x < w + s:
      return base
    if x < w + s + d:
      return base * ((1 - (x - w - s) / d) * (1 - m) + m)
    return base * m

  t = np.arange(50)
  assert_rel(values(sched, t), [hf(x) for x in t])


def test_optax_onecycle_is_the_documented_warmup_cosine():
  # OneCycle's docstring: optax's curve = warmup(cosine(...), B, shape="cosine"), B = int(pct·T).
  T, peak, pct, div, fdiv = 100, 0.1, 0.3, 25.0, 1e4
  b = int(pct * T)
  ours = js.warmup(
    js.cosine(peak, T - b, end_value=peak / (div * fdiv)), b, init_value=peak / div, shape="cosine"
  )
  t = np.arange(0, 120)
  theirs = np.asarray(jax.jit(jax.vmap(optax.cosine_onecycle_schedule(T, peak, pct, div, fdiv)))(t))
  assert_rel(values(ours, t), theirs, rtol=1e-4)  # optax computes in float32
  assert not np.allclose(values(js.one_cycle(peak, T), t[:T]), theirs[:T], rtol=1e-3)


# --- degenerate settings, traced hyperparameters, vmap, grad --------------------------------------
# One fixed step array for every vmap/grad call below, and groups of same-structure schedules, so
# that each family compiles once per transformation.

T_FIXED = np.array(
  [
    0,
    1,
    2,
    3,
    4,
    5,
    6,
    7,
    9,
    10,
    11,
    12,
    13,
    14,
    19,
    20,
    21,
    29,
    30,
    31,
    47,
    63,
    99,
    100,
    101,
    1000,
    2**20 + 1,
  ]
  + LARGE[:4]
  + [T_MAX],
  np.int32,
)


def _stack(schedules):
  # js.stack, not a raw tree.map: settings that differ in a specialisation (period_mult 1 vs 2)
  # differ in structure, and stack is the documented way to batch them (the fields' special values)
  return js.stack(schedules)


DEGENERATE = {  # zero-length phases, step sizes of 1, pct_start at its limits
  "wsd": [
    js.wsd(0.1, w, s, d, init_value=1.0, end_value=0.01, decay_shape="cosine")
    for w, s, d in [(0, 0, 0), (0, 5, 0), (5, 0, 0), (0, 0, 5), (3, 0, 4)]
  ],
  "one_cycle": [
    js.one_cycle(0.1, t, pct_start=p) for t, p in [(1, 1e-9), (10, 0.1), (2, 0.999999), (3, 1e-9)]
  ],
  "one_cycle3": [
    js.one_cycle(0.1, t, pct_start=p, three_phase=True)
    for t, p in [(3, 1e-9), (3, 0.999), (1, 0.5)]
  ],
  "cyclic": [js.cyclic(0.01, 0.1, 1, step_size_down=d, mode="exp_range") for d in (1, 0)],
  "cosine_restarts": [
    js.cosine_restarts(0.1, 1, period_mult=m, decay=d) for m, d in [(1.0, 1.0), (65536.0, 1e-3)]
  ],
}


@pytest.mark.parametrize("group", list(DEGENERATE))
def test_degenerate_settings_stay_finite(group):
  schedules = DEGENERATE[group]
  traced = np.asarray(vmapped(_stack(schedules), T_FIXED))  # hyperparameters traced (vmapped)
  assert np.all(np.isfinite(traced))
  assert_rel(traced[0], np.asarray(schedules[0](T_FIXED)), rtol=1e-6)  # eager
  for s in schedules:
    assert_rel(values(s, T_FIXED), traced[schedules.index(s)], rtol=2e-7)  # jit argument
  grads = grad_of_sum(schedules[-1], T_FIXED)
  assert all(
    np.all(np.isfinite(g)) for g in jax.tree.leaves(grads) if jnp.issubdtype(g.dtype, jnp.floating)
  )


def test_zero_length_wsd_phases_are_skipped():
  w = DEGENERATE["wsd"]
  assert_rel(values(w[0], [0, 1, 100]), [0.01] * 3)  # W = S = D = 0: end from the start
  assert_rel(values(w[1], [0, 4, 5]), [0.1, 0.1, 0.01])  # W = 0: peak at t = 0
  assert_rel(values(w[2], [0, 5, 6]), [1.0, 0.01, 0.01])  # S = D = 0
  assert_rel(values(w[3], [0, 5]), [0.1, 0.01])  # W = S = 0


BATCHES = [
  [
    js.cosine_restarts(0.1, 10, period_mult=m, decay=d, end_value=e)
    for m, d, e in [(1.0, 1.0, 0.0), (2.0, 0.5, 1e-4), (1.5, 0.9, 1e-6)]
  ],
  [
    js.one_cycle(0.1 * c, total, pct_start=p)
    for c, total, p in [(1.0, 100, 0.3), (0.5, 10, 0.1), (2.0, 1, 1e-6)]
  ],
  [
    js.cyclic(b, m, up, step_size_down=down, mode="exp_range", gamma=g)
    for b, m, up, down, g in [
      (0.01, 0.1, 5, 5, 0.99),
      (0.001, 0.1, 1, 0, 1.0),
      (0.1, 0.2, 30, 2, 0.9),
    ]
  ],
  [
    js.wsd(p, w, s, d, end_value=e, decay_shape="cosine")
    for p, w, s, d, e in [(0.1, 10, 20, 30, 1e-5), (0.3, 0, 0, 0, 0.0), (1.0, 0, 5, 1, 0.5)]
  ],
]
_REFERENCES = {
  "cosine_restarts": ref_restarts,
  "one_cycle": ref_one_cycle,
  "cyclic": ref_cyclic,
  "wsd": ref_wsd,
}
_PEAKS = {
  "cosine_restarts": "init_value",
  "one_cycle": "max_value",
  "cyclic": "max_value",
  "wsd": "peak_value",
}


@pytest.mark.parametrize("schedules", BATCHES, ids=lambda b: b[0].family)
def test_vmap_over_a_stack_equals_a_loop(schedules):
  batch = _stack(schedules)
  got = np.asarray(vmapped(batch, T_FIXED))
  loop = np.stack([values(s, T_FIXED) for s in schedules])
  assert_rel(got, loop, rtol=2e-7)
  assert batch.batch_shape == (3,)


@pytest.mark.parametrize("schedules", BATCHES, ids=lambda b: b[0].family)
def test_gradient_wrt_the_peak_matches_finite_differences(schedules):
  s = schedules[0]
  grads = grad_of_sum(s, T_FIXED)
  for g in jax.tree.leaves(grads):
    if jnp.issubdtype(g.dtype, jnp.floating):
      assert np.all(np.isfinite(g))
  peak, reference = _PEAKS[s.family], _REFERENCES[s.family]
  kwargs = {k: v for k, v in s.to_config().items() if k != "family"}
  h = 1e-6 * kwargs[peak]
  shifted = lambda d: reference(T_FIXED, **{**kwargs, peak: kwargs[peak] + d}).sum()
  fd = (shifted(h) - shifted(-h)) / (2 * h)
  assert_rel(getattr(grads, peak), fd, rtol=1e-4)


def test_gradient_wrt_period_mult():
  # S_i moves smoothly with the multiplier; at M = 1 too (the i(i−1)/2 term). Steps whose cycle a
  # nudge of M would change (a restart exactly there) are swapped for a mid-cycle step.
  small = np.where(T_FIXED < 1000, T_FIXED, 5)
  for m in (1.0, 1.5):
    h = 1e-8
    per_step = (
      ref_restarts(small, 0.1, 10, m + h, end_value=1e-3)
      - ref_restarts(small, 0.1, 10, m, end_value=1e-3)
    ) / h
    t = np.where(np.abs(per_step) < 1e3, small, 5).astype(np.int32)
    fd = (
      ref_restarts(t, 0.1, 10, m + h, end_value=1e-3) - ref_restarts(t, 0.1, 10, m, end_value=1e-3)
    ).sum() / h
    s = js.cosine_restarts(0.1, 10, period_mult=m, end_value=1e-3)
    assert_rel(grad_of_sum(s, t).period_mult, fd, rtol=1e-3)


def test_float_steps_and_x64():
  s = js.wsd(0.1, 10, 5, 10)
  assert_rel(s(np.array([2.5, 12.0, 20.0])), [0.025, 0.1, 0.05])
  with jax.enable_x64(True):
    for _name, factory, kwargs, reference, _ in [CASES[i] for i in (1, 8, 17, 25)]:
      t = np.array([0, 1, 7, 10, 11, 100, 2**24 + 1, T_MAX], np.int64)
      got = jax.jit(lambda s, t: s(t))(factory(**kwargs), t)
      assert got.dtype == jnp.float64
      assert_rel(got, reference(t, **kwargs), rtol=1e-11)


# --- bad input and configs ---------------------------------------------------------------------

BAD = [
  (js.cosine_restarts, dict(init_value=0.1, period=0), ValueError, "period must be >= 1"),
  (js.cosine_restarts, dict(init_value=0.1, period=2.5), ValueError, "period"),
  (
    js.cosine_restarts,
    dict(init_value=0.1, period=10, period_mult=0.5),
    ValueError,
    "period_mult must be >= 1",
  ),
  (
    js.cosine_restarts,
    dict(init_value=0.1, period=10, period_mult=1e6),
    ValueError,
    "period_mult must be <= 65536",
  ),
  (js.cosine_restarts, dict(init_value=0.1, period=10, decay=0.0), ValueError, "decay must be > 0"),
  (js.cosine_restarts, dict(init_value=0.1, period=10, max_cycles=-1), ValueError, "max_cycles"),
  (
    js.cosine_restarts,
    dict(init_value=float("nan"), period=10),
    ValueError,
    "init_value must be finite",
  ),
  (
    js.one_cycle,
    dict(max_value=0.1, total_steps=100, pct_start=0.0),
    ValueError,
    "pct_start must be in the open interval (0, 1)",
  ),
  (js.one_cycle, dict(max_value=0.1, total_steps=100, pct_start=1.0), ValueError, "pct_start"),
  (js.one_cycle, dict(max_value=0.1, total_steps=0), ValueError, "total_steps must be >= 1"),
  (js.one_cycle, dict(max_value=0.1, total_steps=-5), ValueError, "total_steps"),
  (
    js.one_cycle,
    dict(max_value=0.1, total_steps=100, anneal="cosine"),
    ValueError,
    "anneal must be one of ['cos', 'linear']",
  ),
  (js.one_cycle, dict(max_value=0.1, total_steps=100, div_factor=0.0), ValueError, "div_factor"),
  (
    js.one_cycle,
    dict(max_value=0.1, total_steps=100, final_div_factor=-1.0),
    ValueError,
    "final_div_factor",
  ),
  (js.one_cycle, dict(max_value="0.1", total_steps=100), TypeError, "max_value"),
  (
    js.cyclic,
    dict(base_value=0.01, max_value=0.1, step_size_up=0),
    ValueError,
    "step_size_up must be >= 1",
  ),
  (js.cyclic, dict(base_value=0.01, max_value=0.1, step_size_up=2.5), ValueError, "step_size_up"),
  (
    js.cyclic,
    dict(base_value=0.01, max_value=0.1, step_size_up=5, step_size_down=-1),
    ValueError,
    "step_size_down",
  ),
  (
    js.cyclic,
    dict(base_value=0.01, max_value=0.1, step_size_up=5, mode="exp"),
    ValueError,
    "mode must be one of",
  ),
  (
    js.cyclic,
    dict(base_value=0.01, max_value=0.1, step_size_up=5, gamma=0.0),
    ValueError,
    "gamma must be in (0, 1]",
  ),
  (js.cyclic, dict(base_value=0.01, max_value=0.1, step_size_up=5, gamma=1.5), ValueError, "gamma"),
  (
    js.cyclic,
    dict(base_value=0.01, max_value=0.1, step_size_up=2**30, step_size_down=2**30),
    ValueError,
    "step_size_up + step_size_down",
  ),
  (
    js.wsd,
    dict(peak_value=0.1, warmup_steps=-1, stable_steps=0, decay_steps=0),
    ValueError,
    "warmup_steps",
  ),
  (
    js.wsd,
    dict(peak_value=0.1, warmup_steps=1, stable_steps=1.5, decay_steps=0),
    ValueError,
    "stable_steps",
  ),
  (
    js.wsd,
    dict(peak_value=0.1, warmup_steps=1, stable_steps=1, decay_steps=1, decay_shape="1-sqrt"),
    ValueError,
    "decay_shape must be one of",
  ),
  (
    js.wsd,
    dict(peak_value=0.1, warmup_steps=1, stable_steps=1, decay_steps=True),
    TypeError,
    "decay_steps",
  ),
]


@pytest.mark.parametrize(
  "factory,kwargs,error,message", BAD, ids=[f"{f.family}-{i}" for i, (f, *_) in enumerate(BAD)]
)
def test_bad_input_is_rejected(factory, kwargs, error, message):
  with pytest.raises(error) as info:
    factory(**kwargs)
  assert message in str(info.value)


@pytest.mark.parametrize(
  "s",
  [c[1](**c[2]) for c in CASES[::3]] + [g[-1] for g in DEGENERATE.values()],
  ids=lambda s: s.family,
)
def test_config_round_trip_through_json(s):
  back = js.from_config(json.loads(json.dumps(s.to_config())))
  assert back == s and repr(back) == repr(s)
  np.testing.assert_array_equal(values(back, T_FIXED), values(s, T_FIXED))


def test_checked_mode_catches_traced_bad_values():
  # Traced values cannot raise at construction; jaxsched.checked reports them instead.
  def run(gamma, pct):
    err_a, _ = js.checked(js.cyclic(0.01, 0.1, 5, mode="exp_range", gamma=gamma), jnp.arange(3))
    err_b, _ = js.checked(js.one_cycle(0.1, 100, pct_start=pct), jnp.arange(3))
    return err_a, err_b

  for gamma, pct, bad in [
    (0.5, 0.3, None),
    (1.5, 0.3, "gamma must be in (0, 1]"),
    (0.5, 1.0, "pct_start must be in the open interval (0, 1)"),
  ]:
    errors = jax.jit(run)(jnp.float32(gamma), jnp.float32(pct))
    messages = [e.get() for e in errors if e.get()]
    assert (messages == []) if bad is None else any(bad in m for m in messages)
