"""SPEC §2's cyclic and modern families: SGDR restarts, 1cycle, CLR triangles, warmup-stable-decay.

``t`` is the step (updates already applied; ``schedule(0)`` is the first update's value). Every
docstring gives the formula and the peer call that produces the same numbers.

Cycle positions are exact: CLR and WSD phases are int32 arithmetic; an SGDR cycle is found with a
float guess settled by comparisons against starts computed to ~2^-44 relative, and starts that are
integers (every start when ``period_mult`` is one) come out exact, up to t = 2^31 − 1.
"""
from __future__ import annotations

import math
import numbers
from dataclasses import KW_ONLY
from typing import Any

import jax
import jax.numpy as jnp

from jaxsched import _df
from jaxsched import _maths as m
from jaxsched.core import (AT_LEAST_ONE, INT32_MAX, OPEN_UNIT, POSITIVE, Check, Schedule, count,
                           family, real, show, static)

_LN2 = math.log(2.0)
_INV_FACT = [1.0 / math.factorial(n) for n in range(1, 14)]   # |r| <= 0.35: r^13/13! < 2^-51


def _exp_parts(y: _df.DF):
  """``exp(y) = 2^k·(1 + em1)`` for ``y >= 0``: returns ``2^k`` (exact) and ``em1 = expm1(r)``,
  ``r = y − k·ln2``, as a pair."""
  k = jnp.round(y.hi / _LN2)
  r = _df.sub(y, _df.mul(_df.of(k), _df.const(_LN2, y.hi.dtype)))
  two_k = jnp.ldexp(jnp.ones_like(y.hi), k.astype(jnp.int32))
  return two_k, _df.mul(_df.poly(r, _INV_FACT), r)


def _snap(x: _df.DF) -> _df.DF:
  """``x`` rounded to the nearest integer when it is within 2^-40 relative of one (the pair maths
  is good to ~2^-44), else ``x``. Cycle starts that are integers (all of them when ``period_mult``
  is, and ``S_1 = period`` always) come out exact. The derivative is the pair's own."""
  h = jnp.round(x.hi)
  rounded = _df.fast_two_sum(h, jnp.round((x.hi - h) + x.lo))
  gap = _df.value(_df.sub(x, rounded))
  close = jnp.abs(gap) <= jnp.abs(x.hi) * 2.0**-40
  sg = jax.lax.stop_gradient
  snapped = _df.DF(x.hi + sg(rounded.hi - x.hi), x.lo + sg(rounded.lo - x.lo))
  return m.select(close, snapped, x)


def _cycle_bounds(i, period, excess: _df.DF, ln_mult: _df.DF):
  """Start ``S_i = P·(M^i − 1)/(M − 1)`` and length ``T_i = P·M^i`` of cycle ``i``, as pairs
  (``excess = M − 1``).

  ``(M^i − 1)/(M − 1)`` is ``expm1(i·ln M)/(M − 1)``: no cancellation for M near 1; at M = 1 it is
  ``i`` (plus a zero-valued term carrying the derivative ``i(i−1)/2``). Both are snapped to
  integers when they are (``_snap``).
  """
  dtype = ln_mult.hi.dtype
  one = _df.const(1.0, dtype)
  n = m.exact(i, dtype)
  two_k, em1 = _exp_parts(_df.mul(n, ln_mult))
  power = _df.scale(_df.add(one, em1), two_k)                          # M^i
  growth = _df.add(_df.scale(em1, two_k), _df.two_sum(two_k, -one.hi))  # M^i − 1
  unit = excess.hi == 0
  fi = _df.value(n)
  at_one = _df.add(n, _df.of(excess.hi * (fi * (fi - 1) / 2)))
  geometric = m.select(unit, at_one, _df.div(growth, m.select(unit, one, excess)))
  p = m.exact(period, dtype)
  start, length = _df.mul(p, geometric), _df.mul(p, power)
  return _snap(start), _snap(length)


_SEARCH_ROUNDS = 4   # evaluation of the float guess, a Newton step, a ±1 step, a confirmation


