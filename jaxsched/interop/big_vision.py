"""big_vision ``utils.create_learning_rate_schedule`` → jaxsched.

big_vision computes ``lr = base`` (times ``batch_size/256`` with ``scale_with_batchsize``, the linear
scaling rule of Goyal et al.), applies the decay over ``progress = clip((t − W)/(T − W), 0, 1)``,
then multiplies by the warmup ``min(1, t/W)`` and the cooldown ``min(1, (T − t)/C)``:

| decay_type | jaxsched |
|---|---|
| ``linear`` / ``polynomial`` (``power``, ``end``/``linear_end``) | ``warmup(polynomial(lr, end, T − W, power), W)`` (``linear`` when power is 1) |
| ``cosine`` | ``warmup(cosine(lr, T − W), W)`` |
| ``rsqrt`` (``timescale`` τ or ``timescale_examples``, ``shift`` s) | ``inverse_sqrt(lr·√(τ/(τ + s)), τ + s, warmup_steps=W)`` |
| ``stair`` (``steps``, ``mults``) | ``product(linear(0.0, 1.0, W), piecewise(steps, [lr, lr·m₁, ...]))`` |
| cooldown over the last C steps | ``product(..., linear(1.0, 0.0, C, begin=T − C))`` |

(The warmup multiplies a decay that has not started yet, so for the first three it is the additive
``warmup`` prefix; stairs may fall inside the warmup, so there it stays a product.)

Durations: ``{warmup,cooldown}_{steps,examples,epochs,percent}``, at most one of each; examples
and epochs become steps as ``max(1, round(x))`` (0 stays 0; Python's round, halves to even), as
big_vision's ``utils.steps`` does.
"""
from __future__ import annotations

import math

from jaxsched import compose, families
from jaxsched.core import Schedule
from jaxsched.interop._checks import real, whole

_WHERE = "from_big_vision"
_SUFFIXES = ("steps", "examples", "epochs", "percent")
_DECAY_KEYS = ("power", "end", "linear_end", "timescale", "timescale_examples", "shift", "steps",
               "mults")
_KNOWN = tuple(f"{p}_{s}" for p in ("warmup", "cooldown") for s in _SUFFIXES) + _DECAY_KEYS


def _to_integer(x) -> int:
  return max(1, round(x)) if x else 0


def duration(prefix: str, kw: dict, data_size, batch_size, total_steps) -> int:
  """big_vision's ``utils.steps(prefix, ...)``: a duration in steps, examples, epochs or percent
  of training, as whole steps (0 when absent). Raises where big_vision would silently use 0
  (examples without ``batch_size``, epochs without ``data_size``)."""
  given = [f"{prefix}_{s}" for s in _SUFFIXES if kw.get(f"{prefix}_{s}") is not None]
  if len(given) > 1:
    raise ValueError(f"{_WHERE}: only one of {', '.join(given)} may be set")
  if not given:
    return 0
  key = given[0]
  x = kw[key]
  if key.endswith("_steps"):
    return whole(_WHERE, key, x)
  if key.endswith("_examples"):
    if not batch_size:
      raise ValueError(f"{_WHERE}: {key} needs batch_size")
    return _to_integer(real(_WHERE, key, x) / batch_size)
  if key.endswith("_epochs"):
    if not (batch_size and data_size):
      raise ValueError(f"{_WHERE}: {key} needs batch_size and data_size")
    return _to_integer(real(_WHERE, key, x) * (data_size / batch_size))
  pct = real(_WHERE, key, x)
  if not 0.0 <= pct <= 1.0:
    raise ValueError(f"{_WHERE}: {key} must lie in [0.0, 1.0], got {pct}")
  return _to_integer(pct * total_steps)


def _polynomial(lr, W, T, kw, batch_size):
  power = real(_WHERE, "power", kw.get("power", 1))
  end = real(_WHERE, "end", kw.get("end", kw.get("linear_end", 0)))
  decay = (families.linear(lr, end, T - W) if power == 1.0
           else families.polynomial(lr, end, T - W, power))
  return compose.warmup(decay, W) if W else decay


def _cosine(lr, W, T, kw, batch_size):
  decay = families.cosine(lr, T - W)
  return compose.warmup(decay, W) if W else decay


def _rsqrt(lr, W, T, kw, batch_size):
  if "timescale_examples" in kw:
    if not batch_size:
      raise ValueError(f"{_WHERE}: timescale_examples needs batch_size")
    tau = real(_WHERE, "timescale_examples", kw["timescale_examples"]) / batch_size
  else:
    tau = real(_WHERE, "timescale", kw.get("timescale", 10_000))
  shift = real(_WHERE, "shift", kw.get("shift", 0))
  # lr/√(1 + (t + s − W)/τ) = lr·√(τ/(τ + s)) · √((τ + s)/(t − W + τ + s)); in the warmup
  # lr/√(1 + s/τ)·t/W, which is inverse_sqrt's own linear warmup.
  return families.inverse_sqrt(lr * math.sqrt(tau / (tau + shift)), tau + shift, warmup_steps=W)


