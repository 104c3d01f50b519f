"""One table of schedules and their float64 references, shared by the family, route and x64 tests.

Each case names the boundaries its formula switches at, so the steps tested are b−1, b, b+1 of each,
a dense stretch, and the large steps of ``LARGE`` (around 2^24, and up to 2^31−1).
"""

import numpy as np

import jaxsched as js
from tests import reference as ref

LARGE = [2**24 - 1, 2**24, 2**24 + 1, 2**24 + 2, 30_000_000, 2**31 - 2, 2**31 - 1]
T = 2**31 - 1


def _case(name, factory, kwargs, reference, boundaries=(), dense=64):
  return dict(
    name=name,
    factory=factory,
    kwargs=kwargs,
    reference=reference,
    boundaries=list(boundaries),
    dense=dense,
  )


CASES = [
  _case("constant", js.constant, dict(value=3e-4), ref.constant),
  _case("exponential", js.exponential, dict(init_value=0.1, gamma=0.9), ref.exponential),
  _case(
    "exponential_staircase_optax_bug",
    js.exponential,
    dict(init_value=1.0, gamma=0.999999, decay_steps=3, staircase=True),
    ref.exponential,
    [3, 6, 2**24 + 2, 30_000_000],
  ),
  _case(
    "exponential_begin_floor",
    js.exponential,
    dict(init_value=0.1, gamma=0.99999, decay_steps=7, begin=1000, end_value=1e-4),
    ref.exponential,
    [1000, 1007, 2**24],
  ),
  _case(
    "exponential_growth_ceiling",
    js.exponential,
    dict(init_value=1e-3, gamma=1.001, decay_steps=10, end_value=0.5),
    ref.exponential,
    [62150],
  ),
  _case("step", js.step, dict(init_value=0.1, step_size=30, gamma=0.1), ref.step, [30, 60, 90]),
  _case(
    "step_large",
    js.step,
    dict(init_value=0.1, step_size=2**24 + 1, gamma=0.5),
    ref.step,
    [2**24 + 1, 2 * (2**24 + 1)],
  ),
  _case(
    "multistep",
    js.multistep,
    dict(init_value=0.1, milestones=[30, 80, 80, 2**24 + 1], gamma=0.1),
    ref.multistep,
    [30, 80, 2**24 + 1],
  ),
  _case(
    "piecewise",
    js.piecewise,
    dict(boundaries=[10, 20, 2**24 + 1, T], values=[1.0, 0.3, 0.1, 3e-5, 1e-7]),
    ref.piecewise,
    [10, 20, 2**24 + 1, T],
  ),
  _case(
    "inverse_time",
    js.inverse_time,
    dict(init_value=0.1, decay_rate=0.5, decay_steps=7),
    ref.inverse_time,
    [7, 14],
  ),
  _case(
    "inverse_time_staircase",
    js.inverse_time,
    dict(init_value=0.1, decay_rate=0.5, decay_steps=7, staircase=True),
    ref.inverse_time,
    [7, 14],
  ),
  _case(
    "inverse_sqrt",
    js.inverse_sqrt,
    dict(init_value=0.1, timescale=1000.0, warmup_steps=50),
    ref.inverse_sqrt,
    [50, 2**24 + 1],
  ),
  _case(
    "inverse_sqrt_no_warmup",
    js.inverse_sqrt,
    dict(init_value=0.05, timescale=1.0),
    ref.inverse_sqrt,
  ),
  _case(
    "linear",
    js.linear,
    dict(init_value=0.1, end_value=1e-5, steps=100, begin=10),
    ref.linear,
    [10, 110],
  ),
  _case(
    "linear_full_range", js.linear, dict(init_value=0.1, end_value=1e-5, steps=T), ref.linear, [T]
  ),
  _case(
    "linear_jump",
    js.linear,
    dict(init_value=0.1, end_value=0.01, steps=0, begin=5),
    ref.linear,
    [5],
  ),
  _case(
    "linear_increasing",
    js.linear,
    dict(init_value=0.0, end_value=0.1, steps=2**24 + 3),
    ref.linear,
    [2**24 + 3],
  ),
  _case(
    "polynomial",
    js.polynomial,
    dict(init_value=0.1, end_value=1e-4, steps=100, power=2.0, begin=5),
    ref.polynomial,
    [5, 105],
  ),
  _case(
    "polynomial_full_range",
    js.polynomial,
    dict(init_value=0.1, end_value=0.0, steps=T, power=0.5),
    ref.polynomial,
    [T],
  ),
  _case(
    "polynomial_cycle",
    js.polynomial,
    dict(init_value=0.1, end_value=1e-3, steps=25, power=1.5, cycle=True),
    ref.polynomial,
    [25, 50, 75],
  ),
  _case("cosine", js.cosine, dict(init_value=0.1, steps=100), ref.cosine, [100]),
  _case(
    "cosine_alpha_exponent",
    js.cosine,
    dict(init_value=0.1, steps=100, end_value=1e-3, exponent=2.0, begin=3),
    ref.cosine,
    [3, 53, 103],
  ),
  _case("cosine_full_range", js.cosine, dict(init_value=1.0, steps=T), ref.cosine, [T]),
  _case(
    "cosine_increasing",
    js.cosine,
    dict(init_value=0.0, steps=2**24 + 1, end_value=0.1),
    ref.cosine,
    [2**24 + 1],
  ),
  _case(
    "warmup_cosine",
    js.warmup_cosine,
    dict(peak_value=0.1, warmup_steps=10, total_steps=100, init_value=1e-3, end_value=1e-5),
    ref.warmup_cosine,
    [10, 100],
  ),
  _case(
    "warmup_cosine_large",
    js.warmup_cosine,
    dict(peak_value=3e-4, warmup_steps=2**24 + 1, total_steps=T),
    ref.warmup_cosine,
    [2**24 + 1, T],
  ),
]


def steps_for(case) -> np.ndarray:
  pts = set(range(case["dense"]))
  for b in case["boundaries"]:
    pts.update(x for x in (b - 1, b, b + 1) if 0 <= x <= T)
  pts.update(LARGE)
  return np.array(sorted(pts), np.int64)


def reference_values(case, t):
  return case["reference"](np.asarray(t, np.int64), **case["kwargs"])
