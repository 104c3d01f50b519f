"""The decay families of SPEC §2 that are not cyclic: each a formula on top of ``core`` and ``_maths``.

``t`` is the step (updates already applied; ``schedule(0)`` is the first update's value). Every
docstring gives the formula and the peer call that produces the same numbers; ``tests/data`` holds
golden tables from those peers.
"""
from __future__ import annotations

from dataclasses import KW_ONLY
from typing import Any

import jax.numpy as jnp

from jaxsched import _df
from jaxsched import _maths as m
from jaxsched.core import (AT_LEAST_ONE, NONDECREASING, NONNEGATIVE, POSITIVE, Schedule, count,
                           family, real, show, static)


@family("constant")
class Constant(Schedule):
  """``value`` at every step. optax ``constant_schedule(value)``."""
  value: Any = real()

  def _value(self, t):
    return jnp.broadcast_to(self.value.hi, t.shape)


def _decays(gamma: _df.DF):
  """gamma < 1, judged on the pair (0.9999999999 is below 1 even though its float32 ``hi`` is 1)."""
  return (gamma.hi < 1) | ((gamma.hi == 1) & (gamma.lo < 0))


@family("exponential")
class Exponential(Schedule):
  """``init_value · gamma^p``, ``p = max(t − begin, 0) / decay_steps`` (floored if ``staircase``).

  ``end_value`` bounds the result: a floor when gamma < 1, a ceiling when gamma > 1.

  Peers: torch ``ExponentialLR(gamma)`` = ``exponential(base, gamma)``; Keras
  ``ExponentialDecay(init, decay_steps, rate, staircase)``; optax ``exponential_decay(init,
  transition_steps=decay_steps, decay_rate=gamma, transition_begin=begin, staircase, end_value)``.
  Unlike optax's float32 staircase, ``p`` is exact over all of int32 and ``gamma^p`` keeps float32
  precision at any ``p``.
  """
  init_value: Any = real()
  gamma: Any = real(checks=[POSITIVE])
  _: KW_ONLY
  decay_steps: Any = count(1, checks=[AT_LEAST_ONE])
  begin: Any = count(0)
  staircase: bool = static(False, choices=(False, True))
  end_value: Any = real(None, optional=True)

  def _value(self, t):
    n = jnp.maximum(t - self.begin, 0)
    if self.staircase:
      p = m.exact(m.floordiv(n, self.decay_steps), self.dtype)
    else:
      p = m.ratio(n, self.decay_steps, self.dtype)
    out = m.exp_decay(self.init_value, self.gamma, p)
    if self.end_value is not None:
      end = self.end_value.hi
      out = jnp.where(_decays(self.gamma), jnp.maximum(out, end), jnp.minimum(out, end))
    return out


@family("step")
class Step(Schedule):
  """``init_value · gamma^⌊t / step_size⌋``. torch ``StepLR(step_size, gamma)``."""
  init_value: Any = real()
  step_size: Any = count(checks=[AT_LEAST_ONE])
  gamma: Any = real(checks=[POSITIVE])

  def _value(self, t):
    k = m.exact(m.floordiv(t, self.step_size), self.dtype)
    return m.exp_decay(self.init_value, self.gamma, k)


@family("multistep")
class MultiStep(Schedule):
  """``init_value · gamma^(number of milestones ≤ t)``; a repeated milestone counts twice.

  torch ``MultiStepLR(milestones, gamma)``. The number of milestones is static (a shape); their
  values are an int32 leaf.
  """
  init_value: Any = real()
  milestones: Any = count(rank=1, checks=[NONDECREASING])
  gamma: Any = real(checks=[POSITIVE])

  def _value(self, t):
    passed = jnp.sum(self.milestones <= t[..., None], axis=-1)
    return m.exp_decay(self.init_value, self.gamma, m.exact(passed, self.dtype))


@family("piecewise")
class Piecewise(Schedule):
  """``values[number of boundaries ≤ t]``: the new value applies from ``t = b``.

  optax ``piecewise_constant_schedule(v₀, {b: scale})`` (with ``values`` the running products of the
  scales). Keras ``PiecewiseConstantDecay(boundaries, values)`` switches one step later, at b+1:
  it equals ``piecewise([b + 1 for b in boundaries], values)``.
  """
  boundaries: Any = count(rank=1, checks=[NONDECREASING])
  values: Any = real(rank=1)

  def _checks(self):
    nb, nv = self.boundaries.shape[-1], self.values.hi.shape[-1]
    yield nv == nb + 1, (f"piecewise: len(values) must be len(boundaries) + 1 = {nb + 1}, "
                         f"got {nv}")

  def _value(self, t):
    index = jnp.sum(self.boundaries <= t[..., None], axis=-1)
    return jnp.take(self.values.hi, index)


