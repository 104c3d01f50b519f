"""Composition (README, "Composition"): schedules built from schedules.

Each piece is evaluated at a clamped, valid step, and every family is finite in value and gradient
for every step >= 0, so selecting with ``where`` never lets an inactive piece put NaN into a gradient.
Each composite evaluates each child once per call (``warmup`` reads ``schedule(0)`` from the same
evaluation, on the steps with a 0 prepended), so compile time grows linearly with nesting depth.
Every child call goes through ``Schedule.__call__``, so the step rule (``_maths.as_step``: clamping,
NaN) holds inside composites too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import KW_ONLY
from typing import cast

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from jaxsched import _maths as m
from jaxsched import core
from jaxsched.core import (
  CountLike,
  CountsLike,
  RealLike,
  Rule,
  Schedule,
  at_least_one,
  child,
  children,
  count,
  family,
  nondecreasing,
  real,
  show,
  static,
)

_ONE_BOUNDARY_BETWEEN_PIECES = Rule(
  lambda s: len(s.schedules) >= 1 and s.boundaries.shape[-1] == len(s.schedules) - 1,
  lambda s: (
    f"len(boundaries) must be len(schedules) - 1 = {len(s.schedules) - 1}, "
    f"got {s.boundaries.shape[-1]}"
  ),
)


def _pieces(schedule: Join | Splice, t, *, restart: bool):
  """The active piece of ``join`` (``restart``: piece i sees ``t − bᵢ₋₁``) or ``splice`` (every
  piece sees ``t``): each piece evaluated once, selected with ``where``."""
  out = schedule.schedules[0](t)
  for i, s in enumerate(schedule.schedules[1:]):
    b = cast(jax.Array, schedule.boundaries)[..., i]
    out = jnp.where(t < b, out, s(t - b if restart else t))
  return out


@family("join")
class Join(Schedule):
  """``t < b₀: s₀(t)``; ``bᵢ₋₁ ≤ t < bᵢ: sᵢ(t − bᵢ₋₁)``. optax ``join_schedules`` semantics.

  ``boundaries`` is an int32 leaf: it may be traced or vmapped (a sweep over warmup lengths).

  Args:
    schedules: the pieces, in order; a non-empty list of schedules, each restarted at step 0 when
      its piece begins.
    boundaries: the steps at which the next piece takes over; a list of integers >= 0, sorted in
      non-decreasing order, one shorter than ``schedules``.

  >>> import jax.numpy as jnp
  >>> import jaxsched as js
  >>> s = js.join([js.constant(0.1), js.cosine(0.1, 100)], [10])
  >>> print(s(jnp.array([5, 10, 60])).round(6))
  [0.1  0.1  0.05]
  """

  step_form = "exact"
  schedules: Sequence[Schedule] = children()
  boundaries: CountsLike = count(rank=1, checks=[nondecreasing])

  rules = (_ONE_BOUNDARY_BETWEEN_PIECES,)

  def formula(self, t: jax.Array) -> ArrayLike:
    return _pieces(self, t, restart=True)


@family("splice")
class Splice(Schedule):
  """``t < b₀: s₀(t)``; ``bᵢ₋₁ ≤ t < bᵢ: sᵢ(t)``: ``join`` whose pieces read the global step.

  Piece ``i`` is ``sᵢ`` itself on ``[bᵢ₋₁, bᵢ)``, evaluated at the same step ``t`` as the whole
  schedule (``join`` restarts each piece at 0). It is how population-based training returns the
  winner's lineage (``jaxsched.pbt(...).best``): each segment's schedule, on its own range of
  global steps, exactly. Peer: optax ``join_schedules([s₀, lambda t: s₁(t + b₀), ...],
  boundaries)`` (each piece moved to its global range). ``boundaries`` is an int32 leaf: it may be
  traced or vmapped.

  Args:
    schedules: the pieces, in order; a non-empty list of schedules, each evaluated at the global
      step while its piece is active.
    boundaries: the steps at which the next piece takes over; a list of integers >= 0, sorted in
      non-decreasing order, one shorter than ``schedules``.

  >>> import jax.numpy as jnp
  >>> import jaxsched as js
  >>> s = js.splice([js.constant(0.1), js.linear(0.1, 0.0, 100)], [10])
  >>> print(s(jnp.array([5, 10, 60])).round(6))
  [0.1  0.09 0.04]
  """

  step_form = "exact"
  schedules: Sequence[Schedule] = children()
  boundaries: CountsLike = count(rank=1, checks=[nondecreasing])

  rules = (_ONE_BOUNDARY_BETWEEN_PIECES,)

  def formula(self, t: jax.Array) -> ArrayLike:
    return _pieces(self, t, restart=False)


_WARMUP_SHAPES = ("linear", "cosine", "exponential")


@family("warmup")
class Warmup(Schedule):
  """A warmup prefix: ``t < W``: ``init_value → schedule(0)`` with ``shape``; then ``schedule(t − W)``.

  Shapes: ``linear`` (straight line), ``cosine`` (½(1 − cos πp) of the way), ``exponential``
  (geometric: ``init·(target/init)^p``; needs ``init_value > 0``). HF
  ``get_linear_schedule_with_warmup(W, T)`` = ``warmup(linear(base, 0, T − W), W)``; HF
  ``get_constant_schedule_with_warmup(W)`` = ``warmup(constant(base), W)``.

  Args:
    schedule: the schedule that runs after warmup, from its own step 0; its ``schedule(0)`` is the
      warmup's target.
    warmup_steps: ``W``, the length of the warmup in steps; an integer >= 0.
    init_value: the value at step 0 (keyword); any finite real, default 0 (> 0 for
      ``shape="exponential"``).
    shape: ``"linear"`` (the default), ``"cosine"`` or ``"exponential"`` (keyword; static; the
      exponential shape also needs ``schedule(0) > 0``).

  >>> import jax.numpy as jnp
  >>> import jaxsched as js
  >>> s = js.warmup(js.cosine(0.1, 100), 10)
  >>> print(s(jnp.array([0, 5, 10, 60])).round(6))
  [0.   0.05 0.1  0.05]
  """

  step_form = "exact"
  schedule: Schedule = child()
  warmup_steps: CountLike = count()
  _: KW_ONLY
  init_value: RealLike = real(default=0.0)
  shape: str = static(default="linear", choices=_WARMUP_SHAPES)

  rules = (  # an exponential warmup multiplies its way up: it cannot start from or reach 0
    Rule(
      lambda s: s.shape != "exponential" or s.init_value > 0,
      lambda s: (
        "init_value must be > 0 for shape='exponential' (an exponential warmup "
        f"cannot start from 0), got {show(s.init_value)}"
      ),
    ),
    Rule(
      lambda s: s.shape != "exponential" or s.schedule(0) > 0,
      lambda s: f"shape='exponential' needs schedule(0) > 0, got {show(s.schedule(0))}",
    ),
  )

  def formula(self, t: jax.Array) -> ArrayLike:
    # The target is the child at 0: a per-setting constant. Evaluated on its own (from
    # ``0·t``, which XLA folds to 0 for integer steps, so a scan's loop hoists it) unless the child
    # holds a warmup itself: then once, side by side with the steps t − W, so that nested warmups
    # compile in time linear in depth, not 2^depth.
    if not _holds_warmup(self.schedule):
      target = self.schedule(jnp.ravel(t)[:1] * 0)[0]
      after = self.schedule(t - self.warmup_steps)
    else:
      flat = jnp.ravel(t)
      steps = jnp.concatenate([jnp.zeros((1,), flat.dtype), flat - self.warmup_steps])
      values = self.schedule(steps)
      target, after = values[0], values[1:].reshape(jnp.shape(t))
    pr = m.progress(t, 0, self.warmup_steps, self.dtype)
    init = self.init_value
    if self.shape in m.RISE_WEIGHTS:
      warm = m.lerp(init, target, *m.RISE_WEIGHTS[self.shape](pr))
    else:
      # init·(target/init)^p with p <= 1: nothing amplifies the float32 rounding of the log.
      safe_target = jnp.where(target > 0, target, init)
      warm = init * jnp.exp(pr.p * jnp.log(safe_target / init))
    return jnp.where(t < self.warmup_steps, warm, after)


def _holds_warmup(schedule: Schedule) -> bool:
  return isinstance(schedule, Warmup) or any(map(_holds_warmup, core.children_of(schedule)))


def product(*schedules: Schedule) -> Product:
  """``s₁(t)·s₂(t)···``: torch ``ChainedScheduler`` of multiplicative schedulers, T5-style
  factors. ``s1 * s2`` is the same.

  Args:
    *schedules: the factors; one or more schedules (none is a ``ValueError``).

  >>> import jaxsched as js
  >>> s = js.product(js.constant(0.5), js.linear(0.1, 0.0, 100))
  >>> print(f"{float(s(50)):.6g}")
  0.025
  """
  return Product(schedules=schedules)


@family("clip")
class Clip(Schedule):
  """``schedule(t)`` bounded to ``[min_value, max_value]`` (either may be None).

  Args:
    schedule: the schedule to bound.
    min_value: the floor; finite, or None (the default) for none.
    max_value: the ceiling; finite, or None (the default) for none; ``min_value <= max_value``
      when both are given.

  >>> import jax.numpy as jnp
  >>> import jaxsched as js
  >>> s = js.clip(js.linear(0.1, 0.0, 100), min_value=0.02)
  >>> print(s(jnp.array([50, 100])).round(6))
  [0.05 0.02]
  """

  schedule: Schedule = child()
  min_value: RealLike | None = real(default=None, optional=True)
  max_value: RealLike | None = real(default=None, optional=True)

  rules = (
    Rule(
      lambda s: s.min_value is None or s.max_value is None or s.min_value <= s.max_value,
      lambda s: "min_value must be <= max_value",
    ),
  )

  step_form = "pair"

  def formula(self, t: jax.Array | m.FracStep) -> ArrayLike:
    out = self.schedule(t)
    if self.min_value is not None:
      out = jnp.maximum(out, self.min_value)
    if self.max_value is not None:
      out = jnp.minimum(out, self.max_value)
    return out


@family("per_epoch")
class PerEpoch(Schedule):
  """``schedule(⌊t / steps_per_epoch⌋)``, or ``schedule(t / steps_per_epoch)`` if ``fractional``.

  For recipes written for torch's once-an-epoch ``scheduler.step()``: the epoch-based rule
  ``α₀k/√e`` is ``per_epoch(inverse_sqrt(α₀k, 1), steps_per_epoch)``.

  Args:
    schedule: the schedule written in epochs.
    steps_per_epoch: updates per epoch; an integer >= 1.
    fractional: if True, the child sees the fractional epoch ``t / steps_per_epoch`` (keyword;
      static); default False (whole epochs).

  >>> import jax.numpy as jnp
  >>> import jaxsched as js
  >>> s = js.per_epoch(js.step(0.1, 2, 0.5), 100)   # halve every 2 epochs of 100 steps
  >>> print(s(jnp.array([150, 250])).round(6))
  [0.1  0.05]
  >>> s = js.per_epoch(js.exponential(0.1, 0.5), 100, fractional=True)
  >>> print(f"{float(s(150)):.6f}")
  0.035355
  """

  step_form = "exact"
  schedule: Schedule = child()
  steps_per_epoch: CountLike = count(checks=[at_least_one])
  _: KW_ONLY
  fractional: bool = static(default=False, choices=(False, True))

  def formula(self, t: jax.Array) -> ArrayLike:
    if self.fractional:
      # t/steps_per_epoch as a pair: a child that amplifies its step (gamma^e) keeps its precision.
      e = m.ratio(t, self.steps_per_epoch, self.dtype)
      return self.schedule(m.FracStep(e.hi, e.lo))
    return self.schedule(m.floordiv(t, self.steps_per_epoch))


join = Join
splice = Splice
warmup = Warmup
clip = Clip
per_epoch = PerEpoch


@family("shift")
class Shift(Schedule):
  """``schedule(max(t − steps, 0))``: the schedule starts ``steps`` updates late and holds its first
  value until then.

  t5x ``create_learning_rate_scheduler(step_offset=n)`` is ``shift(…, n)``; a schedule resumed in a
  run that had already made ``n`` updates. Unlike ``join``, nothing else runs before: steps below
  ``steps`` see ``schedule(0)``.

  Args:
    schedule: the schedule to delay.
    steps: how many steps late it starts; an integer >= 0.

  >>> import jax.numpy as jnp
  >>> import jaxsched as js
  >>> s = js.shift(js.linear(0.1, 0.0, 100), 10)
  >>> print(s(jnp.array([0, 10, 60])).round(6))
  [0.1  0.1  0.05]
  """

  step_form = "exact"
  schedule: Schedule = child()
  steps: CountLike = count()

  def formula(self, t: jax.Array) -> ArrayLike:
    return self.schedule(jnp.maximum(t - self.steps, 0))


@family("repeat")
class Repeat(Schedule):
  """``schedule(t mod period)``: the first ``period`` steps of ``schedule``, over and over.

  torch ``CosineAnnealingLR(T_max, eta_min)`` past ``T_max`` (its recursive form is a cosine wave
  of period ``2·T_max``) is ``repeat(join([cosine(b, T, end_value=eta), cosine(eta, T,
  end_value=b)], [T]), 2·T)``. The modulo is int32 arithmetic, exact up to 2^31 − 1.

  Args:
    schedule: the schedule whose first ``period`` steps repeat.
    period: the length of one repetition in steps; an integer >= 1.

  >>> import jax.numpy as jnp
  >>> import jaxsched as js
  >>> s = js.repeat(js.linear(0.1, 0.0, 10), 10)
  >>> print(s(jnp.array([5, 15])).round(6))
  [0.05 0.05]
  """

  step_form = "exact"
  schedule: Schedule = child()
  period: CountLike = count(checks=[at_least_one])

  def formula(self, t: jax.Array) -> ArrayLike:
    return self.schedule(m.rem(t, self.period))


shift = Shift
repeat = Repeat


# --- the composites that arithmetic builds (``s * c``, ``s1 + s2``, ...: ``core.arithmetic``) ----


@family("product")
class Product(Schedule):
  """Element-wise product ``s₁(t)·s₂(t)···`` (torch ``ChainedScheduler`` of multiplicative
  schedulers; T5-style factor strings). Made by ``jaxsched.product(*s)`` or ``s1 * s2``."""

  schedules: Sequence[Schedule] = children()
  step_form = "pair"

  def formula(self, t: jax.Array | m.FracStep) -> ArrayLike:
    out = self.schedules[0](t)
    zero = out == 0
    for s in self.schedules[1:]:
      factor = s(t)
      out, zero = out * factor, zero | (factor == 0)
    # a factor of exactly 0 makes the product 0, even beside a growing factor that overflowed to
    # inf (0·inf would be NaN)
    return jnp.where(zero, jnp.zeros_like(out), out)


@family("scaled")
class Scaled(Schedule):
  """``factor · schedule(t)``; made by ``s * c``, ``c * s`` and ``s / c``."""

  schedule: Schedule = child()
  factor: RealLike = real()
  step_form = "pair"

  def formula(self, t: jax.Array | m.FracStep) -> ArrayLike:
    out = self.schedule(t) * self.factor
    return jnp.where(self.factor == 0, jnp.zeros_like(out), out)  # 0·inf is 0 here, not NaN


@family("sum")
class Sum(Schedule):
  """Element-wise sum ``s₁(t) + s₂(t) + ···``; made by ``s1 + s2`` and ``s1 - s2`` (as
  ``s1 + (−1)·s2``). A sum is only as exact as float32 addition: where terms cancel, the result
  carries their rounding (2⁻²⁴ of the larger), not 1e-6 of the difference."""

  schedules: Sequence[Schedule] = children()
  step_form = "pair"

  def formula(self, t: jax.Array | m.FracStep) -> ArrayLike:
    out = self.schedules[0](t)
    for s in self.schedules[1:]:
      out = out + s(t)
    return out


@family("offset")
class Offset(Schedule):
  """``schedule(t) + offset``; made by ``s + c``, ``c + s``, ``s − c`` (offset −c) and ``c − s``
  (``(−s) + c``). E.g. a floor under a decay: ``cosine(0.1 − 1e-4, T) + 1e-4``."""

  schedule: Schedule = child()
  offset: RealLike = real()
  step_form = "pair"

  def formula(self, t: jax.Array | m.FracStep) -> ArrayLike:
    return self.schedule(t) + self.offset
