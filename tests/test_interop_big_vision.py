"""js.from_big_vision against a float64 reference of big_vision's documented schedule formulas
and its duration and batch-size rules."""

import math

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
    decay = lr / np.sqrt(1 + (np.maximum(t, W) + shift - W) / tau)  # max: no sqrt of < 0
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
  (
    dict(total_steps=1000, decay_type="cosine", warmup_steps=10, cooldown_steps=100),
    10,
    100,
    {},
    (10, 900),
  ),
  (
    dict(total_steps=500, base=0.1, decay_type="linear", linear_end=1e-5, warmup_steps=20),
    20,
    0,
    dict(linear_end=1e-5),
    (20, 250),
  ),
  (
    dict(total_steps=500, base=0.1, decay_type="polynomial", power=2.0, end=0.01),
    0,
    0,
    dict(power=2.0, end=0.01),
    (250,),
  ),
  (
    dict(
      total_steps=TBIG, base=0.03, decay_type="rsqrt", timescale=100, shift=50, warmup_steps=2**24
    ),
    2**24,
    0,
    dict(timescale=100, shift=50),
    (2**24, 2**25),
  ),
  (
    dict(total_steps=5000, base=0.03, decay_type="rsqrt", cooldown_steps=1000),
    0,
    1000,
    {},
    (4000,),
  ),
  (
    dict(
      total_steps=100,
      base=0.1,
      decay_type="stair",
      steps=[5, 30, 60],
      mults=[0.5, 0.1, 0.01],
      warmup_steps=10,
    ),
    10,
    0,
    dict(steps=[5, 30, 60], mults=[0.5, 0.1, 0.01]),
    (5, 10, 30, 60),
  ),
  (
    dict(
      total_steps=100, base=0.1, decay_type="stair", steps=[30], mults=[0.1], cooldown_steps=150
    ),
    0,
    150,
    dict(steps=[30], mults=[0.1]),
    (30,),
  ),
]


@pytest.mark.parametrize(
  "kwargs, W, C, decay, boundaries",
  CASES,
  ids=[f"{c[0]['decay_type']}-{i}" for i, c in enumerate(CASES)],
)
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
    js.cosine(1.0, T), js.linear(1.0, 0.0, 100, begin=900)
  )


def test_linear_batch_size_scaling():
  s = js.from_big_vision(
    100, batch_size=512, base=0.1, decay_type="cosine", scale_with_batchsize=True
  )
  assert s == js.cosine(0.1 * 512 / 256.0, 100)


@pytest.mark.parametrize(
  "kwargs, words",
  [
    (dict(decay_type="exp"), ["decay_type", "'exp'"]),
    (dict(decay_type="cosine", warmup_steps=5, warmup_percent=0.1), ["only one of"]),
    (dict(decay_type="cosine", warmup_examples=100), ["batch_size"]),
    (dict(decay_type="cosine", warmup_steps=100), ["shorter than total_steps"]),
    (dict(decay_type="cosine", warmup_stpes=10), ["warmup_stpes"]),
    (dict(decay_type="stair", steps=[10], mults=[]), ["one mult per step"]),
    (dict(decay_type="cosine", scale_with_batchsize=True), ["batch_size"]),
  ],
)
def test_bad_arguments(kwargs, words):
  with pytest.raises(ValueError) as info:
    js.from_big_vision(100, **kwargs)
  for w in words:
    assert w in str(info.value)


# --- big_vision's own durations, suffixes and accepted edges --------------------------------------


def bv_steps(prefix, kw, data_size, batch_size, total_steps, default):
  """big_vision ``utils.steps``, from its rules: at most one of ``{prefix}_{steps,examples,epochs,
  percent}`` counts (a negative one is unset); steps as given, the others rounded to the nearest
  step but at least 1 unless 0; the default when none applies."""
  present = [
    s
    for s in ("steps", "examples", "epochs", "percent")
    if kw.get(f"{prefix}_{s}") is not None and kw[f"{prefix}_{s}"] >= 0
  ]
  assert len(present) <= 1
  rounded = lambda x: max(1, round(x)) if x else 0
  value = lambda s: kw[f"{prefix}_{s}"]
  if "steps" in present:
    return value("steps")
  if batch_size and "examples" in present:
    return rounded(value("examples") / batch_size)
  if batch_size and data_size and "epochs" in present:
    return rounded(value("epochs") * (data_size / batch_size))
  if total_steps and "percent" in present:
    assert 0.0 <= value("percent") <= 1.0
    return rounded(value("percent") * total_steps)
  return default