@family("inverse_time")
class InverseTime(Schedule):
  """``init_value / (1 + decay_rate · p)``, ``p = t / decay_steps`` (floored if ``staircase``).

  Keras ``InverseTimeDecay(init, decay_steps, decay_rate, staircase)``; with ``decay_steps=1`` it is
  the classic "1/t" decay ``α₀ / (1 + d·e)``.
  """
  init_value: Any = real()
  decay_rate: Any = real(checks=[NONNEGATIVE])
  _: KW_ONLY
  decay_steps: Any = count(1, checks=[AT_LEAST_ONE])
  staircase: bool = static(False, choices=(False, True))

  def _value(self, t):
    if self.staircase:
      p = m.exact(m.floordiv(t, self.decay_steps), self.dtype)
    else:
      p = m.ratio(t, self.decay_steps, self.dtype)
    denominator = _df.add(_df.mul(self.decay_rate, p), _df.const(1.0, self.dtype))
    return self.init_value.hi / _df.value(denominator)


@family("inverse_sqrt")
class InverseSqrt(Schedule):
  """``t < W: init_value · t/W``; else ``init_value · √(timescale / (t − W + timescale))``.

  HF ``get_inverse_sqrt_schedule(num_warmup_steps=W, timescale)``. With ``W = 0`` and
  ``timescale = 1`` it is the mini-batch ``α₀k/√(m+1)`` rule; ``per_epoch`` makes it per epoch.
  """
  init_value: Any = real()
  timescale: Any = real(checks=[POSITIVE])
  _: KW_ONLY
  warmup_steps: Any = count(0)

  def _value(self, t):
    ramp = self.init_value.hi * _df.value(m.progress(t, 0, self.warmup_steps, self.dtype).p)
    since = m.exact(jnp.maximum(t - self.warmup_steps, 0), self.dtype)
    shrink = _df.div(self.timescale, _df.add(since, self.timescale))
    decay = self.init_value.hi * jnp.sqrt(_df.value(shrink))
    return jnp.where(t < self.warmup_steps, ramp, decay)


@family("linear")
class Linear(Schedule):
  """``init_value + (end_value − init_value) · clip((t − begin) / steps, 0, 1)``; ``steps = 0`` jumps
  to ``end_value`` at ``begin``.

  optax ``linear_schedule(init, end, transition_steps, transition_begin)``; torch
  ``LinearLR(start_factor=a, end_factor=b, total_iters=n)`` = ``linear(base·a, base·b, n)``; the
  "time-based" decay ``α₀ − d·t`` is ``linear(α₀, 0, round(α₀/d))``.
  """
  init_value: Any = real()
  end_value: Any = real()
  steps: Any = count()
  _: KW_ONLY
  begin: Any = count(0)

  def _value(self, t):
    pr = m.progress(t, self.begin, self.steps, self.dtype)
    return m.lerp(self.init_value.hi, self.end_value.hi, *m.linear_weights(pr))


