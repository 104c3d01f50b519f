"""The cyclic and modern families: SGDR restarts, 1cycle, CLR triangles, warmup-stable-decay.

``t`` is the step (updates already applied; ``schedule(0)`` is the first update's value). Every
docstring gives the formula and the peer call that produces the same numbers.

Cycle positions are exact: CLR and WSD phases are int32 arithmetic; an SGDR cycle is found with a
pair-precision guess settled by one comparison against starts computed to ~2^-44 relative, and
starts that are integers (every start when ``period_mult`` is one) come out exact, up to
t = 2^31 − 1. Per-step code is straight-line (no loops, no ``lax.cond``).
"""

from __future__ import annotations

import math
import numbers
from dataclasses import KW_ONLY
from typing import TYPE_CHECKING, Any, TypedDict, cast

import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike

from jaxsched import _df
from jaxsched import _maths as m
from jaxsched.core import (
  INT32_MAX,
  Backend,
  Check,
  CountLike,
  RealLike,
  Rule,
  Schedule,
  Special,
  at_least_one,
  count,
  family,
  open_unit,
  positive,
  real,
  show,
  static,
)

if TYPE_CHECKING:  # in typing from Python 3.11
  from typing_extensions import Unpack

_LN2 = math.log(2.0)


def _snap(x: _df.DF) -> _df.DF:
  """``x`` rounded to the nearest integer when it is within 2^-40 relative of one (the pair maths
  is good to ~2^-44), else ``x``. Cycle starts that are integers (all of them when ``period_mult``
  is, and ``S_1 = period`` always) come out exact. The derivative is the pair's own."""
  h = jnp.round(x.hi)
  rounded = _df.fast_two_sum(h, jnp.round((x.hi - h) + x.lo))
  gap = _df.value(_df.sub(x, rounded))
  close = jnp.abs(gap) <= jnp.abs(x.hi) * 2.0**-40
  snapped = _df.DF(x.hi + m.sg(rounded.hi - x.hi), x.lo + m.sg(rounded.lo - x.lo))
  return m.select(close, snapped, x)


_N = 32  # exp table: 2^(j/32), j = 0..31, as pairs
_EXP_TABLE = [2.0 ** (j / _N) for j in range(_N)]


def _exp_pair(y: _df.DF):
  """``(exp(y), expm1(y))`` as pairs, to ~2^-44, for ``0 <= y`` below ~90 (cheap: a table of
  2^(j/32) and a short series instead of a long pair polynomial).

  y = (32·k + j)·ln2/32 + r with |r| <= ln2/64; exp(r) − 1 = r + r²/2 + (float tail), the first two
  terms as pairs.
  """
  dtype = y.hi.dtype
  kk = jnp.round(y.hi * (_N / _LN2))
  r = _df.sub(y, _df.mul(_df.of(kk), _df.const(_LN2 / _N, dtype)))
  sq = _df.two_prod(r.hi, r.hi)
  sq = _df.fast_two_sum(sq.hi, sq.lo + 2 * r.hi * r.lo)  # r², a pair
  cube6 = _df.mul(_df.mul(sq, r), _df.const(1 / 6, dtype))  # r³/6, a pair
  x = r.hi
  tail = x * x * x * x * (1 / 24 + x * (1 / 120 + x / 720))  # <= 6e-10: float is enough
  e = _df.add(
    r, _df.add(_df.DF(sq.hi * 0.5, sq.lo * 0.5), _df.add(cube6, _df.of(tail)))
  )  # expm1(r)
  ki = kk.astype(jnp.int32)
  j, k2 = ki % _N, ki // _N
  table = _df.const(np.asarray(_EXP_TABLE), dtype)
  table_m1 = _df.const(np.expm1(np.arange(_N) * (math.log(2) / _N)), dtype)
  tj = _df.DF(jnp.take(table.hi, j), jnp.take(table.lo, j))
  tj_m1 = _df.DF(jnp.take(table_m1.hi, j), jnp.take(table_m1.lo, j))
  tje = _df.mul(tj, e)
  scale = _df.pow2(k2, dtype)
  power = _df.scale(_df.add(tj, tje), scale)  # 2^k2·T_j·(1 + e)
  # below y = ln 2, M^i − 1 = (T_j − 1) + T_j·e from a table of T_j − 1: nothing cancels
  em1 = m.select(k2 == 0, _df.add(tj_m1, tje), _df.add(power, _df.of(-jnp.ones_like(power.hi))))
  return power, em1


def _start_slope(period, mult, i_f, power_f, unit):
  """dS_i/dM in float, for the gradient only: ``P·i(i − 1)/2`` at ``M = 1``, else
  ``P·[i·M^(i−1)·(M − 1) − (M^i − 1)]/(M − 1)²``."""
  mf = m.sg(mult)
  unit = unit | (mf == 1)
  excess = jnp.where(unit, 1, mf - 1)
  return jnp.where(
    unit,
    period * i_f * (i_f - 1) / 2,
    period * (i_f * power_f / mf * excess - (power_f - 1)) / (excess * excess),
  )


