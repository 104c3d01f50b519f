"""js.from_t5x against a float64 reference of t5x's documented factor formulas (issue 12 item 4)."""
import numpy as np
import pytest

import jaxsched as js

T = 2**31 - 1


def t5x_reference(step, factors="constant * linear_warmup * rsqrt_decay", base_learning_rate=0.5,
                  warmup_steps=1000, decay_factor=0.5, steps_per_decay=20000,
                  steps_per_cycle=100000, step_offset=0, min_learning_rate=1e-8):
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
    (dict(factors="constant * linear_warmup * cosine_decay", base_learning_rate=0.1,
          warmup_steps=10, steps_per_cycle=100, min_learning_rate=0.0), (10, 110, 210, 1010)),
    (dict(factors="constant*decay_every", base_learning_rate=1.0, decay_factor=0.5,
          steps_per_decay=30), (30, 60, 90)),
    (dict(factors="linear_decay", base_learning_rate=0.01, warmup_steps=10,
          decay_factor=0.001), (10, 500, 1009)),
    (dict(factors="linear_decay", base_learning_rate=0.01, warmup_steps=10,
          decay_factor=0.003, step_offset=7), (17, 300)),
    (dict(factors="constant * linear_warmup * rsqrt_decay * decay_every", base_learning_rate=2.0,
          warmup_steps=2**24 + 1, decay_factor=0.9, steps_per_decay=2**25,
          step_offset=3), (2**24 + 4, 2**25 + 3)),
]


@pytest.mark.parametrize("kwargs, boundaries", CASES, ids=lambda x: str(x) if isinstance(x, tuple)
                         else x.get("factors", "default"))
def test_matches_the_t5x_formulas(kwargs, boundaries):
  t = _steps(*boundaries)
  s = js.from_t5x(**kwargs)
  want = t5x_reference(t, **kwargs)
  np.testing.assert_allclose(np.asarray(s(t), np.float64), want, rtol=1e-6, atol=0)
  assert js.parse(repr(s)) == s


def test_native_form_of_the_default():
  W = 1000
  assert js.from_t5x() == js.clip(js.product(
      js.constant(0.5), js.linear(0.0, 1.0, W),
      js.shift(js.inverse_sqrt(1 / np.sqrt(W), float(W)), W)), min_value=1e-8)


@pytest.mark.parametrize("kwargs, words", [
    (dict(factors="constant * linear_warmpu"), ["'linear_warmpu'", "did you mean 'linear_warmup'"]),
    (dict(factors="constant * bogus"), ["'bogus'", "rsqrt_decay"]),
    (dict(factors="constant * rsqrt_decay", warmup_steps=0), ["warmup_steps"]),
    (dict(factors="linear_decay", decay_factor=-1.0), ["decay_factor"]),
])
def test_bad_factors_are_named(kwargs, words):
  with pytest.raises(ValueError) as info:
    js.from_t5x(**kwargs)
  for w in words:
    assert w in str(info.value)
