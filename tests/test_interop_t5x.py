"""js.from_t5x against a float64 reference of t5x's documented factor formulas."""

import math

import numpy as np
import pytest

import jaxsched as js

T = 2**31 - 1


def t5x_reference(
  step,
  factors="constant * linear_warmup * rsqrt_decay",
  base_learning_rate=0.5,
  warmup_steps=1000,
  decay_factor=0.5,
  steps_per_decay=20000,
  steps_per_cycle=100000,
  step_offset=0,
  min_learning_rate=1e-8,
):
  """t5x create_learning_rate_scheduler's documented factors, in float64 NumPy."""
  t = np.maximum(0, np.asarray(step, np.int64) - step_offset).astype(np.float64)
  W = float(warmup_steps)
  ret = np.ones_like(t)
  for name in [n.strip() for n in factors.split("*")]:
    if name == "constant":
      ret = ret * base_learning_rate
    elif name == "linear_warmup":
      ret = ret * np.minimum(1.0, t / W)
    elif name == "linear_decay":
      ret = ret * base_learning_rate * np.minimum(t / W, 1.0 + decay_factor * (W - t))
    elif name == "rsqrt_decay":
      ret = ret / np.sqrt(np.maximum(t, W))
    elif name == "rsqrt_normalized_decay":
      ret = ret * np.sqrt(W) / np.sqrt(np.maximum(t, W))
    elif name == "decay_every":
      ret = ret * decay_factor ** np.floor(t / steps_per_decay)
    elif name == "cosine_decay":
      progress = np.maximum(0.0, (t - W) / float(steps_per_cycle))
      ret = ret * np.maximum(0.0, 0.5 * (1.0 + np.cos(np.pi * (progress % 1.0))))
    else:
      raise AssertionError(name)
  return np.maximum(ret, min_learning_rate)


def _steps(*boundaries, dense=40):
  pts = set(range(dense)) | {2**24 - 1, 2**24, 2**24 + 1, T - 1, T}
  for b in boundaries:
    pts |= {b - 1, b, b + 1}
  return np.array(sorted(p for p in pts if 0 <= p <= T), np.int64)


CASES = [
  (dict(), (1000,)),
  (dict(factors="constant * rsqrt_normalized_decay", warmup_steps=100, step_offset=50), (150,)),
  (
    dict(
      factors="constant * linear_warmup * cosine_decay",
      base_learning_rate=0.1,
      warmup_steps=10,
      steps_per_cycle=100,
      min_learning_rate=0.0,
    ),
    (10, 110, 210, 1010),
  ),
  (
    dict(
      factors="constant*decay_every", base_learning_rate=1.0, decay_factor=0.5, steps_per_decay=30
    ),
    (30, 60, 90),
  ),
  (
    dict(factors="linear_decay", base_learning_rate=0.01, warmup_steps=10, decay_factor=0.001),
    (10, 500, 1009),
  ),
  (
    dict(
      factors="linear_decay",
      base_learning_rate=0.01,
      warmup_steps=10,
      decay_factor=0.003,
      step_offset=7,
    ),
    (17, 300),
  ),
  (
    dict(
      factors="constant * linear_warmup * rsqrt_decay * decay_every",
      base_learning_rate=2.0,
      warmup_steps=2**24 + 1,
      decay_factor=0.9,
      steps_per_decay=2**25,
      step_offset=3,
    ),
    (2**24 + 4, 2**25 + 3),
  ),
]


@pytest.mark.parametrize(
  "kwargs, boundaries",
  CASES,
  ids=lambda x: str(x) if isinstance(x, tuple) else x.get("factors", "default"),
)
def test_matches_the_t5x_formulas(kwargs, boundaries):
  t = _steps(*boundaries)
  s = js.from_t5x(**kwargs)
  want = t5x_reference(t, **kwargs)
  np.testing.assert_allclose(np.asarray(s(t), np.float64), want, rtol=1e-6, atol=0)
  assert js.parse(repr(s)) == s


def test_native_form_of_the_default():
  W = 1000
  assert js.from_t5x() == js.clip(
    js.product(
      js.constant(0.5),
      js.linear(0.0, 1.0, W),
      js.shift(js.inverse_sqrt(1 / np.sqrt(W), float(W)), W),
    ),
    min_value=1e-8,
  )


@pytest.mark.parametrize(
  "kwargs, words",
  [
    (dict(factors="constant * linear_warmpu"), ["'linear_warmpu'", "did you mean 'linear_warmup'"]),
    (dict(factors="constant * bogus"), ["'bogus'", "rsqrt_decay"]),
    (dict(factors="constant * rsqrt_decay", warmup_steps=0), ["warmup_steps"]),
    (dict(factors="linear_decay", decay_factor=-1.0), ["decay_factor"]),
  ],
)
def test_bad_factors_are_named(kwargs, words):
  with pytest.raises(ValueError) as info:
    js.from_t5x(**kwargs)
  for w in words:
    assert w in str(info.value)