def _restart_position(schedule, t):
  """The cycle ``i`` holding step ``t`` (the largest i with ``S_i <= t``) and the progress through
  it, in straight-line code.

  ``x = ln(1 + t·(M − 1)/P)/ln M`` (the real-valued inverse of ``S``) in pair arithmetic is within
  0.5 of the truth, so ``i`` is ``⌊x − ½⌋`` (``i₀``) or one more: one exact comparison decides.
  ``S_{i₀} = P·(M^{i₀} − 1)/(M − 1)`` needs one pair ``exp``; the next two starts follow by adding
  cycle lengths ``T_{i+1} = T_i·M``. Starts within 2^-40 of an integer are snapped to it
  (``_snap``), so whole-number multipliers give exact restarts up to 2^31 − 1. The gradient with
  respect to ``period_mult`` is routed from the float closed form of dS_i/dM.
  """
  dtype = schedule.dtype
  period, mult = schedule.period, schedule.period_mult
  ln_mult, cap = schedule.constant("ln_mult"), schedule.constant("cap")
  unit = (ln_mult.hi == 0) & (ln_mult.lo == 0)
  tp = m.exact(t, dtype)
  u = _df.mul(tp, schedule.constant("guess_scale"))
  x = _df.mul(
    _df.log_pair(_df.add(_df.of(jnp.ones_like(u.hi)), u)), schedule.constant("inv_ln_mult")
  )
  guess = _df.floor_int(_df.DF(x.hi, x.lo - 0.5), cap - 2)
  by_period = (
    jnp.floor(m.floordiv(t, period)).astype(jnp.int32) if not m.is_int(t) else m.floordiv(t, period)
  )
  i_lo = jnp.where(unit, jnp.maximum(by_period - 1, 0), jnp.clip(guess, 0, cap - 2))
  n = m.exact(i_lo, dtype)
  p = m.exact(period, dtype)
  power, growth = _exp_pair(_df.mul(n, ln_mult))  # M^i, M^i − 1
  m_pair = _df.DF(m.sg(mult), m.sg(schedule.lo("period_mult")))
  s0 = _snap(m.select(unit, _df.mul(n, p), _df.mul(growth, schedule.constant("start_scale"))))
  t0 = m.select(unit, p, _df.mul(power, p))
  t1 = m.select(unit, p, _df.mul(t0, m_pair))
  s1 = _snap(_df.add(s0, t0))
  s2 = _snap(_df.add(s1, t1))
  pf, i_f, pw = jnp.asarray(period, dtype), n.hi + n.lo, _df.value(power)
  mf = m.sg(mult)
  dm = m.delta(mult)
  s0, s1, s2 = (
    _df.DF(sk.hi + dm * m.sg(_start_slope(pf, mult, i_f + k, pw * mf**k, unit)), sk.lo)
    for k, sk in enumerate((s0, s1, s2))
  )
  up = _df.sub(tp, s1).hi >= 0
  i = i_lo + up.astype(jnp.int32)
  start, end = m.select(up, s1, s0), m.select(up, s2, s1)
  length = _df.value(_df.sub(end, start))
  done = jnp.maximum(_df.value(_df.sub(tp, start)), 0)
  left = jnp.maximum(_df.value(_df.sub(end, tp)), 0)
  return i, m.Progress(done / length, left / length)


TABLE = 64  # SGDR cycles tabulated per setting (`_restart_table`): enough when period_mult >= ~1.4


def _cycles_within_int32(mult, period):
  """How many cycle starts ``S_i`` (i >= 0) are <= 2^31 − 1, for ``mult > 1`` (host float64)."""
  with np.errstate(all="ignore"):
    return np.floor(np.log1p(INT32_MAX * (mult - 1) / period) / np.log(mult)) + 1


def _restart_kind(v):
  """``period_mult``'s special value, from the host view ``v``: "unit" (every row 1: int32
  cycles), "table" (every row's starts up to 2^31 − 1 fit in ``TABLE`` entries: looked up, no
  logarithm; its tables are derived in float64 on the host), else None (general)."""
  mult, period = np.asarray(v.period_mult), np.maximum(np.asarray(v.period), 1)
  if np.all(mult == 1):
    return "unit"
  if np.all(mult > 1) and np.all(_cycles_within_int32(mult, period) + 1 <= TABLE):
    return "table"
  return None