def _polynomial_cycle_progress(t, begin, steps, dtype) -> m.Progress:
  """Keras ``cycle=True``: the horizon grows to ``steps · max(1, ⌈n/steps⌉)``, kept exact (the
  product may pass 2^31, so it is formed as a pair)."""
  n = jnp.maximum(t - begin, 0)
  steps = jnp.maximum(steps, 1)
  rest = n % steps
  cycles = jnp.maximum(n // steps + (rest > 0), 1)
  left = jnp.where(rest > 0, steps - rest, jnp.where(n == 0, steps, 0))
  horizon = _df.mul(m.exact(steps, dtype), m.exact(cycles, dtype))
  return m.Progress(_df.div(m.exact(n, dtype), horizon), _df.div(m.exact(left, dtype), horizon))


@family("polynomial")
class Polynomial(Schedule):
  """``end + (init − end)·(1 − p)^power``, ``p = clip((t − begin)/steps, 0, 1)``.

  With ``cycle=True`` the horizon is ``steps · max(1, ⌈(t − begin)/steps⌉)`` (Keras).
  optax ``polynomial_schedule(init, end, power, transition_steps, transition_begin)``; Keras
  ``PolynomialDecay(init, decay_steps, end, power, cycle)``; torch ``PolynomialLR(total_iters=n,
  power)`` = ``polynomial(base, 0, n, power)``.
  """
  init_value: Any = real()
  end_value: Any = real()
  steps: Any = count()
  power: Any = real(1.0, checks=[POSITIVE])
  _: KW_ONLY
  begin: Any = count(0)
  cycle: bool = static(False, choices=(False, True))

  def _checks(self):
    if self.cycle:
      yield self.steps >= 1, f"polynomial: steps must be >= 1 when cycle=True, got {show(self.steps)}"

  def _value(self, t):
    if self.cycle:
      pr = _polynomial_cycle_progress(t, self.begin, self.steps, self.dtype)
    else:
      pr = m.progress(t, self.begin, self.steps, self.dtype)
    w, wc = m.power_weights(_df.value(pr.q), _df.value(pr.p), self.power)
    return m.lerp(self.init_value.hi, self.end_value.hi, w, wc)


def cosine_curve(t, begin, steps, start: _df.DF, end: _df.DF, exponent: _df.DF, dtype):
  """``end + (start − end)·[½(1 + cos πp)]^exponent`` over ``[begin, begin + steps]``."""
  c, cc = m.cosine_weights(m.progress(t, begin, steps, dtype))
  w, wc = m.power_weights(c, cc, exponent)
  return m.lerp(start.hi, end.hi, w, wc)


@family("cosine")
class Cosine(Schedule):
  """``end + (init − end)·[½(1 + cos πp)]^exponent``, ``p = clip((t − begin)/steps, 0, 1)``.

  optax ``cosine_decay_schedule(init, decay_steps=steps, alpha=end/init, exponent)``; Keras
  ``CosineDecay(init, decay_steps, alpha=end/init)``; torch ``CosineAnnealingLR(T_max, eta_min)``
  for ``t ≤ T_max`` (torch's recursive form turns back up afterwards; this holds ``end_value``).
  """
  init_value: Any = real()
  steps: Any = count()
  _: KW_ONLY
  end_value: Any = real(0.0)
  exponent: Any = real(1.0, checks=[POSITIVE])
  begin: Any = count(0)

  def _value(self, t):
    return cosine_curve(t, self.begin, self.steps, self.init_value, self.end_value, self.exponent,
                        self.dtype)


@family("warmup_cosine")
class WarmupCosine(Schedule):
  """Linear ``init_value → peak_value`` over ``warmup_steps``, then cosine ``peak_value →
  end_value`` over ``total_steps − warmup_steps``.

  optax ``warmup_cosine_decay_schedule(init, peak, warmup_steps, decay_steps=total_steps, end,
  exponent)``; HF ``get_cosine_schedule_with_warmup(W, T)`` = ``warmup_cosine(base, W, T)``; HF
  ``get_cosine_with_min_lr_schedule_with_warmup(W, T, min_lr_rate=r)`` = ``warmup_cosine(base, W, T,
  end_value=r·base)``; Keras ``CosineDecay(init, D, alpha, warmup_target=peak, warmup_steps=W)`` =
  ``warmup_cosine(peak, W, W + D, init_value=init, end_value=alpha·peak)``.
  """
  peak_value: Any = real()
  warmup_steps: Any = count()
  total_steps: Any = count()
  _: KW_ONLY
  init_value: Any = real(0.0)
  end_value: Any = real(0.0)
  exponent: Any = real(1.0, checks=[POSITIVE])

  def _checks(self):
    yield self.warmup_steps <= self.total_steps, (
        f"warmup_cosine: warmup_steps must be <= total_steps ({show(self.total_steps)}), got "
        f"{show(self.warmup_steps)}")

  def _value(self, t):
    warm = m.lerp(self.init_value.hi, self.peak_value.hi,
                  *m.linear_weights(m.progress(t, 0, self.warmup_steps, self.dtype)))
    decay = cosine_curve(t, self.warmup_steps, self.total_steps - self.warmup_steps,
                         self.peak_value, self.end_value, self.exponent, self.dtype)
    return jnp.where(t < self.warmup_steps, warm, decay)


constant = Constant
exponential = Exponential
step = Step
multistep = MultiStep
piecewise = Piecewise
inverse_time = InverseTime
inverse_sqrt = InverseSqrt
linear = Linear
polynomial = Polynomial
cosine = Cosine
warmup_cosine = WarmupCosine