def _stair(lr, W, T, kw, batch_size):
  steps = [whole(_WHERE, "steps", s) for s in kw.get("steps", [])]
  mults = [real(_WHERE, "mults", m) for m in kw.get("mults", [])]
  if len(mults) != len(steps):
    raise ValueError(f"{_WHERE}: stair needs one mult per step, got {len(steps)} steps and "
                     f"{len(mults)} mults")
  stairs = families.piecewise(steps, [lr] + [lr * m for m in mults])
  return compose.product(families.linear(0.0, 1.0, W), stairs) if W else stairs


TABLE = {"linear": _polynomial, "polynomial": _polynomial, "cosine": _cosine, "rsqrt": _rsqrt,
         "stair": _stair}


def from_big_vision(total_steps, batch_size=None, data_size=None, base=1.0, decay_type="stair",
                    scale_with_batchsize=False, **kw) -> Schedule:
  """The jaxsched schedule of big_vision's ``create_learning_rate_schedule`` with the same
  arguments (``**config.schedule`` converts as it is). ``schedule(k)`` equals big_vision's
  ``step_fn(k)`` for ``0 <= k <= total_steps``; after ``total_steps`` a cooldown holds 0 where
  big_vision's factor ``(T − k)/C`` turns negative. Unknown keys are a ``ValueError`` (big_vision
  ignores them, so a typo would silently do nothing).

  Formula: ``lr·decay(clip((k − W)/(T − W), 0, 1))·min(1, k/W)·min(1, (T − k)/C)`` with
  ``lr = base`` (``·batch_size/256`` when scaled); each decay as in this module's table.

  Peer: big_vision's ``utils.create_learning_rate_schedule`` (configs' ``config.schedule``).

  Args:
    total_steps: ``T``, the length of training in steps.
    batch_size: the global batch size: for ``scale_with_batchsize`` and for durations given in
      examples or epochs.
    data_size: the number of training examples, for durations in epochs.
    base: the base learning rate.
    decay_type: ``"linear"``, ``"polynomial"``, ``"cosine"``, ``"rsqrt"`` or ``"stair"``.
    scale_with_batchsize: multiply ``base`` by ``batch_size/256`` (the linear scaling rule).
    kw: the rest of big_vision's keywords: ``warmup_{steps,examples,epochs,percent}``,
      ``cooldown_{...}``, and the decay's own ``power``, ``end``/``linear_end``, ``timescale``,
      ``timescale_examples``, ``shift``, ``steps``, ``mults``.

  Returns:
    A single ``Schedule``.

  >>> import numpy as np, jaxsched
  >>> s = jaxsched.from_big_vision(1000, base=0.1, decay_type="cosine", warmup_steps=100)
  >>> np.asarray(s(np.array([50, 100, 550, 1000])), np.float64).round(6).tolist()
  [0.05, 0.1, 0.05, 0.0]
  >>> stair = jaxsched.from_big_vision(1000, batch_size=512, base=0.1, decay_type="stair",
  ...                                  steps=[300, 600], mults=[0.1, 0.01],
  ...                                  scale_with_batchsize=True, cooldown_steps=100)
  >>> np.asarray(stair(np.array([0, 300, 600, 950, 1000])), np.float64).round(6).tolist()
  [0.2, 0.02, 0.002, 0.001, 0.0]
  """
  T = whole(_WHERE, "total_steps", total_steps)
  unknown = sorted(k for k in kw if k not in _KNOWN)
  if unknown:
    raise ValueError(f"{_WHERE}: unknown argument{'s' if len(unknown) > 1 else ''} "
                     f"{', '.join(unknown)}; known: {', '.join(_KNOWN)}")
  if decay_type not in TABLE:
    raise ValueError(f"{_WHERE}: unknown decay_type {decay_type!r}; known: {', '.join(TABLE)}")
  W = duration("warmup", kw, data_size, batch_size, T)
  C = duration("cooldown", kw, data_size, batch_size, T)
  if T > 1 and W >= T:
    raise ValueError(f"{_WHERE}: warmup ({W} steps) must be shorter than total_steps ({T})")
  lr = real(_WHERE, "base", base)
  if scale_with_batchsize:
    if not batch_size:
      raise ValueError(f"{_WHERE}: scale_with_batchsize needs batch_size")
    lr = lr * batch_size / 256.0
  out = TABLE[decay_type](lr, W, T, kw, batch_size)
  if C:
    cool = (families.linear(1.0, 0.0, C, begin=T - C) if C <= T
            else families.linear(T / C, 0.0, T))
    parts = list(out.schedules) if type(out).family == "product" else [out]
    out = compose.product(*parts, cool)
  return out