def _restart_table(b, schedule):
  """Per-setting tables for ``TABLE`` cycles: the starts ``S_i`` as pairs (snapped to integers
  within 2^-40, so whole multipliers restart exactly), the first integer step of each cycle
  (uint32; 2^32 − 1 past int32, never reached), ``dS_i/dM`` for the gradient, and the peaks
  pairs. Derived for every setting, so that all settings of the family have the same leaves
  (``stack``); read only when ``period_mult`` is specialised to "table" — which needs concrete
  values, so the host's float64 tables; traced values get a float32 stand-in of the same shape."""
  if b.traced:
    mult, period = _df.value(b.real("period_mult"))[..., None], b.count("period", 1)
    period, decay = _df.value(period)[..., None], _df.value(b.real("decay"))[..., None]
    i = jnp.arange(TABLE, dtype=mult.dtype)
    excess = jnp.where(mult == 1, 1, mult - 1)
    starts = jnp.where(mult == 1, period * i, period * jnp.expm1(i * jnp.log(mult)) / excess)
    first = jnp.where(starts <= INT32_MAX, jnp.ceil(starts), 2.0**32 - 1).astype(jnp.uint32)
    zero = jnp.zeros_like(starts)
    nxt = lambda x: jnp.concatenate([x[..., 1:], x[..., -1:]], axis=-1)
    inv = 1 / jnp.maximum(nxt(starts) - starts, 1)
    init = _df.value(b.real("init_value"))[..., None]
    rows = jnp.stack(
      [starts, zero, nxt(starts), zero, zero, zero, init * decay**i, decay**i, inv], axis=-1
    )
    return {"first_step": first, "cycles": rows}
  mult, period = b.real("period_mult")[..., None], b.count("period", at_least=1)[..., None]
  decay = b.real("decay")[..., None]
  i = np.arange(TABLE, dtype=np.float64)
  unit = mult == 1
  excess = np.where(unit, 1.0, mult - 1)
  big = np.finfo(b.dtype).max
  with np.errstate(all="ignore"):
    power = mult**i
    starts = np.where(unit, period * i, period * np.expm1(i * np.log(mult)) / excess)
    rounded = np.round(starts)
    starts = np.where(np.abs(starts - rounded) <= np.abs(starts) * 2.0**-40, rounded, starts)
    slope = np.where(
      unit, period * i * (i - 1) / 2, period * (i * power / mult * excess - (power - 1)) / excess**2
    )
    first = np.ceil(starts)
  first = np.where(first <= INT32_MAX, first, 2**32 - 1).astype(np.uint32)
  clip = lambda x: np.clip(np.nan_to_num(x, nan=0.0), -big, big)  # entries past reach: finite
  s_hi, s_lo = _df.split_host(clip(starts), b.dtype)
  # the peak init·decay^i rounded once from float64 (right wherever float32 holds it, even where
  # decay^i alone overflows; past float range ±inf), and decay^i for the gradient in init
  with np.errstate(over="ignore"):
    decay_power = decay**i
    peak = (b.real("init_value")[..., None] * decay_power).astype(b.dtype)
    decay_power = decay_power.astype(b.dtype)
  return {
    "first_step": b.leaf(first),
    "cycles": b.leaf(_cycle_rows(s_hi, s_lo, clip(slope).astype(b.dtype), peak, decay_power)),
  }


def _cycle_rows(s_hi, s_lo, slope, peak, power):
  """Row i holds everything cycle i needs, so a step costs one row lookup: S_i and S_{i+1} as
  pairs, their dS/dM, init·decay^i and decay^i (the last row's "next" entries repeat it)."""
  nxt = lambda x: np.concatenate([x[..., 1:], x[..., -1:]], axis=-1)
  with np.errstate(all="ignore"):
    length = (nxt(s_hi).astype(np.float64) - s_hi) + (nxt(s_lo).astype(np.float64) - s_lo)
    inv = np.where(length > 0, 1 / length, 0).astype(s_hi.dtype)
  return np.stack([s_hi, s_lo, nxt(s_hi), nxt(s_lo), slope, nxt(slope), peak, power, inv], axis=-1)


def _table_position(schedule, t):
  """``(i, progress, (init·decay^i, decay^i))`` from the tables. A float32 guess
  ``⌊log1p(t·(M − 1)/P)/ln M⌋`` is within one of ``i`` (its error is ~64·2^-22 cycles), so two
  looked-up starts settle it; then one row lookup gives the cycle ``[S_i, S_{i+1}]``. All of it is
  elementwise (no reduction), so it fuses with the rest of the step."""
  dtype, rows = schedule.dtype, schedule.constant("cycles")
  scale, inv_ln = schedule.constant("guess_scale").hi, schedule.constant("inv_ln_mult").hi
  guess = jnp.floor(jnp.log1p(t.astype(dtype) * scale) * inv_ln)
  g = jnp.clip(guess, 0, TABLE - 2).astype(jnp.int32)
  if m.is_int(t):
    first, tu = schedule.constant("first_step"), t.astype(jnp.uint32)
    below = tu < jnp.take(first, g)
    beyond = jnp.take(first, g + 1) <= tu
  else:
    at_or_before = lambda k: (
      (jnp.take(rows[:, 0], k) < t)
      | ((jnp.take(rows[:, 0], k) == t) & (jnp.take(rows[:, 1], k) <= 0))
    )
    below, beyond = ~at_or_before(g), at_or_before(g + 1)
  i = jnp.clip(g - below.astype(jnp.int32) + beyond.astype(jnp.int32), 0, TABLE - 2)
  row = jnp.take(rows, i, axis=0)
  s_hi, s_lo, e_hi, e_lo, s_slope, e_slope, peak, power, inv = (row[..., k] for k in range(9))
  # the table's 1/T_i: no division per step. dS/dM routed into the starts, d(1/T)/dM into inv.
  dm = m.delta(schedule.period_mult)
  tp = m.exact(t, dtype)
  done = jnp.maximum(_df.value(_df.sub(tp, _df.DF(s_hi + dm * s_slope, s_lo))), 0)
  left = jnp.maximum(_df.value(_df.sub(_df.DF(e_hi + dm * e_slope, e_lo), tp)), 0)
  inv = inv - dm * (e_slope - s_slope) * inv * inv
  return i, m.Progress(done * inv, left * inv), (peak, power)