# --- linear_decay is t5x's unclamped line; t5x's divisions by zero --------------------------------


def _line_steps(W, d, step_offset=0):
  """Dense steps, the warmup end, the zero crossing W + 1/d (its neighbours), and far steps."""
  b = [W]
  if d > 0:
    c = W + 1.0 / d
    b += [math.floor(c), math.ceil(c), round(W + 2.0 / d), round(W + 10.0 / d)]
  return _steps(*[x + step_offset for x in b], dense=60)


LINEAR_DECAY = [
  dict(base_learning_rate=base, warmup_steps=W, decay_factor=d, min_learning_rate=floor)
  for base, W, d, floor in [
    (0.5, 50, 0.01, -1.0),
    (0.5, 50, 0.01, 1e-8),
    (0.5, 50, 0.01, 0.0),
    (0.01, 10, 0.003, -1e30),
    (0.01, 10, 0.003, -0.005),
    (0.2, 1, 0.7, -1e30),
    (0.2, 7, 2.0, -1e30),
    (1.0, 3, 1e-5, -1e30),
    (-0.3, 20, 0.05, -1e30),
    (-0.3, 20, 0.05, -1.0),
    (-0.3, 20, 0.05, 0.0),
    (0.3, 20, 0.0, -1e30),
    (2.0, 2**24 + 1, 1e-7, -1e30),
    (0.1, 100, 0.0123, -2.0),
  ]
]


@pytest.mark.parametrize("kwargs", LINEAR_DECAY, ids=lambda k: "-".join(map(str, k.values())))
@pytest.mark.parametrize(
  "factors, step_offset",
  [
    ("linear_decay", 0),
    ("linear_decay * linear_decay", 0),
    ("constant * linear_decay", 13),
    ("linear_decay * rsqrt_normalized_decay", 0),
  ],
)
def test_linear_decay_is_the_unclamped_line(kwargs, factors, step_offset):
  t = _line_steps(kwargs["warmup_steps"], kwargs["decay_factor"], step_offset)
  s = js.from_t5x(factors, step_offset=step_offset, **kwargs)
  want = t5x_reference(t, factors, step_offset=step_offset, **kwargs)
  np.testing.assert_allclose(np.asarray(s(t), np.float64), want, rtol=1e-6, atol=0)
  assert js.parse(repr(s)) == s


def test_the_issue_linear_decay_below_zero():
  s = js.from_t5x("linear_decay", 0.5, warmup_steps=50, decay_factor=0.01, min_learning_rate=-1.0)
  assert float(s(250)) == pytest.approx(-0.5, rel=1e-6)
  assert float(s(10**6)) == -1.0  # the floor, far down the line


@pytest.mark.parametrize(
  "factors",
  [
    "linear_warmup",
    "linear_decay",
    "rsqrt_decay",
    "rsqrt_normalized_decay",
    "constant * linear_warmup",
  ],
)
def test_warmup_steps_zero_where_t5x_divides_by_zero(factors):
  with np.errstate(divide="ignore", invalid="ignore"):
    assert not np.all(np.isfinite(t5x_reference(np.arange(5), factors, warmup_steps=0)))
  with pytest.raises(ValueError, match="warmup_steps"):
    js.from_t5x(factors, warmup_steps=0)


@pytest.mark.parametrize(
  "kwargs",
  [
    dict(factors="constant * cosine_decay", warmup_steps=0, steps_per_cycle=50),
    dict(factors="constant * decay_every", decay_factor=0.0, steps_per_decay=7),
    dict(
      factors="constant * decay_every * linear_warmup",
      decay_factor=0.0,
      steps_per_decay=30,
      warmup_steps=10,
      min_learning_rate=0.0,
    ),
    dict(factors="decay_every", decay_factor=1.0, steps_per_decay=1),
  ],
  ids=["cosine-W0", "decay_every-0", "decay_every-0-warmup", "decay_every-1"],
)
def test_finite_edges_match_t5x(kwargs):
  t = _steps(7, 14, 30, 50, 100)
  s = js.from_t5x(**kwargs)
  np.testing.assert_allclose(
    np.asarray(s(t), np.float64), t5x_reference(t, **kwargs), rtol=1e-6, atol=0
  )


@pytest.mark.parametrize(
  "kwargs, words",
  [
    (dict(factors="decay_every", decay_factor=-0.5), ["decay_every", "decay_factor"]),
    (dict(factors="decay_every", steps_per_decay=0), ["steps_per_decay"]),
    (dict(factors="cosine_decay", steps_per_cycle=0), ["steps_per_cycle"]),
  ],
)
def test_other_refusals_name_the_parameter(kwargs, words):
  with pytest.raises(ValueError) as info:
    js.from_t5x(**kwargs)
  for w in words:
    assert w in str(info.value)
