"""The decay families that are not cyclic: each a formula on top of ``core`` and ``_maths``.

``t`` is the step (updates already applied; ``schedule(0)`` is the first update's value). Every
docstring gives the formula and the peer call that produces the same numbers; ``tests/data`` holds
golden tables from those peers.
"""

from __future__ import annotations

from dataclasses import KW_ONLY
from typing import Any, cast

import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike

from jaxsched import _df
from jaxsched import _maths as m
from jaxsched.core import (
  Backend,
  CountLike,
  CountsLike,
  RealLike,
  RealsLike,
  Rule,
  Schedule,
  Special,
  at_least_one,
  count,
  family,
  nondecreasing,
  nonnegative,
  positive,
  real,
  show,
  static,
)

# exponents with formulas of a few multiplies (``_maths.SPECIAL_POWERS``); a batch of several
# keeps one group, its formula selecting per row
POWERS = Special(tuple(m.SPECIAL_POWERS), per_row=True)


@family("constant")
class Constant(Schedule):
  """``value`` at every step. optax ``constant_schedule(value)``.

  Args:
    value: the learning rate at every step; any finite real.

  >>> import jaxsched as js
  >>> print(f"{float(js.constant(0.1)(5)):.6g}")
  0.1
  """

  step_form = "exact"
  value: RealLike = real()

  def formula(self, t: jax.Array) -> ArrayLike:
    return jnp.broadcast_to(self.value, jnp.shape(t))


def _gamma_power(schedule, k, per_unit):
  """``k · ln(gamma)/per_unit`` as a pair, from the derived leaf ``rate`` (computed once from the
  exact double), its gradient routed to ``gamma``. ``k`` is an int32 count (exact) or a FracStep."""
  gamma, dtype = schedule.gamma, schedule.dtype
  slope = 1 / (gamma * per_unit)  # d rate / d gamma (per setting: hoisted out of a scan)
  if isinstance(k, m.FracStep):
    return _df.mul(_df.DF(k.hi, k.lo), m.route(schedule.constant("rate"), gamma, slope))
  if not m.is_int(k) or dtype != jnp.float32:
    return _df.mul(m.exact(k, dtype), m.route(schedule.constant("rate"), gamma, slope))
  x = m.count_times(k, schedule.constant("rate_parts"), dtype)
  # d/dgamma routed to gamma, in lo (which multiplies exp(hi)), not on exp's input path
  return _df.DF(x.hi, x.lo + m.delta(gamma) * m.sg(slope) * k.astype(dtype))


def _ln_gamma(b, per_unit=None):
  ln = b.log(b.real("gamma"))
  rate = ln if per_unit is None else b.div(ln, b.count(per_unit, at_least=1))
  parts = m.rate_parts(rate) if b.traced else tuple(map(b.leaf, m.rate_parts_host(rate, b.dtype)))
  return {"rate": b.pair(rate), "rate_parts": parts}