def _unit_position(schedule, t):
  """``(i, progress)`` for equal cycles (``period_mult`` 1): int32 arithmetic."""
  period = jnp.maximum(schedule.period, 1)
  i = m.floordiv(t, period)
  p, q = m.progress(t, i * period, period, schedule.dtype)
  i = i if m.is_int(t) else jnp.floor(i).astype(jnp.int32)
  # d(progress)/d(period_mult) at 1, routed in: S_i moves by P·i(i−1)/2, T_i by P·i
  i_f, dtype = i.astype(schedule.dtype), schedule.dtype
  n = (t - i * period).astype(dtype)
  dm = m.delta(schedule.period_mult)
  slope = dm * m.sg(-i_f * (i_f - 1) / 2 - n * i_f / period.astype(dtype))
  return i, m.Progress(p + slope, q - slope)


def _restart_constants(b, schedule):
  """Per-setting constants of SGDR: ``ln M``, ``(M − 1)/P`` and ``1/ln M`` (for the guess),
  ``P/(M − 1)`` (for the starts), ``ln decay``, and ``cap``, an index past which ``S_i > 2^31``."""
  if not b.traced:
    mult, period = b.real("period_mult"), b.count("period", at_least=1)
    unit = mult == 1
    excess = np.where(unit, 1.0, mult - 1)
    ln_mult = np.log(mult)
    safe_ln = np.where(unit, 1.0, ln_mult)
    with np.errstate(all="ignore"):
      cap = np.floor(np.log1p(INT32_MAX * excess / period) / safe_ln) + 3
    cap = np.where(unit, INT32_MAX - 2, np.clip(cap, 3, INT32_MAX - 2)).astype(np.int32)
    zero = np.zeros_like(mult)
    return {
      "ln_mult": b.pair(np.where(unit, zero, ln_mult)),
      "guess_scale": b.pair(np.where(unit, zero, excess / period)),
      "inv_ln_mult": b.pair(np.where(unit, zero, 1 / safe_ln)),
      "start_scale": b.pair(np.where(unit, zero, period / excess)),
      "ln_decay": b.pair(np.log(b.real("decay"))),
      "cap": b.leaf(cap),
    }
  mult, period = b.real("period_mult"), b.count("period", at_least=1)
  one = b.const(1.0)
  unit = (mult.hi == 1) & (mult.lo == 0)
  zero = _df.of(jnp.zeros_like(mult.hi))
  excess = b.where(unit, one, b.sub(mult, one))
  ln_mult = b.log(mult)
  safe_ln = b.where(unit, one, ln_mult)
  lnf, xf, pf = _df.value(safe_ln), _df.value(excess), _df.value(period)
  cap = jnp.floor(jnp.log1p(INT32_MAX * xf / pf) / lnf) + 3
  cap = jnp.where(unit, INT32_MAX - 2, jnp.clip(cap, 3, INT32_MAX - 2)).astype(jnp.int32)
  return {
    "ln_mult": b.where(unit, zero, ln_mult),
    "guess_scale": b.where(unit, zero, b.div(excess, period)),
    "inv_ln_mult": b.where(unit, zero, b.div(one, safe_ln)),
    "start_scale": b.where(unit, zero, b.div(period, excess)),
    "ln_decay": b.log(b.real("decay")),
    "cap": cap,
  }


