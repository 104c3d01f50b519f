"""t5x ``utils.create_learning_rate_scheduler`` (also copied by the Flax T5 examples) → jaxsched.

t5x multiplies the factors named in ``factors`` (``'constant * linear_warmup * rsqrt_decay'``),
floors the product at ``min_learning_rate`` and reads the step as ``max(step − step_offset, 0)``.
Each factor is one jaxsched schedule (``W`` = ``warmup_steps``):

| factor | t5x | jaxsched |
|---|---|---|
| ``constant`` | base | ``constant(base)`` |
| ``linear_warmup`` | min(1, t/W) | ``linear(0.0, 1.0, W)`` |
| ``linear_decay`` | base·min(t/W, 1 + decay_factor·(W − t)) | ``join([linear(0.0, base, W), linear(base, base·(1 − d·S), S), linear(..., base·(1 − d·R), R − S)], [W, W + S])`` with ``S = ⌈1/d⌉``, ``R = 2³¹ − 1 − W`` (the line is not clamped) |
| ``rsqrt_decay`` | 1/√max(t, W) | ``shift(inverse_sqrt(1/√W, W), W)`` |
| ``rsqrt_normalized_decay`` | √W/√max(t, W) | ``shift(inverse_sqrt(1.0, W), W)`` |
| ``decay_every`` | decay_factor^⌊t/steps_per_decay⌋ | ``step(1.0, steps_per_decay, decay_factor)`` (0: ``piecewise([steps_per_decay], [1.0, 0.0])``) |
| ``cosine_decay`` | ½(1 + cos(π·(max(0, (t − W)/C) mod 1))) | ``shift(cosine_restarts(1.0, C), W)`` (C = ``steps_per_cycle``) |

The whole is ``shift(clip(product(...), min_value=min_learning_rate), step_offset)``.
"""

from __future__ import annotations

import difflib
import itertools
import math

from jaxsched import compose, cycles, families
from jaxsched.core import INT32_MAX, Schedule
from jaxsched.interop._checks import real, whole

_WHERE = "from_t5x"


def _warmup_steps(p, factor):
  if p["warmup_steps"] < 1:
    raise ValueError(
      f"{_WHERE}: factor {factor!r} needs warmup_steps >= 1 (t5x divides by it), "
      f"got {p['warmup_steps']}"
    )
  return p["warmup_steps"]


def _constant(p):
  return families.constant(p["base"])


def _linear_warmup(p):
  return families.linear(0.0, 1.0, _warmup_steps(p, "linear_warmup"))


def _line(value, length: int) -> list:
  """``value(n)``, a straight line in ``n``, for ``0 <= n <= length`` as ``(linear, steps)``
  pieces. A line that crosses 0 inside is split at the first whole step at or past the crossing
  (0 there when the crossing is a whole step), so that each piece keeps one sign and float32 stays
  relative-exact away from the crossing (README, "Numbers you can trust")."""
  v0, v1 = value(0), value(length)
  if length < 1 or v0 == v1:
    return [(families.constant(v0), length)]
  if v0 * v1 < 0:
    cross = length * v0 / (v0 - v1)
    near = round(cross)
    if abs(cross - near) <= 1e-9 * cross:  # a whole step (1/d for d = 1e-5)
      S, mid = near, 0.0
    else:
      S = math.ceil(cross)
      mid = value(S)
    if 1 <= S < length:
      return [(families.linear(v0, mid, S), S), (families.linear(mid, v1, length - S), length - S)]
  return [(families.linear(v0, v1, length), length)]


def _linear_decay(p):
  """``base·min(t/W, 1 + d·(W − t))``, never clamped: the smaller of two lines through
  ``(W, base)``, so a straight line on ``[0, W]`` and another after ``W``, which runs on (below
  0 for ``d > 0``) through the whole step domain; only ``min_learning_rate`` floors it, and a
  negative floor, a negative base or a repeated factor see the line as it is."""
  W, d, base = _warmup_steps(p, "linear_decay"), p["decay_factor"], p["base"]
  if d < 0:
    raise ValueError(
      f"{_WHERE}: factor 'linear_decay' needs decay_factor >= 0, got {d} (a "
      "negative slope makes it a rise, not a decay)"
    )
  pieces = _line(lambda n: base * min(n / W, 1.0 + d * (W - n)), W) + _line(
    lambda n: base * min((W + n) / W, 1.0 - d * n), INT32_MAX - W
  )
  schedules, lengths = zip(*pieces, strict=True)
  return compose.join(list(schedules), list(itertools.accumulate(lengths[:-1])))


def _rsqrt_decay(p):
  W = _warmup_steps(p, "rsqrt_decay")
  return compose.shift(families.inverse_sqrt(1.0 / math.sqrt(W), float(W)), W)


def _rsqrt_normalized_decay(p):
  W = _warmup_steps(p, "rsqrt_normalized_decay")
  return compose.shift(families.inverse_sqrt(1.0, float(W)), W)


def _decay_every(p):
  d, n = p["decay_factor"], p["steps_per_decay"]
  if d < 0:
    raise ValueError(
      f"{_WHERE}: factor 'decay_every' needs decay_factor >= 0, got {d} (a negative "
      "factor would flip the sign at every decay)"
    )
  if d == 0:  # t5x's 0^0 = 1 before the first decay, then 0
    return families.piecewise([n], [1.0, 0.0])
  return families.step(1.0, n, d)


