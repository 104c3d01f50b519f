"""big_vision ``utils.create_learning_rate_schedule`` → jaxsched.

big_vision computes ``lr = base`` (times ``batch_size/256`` with ``scale_with_batchsize``, the linear
scaling rule of Goyal et al.), applies the decay over ``progress = clip((t − W)/(T − W), 0, 1)``,
then multiplies by the warmup ``min(1, t/W)`` and the cooldown ``min(1, (T − t)/C)``:

| decay_type | jaxsched |
|---|---|
| ``linear`` / ``polynomial`` (``power``, ``end``/``linear_end``) | ``warmup(polynomial(lr, end, T − W, power), W)`` (``linear`` when power is 1, ``constant(lr)`` when 0) |
| ``cosine`` | ``warmup(cosine(lr, T − W), W)`` |
| ``rsqrt`` (``timescale`` τ, ``shift`` s, durations) | ``inverse_sqrt(lr·√(τ/(τ + s)), τ + s, warmup_steps=W)`` |
| ``stair`` (``steps`` s, ``mults``) | ``product(linear(0.0, 1.0, W), piecewise([max(0, ⌊s⌋), ...], [lr, lr·m₁, ...]))`` |
| cooldown over the last C steps | ``product(..., linear(1.0, 0.0, C, begin=T − C))`` |

(The warmup multiplies a decay that has not started yet, so for the first three it is the additive
``warmup`` prefix; stairs may fall inside the warmup, so there it stays a product.)

Durations: every length big_vision reads through its ``utils.steps`` — ``warmup``, ``cooldown``
and the rsqrt ``timescale`` and ``shift`` — may be given as ``{name}_{steps,examples,epochs,
percent}``, at most one of each (a negative value counts as unset, as there). Examples, epochs and
percent become steps as ``max(1, round(x))`` (0 stays 0; Python's round, halves to even);
``*_steps`` is taken as it is. Without any of them, ``timescale`` and ``shift`` are the plain
``timescale`` (default 10 000) and ``shift`` (default 0), unrounded.
"""

from __future__ import annotations

import math
from typing import Any, cast

from jaxsched import compose, families
from jaxsched.core import Schedule
from jaxsched.interop._checks import real, whole

_WHERE = "from_big_vision"
_SUFFIXES = ("steps", "examples", "epochs", "percent")
_DURATIONS = ("warmup", "cooldown", "timescale", "shift")  # the lengths read through steps()
_DECAY_KEYS = ("power", "end", "linear_end", "timescale", "shift", "steps", "mults")
_KNOWN = tuple(f"{p}_{s}" for p in _DURATIONS for s in _SUFFIXES) + _DECAY_KEYS
_PROGRESS = ("linear", "polynomial", "cosine")  # the decays of progress (t − W)/(T − W)


def _to_integer(x) -> int:
  return max(1, round(x)) if x else 0


def duration(
  prefix: str, kw: dict, data_size, batch_size, total_steps, *, default=0, whole_steps=True
):
  """big_vision's ``utils.steps(prefix, ...)``: a duration in steps, examples, epochs or percent
  of training; ``default`` when none is set (a negative value is unset, as there, and so is a
  percent when ``total_steps`` is 0). ``*_steps`` is taken as it is (a whole number when
  ``whole_steps``), the others rounded by ``max(1, round(x))``. Raises where big_vision would
  silently use the default (examples without ``batch_size``, epochs without ``data_size``)."""
  given = [
    key
    for key in (f"{prefix}_{s}" for s in _SUFFIXES)
    if kw.get(key) is not None and real(_WHERE, key, kw[key]) >= 0
  ]
  if len(given) > 1:
    raise ValueError(f"{_WHERE}: only one of {', '.join(given)} may be set")
  if not given:
    return default
  key = given[0]
  x = real(_WHERE, key, kw[key])
  if key.endswith("_steps"):
    return whole(_WHERE, key, x) if whole_steps else x
  if key.endswith("_examples"):
    if not batch_size:
      raise ValueError(f"{_WHERE}: {key} needs batch_size")
    return _to_integer(x / batch_size)
  if key.endswith("_epochs"):
    if not (batch_size and data_size):
      raise ValueError(f"{_WHERE}: {key} needs batch_size and data_size")
    return _to_integer(x * (data_size / batch_size))
  if not total_steps:
    return default
  if not 0.0 <= x <= 1.0:
    raise ValueError(f"{_WHERE}: {key} must lie in [0.0, 1.0], got {x}")
  return _to_integer(x * total_steps)