@family("cosine_restarts")
class CosineRestarts(Schedule):
  """Cycle i starts at S_i = period·(multⁱ − 1)/(mult − 1) and lasts T_i = period·multⁱ: end_value +
  (init_value·decayⁱ − end_value)·½(1 + cos(π·(t − S_i)/T_i)); end_value from cycle max_cycles on.
  torch CosineAnnealingWarmRestarts.

  SGDR: cosine cycles, each restarting from a (decayed) peak.

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

  Args:
    init_value: the peak of the first cycle; any finite real.
    period: the length of the first cycle in steps; an integer >= 1.
    period_mult: the factor by which each cycle is longer than the one before (keyword); finite,
      in [1, 65536], default 1 (equal cycles).
    decay: the factor by which each cycle's peak is lower than the one before (keyword); finite,
      > 0, default 1.
    end_value: the value each cycle decays to, and the value after ``max_cycles`` (keyword); any
      finite real, default 0.
    max_cycles: how many cycles run before the value stays at ``end_value`` (keyword); an integer
      >= 0, or None (the default) for no limit.

  >>> import jax.numpy as jnp
  >>> import jaxsched as js
  >>> s = js.cosine_restarts(0.1, 10, period_mult=2.0)   # cycles start at 0, 10, 30, 70, ...
  >>> print(s(jnp.array([0, 5, 10, 20])).round(6))
  [0.1  0.05 0.1  0.05]
  """

  step_form = "exact"
  init_value: RealLike = real()
  period: CountLike = count(checks=[at_least_one])
  _: KW_ONLY
  period_mult: RealLike = real(
    default=1.0,
    checks=[at_least_one, Check(lambda x: x <= 2.0**16, "<= 65536")],
    special=Special(classify=_restart_kind, host_derived=("table",)),
  )
  decay: RealLike = real(
    default=1.0, checks=[positive], special=Special((1.0,))
  )  # 1: no decay^i at all
  end_value: RealLike = real(default=0.0)
  max_cycles: CountLike | None = count(default=None, optional=True)

  def derived(self, b: Backend) -> dict[str, Any]:
    return {**_restart_constants(b, self), **_restart_table(b, self)}

  def formula(self, t: jax.Array) -> ArrayLike:
    cycles = self.special("period_mult")  # "unit", "table" or None (general)
    table = None  # (peak_i, power_i): the looked-up peak and decay^i, when cycles == "table"
    if cycles == "table":
      i, progress, table = _table_position(self, t)
    else:
      i, progress = (_unit_position if cycles == "unit" else _restart_position)(self, t)
    if self.special("decay") == 1.0:  # decay^i is 1; its derivative i·decay^(i−1) is i
      peak = self.init_value * (1 + m.delta(self.decay) * i.astype(self.dtype))
    elif table is not None:
      peak_i, power_i = table
      i_f = i.astype(self.dtype)
      # the looked-up peak, its derivatives decay^i (init) and i·peak/decay (decay) routed in
      peak = (
        peak_i
        + m.delta(self.init_value) * m.finite_slope(power_i)
        + m.delta(self.decay) * m.finite_slope(i_f * peak_i / self.decay)
      )
    else:
      ln_decay = m.route(self.constant("ln_decay"), self.decay, 1 / self.decay)
      peak = m.exp_decay(self.init_value, _df.mul(m.exact(i, self.dtype), ln_decay))
    w, wc = m.cosine_weights(progress)
    # a peak past float range (decay > 1) is inf; at a cycle's very end its weight is 0 (not NaN)
    out = jnp.where(w == 0, 0, peak * w) + self.end_value * wc
    if self.max_cycles is not None:
      out = jnp.where(i >= self.max_cycles, self.end_value, out)
    return out


def _split_phase(t, start, end, dtype):
  """Progress of ``t`` through ``[start, end]``, ends held as (int32 whole part, float fraction):
  the differences with ``t`` are int32 (exact) plus one fraction, and the length's reciprocal is per
  setting. Also whether this phase holds ``t`` (``t <= end`` and a positive length: a phase of
  length <= 0 is skipped)."""
  (s_whole, s_frac), (e_whole, e_frac) = start, end
  length = (e_whole - s_whole).astype(dtype) + (e_frac - s_frac)
  done = (t - s_whole).astype(dtype) - s_frac
  left = (e_whole - t).astype(dtype) + e_frac
  real_phase = length > 0
  inside = real_phase & (left >= 0)
  inv = 1 / jnp.where(real_phase, length, 1)
  p = jnp.where(real_phase, jnp.maximum(done, 0) * inv, 1)
  q = jnp.where(real_phase, jnp.maximum(left, 0) * inv, 0)
  return m.Progress(p, q), inside


def _holds(t, start, end, dtype):
  """Whether the phase ``[start, end]`` holds ``t``: ``t <= end`` and a positive length."""
  (s_whole, s_frac), (e_whole, e_frac) = start, end
  length = (e_whole - s_whole).astype(dtype) + (e_frac - s_frac)
  return (length > 0) & ((e_whole - t).astype(dtype) + e_frac >= 0)