def _restart_position(t, period, mult: _df.DF):
  """The cycle ``i`` holding step ``t`` (the largest i with ``S_i <= t``) and the progress through
  it (``t_cur/T_i`` and its complement, each as a pair).

  A float guess (off by up to ~700 cycles when M ≈ 1 and i is near 2^31) is improved by a Newton
  step on the real-valued ``S(i) = t`` (error ≲ 10^-3 after it), then settled by ±1 steps decided by
  exact comparisons ``S_i <= t < S_i + T_i``. One evaluation of ``S_i, T_i`` per round.
  """
  dtype = mult.hi.dtype
  one = _df.const(1.0, dtype)
  ln_mult = _df.log(mult)
  excess = _df.sub(mult, one)
  unit = excess.hi == 0
  tp = m.exact(t, dtype)
  tf, pf = jnp.asarray(t, dtype), jnp.asarray(period, dtype)
  lnm = jnp.where(unit, 1, _df.value(ln_mult))
  xs = jnp.where(unit, 1, _df.value(excess))
  slope_per_length = jnp.where(unit, 1, lnm / xs)          # dS/di = T_i·ln M/(M − 1)
  # candidates past ``cap`` have S_i > 2^31 > t: never the answer, and they keep M^i finite.
  cap = jnp.floor(2 + (22 - jnp.log(pf)) / lnm)
  cap = jnp.where(unit, INT32_MAX - 1, jnp.clip(cap, 1, INT32_MAX - 2**8)).astype(jnp.int32)
  guess = jnp.clip(jnp.floor(jnp.log1p(tf * (xs / pf)) / lnm), 0, cap).astype(jnp.int32)
  guess = jnp.where(unit, m.floordiv(t, period).astype(jnp.int32), guess)

  def round_(k, state):
    i, start, length = state
    done = _df.sub(tp, start)
    below = done.hi < 0
    above = _df.sub(done, length).hi >= 0
    newton = jnp.clip(jnp.floor(_df.value(done) / (_df.value(length) * slope_per_length)),
                      -2.0**30, 2.0**30).astype(jnp.int32)
    move = jnp.where(below, jnp.minimum(newton, -1), jnp.where(above, jnp.maximum(newton, 1), 0))
    i = jnp.clip(i + jnp.where(k == 0, 0, move), 0, cap)
    return (i,) + _cycle_bounds(i, period, excess, ln_mult)

  zero = _df.of(jnp.zeros(jnp.shape(t), dtype))
  i, start, length = jax.lax.fori_loop(0, _SEARCH_ROUNDS, round_, (guess, zero, zero))
  done, left = _df.sub(tp, start), _df.sub(_df.add(start, length), tp)
  done = m.select(done.hi < 0, zero, done)
  left = m.select(left.hi < 0, zero, left)
  return i, m.Progress(_df.div(done, length), _df.div(left, length))


@family("cosine_restarts")
class CosineRestarts(Schedule):
  """SGDR: cosine cycles, each restarting from a (decayed) peak.

  Cycle ``i`` starts at ``S_i = period·(multⁱ − 1)/(mult − 1)`` (``period·i`` when mult = 1) and
  lasts ``T_i = period·multⁱ``; inside it, with ``t_cur = t − S_i``::

      end_value + (init_value·decayⁱ − end_value)·½(1 + cos(π·t_cur/T_i))

  and from cycle ``max_cycles`` on (None: never) the value is ``end_value``.

  Peers: torch ``CosineAnnealingWarmRestarts(T_0, T_mult, eta_min)`` =
  ``cosine_restarts(base, T_0, period_mult=T_mult, end_value=eta_min)``; timm
  ``CosineLRScheduler(t_initial, lr_min, cycle_mul, cycle_decay, cycle_limit)`` =
  ``cosine_restarts(base, t_initial, period_mult=cycle_mul, decay=cycle_decay, end_value=lr_min,
  max_cycles=cycle_limit)`` (timm's default ``cycle_limit=1`` is one cycle, then ``lr_min``);
  Keras ``CosineDecayRestarts(init, first_decay_steps, t_mul, m_mul, alpha)`` =
  ``cosine_restarts(init, first_decay_steps, period_mult=t_mul, decay=m_mul, end_value=alpha·init)``
  when ``m_mul == 1`` or ``alpha == 0`` (Keras also decays the floor by ``m_mulⁱ``; note Keras's
  default ``t_mul=2``). optax ``sgdr_schedule`` takes an explicit list of cycles instead.

  Cycle starts are exact integers whenever ``period_mult`` is a whole number, up to t = 2^31 − 1
  (float64 peers that take ``log(·)/log(mult)`` can put a step on the wrong side of a restart). A
  fractional multiplier gives starts to ~2^-44 relative, and a start within 2^-40 (relative) of an
  integer is taken to be that integer: ``period=1000, period_mult=1.1`` restarts at exactly 2100
  although the double 1.1 is slightly above 11/10. ``period_mult`` is held, like every
  hyperparameter, to ~48 bits: for multipliers within 10^-3 of 1 and tens of thousands of cycles
  that, not the method, bounds the accuracy near restarts. ``period_mult`` is at most 2^16 (more
  could not restart twice within int32 steps once the period reaches 2^15 anyway).
  """
  init_value: Any = real()
  period: Any = count(checks=[AT_LEAST_ONE])
  _: KW_ONLY
  period_mult: Any = real(1.0, checks=[AT_LEAST_ONE, Check(lambda x: x <= 2.0**16, "<= 65536")])
  decay: Any = real(1.0, checks=[POSITIVE])
  end_value: Any = real(0.0)
  max_cycles: Any = count(None, optional=True)

  def _value(self, t):
    i, progress = _restart_position(t, self.period, self.period_mult)
    peak = m.exp_decay(self.init_value, self.decay, m.exact(i, self.dtype))
    out = m.lerp(peak, self.end_value.hi, *m.cosine_weights(progress))
    if self.max_cycles is not None:
      out = jnp.where(i >= self.max_cycles, self.end_value.hi, out)
    return out