@family("exponential")
class Exponential(Schedule):
  """``init_value · gamma^p``, ``p = max(t − begin, 0) / decay_steps`` (floored if ``staircase``).

  ``end_value`` bounds the result: a floor when gamma < 1, a ceiling when gamma > 1.

  Peers: torch ``ExponentialLR(gamma)`` = ``exponential(base, gamma)``; Keras
  ``ExponentialDecay(init, decay_steps, rate, staircase)``; optax ``exponential_decay(init,
  transition_steps=decay_steps, decay_rate=gamma, transition_begin=begin, staircase, end_value)``.
  Unlike optax's float32 staircase, ``p`` is exact over all of int32 and ``gamma^p`` keeps float32
  precision at any ``p``: ``ln(gamma)/decay_steps`` is derived once, in float64, from the double
  you gave, and each step costs one pair product ``n · rate`` and one ``exp``.

  Args:
    init_value: the value at ``t <= begin``; any finite real.
    gamma: the factor per ``decay_steps`` steps; finite, > 0 (< 1 decays, > 1 grows).
    decay_steps: steps over which the value is multiplied by ``gamma`` once (keyword); an integer
      >= 1, default 1.
    begin: the step at which decay starts (keyword); an integer >= 0, default 0.
    staircase: if True, ``p`` is floored, so the value drops every ``decay_steps`` steps (keyword;
      static); default False.
    end_value: a bound on the result (keyword): a floor when ``gamma < 1``, a ceiling when
      ``gamma > 1``; finite, or None (the default) for no bound.

  >>> import jax.numpy as jnp
  >>> import jaxsched as js
  >>> print(js.exponential(0.1, 0.5, decay_steps=10)(jnp.array([0, 10, 25])).round(6))
  [0.1      0.05     0.017678]
  >>> print(f"{float(js.exponential(0.1, 0.5, decay_steps=10, staircase=True)(25)):.6g}")
  0.025
  """

  init_value: RealLike = real()
  gamma: RealLike = real(checks=[positive])
  _: KW_ONLY
  decay_steps: CountLike = count(default=1, checks=[at_least_one])
  begin: CountLike = count(default=0)
  staircase: bool = static(default=False, choices=(False, True))
  end_value: RealLike | None = real(default=None, optional=True)
  step_form = "pair"

  def derived(self, b: Backend) -> dict[str, Any]:
    return _ln_gamma(b, None if self.staircase else "decay_steps")

  def formula(self, t: jax.Array | m.FracStep) -> ArrayLike:
    ds = jnp.maximum(self.decay_steps, 1)
    if isinstance(t, m.FracStep) and self.staircase:
      t = cast(jax.Array, t.hi + t.lo)  # a traced step's pair
    if isinstance(t, m.FracStep):
      n = _df.sub(_df.DF(t.hi, t.lo), m.exact(self.begin, self.dtype))
      n = m.select(n.hi > 0, n, _df.of(jnp.zeros_like(n.hi)))
      x = _gamma_power(self, m.FracStep(*n), ds.astype(self.dtype))
    elif self.staircase:
      n = jnp.maximum(t - self.begin, 0)
      x = _gamma_power(self, m.floordiv(n, ds), 1)
    else:
      n = jnp.maximum(t - self.begin, 0)
      x = _gamma_power(self, n, ds.astype(self.dtype))
    out = m.exp_decay(self.init_value, x)
    if self.end_value is not None:
      rate = self.constant("rate")
      decays = (rate.hi < 0) | ((rate.hi == 0) & (rate.lo < 0))  # gamma < 1, judged on the double
      out = jnp.where(decays, jnp.maximum(out, self.end_value), jnp.minimum(out, self.end_value))
    return out


@family("step")
class Step(Schedule):
  """``init_value · gamma^⌊t / step_size⌋``. torch ``StepLR(step_size, gamma)``.

  Args:
    init_value: the value for ``t < step_size``; any finite real.
    step_size: steps between drops; an integer >= 1.
    gamma: the factor applied at each drop; finite, > 0.

  >>> import jax.numpy as jnp
  >>> import jaxsched as js
  >>> print(js.step(0.1, 30, 0.1)(jnp.array([0, 30, 60])).round(6))
  [0.1   0.01  0.001]
  """

  step_form = "exact"
  init_value: RealLike = real()
  step_size: CountLike = count(checks=[at_least_one])
  gamma: RealLike = real(checks=[positive])

  def derived(self, b: Backend) -> dict[str, Any]:
    return _ln_gamma(b)

  def formula(self, t: jax.Array) -> ArrayLike:
    return m.exp_decay(self.init_value, _gamma_power(self, m.floordiv(t, self.step_size), 1))