@family("one_cycle")
class OneCycle(Schedule):
  """Phases initial → max_value → low (three_phase: → initial → low), initial = max_value/div_factor,
  low = initial/final_div_factor, ending at e₁ = pct_start·T − 1 and T − 1; in a phase a → b: b +
  (a − b)·½(1 + cos π·pct) (anneal='linear': a + (b − a)·pct); holds its value at T − 1 from T on.
  torch OneCycleLR.

  The 1cycle policy, exactly as torch ``OneCycleLR(max_lr, total_steps, pct_start,
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

  step_form = "exact"
  max_value: RealLike = real()
  total_steps: CountLike = count(checks=[at_least_one])
  _: KW_ONLY
  pct_start: RealLike = real(default=0.3, checks=[open_unit])
  div_factor: RealLike = real(default=25.0, checks=[positive])
  final_div_factor: RealLike = real(default=1e4, checks=[positive])
  anneal: str = static(default="cos", choices=("cos", "linear"))
  three_phase: bool = static(default=False, choices=(False, True))

  def derived(self, b: Backend) -> dict[str, Any]:
    # e₁ = pct_start·T − 1 in double precision, like torch (at T = 2^31 a float32 pct_start would
    # move the peak by ~20 steps), held as a whole part (int32) and a fraction in [0, 1), so that
    # per step only int32 differences and one float addition place t against it.
    e1 = b.sub(b.mul(b.real("pct_start"), b.count("total_steps")), b.const(1.0))
    if b.traced:
      whole = jnp.floor(e1.hi).astype(jnp.int32) + jnp.floor(
        (e1.hi - jnp.floor(e1.hi)) + e1.lo
      ).astype(jnp.int32)
      return {"first_whole": whole, "first_frac": _df.value(_df.sub(e1, m.exact(whole, b.dtype)))}
    whole = np.floor(e1)
    return {
      "first_whole": b.leaf(whole.astype(np.int32)),
      "first_frac": b.leaf((e1 - whole).astype(b.dtype)),
    }

  def formula(self, t: jax.Array) -> ArrayLike:
    dtype = self.dtype
    total = cast(jax.Array, self.total_steps)  # a field holds an array
    whole = self.constant("first_whole")
    # d e₁/d pct_start = T, routed to pct_start
    frac = self.constant("first_frac") + m.delta(self.pct_start) * m.sg(total.astype(dtype))
    initial = self.max_value / self.div_factor
    low = initial / self.final_div_factor
    first, last = (whole, frac), (total - 1, jnp.zeros((), dtype))
    if self.three_phase:  # 2·e₁ = 2·whole + ⌊2·frac⌋ + (2·frac − ⌊2·frac⌋)
      carry = jnp.floor(m.sg(2 * frac))
      second = (2 * whole + carry.astype(jnp.int32), 2 * frac - carry)
      ends, levels = [first, second, last], [initial, self.max_value, initial, low]
    else:
      ends, levels = [first, last], [initial, self.max_value, low]
    tt = jnp.minimum(t, total - 1)
    starts = [(jnp.zeros((), jnp.int32), jnp.zeros((), dtype))] + ends[:-1]
    # The phase that holds t (the first with t <= its end and a positive length; the last one
    # otherwise) is picked first; then one progress, one weight pair and one lerp, not one each.
    pick = lambda k, xs: (
      xs[-1] if k == len(ends) - 1 else jnp.where(holds[k], xs[k], pick(k + 1, xs))
    )
    holds = [_holds(tt, a, b, dtype) for a, b in zip(starts[:-1], ends[:-1], strict=True)]
    start = tuple(pick(0, [a[j] for a in starts]) for j in range(2))
    end = tuple(pick(0, [b[j] for b in ends]) for j in range(2))
    progress, _ = _split_phase(tt, start, end, dtype)
    weights = (m.cosine_weights if self.anneal == "cos" else m.linear_weights)(progress)
    return m.lerp(pick(0, levels[:-1]), pick(0, levels[1:]), *weights)


_CLR_MODES = ("triangular", "triangular2", "exp_range")


@family("cyclic")
class Cyclic(Schedule):
  """L = up + down, n = t mod L, h = n/up (n ≤ up) else (L − n)/down: base_value + (max_value −
  base_value)·h·s, s = 1 (triangular), 1/2^⌊t/L⌋ (triangular2), gammaᵗ (exp_range). torch
  CyclicLR.

  Cyclical learning rates (CLR), exactly as torch ``CyclicLR(base_lr, max_lr, step_size_up,
  step_size_down, mode, gamma)`` computes them.

  With ``L = up + down`` (``down = up`` when None), ``n = t mod L`` and cycle ``c = ⌊t/L⌋ + 1``, the
  rise is ``h = n/up`` for ``n <= up``, else the fall ``h = (L − n)/down``; the value is
  ``base + (max − base)·h·s`` with ``s = 1`` (``triangular``), ``1/2^(c−1)`` (``triangular2``) or
  ``gammaᵗ`` (``exp_range``, t the step). All of this is int32 arithmetic, exact to 2^31 − 1.
  Differences from torch: step sizes are whole step counts (torch accepts floats), ``gamma`` must be
  in (0, 1] (torch's own contract for scale functions is ``0 <= scale <= 1``), and
  ``up + down`` must fit in int32. torch's ``cycle_momentum`` is a separate schedule:
  ``cyclic(max_m, base_m, up, ...)`` gives the inverse cycle.

  Args:
    base_value: the value at the bottom of each cycle; any finite real.
    max_value: the value at the top of each (unscaled) cycle; any finite real.
    step_size_up: steps from bottom to top; an integer >= 1.
    step_size_down: steps from top to bottom (keyword); an integer >= 0, or None (the default)
      for ``step_size_up``; ``step_size_up + step_size_down <= 2^31 − 1``.
    mode: ``"triangular"`` (the default), ``"triangular2"`` or ``"exp_range"`` (keyword; static).
    gamma: the per-step factor of ``exp_range`` (keyword); in (0, 1], default 1.

  >>> import jax.numpy as jnp
  >>> import jaxsched as js
  >>> print(js.cyclic(0.01, 0.1, 10)(jnp.array([0, 5, 10, 20])).round(6))
  [0.01  0.055 0.1   0.01 ]
  >>> s = js.cyclic(0.01, 0.1, 10, mode="triangular2")   # the second peak is half as high
  >>> print(s(jnp.array([10, 30])).round(6))
  [0.1   0.055]
  """

  step_form = "exact"
  base_value: RealLike = real()
  max_value: RealLike = real()
  step_size_up: CountLike = count(checks=[at_least_one])
  _: KW_ONLY
  step_size_down: CountLike | None = count(default=None, optional=True)
  mode: str = static(default="triangular", choices=_CLR_MODES)
  gamma: RealLike = real(default=1.0, checks=[Check(lambda x: (x > 0) & (x <= 1), "in (0, 1]")])

  def _down(self):
    return self.step_size_up if self.step_size_down is None else self.step_size_down

  def derived(self, b: Backend) -> dict[str, Any]:
    if self.mode != "exp_range":
      return {}
    return {"rate": b.pair(b.log(b.real("gamma")))}

  rules = (
    Rule(
      lambda s: s.step_size_up <= INT32_MAX - s._down(),
      lambda s: (
        "step_size_up + step_size_down must be <= 2^31-1, got "
        f"{show(s.step_size_up)} + {show(s._down())}"
      ),
    ),
  )

  def formula(self, t: jax.Array) -> ArrayLike:
    dtype = self.dtype
    up, down = self.step_size_up, self._down()
    period = up + down
    n = m.rem(t, period)
    rising = n <= up
    height = jnp.where(rising, n, period - n)
    rest = jnp.where(rising, up - n, n - up)
    # per-setting reciprocals (hoisted out of a scan): no division per step
    inv = jnp.where(
      rising, 1 / jnp.maximum(up, 1).astype(dtype), 1 / jnp.maximum(down, 1).astype(dtype)
    )
    h, hc = height.astype(dtype) * inv, rest.astype(dtype) * inv
    if self.mode == "triangular":
      s, sc = jnp.ones((), dtype), jnp.zeros((), dtype)
    elif self.mode == "triangular2":
      halvings = jnp.minimum(m.floordiv(t, period), 255).astype(jnp.int32)
      s = jnp.ldexp(jnp.ones(jnp.shape(t), dtype), -halvings)
      sc = 1 - s
    else:
      rate = m.route(self.constant("rate"), self.gamma, 1 / self.gamma)
      x = _df.mul(m.exact(t, dtype), rate)
      s, sc = _df.exp(x), -_df.expm1(x)
    # weight of max_value: h·s; of base_value: 1 − h·s = hc + h·(1 − s), no cancellation.
    return m.lerp(self.base_value, self.max_value, hc + h * sc, h * s)


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

  Args:
    peak_value: the value held through the stable phase; any finite real.
    warmup_steps: ``W``, the length of the warmup in steps; an integer >= 0.
    stable_steps: ``S``, the length of the stable phase in steps; an integer >= 0.
    decay_steps: ``D``, the length of the decay in steps; an integer >= 0.
    init_value: the value at step 0 (keyword); any finite real, default 0.
    end_value: the value from ``W + S + D`` on (keyword); any finite real, default 0.
    warmup_shape: ``"linear"`` (the default), ``"cosine"`` or ``"sqrt"`` (keyword; static).
    decay_shape: ``"linear"`` (the default), ``"cosine"`` or ``"sqrt"`` (keyword; static).

  >>> import jax.numpy as jnp
  >>> import jaxsched as js
  >>> print(js.wsd(0.1, 10, 80, 10)(jnp.array([5, 50, 95, 100])).round(6))
  [0.05 0.1  0.05 0.  ]
  """

  step_form = "exact"
  peak_value: RealLike = real()
  warmup_steps: CountLike = count()
  stable_steps: CountLike = count()
  decay_steps: CountLike = count()
  _: KW_ONLY
  init_value: RealLike = real(default=0.0)
  end_value: RealLike = real(default=0.0)
  warmup_shape: str = static(default="linear", choices=tuple(m.RISE_WEIGHTS))
  decay_shape: str = static(default="linear", choices=tuple(m.FALL_WEIGHTS))

  def formula(self, t: jax.Array) -> ArrayLike:
    dtype, peak = self.dtype, self.peak_value
    if self.warmup_shape == self.decay_shape == "linear" and m.is_int(t):
      return self._linear_value(t)
    rise = m.RISE_WEIGHTS[self.warmup_shape](m.progress(t, 0, self.warmup_steps, dtype))
    warm = m.lerp(self.init_value, peak, *rise)
    after = jnp.maximum(t - self.warmup_steps, 0)  # no int32 overflow: W + S is never formed
    fall = m.FALL_WEIGHTS[self.decay_shape](
      m.progress(after, self.stable_steps, self.decay_steps, dtype)
    )
    cool = m.lerp(peak, self.end_value, *fall)
    return jnp.where(t < self.warmup_steps, warm, jnp.where(after < self.stable_steps, peak, cool))

  def _linear_value(self, t):
    """Both phases straight lines: one progress and one lerp, of whichever phase holds ``t`` (the
    phases' reciprocals are per setting), instead of both and a select."""
    dtype, peak = self.dtype, self.peak_value
    w, s, d = self.warmup_steps, self.stable_steps, self.decay_steps
    warm = t < w
    after = jnp.maximum(t - w, 0)  # no int32 overflow: W + S is never formed
    x = jnp.where(warm, t, after - s)
    length = jnp.where(warm, w, d)
    inv = jnp.where(warm, 1 / jnp.maximum(w, 1).astype(dtype), 1 / jnp.maximum(d, 1).astype(dtype))
    den = jnp.maximum(length, 1)
    n = m.jump_count(x, length, den)
    p, q = n.astype(dtype) * inv, (den - n).astype(dtype) * inv
    a, b = jnp.where(warm, self.init_value, peak), jnp.where(warm, peak, self.end_value)
    return jnp.where(~warm & (after < s), peak, m.lerp(a, b, q, p))


cosine_restarts = CosineRestarts


class OneCycleOptions(TypedDict, total=False):
  """The keyword arguments ``one_cycle`` passes on to ``OneCycle``."""

  pct_start: RealLike
  div_factor: RealLike
  final_div_factor: RealLike
  anneal: str
  three_phase: bool


def one_cycle(
  max_value: RealLike,
  total_steps: CountLike | None = None,
  *,
  epochs: float | None = None,
  steps_per_epoch: float | None = None,
  **kwargs: Unpack[OneCycleOptions],
) -> OneCycle:
  """The 1cycle policy, exactly torch ``OneCycleLR`` (the formula is ``OneCycle``'s docstring):
  initial = max_value/div_factor → max_value over ``pct_start·T − 1`` steps, then → initial/
  final_div_factor at ``T − 1`` (cosine or linear; three phases with ``three_phase``).

  The length ``T`` is ``total_steps``, or, as torch ``OneCycleLR(max_lr, epochs=E,
  steps_per_epoch=S)`` accepts it, ``epochs·steps_per_epoch``. Give one form: both or neither is a
  ``ValueError`` (torch silently prefers ``total_steps`` when both are given). The schedule stores
  ``total_steps = E·S``, so its repr and config show that product. Keyword arguments
  (``pct_start``, ``div_factor``, ``final_div_factor``, ``anneal``, ``three_phase``) are
  ``OneCycle``'s.

  Args:
    max_value: the peak value; any finite real.
    total_steps: ``T``, the length of the cycle in steps; an integer >= 1, or None when
      ``epochs`` and ``steps_per_epoch`` are given.
    epochs: the number of epochs (keyword); an integer >= 1, given with ``steps_per_epoch``
      instead of ``total_steps``.
    steps_per_epoch: updates per epoch (keyword); an integer >= 1, given with ``epochs``;
      ``epochs·steps_per_epoch <= 2^31 − 1``.
    **kwargs: ``OneCycle``'s keywords: ``pct_start`` (the warmup fraction, in the open interval
      (0, 1), default 0.3), ``div_factor`` (initial = max_value/div_factor; > 0, default 25),
      ``final_div_factor`` (low = initial/final_div_factor; > 0, default 1e4), ``anneal``
      (``"cos"``, the default, or ``"linear"``; static) and ``three_phase`` (a bool, default False;
      static).

  >>> import jax.numpy as jnp
  >>> import jaxsched as js
  >>> s = js.one_cycle(0.1, 100)      # peak at pct_start·T − 1 = 29, minimum at T − 1 = 99
  >>> print([f"{float(v):.6g}" for v in s(jnp.array([0, 29, 99]))])
  ['0.004', '0.1', '4e-07']
  >>> js.one_cycle(0.1, epochs=10, steps_per_epoch=10) == s
  True
  """
  per_epoch = epochs is not None or steps_per_epoch is not None
  if total_steps is not None and per_epoch:
    raise ValueError(
      "one_cycle: give either total_steps or (epochs and steps_per_epoch), not "
      f"both; got total_steps={total_steps!r}, epochs={epochs!r}, "
      f"steps_per_epoch={steps_per_epoch!r}"
    )
  if total_steps is None:
    if epochs is None or steps_per_epoch is None:
      raise ValueError(
        "one_cycle: give either total_steps or both epochs and steps_per_epoch "
        f"(as torch OneCycleLR); got epochs={epochs!r}, "
        f"steps_per_epoch={steps_per_epoch!r}"
      )
    for name, x in (("epochs", epochs), ("steps_per_epoch", steps_per_epoch)):
      if isinstance(x, bool) or not isinstance(x, numbers.Real):
        raise TypeError(f"one_cycle: {name} must be an integer >= 1, got {x!r}")
      x = cast(float, x)  # a real number here (the checker reads numbers.Real as no float)
      if not (math.isfinite(x) and x == int(x) and x >= 1):  # 4.0 is 4, as for step counts
        raise ValueError(f"one_cycle: {name} must be an integer >= 1, got {x!r}")
    total_steps = int(epochs) * int(steps_per_epoch)
    if total_steps > INT32_MAX:
      raise ValueError(
        f"one_cycle: epochs * steps_per_epoch must be <= 2^31-1, got "
        f"{epochs} * {steps_per_epoch} = {total_steps}"
      )
  return OneCycle(max_value, total_steps, **kwargs)


# like every other factory (those are the classes); a function attribute the checker cannot know
one_cycle.family = OneCycle.family  # pyright: ignore[reportFunctionMemberAccess]
cyclic = Cyclic
wsd = WSD