def big_vision_step_fn(
  total_steps,
  batch_size=None,
  data_size=None,
  base=1.0,
  decay_type="stair",
  scale_with_batchsize=False,
  **kw,
):
  """big_vision ``create_learning_rate_schedule`` in float64 NumPy, lengths included."""
  sizes = (data_size, batch_size, total_steps)
  W = bv_steps("warmup", kw, *sizes, default=0)
  C = bv_steps("cooldown", kw, *sizes, default=0)
  T = total_steps

  def step_fn(step):
    t = np.asarray(step, np.int64).astype(np.float64)
    lr = base * batch_size / 256.0 if scale_with_batchsize else base
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
      progress = np.clip((t - W) / float(T - W), 0.0, 1.0)
      if decay_type in ("linear", "polynomial"):
        zero = kw.get("end", kw.get("linear_end", 0))
        lr = zero + (lr - zero) * (1.0 - progress) ** kw.get("power", 1)
      elif decay_type == "cosine":
        lr = lr * 0.5 * (1.0 + np.cos(np.pi * progress))
      elif decay_type == "rsqrt":
        # (as float64: with Python ints, shift/0 raises in big_vision itself)
        tau = np.float64(bv_steps("timescale", kw, *sizes, default=kw.get("timescale", 10_000)))
        shift = np.float64(bv_steps("shift", kw, *sizes, default=kw.get("shift", 0)))
        lr = np.where(
          W <= t, lr / np.sqrt(1 + (t + shift - W) / tau), lr / np.sqrt(1 + shift / tau)
        )
      elif decay_type == "stair":
        i = np.searchsorted(np.array(kw.get("steps", []), np.float64), t + 1)
        table = np.array([1.0] + list(kw.get("mults", [])))
        lr = lr * np.where(i < len(table), table[np.minimum(i, len(table) - 1)], np.nan)
      else:
        raise AssertionError(decay_type)
      if W:
        lr = lr * np.minimum(1.0, t / W)
      if C:
        lr = lr * np.minimum(1.0, (T - t) / C)
    return lr

  return step_fn, W, C


def _probe_steps(T, W, C, extra=()):
  pts = set(range(min(T, 40) + 1)) | {T - 1, T}
  for b in (W, T - C, *extra):
    pts |= {b - 1, b, b + 1}
  return np.array(sorted(p for p in pts if 0 <= p <= T), np.int64)


BV_CONFIGS = [
  # timescale_examples / batch_size rounds to 2 steps
  dict(
    total_steps=5000,
    batch_size=4096,
    base=0.01,
    decay_type="rsqrt",
    warmup_steps=100,
    timescale_examples=10_000,
  ),
  *[
    dict(
      total_steps=3000,
      batch_size=bs,
      base=0.01,
      decay_type="rsqrt",
      warmup_steps=50,
      timescale_examples=ex,
    )
    for bs in (256, 1000, 4096)
    for ex in (300, 1500, 10_000, 2500)
  ],
  dict(
    total_steps=2000,
    batch_size=512,
    data_size=10_000,
    base=0.003,
    decay_type="rsqrt",
    timescale_epochs=0.7,
    shift_examples=3000,
    warmup_epochs=1.1,
  ),
  dict(
    total_steps=2000,
    base=0.003,
    decay_type="rsqrt",
    timescale_steps=37,
    shift_steps=11,
    warmup_steps=20,
  ),
  dict(total_steps=2000, base=0.003, decay_type="rsqrt", timescale_steps=12.5, shift=-3.5),
  dict(
    total_steps=200,
    batch_size=8,
    base=0.003,
    decay_type="rsqrt",
    timescale_examples=3,
    shift_examples=0.5,
  ),  # both round up to one step
  dict(
    total_steps=2000,
    base=0.003,
    decay_type="rsqrt",
    timescale_percent=0.013,
    shift_percent=0.0071,
    cooldown_percent=0.05,
  ),
  dict(
    total_steps=2000,
    batch_size=64,
    data_size=640,
    base=0.003,
    decay_type="rsqrt",
    timescale=500,
    shift_epochs=0.35,
    cooldown_epochs=3.3,
  ),
  dict(
    total_steps=2000,
    base=0.003,
    decay_type="rsqrt",
    timescale=80,
    timescale_steps=-1,
    shift=7,
    shift_percent=-0.5,
  ),
  # negative durations are unset; another suffix may then count
  dict(total_steps=800, base=0.1, decay_type="cosine", warmup_steps=-1, warmup_percent=0.1),
  dict(
    total_steps=800,
    batch_size=32,
    base=0.1,
    decay_type="linear",
    warmup_steps=-5,
    warmup_examples=1000,
    cooldown_steps=-2,
    cooldown_percent=0.2,
    linear_end=1e-4,
  ),
  dict(total_steps=800, base=0.1, decay_type="cosine", warmup_epochs=-1.0, cooldown_steps=-1),
  # power 0, and the polynomial powers around it
  *[
    dict(total_steps=600, base=0.1, decay_type="polynomial", power=p, end=0.01, warmup_steps=30)
    for p in (0, 0.0, 0.5, 1, 3.0)
  ],
  # stairs: extra mults ignored, negative and fractional steps
  dict(total_steps=300, base=0.1, decay_type="stair", steps=[50, 120], mults=[0.5, 0.1, 0.01]),
  dict(total_steps=300, base=0.1, decay_type="stair", steps=[], mults=[0.5]),
  dict(
    total_steps=300,
    base=0.1,
    decay_type="stair",
    steps=[-10, 40, 40, 90],
    mults=[0.5, 0.25, 0.1, 0.05],
    warmup_steps=20,
  ),
  dict(
    total_steps=300,
    base=0.1,
    decay_type="stair",
    steps=[-0.5, 10.5, 99.9, 150.0],
    mults=[0.9, 0.5, 0.1, 0.01, 7.0],
    cooldown_steps=60,
  ),
  # total_steps <= 1, which big_vision lets the warmup reach
  dict(total_steps=1, base=0.1, decay_type="rsqrt", warmup_steps=1, timescale=3),
  dict(total_steps=1, base=0.1, decay_type="stair", warmup_steps=3, steps=[1], mults=[0.5]),
  dict(total_steps=0, base=0.1, decay_type="rsqrt", timescale_percent=0.5),
]