def _polynomial(lr, W, T, kw, steps_of):
  power = real(_WHERE, "power", kw.get("power", 1))
  end = real(_WHERE, "end", kw.get("end", kw.get("linear_end", 0)))
  if power < 0:
    raise ValueError(
      f"{_WHERE}: power must be >= 0, got {power}: big_vision's (1 − progress)^power "
      "is infinite at the end of training"
    )
  if power == 0:  # (1 − p)^0 = 1 up to the end included
    decay = families.constant(lr)
  elif power == 1.0:
    decay = families.linear(lr, end, T - W)
  else:
    decay = families.polynomial(lr, end, T - W, power)
  return compose.warmup(decay, W) if W else decay


def _cosine(lr, W, T, kw, steps_of):
  decay = families.cosine(lr, T - W)
  return compose.warmup(decay, W) if W else decay


def _rsqrt(lr, W, T, kw, steps_of):
  tau = steps_of(
    "timescale", real(_WHERE, "timescale", kw.get("timescale", 10_000)), whole_steps=False
  )
  shift = steps_of("shift", real(_WHERE, "shift", kw.get("shift", 0)), whole_steps=False)
  if not (tau > 0 and tau + shift > 0):
    raise ValueError(
      f"{_WHERE}: rsqrt needs timescale > 0 and timescale + shift > 0, got "
      f"timescale={tau}, shift={shift}: big_vision's lr/√(1 + (t − W + shift)/"
      "timescale) divides by zero or takes the root of a negative number"
    )
  # lr/√(1 + (t + s − W)/τ) = lr·√(τ/(τ + s)) · √((τ + s)/(t − W + τ + s)); in the warmup
  # lr/√(1 + s/τ)·t/W, which is inverse_sqrt's own linear warmup.
  return families.inverse_sqrt(lr * math.sqrt(tau / (tau + shift)), tau + shift, warmup_steps=W)


def _stair(lr, W, T, kw, steps_of):
  """big_vision looks ``[1, *mults]`` up at the number of ``steps`` below ``t + 1``: a stair starts
  at ``⌊s⌋`` (0 for a negative one); mults past the last step are never looked up."""
  steps = [real(_WHERE, "steps", s) for s in kw.get("steps", [])]
  mults = [real(_WHERE, "mults", m) for m in kw.get("mults", [])]
  if len(mults) < len(steps):
    raise ValueError(
      f"{_WHERE}: stair needs one mult per step, got {len(steps)} steps and "
      f"{len(mults)} mults (big_vision's lookup past the mults is NaN)"
    )
  if not all(map(math.isfinite, steps)):
    raise ValueError(f"{_WHERE}: stair steps must be finite, got {steps}")
  if steps != sorted(steps):
    raise ValueError(
      f"{_WHERE}: stair steps must be sorted (big_vision binary-searches them), got {steps}"
    )
  stairs = families.piecewise(
    [max(0, math.floor(s)) for s in steps], [lr] + [lr * m for m in mults[: len(steps)]]
  )
  return compose.product(families.linear(0.0, 1.0, W), stairs) if W else stairs


TABLE = {
  "linear": _polynomial,
  "polynomial": _polynomial,
  "cosine": _cosine,
  "rsqrt": _rsqrt,
  "stair": _stair,
}