@family("multistep")
class MultiStep(Schedule):
  """``init_value · gamma^(number of milestones ≤ t)``; a repeated milestone counts twice.

  torch ``MultiStepLR(milestones, gamma)``. The number of milestones is static (a shape); their
  values are an int32 leaf.

  Args:
    init_value: the value before the first milestone; any finite real.
    milestones: the steps at which the value is multiplied by ``gamma``; a list of integers >= 0,
      sorted in non-decreasing order.
    gamma: the factor applied at each milestone; finite, > 0.

  >>> import jax.numpy as jnp
  >>> import jaxsched as js
  >>> print(js.multistep(0.1, [30, 80], 0.1)(jnp.array([29, 30, 80])).round(6))
  [0.1   0.01  0.001]
  """

  step_form = "exact"
  init_value: RealLike = real()
  milestones: CountsLike = count(rank=1, checks=[nondecreasing])
  gamma: RealLike = real(checks=[positive])

  def derived(self, b: Backend) -> dict[str, Any]:
    # gamma^j and init·gamma^j for j = 0..len(milestones), in float64 and rounded once: a step
    # looks its value up (correctly rounded) instead of exponentiating
    j = np.arange(np.shape(cast(jax.Array, self.milestones))[-1] + 1)  # (a field holds an array)
    if b.traced:
      powers = _df.value(b.real("gamma"))[..., None] ** j.astype(b.dtype)
      return {"powers": powers, "values": _df.value(b.real("init_value"))[..., None] * powers}
    with np.errstate(over="ignore"):  # past float range: ±inf, the honest value (gamma > 1)
      powers = b.real("gamma")[..., None] ** j
      values = b.real("init_value")[..., None] * powers
      return {"powers": b.leaf(powers.astype(b.dtype)), "values": b.leaf(values.astype(b.dtype))}

  def formula(self, t: jax.Array) -> ArrayLike:
    milestones = cast(jax.Array, self.milestones)  # a field holds an array
    count = milestones.shape[-1]
    if count <= 16:  # a few scalar compares fuse; a reduction would be a kernel of its own
      passed = sum(
        ((milestones[j] <= t).astype(jnp.int32) for j in range(count)),
        jnp.zeros(jnp.shape(t), jnp.int32),
      )  # no milestones: a constant
    else:
      passed = jnp.sum(milestones <= t[..., None], axis=-1, dtype=jnp.int32)
    value, power = (
      jnp.take(self.constant("values"), passed),
      jnp.take(self.constant("powers"), passed),
    )
    # the derivatives gamma^j (init) and j·value/gamma (gamma) routed to the fields
    return (
      value
      + m.delta(self.init_value) * m.finite_slope(power)
      + m.delta(self.gamma) * m.finite_slope(passed.astype(self.dtype) * value / self.gamma)
    )


@family("piecewise")
class Piecewise(Schedule):
  """``values[number of boundaries ≤ t]``: the new value applies from ``t = b``.

  optax ``piecewise_constant_schedule(v₀, {b: scale})`` (with ``values`` the running products of the
  scales). Keras ``PiecewiseConstantDecay(boundaries, values)`` switches one step later, at b+1:
  it equals ``piecewise([b + 1 for b in boundaries], values)``.

  Args:
    boundaries: the steps at which the next value starts; a list of integers >= 0, sorted in
      non-decreasing order.
    values: the value on each piece; a list of finite reals, one longer than ``boundaries``.

  >>> import jax.numpy as jnp
  >>> import jaxsched as js
  >>> s = js.piecewise([100, 200], [0.1, 0.01, 0.001])
  >>> print(s(jnp.array([99, 100, 200])).round(6))
  [0.1   0.01  0.001]
  """

  step_form = "exact"
  boundaries: CountsLike = count(rank=1, checks=[nondecreasing])
  values: RealsLike = real(rank=1)

  rules = (
    Rule(
      lambda s: s.values.shape[-1] == s.boundaries.shape[-1] + 1,
      lambda s: (
        f"len(values) must be len(boundaries) + 1 = {s.boundaries.shape[-1] + 1}, "
        f"got {s.values.shape[-1]}"
      ),
    ),
  )

  def formula(self, t: jax.Array) -> ArrayLike:
    boundaries, values = cast(tuple[jax.Array, jax.Array], (self.boundaries, self.values))
    return jnp.take(values, jnp.sum(boundaries <= t[..., None], axis=-1))


@family("inverse_time")
class InverseTime(Schedule):
  """``init_value / (1 + decay_rate · p)``, ``p = t / decay_steps`` (floored if ``staircase``).

  Keras ``InverseTimeDecay(init, decay_steps, decay_rate, staircase)``; with ``decay_steps=1`` it is
  the classic "1/t" decay ``α₀ / (1 + d·e)``. Plain float32 (nothing here amplifies rounding); a
  denominator past float32's range gives 0, the honest float32 value of a true value below 1e-38.

  Args:
    init_value: the value at step 0; any finite real.
    decay_rate: how fast the value falls per ``decay_steps`` steps; finite, >= 0.
    decay_steps: the unit of ``p`` in steps (keyword); an integer >= 1, default 1.
    staircase: if True, ``p`` is floored (keyword; static); default False.

  >>> import jax.numpy as jnp
  >>> import jaxsched as js
  >>> print(js.inverse_time(0.1, 0.5, decay_steps=10)(jnp.array([0, 10, 20])).round(6))
  [0.1      0.066667 0.05    ]
  """

  step_form = "exact"
  init_value: RealLike = real()
  decay_rate: RealLike = real(checks=[nonnegative])
  _: KW_ONLY
  decay_steps: CountLike = count(default=1, checks=[at_least_one])
  staircase: bool = static(default=False, choices=(False, True))

  def formula(self, t: jax.Array) -> ArrayLike:
    dtype = self.dtype
    if self.staircase:
      p = m.floordiv(t, self.decay_steps).astype(dtype)
    else:
      p = m.fratio(t, self.decay_steps, dtype)
    return self.init_value / (1 + self.decay_rate * p)