@pytest.mark.parametrize(
  "config", BV_CONFIGS, ids=[f"{c['decay_type']}-{i}" for i, c in enumerate(BV_CONFIGS)]
)
def test_matches_big_vision_with_its_own_lengths(config):
  step_fn, W, C = big_vision_step_fn(**config)
  stairs = [math.floor(s) for s in config.get("steps", [])]
  t = _probe_steps(config["total_steps"], W, C, stairs)
  want = step_fn(t)
  assert np.all(np.isfinite(want))
  s = js.from_big_vision(**config)
  np.testing.assert_allclose(np.asarray(s(t), np.float64), want, rtol=1e-6, atol=0)
  assert js.parse(repr(s)) == s


def test_the_issue_rsqrt_timescale_is_rounded():
  s = js.from_big_vision(
    5000,
    batch_size=4096,
    base=0.01,
    decay_type="rsqrt",
    warmup_steps=100,
    timescale_examples=10_000,
  )
  assert s == js.inverse_sqrt(0.01, 2.0, warmup_steps=100)


@pytest.mark.parametrize(
  "config, words",
  [
    (dict(total_steps=1, decay_type="cosine", warmup_steps=1), ["NaN", "total_steps"]),
    (dict(total_steps=0, decay_type="linear"), ["NaN"]),
    (dict(total_steps=1, decay_type="polynomial", warmup_steps=3), ["backwards"]),
    (dict(total_steps=100, decay_type="polynomial", power=-1.0), ["power"]),
    (dict(total_steps=100, decay_type="rsqrt", timescale_steps=0), ["timescale"]),
    (dict(total_steps=100, decay_type="rsqrt", timescale=-50), ["timescale"]),
    (dict(total_steps=100, decay_type="rsqrt", timescale=10, shift=-20), ["shift"]),
    (dict(total_steps=100, decay_type="rsqrt", timescale_percent=0.0), ["timescale"]),
    (dict(total_steps=100, decay_type="stair", steps=[10, 20], mults=[0.5]), ["mult"]),
  ],
  ids=[
    "cosine-W=T",
    "linear-T=0",
    "polynomial-backwards",
    "negative-power",
    "timescale-0",
    "negative-timescale",
    "shift-below-timescale",
    "timescale-percent-0",
    "short-mults",
  ],
)
def test_where_big_vision_is_not_finite_the_converter_refuses(config, words):
  step_fn, W, C = big_vision_step_fn(**config)
  t = _probe_steps(config["total_steps"], W, C, config.get("steps", []))
  if config != dict(total_steps=1, decay_type="polynomial", warmup_steps=3):  # that one is finite
    assert not np.all(np.isfinite(step_fn(t)))
  with pytest.raises(ValueError) as info:
    js.from_big_vision(**config)
  for w in words:
    assert w in str(info.value)


@pytest.mark.parametrize("prefix", ["warmup", "cooldown", "timescale", "shift"])
@pytest.mark.parametrize("suffix", ["steps", "examples", "epochs", "percent"])
def test_every_suffix_is_accepted(prefix, suffix):
  config = dict(total_steps=400, batch_size=16, data_size=160, base=0.1, decay_type="rsqrt")
  config[f"{prefix}_{suffix}"] = {"steps": 8, "examples": 200, "epochs": 0.75, "percent": 0.03}[
    suffix
  ]
  step_fn, W, C = big_vision_step_fn(**config)
  t = _probe_steps(400, W, C)
  np.testing.assert_allclose(
    np.asarray(js.from_big_vision(**config)(t), np.float64), step_fn(t), rtol=1e-6, atol=0
  )
  with pytest.raises(ValueError, match="only one of"):
    js.from_big_vision(**config, **{f"{prefix}_{'percent' if suffix != 'percent' else 'steps'}": 1})