def from_big_vision(
  total_steps: float,
  batch_size: int | None = None,
  data_size: int | None = None,
  base: float = 1.0,
  decay_type: str = "stair",
  scale_with_batchsize: bool = False,
  **kw: Any,
) -> Schedule:
  """The jaxsched schedule of big_vision's ``create_learning_rate_schedule`` with the same
  arguments (``**config.schedule`` converts as it is). ``schedule(k)`` equals big_vision's
  ``step_fn(k)`` for ``0 <= k <= total_steps``; after ``total_steps`` a cooldown holds 0 where
  big_vision's factor ``(T − k)/C`` turns negative. Unknown keys are a ``ValueError`` (big_vision
  ignores them, so a typo would silently do nothing).

  Lengths as big_vision's ``utils.steps`` reads them: ``warmup``, ``cooldown`` and the rsqrt
  ``timescale`` and ``shift`` each by ``_steps``, ``_examples``, ``_epochs`` or ``_percent``,
  rounded by ``max(1, round(x))`` (so ``timescale_examples=10_000`` at ``batch_size=4096`` is a
  timescale of 2 steps, as there), a negative value unset. Accepted as big_vision accepts them:
  stair ``mults`` longer than ``steps`` (the extra ones are never used), negative or fractional
  stair ``steps`` (a stair starts at ``⌊s⌋``, from 0 for a negative one), ``power=0`` (no decay),
  a negative ``shift`` while ``timescale + shift > 0``.

  Refused with a ``ValueError`` where big_vision's value is NaN or infinite: a progress decay
  (linear, polynomial, cosine) with ``warmup >= total_steps`` (possible only for ``total_steps
  <= 1``: ``0/0`` at ``k = W``, or a decay that runs backwards), a negative ``power``, an rsqrt
  ``timescale <= 0`` or ``timescale + shift <= 0``, stair ``mults`` shorter than ``steps``. Also
  refused: unsorted stair ``steps``, a fractional ``warmup_steps``/``cooldown_steps`` (jaxsched
  counts whole steps), and examples or epochs without the sizes to convert them.

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
      ``cooldown_{...}``, ``timescale_{...}``, ``shift_{...}``, and the decay's own ``power``,
      ``end``/``linear_end``, ``timescale``, ``shift``, ``steps``, ``mults``.

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
    raise ValueError(
      f"{_WHERE}: unknown argument{'s' if len(unknown) > 1 else ''} "
      f"{', '.join(unknown)}; known: {', '.join(_KNOWN)}"
    )
  if decay_type not in TABLE:
    raise ValueError(f"{_WHERE}: unknown decay_type {decay_type!r}; known: {', '.join(TABLE)}")

  def steps_of(prefix, default=0, whole_steps=True):
    return duration(prefix, kw, data_size, batch_size, T, default=default, whole_steps=whole_steps)

  W, C = cast(tuple[int, int], (steps_of("warmup"), steps_of("cooldown")))  # whole steps
  if T > 1 and W >= T:
    raise ValueError(f"{_WHERE}: warmup ({W} steps) must be shorter than total_steps ({T})")
  if decay_type in _PROGRESS and W >= T:  # only with total_steps <= 1, as big_vision allows
    raise ValueError(
      f"{_WHERE}: {decay_type} with warmup ({W} steps) >= total_steps ({T}): big_vision's "
      "progress (t − W)/(total_steps − W) "
      + ("is 0/0 = NaN at t = W" if W == T else "runs backwards")
      + "; use total_steps > warmup"
    )
  lr = real(_WHERE, "base", base)
  if scale_with_batchsize:
    if not batch_size:
      raise ValueError(f"{_WHERE}: scale_with_batchsize needs batch_size")
    lr = lr * batch_size / 256.0
  out = TABLE[decay_type](lr, W, T, kw, steps_of)
  if C:
    cool = families.linear(1.0, 0.0, C, begin=T - C) if C <= T else families.linear(T / C, 0.0, T)
    parts = list(out.schedules) if type(out).family == "product" else [out]
    out = compose.product(*parts, cool)
  return out