def _cosine_decay(p):
  curve = cycles.cosine_restarts(1.0, p["steps_per_cycle"])
  return compose.shift(curve, p["warmup_steps"]) if p["warmup_steps"] else curve


TABLE = {
  "constant": _constant,
  "linear_warmup": _linear_warmup,
  "linear_decay": _linear_decay,
  "rsqrt_decay": _rsqrt_decay,
  "rsqrt_normalized_decay": _rsqrt_normalized_decay,
  "decay_every": _decay_every,
  "cosine_decay": _cosine_decay,
}


def from_t5x(
  factors: str = "constant * linear_warmup * rsqrt_decay",
  base_learning_rate: float = 0.5,
  warmup_steps: int = 1000,
  decay_factor: float = 0.5,
  steps_per_decay: int = 20000,
  steps_per_cycle: int = 100000,
  step_offset: int = 0,
  min_learning_rate: float = 1e-8,
) -> Schedule:
  """The jaxsched schedule of t5x's ``create_learning_rate_scheduler`` with the same arguments
  and defaults (a gin line ``utils.create_learning_rate_scheduler.factors = '...'`` converts
  argument for argument). ``schedule(k)`` equals t5x's ``step_fn(k)``. An unknown factor is a
  ``ValueError`` that names it.

  ``linear_decay`` is t5x's line ``base·min(k/W, 1 + decay_factor·(W − k))`` at every step, below
  0 too (only ``min_learning_rate`` floors it, so a negative floor or base, or the factor named
  twice, sees the negative line).

  Refused with a ``ValueError`` where t5x divides by zero and gives NaN or inf: ``warmup_steps=0``
  with ``linear_warmup``, ``linear_decay``, ``rsqrt_decay`` or ``rsqrt_normalized_decay`` (``0/0``
  at step 0), ``steps_per_decay`` or ``steps_per_cycle`` below 1. Also refused: a negative
  ``decay_factor`` for ``linear_decay`` (a rise) and ``decay_every`` (a sign that flips at every
  decay), and a negative ``step_offset`` or ``warmup_steps``.

  Formula: ``max(∏ factorᵢ(max(k − step_offset, 0)), min_learning_rate)``, each factor as in this
  module's table; as a schedule, ``shift(clip(product(...), min_value=min_learning_rate),
  step_offset)``.

  Peer: t5x's ``utils.create_learning_rate_scheduler`` (and the Flax T5 examples' copy).

  Args:
    factors: the factor names joined by ``*``: ``constant``, ``linear_warmup``, ``linear_decay``,
      ``rsqrt_decay``, ``rsqrt_normalized_decay``, ``decay_every``, ``cosine_decay``.
    base_learning_rate: the ``constant`` factor's value.
    warmup_steps: ``W``, the warmup length used by ``linear_warmup``, ``rsqrt_*``,
      ``linear_decay`` and ``cosine_decay``.
    decay_factor: the per-step slope of ``linear_decay`` and the multiplier of ``decay_every``.
    steps_per_decay: the period of ``decay_every``.
    steps_per_cycle: the cycle length of ``cosine_decay``.
    step_offset: steps before the schedule starts (it reads ``max(k − step_offset, 0)``).
    min_learning_rate: the floor of the product.

  Returns:
    A single ``Schedule``.

  The T5 default, ``0.5·min(1, k/1000)/√max(k, 1000)``:

  >>> import numpy as np, jaxsched
  >>> s = jaxsched.from_t5x("constant * linear_warmup * rsqrt_decay", 0.5, warmup_steps=1000)
  >>> [f"{float(v):.6f}" for v in s(np.array([500, 1000, 4000]))]
  ['0.007906', '0.015811', '0.007906']
  >>> print(f"{float(s(0)):.1e}")                              # min_learning_rate
  1.0e-08
  """
  if not isinstance(factors, str):
    raise TypeError(
      f"{_WHERE}: factors must be a string like 'constant * linear_warmup', got {factors!r}"
    )
  names = [n.strip() for n in factors.split("*")]
  for n in names:
    if n not in TABLE:
      close = difflib.get_close_matches(n, list(TABLE), n=1)
      hint = f"; did you mean {close[0]!r}?" if close else ""
      raise ValueError(
        f"{_WHERE}: unknown factor {n!r} in factors {factors!r}{hint} Known "
        f"factors: {', '.join(TABLE)}"
      )
  p = {
    "base": real(_WHERE, "base_learning_rate", base_learning_rate),
    "warmup_steps": whole(_WHERE, "warmup_steps", warmup_steps),
    "decay_factor": real(_WHERE, "decay_factor", decay_factor),
  }
  if "decay_every" in names:
    p["steps_per_decay"] = whole(_WHERE, "steps_per_decay", steps_per_decay, minimum=1)
  if "cosine_decay" in names:
    p["steps_per_cycle"] = whole(_WHERE, "steps_per_cycle", steps_per_cycle, minimum=1)
  parts = [TABLE[n](p) for n in names]
  out = parts[0] if len(parts) == 1 else compose.product(*parts)
  out = compose.clip(out, min_value=real(_WHERE, "min_learning_rate", min_learning_rate))
  offset = whole(_WHERE, "step_offset", step_offset)
  return compose.shift(out, offset) if offset else out
