"""js.from_big_vision against a float64 reference of big_vision's documented schedule formulas
(issue 12 item 5), and its duration and batch-size rules."""
import numpy as np
import pytest

import jaxsched as js


def big_vision_reference(step, total_steps, lr, decay_type, W, C, **kw):
  """big_vision create_learning_rate_schedule's formula in float64 NumPy (``lr`` already scaled,
  ``W``/``C`` already in steps)."""
  t = np.asarray(step, np.int64).astype(np.float64)
  T = float(total_steps)
  progress = np.clip((t - W) / (T - W), 0.0, 1.0)
  if decay_type in ("linear", "polynomial"):
    zero = kw.get("end", kw.get("linear_end", 0.0))
    out = zero + (lr - zero) * (1.0 - progress) ** kw.get("power", 1.0)
  elif decay_type == "cosine":
    out = lr * 0.5 * (1.0 + np.cos(np.pi * progress))
  elif decay_type == "rsqrt":
    tau, shift = kw.get("timescale", 10_000), kw.get("shift", 0)
    decay = lr / np.sqrt(1 + (np.maximum(t, W) + shift - W) / tau)   # max: no sqrt of < 0
    out = np.where(W <= t, decay, lr / np.sqrt(1 + shift / tau))
  elif decay_type == "stair":
    index = np.searchsorted(np.array(kw.get("steps", [])), t + 1)
    out = lr * np.array([1.0] + list(kw.get("mults", [])))[index]
  else:
    raise AssertionError(decay_type)
  if W:
    out = out * np.minimum(1.0, t / W)
  if C:
    out = out * np.minimum(1.0, (T - t) / C)
  return out


def _steps(T, *boundaries):
  pts = set(range(30)) | {T - 1, T}
  for b in boundaries:
    pts |= {b - 1, b, b + 1}
  return np.array(sorted(p for p in pts if 0 <= p <= T), np.int64)


TBIG = 2**31 - 1
CASES = [
    # (from_big_vision kwargs, W, C, decay kwargs for the reference, boundaries)
    (dict(total_steps=1000, decay_type="cosine", warmup_steps=10, cooldown_steps=100), 10, 100,
     {}, (10, 900)),
    (dict(total_steps=500, base=0.1, decay_type="linear", linear_end=1e-5, warmup_steps=20), 20,
     0, dict(linear_end=1e-5), (20, 250)),
    (dict(total_steps=500, base=0.1, decay_type="polynomial", power=2.0, end=0.01), 0, 0,
     dict(power=2.0, end=0.01), (250,)),
    (dict(total_steps=TBIG, base=0.03, decay_type="rsqrt", timescale=100, shift=50,
          warmup_steps=2**24), 2**24, 0, dict(timescale=100, shift=50), (2**24, 2**25)),
    (dict(total_steps=5000, base=0.03, decay_type="rsqrt", cooldown_steps=1000), 0, 1000, {},
     (4000,)),
    (dict(total_steps=100, base=0.1, decay_type="stair", steps=[5, 30, 60], mults=[0.5, 0.1, 0.01],
          warmup_steps=10), 10, 0, dict(steps=[5, 30, 60], mults=[0.5, 0.1, 0.01]), (5, 10, 30, 60)),
    (dict(total_steps=100, base=0.1, decay_type="stair", steps=[30], mults=[0.1],
          cooldown_steps=150), 0, 150, dict(steps=[30], mults=[0.1]), (30,)),
]


@pytest.mark.parametrize("kwargs, W, C, decay, boundaries", CASES,
                         ids=[f"{c[0]['decay_type']}-{i}" for i, c in enumerate(CASES)])
def test_matches_the_big_vision_formula(kwargs, W, C, decay, boundaries):
  T = kwargs["total_steps"]
  t = _steps(T, *boundaries)
  s = js.from_big_vision(**kwargs)
  want = big_vision_reference(t, T, kwargs.get("base", 1.0), kwargs["decay_type"], W, C, **decay)
  np.testing.assert_allclose(np.asarray(s(t), np.float64), want, rtol=1e-6, atol=0)
  assert js.parse(repr(s)) == s


def test_durations_use_big_vision_rounding():
  T = 1000
  cos = lambda W: js.warmup(js.cosine(1.0, T - W), W)
  # epochs: 2.5 · 1000/64 = 39.0625 -> 39
  assert js.from_big_vision(T, 64, 1000, decay_type="cosine", warmup_epochs=2.5) == cos(39)
  # examples: 3200/64 = 50; a tiny positive duration is at least one step
  assert js.from_big_vision(T, 64, decay_type="cosine", warmup_examples=3200) == cos(50)
  assert js.from_big_vision(T, 64, decay_type="cosine", warmup_examples=1) == cos(1)
  # percent: 0.0125 · 1000 = 12.5 -> 12 (Python rounds halves to even)
  assert js.from_big_vision(T, decay_type="cosine", warmup_percent=0.0125) == cos(12)
  # cooldown in percent: a product with the linear cooldown over the last 10%
  assert js.from_big_vision(T, decay_type="cosine", cooldown_percent=0.1) == js.product(
      js.cosine(1.0, T), js.linear(1.0, 0.0, 100, begin=900))


def test_linear_batch_size_scaling():
  s = js.from_big_vision(100, batch_size=512, base=0.1, decay_type="cosine",
                         scale_with_batchsize=True)
  assert s == js.cosine(0.1 * 512 / 256.0, 100)


@pytest.mark.parametrize("kwargs, words", [
    (dict(decay_type="exp"), ["decay_type", "'exp'"]),
    (dict(decay_type="cosine", warmup_steps=5, warmup_percent=0.1), ["only one of"]),
    (dict(decay_type="cosine", warmup_examples=100), ["batch_size"]),
    (dict(decay_type="cosine", warmup_steps=100), ["shorter than total_steps"]),
    (dict(decay_type="cosine", warmup_stpes=10), ["warmup_stpes"]),
    (dict(decay_type="stair", steps=[10], mults=[]), ["one mult per step"]),
    (dict(decay_type="cosine", scale_with_batchsize=True), ["batch_size"]),
])
def test_bad_arguments(kwargs, words):
  with pytest.raises(ValueError) as info:
    js.from_big_vision(100, **kwargs)
  for w in words:
    assert w in str(info.value)