@family("inverse_sqrt")
class InverseSqrt(Schedule):
  """``t < W: init_value · t/W``; else ``init_value · √(timescale / (t − W + timescale))``.

  HF ``get_inverse_sqrt_schedule(num_warmup_steps=W, timescale)``. With ``W = 0`` and
  ``timescale = 1`` it is the mini-batch ``α₀k/√(m+1)`` rule; ``per_epoch`` makes it per epoch.

  Args:
    init_value: the peak value, reached at ``t = W``; any finite real.
    timescale: steps over which the decay sets in (the value halves ``3·timescale`` steps after
      warmup); finite, > 0.
    warmup_steps: ``W``, the length of the linear warmup from 0 (keyword); an integer >= 0,
      default 0.

  >>> import jax.numpy as jnp
  >>> import jaxsched as js
  >>> s = js.inverse_sqrt(0.1, 100.0, warmup_steps=10)
  >>> print(s(jnp.array([5, 10, 310])).round(6))
  [0.05 0.1  0.05]
  """

  step_form = "exact"
  init_value: RealLike = real()
  timescale: RealLike = real(checks=[positive])
  _: KW_ONLY
  warmup_steps: CountLike = count(default=0)

  def formula(self, t: jax.Array) -> ArrayLike:
    dtype = self.dtype
    # used only where t < warmup_steps, so t/W needs no clip (1/W per setting: hoisted)
    ramp = self.init_value * (
      t.astype(dtype) * (1 / jnp.maximum(self.warmup_steps, 1).astype(dtype))
    )
    since = jnp.maximum(t - self.warmup_steps, 0).astype(dtype)
    # √a/√b rather than √(a/b): a tiny timescale stays finite in value and gradient
    decay = self.init_value * (jnp.sqrt(self.timescale) / jnp.sqrt(since + self.timescale))
    return jnp.where(t < self.warmup_steps, ramp, decay)


@family("linear")
class Linear(Schedule):
  """``init_value + (end_value − init_value) · clip((t − begin) / steps, 0, 1)``; ``steps = 0`` jumps
  to ``end_value`` at ``begin``.

  optax ``linear_schedule(init, end, transition_steps, transition_begin)``; torch
  ``LinearLR(start_factor=a, end_factor=b, total_iters=n)`` = ``linear(base·a, base·b, n)``; the
  "time-based" decay ``α₀ − d·t`` is ``linear(α₀, 0, round(α₀/d))``.

  Args:
    init_value: the value for ``t <= begin``; any finite real.
    end_value: the value from ``t = begin + steps`` on; any finite real.
    steps: the length of the ramp in steps; an integer >= 0.
    begin: the step at which the ramp starts (keyword); an integer >= 0, default 0.

  >>> import jax.numpy as jnp
  >>> import jaxsched as js
  >>> print(js.linear(0.1, 0.0, 100)(jnp.array([0, 25, 200])).round(6))
  [0.1   0.075 0.   ]
  """

  step_form = "exact"
  init_value: RealLike = real()
  end_value: RealLike = real()
  steps: CountLike = count()
  _: KW_ONLY
  begin: CountLike = count(default=0)

  def formula(self, t: jax.Array) -> ArrayLike:
    pr = m.progress(t, self.begin, self.steps, self.dtype)
    return m.lerp(self.init_value, self.end_value, *m.linear_weights(pr))