def _phase(t: _df.DF, start: _df.DF, end: _df.DF):
  """Progress of ``t`` through ``[start, end]`` (pairs), and whether this phase holds ``t``
  (``t <= end`` and a positive length: a phase of length <= 0 is skipped)."""
  dtype = t.hi.dtype
  one, zero = _df.of(jnp.ones((), dtype)), _df.of(jnp.zeros((), dtype))
  length = _df.sub(end, start)
  real_phase = length.hi > 0
  done, left = _df.sub(t, start), _df.sub(end, t)
  inside = real_phase & (left.hi >= 0)
  done = m.select(done.hi < 0, zero, done)
  left = m.select(left.hi < 0, zero, left)
  den = m.select(real_phase, length, one)
  p = m.select(real_phase, _df.div(done, den), one)
  q = m.select(real_phase, _df.div(left, den), zero)
  return m.Progress(p, q), inside


@family("one_cycle")
class OneCycle(Schedule):
  """The 1cycle policy, exactly as torch ``OneCycleLR(max_lr, total_steps, pct_start,
  anneal_strategy, div_factor, final_div_factor, three_phase)`` computes it.

  ``initial = max_value/div_factor``, ``low = initial/final_div_factor``. Phases end (in double
  precision, like torch, so not necessarily at integers) at ``e₁ = pct_start·T − 1`` and ``T − 1``;
  with ``three_phase`` at ``e₁``, ``2·pct_start·T − 2`` and ``T − 1``. Two phases go
  initial → max → low; three go initial → max → initial → low. A step belongs to the first phase
  with ``t <= end``; inside a phase from ``s`` to ``e``, ``pct = (t − s)/(e − s)`` and the value is
  ``end + (start − end)·½(1 + cos π·pct)`` (``anneal="cos"``) or ``start + (end − start)·pct``
  (``"linear"``). A phase of length <= 0 is skipped (torch divides by zero when
  ``pct_start·T == 1``). For ``t >= T`` the value stays at its value for ``T − 1`` (torch raises
  past ``T`` and extrapolates the curve at ``T``).

  optax ``cosine_onecycle_schedule(T, peak, pct_start, div_factor, final_div_factor)`` is a
  different curve: its warmup spans ``B = int(pct_start·T)`` steps and reaches ``peak`` at ``t = B``
  (torch at ``pct_start·T − 1``), and its decay reaches the minimum at ``t = T`` (torch at
  ``T − 1``) — one step later. It equals ``warmup(cosine(peak, T − B,
  end_value=peak/(div_factor·final_div_factor)), B, init_value=peak/div_factor, shape="cosine")``.
  """
  max_value: Any = real()
  total_steps: Any = count(checks=[AT_LEAST_ONE])
  _: KW_ONLY
  pct_start: Any = real(0.3, checks=[OPEN_UNIT])
  div_factor: Any = real(25.0, checks=[POSITIVE])
  final_div_factor: Any = real(1e4, checks=[POSITIVE])
  anneal: str = static("cos", choices=("cos", "linear"))
  three_phase: bool = static(False, choices=(False, True))

  def _value(self, t):
    dtype = self.dtype
    total = self.total_steps
    one = _df.const(1.0, dtype)
    initial = _df.div(self.max_value, self.div_factor)
    low = _df.div(initial, self.final_div_factor)
    first = _df.sub(_df.mul(self.pct_start, m.exact(total, dtype)), one)     # pct_start·T − 1
    last = m.exact(total - 1, dtype)
    if self.three_phase:
      ends, levels = [first, _df.scale(first, 2), last], [initial, self.max_value, initial, low]
    else:
      ends, levels = [first, last], [initial, self.max_value, low]
    tt = m.exact(jnp.minimum(t, total - 1), dtype)
    start = _df.of(jnp.zeros((), dtype))
    pieces = []
    for k, end in enumerate(ends):
      progress, inside = _phase(tt, start, end)
      weights = (m.cosine_weights if self.anneal == "cos" else m.linear_weights)(progress)
      pieces.append((inside, m.lerp(_df.value(levels[k]), _df.value(levels[k + 1]), *weights)))
      start = end
    out = pieces[-1][1]
    for inside, value in reversed(pieces[:-1]):
      out = jnp.where(inside, value, out)
    return out