def _polynomial_left(t, begin, steps, cycle, dtype) -> _df.DF:
  """``1 − p`` as a pair. Keras ``cycle=True``: the horizon grows to ``steps · max(1, ⌈n/steps⌉)``,
  kept exact (the product may pass 2^31, so it is formed as a pair)."""
  n = jnp.maximum(t - begin, 0)
  if not cycle:
    d = t - begin
    k = jnp.clip(d, 0, steps)
    q = m.ratio(jnp.maximum(steps, 1) - k, steps, dtype)
    one, zero = _df.of(jnp.ones_like(q.hi)), _df.of(jnp.zeros_like(q.hi))
    return m.select(steps == 0, m.select(d >= 0, zero, one), q)
  steps = jnp.maximum(steps, 1)
  rest = m.rem(n, steps)
  cycles = jnp.maximum(m.floordiv(n, steps) + (rest > 0), 1)
  left = jnp.where(rest > 0, steps - rest, jnp.where(n == 0, steps, 0))
  horizon = _df.mul(m.exact(steps, dtype), m.exact(cycles, dtype))
  return _df.div(m.exact(left, dtype), horizon)


@family("polynomial")
class Polynomial(Schedule):
  """``end + (init − end)·(1 − p)^power``, ``p = clip((t − begin)/steps, 0, 1)``.

  With ``cycle=True`` the horizon is ``steps · max(1, ⌈(t − begin)/steps⌉)`` (Keras).
  optax ``polynomial_schedule(init, end, power, transition_steps, transition_begin)``; Keras
  ``PolynomialDecay(init, decay_steps, end, power, cycle)``; torch ``PolynomialLR(total_iters=n,
  power)`` = ``polynomial(base, 0, n, power)``. ``(1 − p)^power`` keeps float32 precision for
  large powers too (``_maths.power_weights``).

  Args:
    init_value: the value for ``t <= begin``; any finite real.
    end_value: the value from ``t = begin + steps`` on; any finite real.
    steps: the length of the decay in steps; an integer >= 0 (>= 1 when ``cycle=True``).
    power: the exponent of ``1 − p``; finite, > 0, default 1 (a straight line).
    begin: the step at which the decay starts (keyword); an integer >= 0, default 0.
    cycle: if True, restart the decay with a longer horizon past ``steps`` (Keras; keyword,
      static); default False.

  >>> import jax.numpy as jnp
  >>> import jaxsched as js
  >>> print(js.polynomial(0.1, 0.0, 100, 2.0)(jnp.array([0, 50, 100])).round(6))
  [0.1   0.025 0.   ]
  """

  step_form = "exact"
  init_value: RealLike = real()
  end_value: RealLike = real()
  steps: CountLike = count()
  power: RealLike = real(default=1.0, checks=[positive], special=POWERS)
  _: KW_ONLY
  begin: CountLike = count(default=0)
  cycle: bool = static(default=False, choices=(False, True))

  rules = (
    Rule(
      lambda s: (not s.cycle) or (s.steps >= 1),
      lambda s: f"steps must be >= 1 when cycle=True, got {show(s.steps)}",
    ),
  )

  def formula(self, t: jax.Array) -> ArrayLike:
    # power 1 is a straight line, the same bits as ``linear`` on every route
    general = lambda: m.power_weights(
      _polynomial_left(t, self.begin, self.steps, self.cycle, self.dtype), self.exact("power")
    )
    special = None if self.cycle else self.special("power")  # cycle: the general formula
    weights = (
      None
      if special is None
      else m.linear_weights(m.progress(t, self.begin, self.steps, self.dtype))
    )
    w, wc = m.special_power(special, self.exact("power"), weights, general)
    return m.lerp(self.init_value, self.end_value, w, wc)


def cosine_curve(t, begin, steps, start, end, exponent: _df.DF, special, dtype):
  """``end + (start − end)·[½(1 + cos πp)]^exponent`` over ``[begin, begin + steps]``; a special
  exponent (1, 2, ½: ``_maths.SPECIAL_POWERS``) takes the plain float32 cosine weights."""
  weights = None if special is None else m.cosine_weights(m.progress(t, begin, steps, dtype))
  w, wc = m.special_power(
    special, exponent, weights, lambda: m.cosine_power_weights(t, begin, steps, exponent, dtype)
  )
  return m.lerp(start, end, w, wc)