_CLR_MODES = ("triangular", "triangular2", "exp_range")


@family("cyclic")
class Cyclic(Schedule):
  """Cyclical learning rates (CLR), exactly as torch ``CyclicLR(base_lr, max_lr, step_size_up,
  step_size_down, mode, gamma)`` computes them.

  With ``L = up + down`` (``down = up`` when None), ``n = t mod L`` and cycle ``c = ⌊t/L⌋ + 1``, the
  rise is ``h = n/up`` for ``n <= up``, else the fall ``h = (L − n)/down``; the value is
  ``base + (max − base)·h·s`` with ``s = 1`` (``triangular``), ``1/2^(c−1)`` (``triangular2``) or
  ``gammaᵗ`` (``exp_range``, t the step). All of this is int32 arithmetic, exact to 2^31 − 1.
  Differences from torch: step sizes are whole step counts (torch accepts floats), ``gamma`` must be
  in (0, 1] (torch's own contract for scale functions is ``0 <= scale <= 1``), and
  ``up + down`` must fit in int32. torch's ``cycle_momentum`` is a separate schedule:
  ``cyclic(max_m, base_m, up, ...)`` gives the inverse cycle.
  """
  base_value: Any = real()
  max_value: Any = real()
  step_size_up: Any = count(checks=[AT_LEAST_ONE])
  _: KW_ONLY
  step_size_down: Any = count(None, optional=True)
  mode: str = static("triangular", choices=_CLR_MODES)
  gamma: Any = real(1.0, checks=[Check(lambda x: (x > 0) & (x <= 1), "in (0, 1]")])

  def _down(self):
    return self.step_size_up if self.step_size_down is None else self.step_size_down

  def _checks(self):
    up, down = self.step_size_up, self._down()
    yield up <= INT32_MAX - down, (f"cyclic: step_size_up + step_size_down must be <= 2^31-1, "
                                   f"got {show(up)} + {show(down)}")

  def _value(self, t):
    dtype = self.dtype
    up, down = self.step_size_up, self._down()
    period = up + down
    n = t % period
    rising = n <= up
    height = jnp.where(rising, n, period - n)
    rest = jnp.where(rising, up - n, n - up)
    den = jnp.maximum(jnp.where(rising, up, down), 1)
    h, hc = _df.value(m.ratio(height, den, dtype)), _df.value(m.ratio(rest, den, dtype))
    if self.mode == "triangular":
      s, sc = jnp.ones((), dtype), jnp.zeros((), dtype)
    elif self.mode == "triangular2":
      halvings = jnp.minimum(t // period, 255).astype(jnp.int32)
      s = jnp.ldexp(jnp.ones(jnp.shape(t), dtype), -halvings)
      sc = 1 - s
    else:
      x = _df.mul(m.exact(t, dtype), _df.log(self.gamma))
      s, sc = _df.exp(x), -_df.expm1(x)
    # weight of max_value: h·s; of base_value: 1 − h·s = hc + h·(1 − s), no cancellation.
    return m.lerp(self.base_value.hi, self.max_value.hi, hc + h * sc, h * s)


@family("wsd")
class WSD(Schedule):
  """Warmup-stable-decay ("trapezoidal"): warmup ``init_value → peak_value`` over ``W`` steps with
  shape w(p) (``linear`` p, ``cosine`` ½(1 − cos πp), ``sqrt`` 1 − √(1 − p)); hold ``peak_value``
  for ``S`` steps; decay ``peak_value → end_value`` over ``D`` steps with shape f(p) (``linear``
  1 − p, ``cosine`` ½(1 + cos πp), ``sqrt`` 1 − √p); then ``end_value``. Any of W, S, D may be 0.

  HF ``get_wsd_schedule(opt, W, D, num_stable_steps=S, warmup_type=a, decay_type=b,
  min_lr_ratio=r)`` = ``wsd(base, W, S, D, init_value=r·base, end_value=r·base, warmup_shape=a,
  decay_shape=b)`` with HF's ``"1-sqrt"`` spelled ``"sqrt"``; HF's default ``decay_type`` is
  ``"cosine"``, this one's is ``"linear"``.
  """
  peak_value: Any = real()
  warmup_steps: Any = count()
  stable_steps: Any = count()
  decay_steps: Any = count()
  _: KW_ONLY
  init_value: Any = real(0.0)
  end_value: Any = real(0.0)
  warmup_shape: str = static("linear", choices=tuple(m.RISE_WEIGHTS))
  decay_shape: str = static("linear", choices=tuple(m.FALL_WEIGHTS))

  def _value(self, t):
    dtype, peak = self.dtype, self.peak_value.hi
    rise = m.RISE_WEIGHTS[self.warmup_shape](m.progress(t, 0, self.warmup_steps, dtype))
    warm = m.lerp(self.init_value.hi, peak, *rise)
    after = jnp.maximum(t - self.warmup_steps, 0)       # no int32 overflow: W + S is never formed
    fall = m.FALL_WEIGHTS[self.decay_shape](m.progress(after, self.stable_steps, self.decay_steps,
                                                      dtype))
    cool = m.lerp(peak, self.end_value.hi, *fall)
    return jnp.where(t < self.warmup_steps, warm,
                     jnp.where(after < self.stable_steps, peak, cool))


cosine_restarts = CosineRestarts


def one_cycle(max_value, total_steps=None, *, epochs=None, steps_per_epoch=None,
              **kwargs) -> OneCycle:
  """The 1cycle policy, exactly torch ``OneCycleLR`` (the formula is ``OneCycle``'s docstring):
  initial = max_value/div_factor → max_value over ``pct_start·T − 1`` steps, then → initial/
  final_div_factor at ``T − 1`` (cosine or linear; three phases with ``three_phase``).

  The length ``T`` is ``total_steps``, or, as torch ``OneCycleLR(max_lr, epochs=E,
  steps_per_epoch=S)`` accepts it, ``epochs·steps_per_epoch``. Give one form: both or neither is a
  ``ValueError`` (torch silently prefers ``total_steps`` when both are given). The schedule stores
  ``total_steps = E·S``, so its repr and config show that product. Keyword arguments
  (``pct_start``, ``div_factor``, ``final_div_factor``, ``anneal``, ``three_phase``) are
  ``OneCycle``'s.
  """
  per_epoch = epochs is not None or steps_per_epoch is not None
  if total_steps is not None and per_epoch:
    raise ValueError("one_cycle: give either total_steps or (epochs and steps_per_epoch), not "
                     f"both; got total_steps={total_steps!r}, epochs={epochs!r}, "
                     f"steps_per_epoch={steps_per_epoch!r}")
  if total_steps is None:
    if epochs is None or steps_per_epoch is None:
      raise ValueError("one_cycle: give either total_steps or both epochs and steps_per_epoch "
                       f"(as torch OneCycleLR); got epochs={epochs!r}, "
                       f"steps_per_epoch={steps_per_epoch!r}")
    for name, x in (("epochs", epochs), ("steps_per_epoch", steps_per_epoch)):
      if isinstance(x, bool) or not isinstance(x, numbers.Real):
        raise TypeError(f"one_cycle: {name} must be an integer >= 1, got {x!r}")
      if not (math.isfinite(x) and x == int(x) and x >= 1):   # 4.0 is 4, as for step counts
        raise ValueError(f"one_cycle: {name} must be an integer >= 1, got {x!r}")
    total_steps = int(epochs) * int(steps_per_epoch)
    if total_steps > INT32_MAX:
      raise ValueError(f"one_cycle: epochs * steps_per_epoch must be <= 2^31-1, got "
                       f"{epochs} * {steps_per_epoch} = {total_steps}")
  return OneCycle(max_value, total_steps, **kwargs)


one_cycle.family = OneCycle.family       # like every other factory (those are the classes)
cyclic = Cyclic
wsd = WSD