@family("cosine")
class Cosine(Schedule):
  """``end + (init − end)·[½(1 + cos πp)]^exponent``, ``p = clip((t − begin)/steps, 0, 1)``.

  optax ``cosine_decay_schedule(init, decay_steps=steps, alpha=end/init, exponent)``; Keras
  ``CosineDecay(init, decay_steps, alpha=end/init)``; torch ``CosineAnnealingLR(T_max, eta_min)``
  for ``t ≤ T_max`` (torch's recursive form turns back up afterwards; this holds ``end_value``).

  Args:
    init_value: the value for ``t <= begin``; any finite real.
    steps: the length of the decay in steps; an integer >= 0.
    end_value: the value from ``t = begin + steps`` on (keyword); any finite real, default 0.
    exponent: the power of the cosine weight (keyword); finite, > 0, default 1.
    begin: the step at which the decay starts (keyword); an integer >= 0, default 0.

  >>> import jax.numpy as jnp
  >>> import jaxsched as js
  >>> s = js.cosine(0.1, 100)
  >>> print(f"{float(s(50)):.6f}")
  0.050000
  >>> print(js.cosine(0.1, 100, end_value=0.01)(jnp.array([0, 50, 100])).round(6))
  [0.1   0.055 0.01 ]
  """

  step_form = "exact"
  init_value: RealLike = real()
  steps: CountLike = count()
  _: KW_ONLY
  end_value: RealLike = real(default=0.0)
  exponent: RealLike = real(default=1.0, checks=[positive], special=POWERS)
  begin: CountLike = count(default=0)

  def formula(self, t: jax.Array) -> ArrayLike:
    return cosine_curve(
      t,
      self.begin,
      self.steps,
      self.init_value,
      self.end_value,
      self.exact("exponent"),
      self.special("exponent"),
      self.dtype,
    )


@family("warmup_cosine")
class WarmupCosine(Schedule):
  """Linear ``init_value → peak_value`` over ``warmup_steps``, then cosine ``peak_value →
  end_value`` over ``total_steps − warmup_steps``.

  optax ``warmup_cosine_decay_schedule(init, peak, warmup_steps, decay_steps=total_steps, end,
  exponent)``; HF ``get_cosine_schedule_with_warmup(W, T)`` = ``warmup_cosine(base, W, T)``; HF
  ``get_cosine_with_min_lr_schedule_with_warmup(W, T, min_lr_rate=r)`` = ``warmup_cosine(base, W, T,
  end_value=r·base)``; Keras ``CosineDecay(init, D, alpha, warmup_target=peak, warmup_steps=W)`` =
  ``warmup_cosine(peak, W, W + D, init_value=init, end_value=alpha·peak)``.

  Args:
    peak_value: the value at the end of warmup, where the cosine starts; any finite real.
    warmup_steps: the length of the linear warmup in steps; an integer >= 0, <= ``total_steps``.
    total_steps: warmup plus decay, in steps; an integer >= 0 (the decay ends at this step).
    init_value: the value at step 0 (keyword); any finite real, default 0.
    end_value: the value from ``total_steps`` on (keyword); any finite real, default 0.
    exponent: the power of the cosine weight (keyword); finite, > 0, default 1.

  >>> import jax.numpy as jnp
  >>> import jaxsched as js
  >>> print(js.warmup_cosine(0.1, 10, 110)(jnp.array([5, 10, 60, 110])).round(6))
  [0.05 0.1  0.05 0.  ]
  """

  step_form = "exact"
  peak_value: RealLike = real()
  warmup_steps: CountLike = count()
  total_steps: CountLike = count()
  _: KW_ONLY
  init_value: RealLike = real(default=0.0)
  end_value: RealLike = real(default=0.0)
  exponent: RealLike = real(default=1.0, checks=[positive], special=POWERS)

  rules = (
    Rule(
      lambda s: s.warmup_steps <= s.total_steps,
      lambda s: (
        f"warmup_steps must be <= total_steps ({show(s.total_steps)}), got {show(s.warmup_steps)}"
      ),
    ),
  )

  def formula(self, t: jax.Array) -> ArrayLike:
    # used only where 0 <= t < W: no clip, no jump (1/W per setting)
    w, inv = self.warmup_steps, 1 / jnp.maximum(self.warmup_steps, 1).astype(self.dtype)
    warm = m.lerp(
      self.init_value, self.peak_value, (w - t).astype(self.dtype) * inv, t.astype(self.dtype) * inv
    )
    decay = cosine_curve(
      t,
      self.warmup_steps,
      self.total_steps - self.warmup_steps,
      self.peak_value,
      self.end_value,
      self.exact("exponent"),
      self.special("exponent"),
      self.dtype,
    )
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
