"""Step maths and curve pieces shared by every family.

The rules that make float32 results trustworthy at float32 cost (README, "Numbers you can trust"):
- Steps are clamped into ``[0, 2^31-1]`` before any arithmetic (``as_step``): nothing ever wraps.
- Integer steps stay integers for as long as possible: offsets, floors, modulo and boundaries are
  int32 arithmetic, exact up to 2^31-1.
- Every weight comes with its complement computed independently from integers (``p = n/T`` and
  ``1 − p = (T − n)/T``, each a product with the per-setting ``1/T``; the smaller cosine weight as
  ``sin²`` of the smaller angle, the larger as 1 minus it), so ``lerp`` never subtracts nearly equal
  numbers. That is plain float32 arithmetic.
- Special exact values (an exponent of 1, 2 or ½) take formulas without pairs (``special_power``);
  the schedule decides this from concrete values at construction (a field's ``special=``).
- Per step, no division where a per-setting reciprocal does: in a ``lax.scan`` XLA gives each
  division (and each reduction) a kernel of its own, which costs more than the arithmetic.
- Pairs (``_df``) only where a formula amplifies rounding: an exponent multiplied by a step
  (``gamma^p``: ``n · ln(gamma)/decay_steps`` with the constant derived once, in float64, on the
  host) and a weight raised to a power (``w^k = exp(k · ln w)``, with ``ln w`` to ~2^-30).

Per-step code is straight-line: no ``lax.cond`` or loops, so it fuses and vmaps without control flow.
Float steps (fractional epochs) take the same code paths; only their exactness is the user's.
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import NamedTuple

import jax
import jax.core
import jax.numpy as jnp
import numpy as np

from jaxsched import _df

INT32_MAX = 2**31 - 1
sg = jax.lax.stop_gradient


# --- the step rule ----------------------------------------------------------------------------------


class FracStep(NamedTuple):
  """A fractional step carried as a float pair ``hi + lo`` (``per_epoch(..., fractional=True)``
  gives its child ``t / steps_per_epoch`` this way, so ``gamma^(t/k)`` keeps its precision).
  Families that do not read pairs (``step_form`` other than "pair") get ``hi + lo`` rounded."""

  hi: jax.Array | np.ndarray
  lo: jax.Array | np.ndarray


def _float_max(dtype) -> float:
  """The largest value of ``dtype`` that is <= 2^31 − 1 (2147483520 for float32)."""
  top = np.asarray(INT32_MAX, np.float64).astype(dtype)
  if float(top) > INT32_MAX:
    top = np.nextafter(top, np.asarray(0, dtype))
  return float(top)


def _clamp_python(v):
  if isinstance(v, (bool, np.bool_)):
    raise TypeError(f"a schedule's step must be an integer or float, got {v!r}")
  if isinstance(v, (int, np.integer)):
    return min(max(int(v), 0), INT32_MAX)
  return v


def _host_step(step):
  """A step given on the host (Python numbers, NumPy arrays, lists) under the step rule, without
  ever converting an out-of-range integer to int32 first."""
  if isinstance(step, (bool, np.bool_)):
    raise TypeError(f"a schedule's step must be an integer or float array, got {step!r}")
  if isinstance(step, int):
    return jnp.asarray(min(max(step, 0), INT32_MAX), jnp.int32)
  a = np.asarray(step)
  if a.dtype == object:  # Python ints past int64 in a list
    # (an array in, an array out; typeshed types frompyfunc as returning a scalar)
    a = np.asarray(np.frompyfunc(_clamp_python, 1, 1)(a).tolist())  # pyright: ignore[reportAttributeAccessIssue]
  kind = a.dtype.kind
  if kind in "iu":
    if kind == "u":
      a = np.minimum(a, a.dtype.type(min(INT32_MAX, np.iinfo(a.dtype).max)))
    a = np.clip(a.astype(np.int64), 0, INT32_MAX).astype(np.int32)
    return jnp.asarray(a)
  if kind == "f":
    dtype = np.float32 if a.dtype.itemsize <= 4 else jax.dtypes.canonicalize_dtype(np.float64)
    with np.errstate(invalid="ignore", over="ignore"):
      a = np.clip(a.astype(np.float64), 0, INT32_MAX).astype(dtype)
    return jnp.asarray(np.minimum(a, _float_max(dtype)).astype(dtype))
  raise TypeError(f"a schedule's step must be an integer or float array, got dtype {a.dtype}")


def as_step(step):
  """The step under the one step rule (README, "Limits and guarantees"): every step, of any type,
  is clamped into ``[0, 2^31-1]`` before any arithmetic. Integers of any width saturate (never
  wrap) and become int32; float16 and bfloat16 become float32 first; ±inf clamp like any float;
  NaN stays NaN (and the schedule's value is then NaN, in every family and composite)."""
  if isinstance(step, FracStep):
    return FracStep(jnp.clip(step.hi, 0, _float_max(step.hi.dtype)), step.lo)
  if not isinstance(step, (jax.Array, jax.core.Tracer)) or isinstance(step, np.ndarray):
    return _host_step(step)
  t = step
  if t.dtype == jnp.bool_ or not (
    jnp.issubdtype(t.dtype, jnp.integer) or jnp.issubdtype(t.dtype, jnp.floating)
  ):
    raise TypeError(f"a schedule's step must be an integer or float array, got dtype {t.dtype}")
  if jnp.issubdtype(t.dtype, jnp.unsignedinteger):
    top = min(INT32_MAX, int(jnp.iinfo(t.dtype).max))
    return jnp.minimum(t, jnp.asarray(top, t.dtype)).astype(jnp.int32)
  if jnp.issubdtype(t.dtype, jnp.integer):
    if jnp.iinfo(t.dtype).bits > 32:
      t = jnp.clip(t, 0, INT32_MAX)
    return jnp.maximum(t.astype(jnp.int32), 0)
  if jnp.finfo(t.dtype).bits < 32:
    t = t.astype(jnp.float32)
  return jnp.clip(t, 0, _float_max(t.dtype))


def is_int(t) -> bool:
  return jnp.issubdtype(t.dtype, jnp.integer)


def exact(n, dtype) -> _df.DF:
  """A step-like array as an exact pair (integers exact; floats as they are)."""
  return _df.from_int(n, dtype)


def floordiv(n, d):
  """⌊n/d⌋ for n >= 0 and d >= 1 (a traced 0 divides by 1): integer division for integer steps
  (one truncating division; ``//`` would add a remainder and a sign fix), floor for float steps."""
  d = jnp.maximum(d, 1)
  if is_int(n) and jnp.issubdtype(jnp.asarray(d).dtype, jnp.integer):
    return jax.lax.div(n, jnp.asarray(d, n.dtype))
  return n // d


def rem(n, d):
  """``n mod d`` for n >= 0 and d >= 1, likewise (one truncating remainder for integers)."""
  d = jnp.maximum(d, 1)
  if is_int(n) and jnp.issubdtype(jnp.asarray(d).dtype, jnp.integer):
    return jax.lax.rem(n, jnp.asarray(d, n.dtype))
  return n % d


def ratio(num, den, dtype) -> _df.DF:
  """num/den as a pair, from exact integers (or floats). A traced count of 0 (which construction
  could not reject) divides by 1 instead of making NaN."""
  return _df.div(exact(num, dtype), exact(jnp.maximum(den, 1), dtype))


def fratio(num, den, dtype):
  """num/den in plain float (correctly rounded when both are below 2^24; ~1 ulp otherwise)."""
  return jnp.asarray(num).astype(dtype) / jnp.maximum(den, 1).astype(dtype)


def delta(x):
  """``x − stop_gradient(x)``: 0 in value, 1 in derivative. ``value + delta(x)·slope`` gives a
  value computed without ``x`` (a derived leaf, a table entry) the derivative ``slope`` in ``x``."""
  return x - sg(x)


def finite_slope(x):
  """A slope read from a table (``value/gamma``, ``decay^i``) with no gradient of its own, and 0
  where it overflowed: it multiplies a ``delta`` (0 in value), and 0·inf would be NaN."""
  return sg(jnp.where(jnp.isfinite(x), x, 0))


def route(pair: _df.DF, x, slope) -> _df.DF:
  """A derived constant ``D(x)`` (a private leaf, computed once from the exact ``x``) with its
  derivative routed to the public hyperparameter ``x``: the value is the leaf's, the gradient is
  ``slope = dD/dx``, and the leaf itself gets none (so a gradient counts once, on ``x``)."""
  return _df.DF(sg(pair.hi) + delta(x) * sg(slope), sg(pair.lo))


def _half(w, wc):
  root = jnp.sqrt(w)
  return root, wc / (1 + root)


# w^k for exponents that need no logarithm, each with its complement 1 − w^k formed from the
# independently computed 1 − w (so nothing cancels): k = 1, 2 and ½. Few ulps of error, float32 cost.
SPECIAL_POWERS = {
  1.0: lambda w, wc: (w, wc),
  2.0: lambda w, wc: (w * w, wc * (1 + w)),
  0.5: _half,
}


@jax.custom_jvp
def _with_k_slope(v, vc, w, k):
  """``(v, vc) = (w^k, 1 − w^k)`` computed for one special ``k``; the derivative with respect to
  ``k``, ``w^k·ln w``, is added here (only when differentiating: the primal needs no ``log``)."""
  return v, vc


@_with_k_slope.defjvp
def _with_k_slope_jvp(primals, tangents):
  v, vc, w, k = primals
  dv, dvc, _, dk = tangents
  positive = w > 0
  slope = jnp.where(positive, v * jnp.log(jnp.where(positive, w, 1)), 0) * dk
  return (v, vc), (dv + slope, dvc - slope)


def special_power(special, k: _df.DF, weights, general):
  """Weights ``(w^k, 1 − w^k)`` given ``weights = (w, 1 − w)``, both plain float.

  ``special`` is the exponent when the schedule was specialised on it (``Schedule.special``;
  a key of ``SPECIAL_POWERS``), else None: then ``general()`` (the pair-precision path, any ``k``).
  A specialised ``k`` costs a few multiplies, and its derivative with respect to ``k`` is still
  exact (``w^k·ln w``, added by ``_with_k_slope``)."""
  if special is None:
    return general()
  w, wc = weights
  values = special if isinstance(special, tuple) else (special,)
  v, vc = SPECIAL_POWERS[values[0]](w, wc)
  for c in values[1:]:  # a batch holding several special values: each row takes its own formula
    vk, vck = SPECIAL_POWERS[c](w, wc)
    v, vc = jnp.where(k.hi == c, vk, v), jnp.where(k.hi == c, vck, vc)
  return _with_k_slope(v, vc, w, k.hi)


def exact_value(x, lo) -> _df.DF:
  """A real hyperparameter as the user's double, ``x + lo``; its derivative is ``x``'s."""
  return _df.DF(x, sg(lo) if isinstance(lo, jax.core.Tracer) else lo)


class Progress(NamedTuple):
  """Progress through a phase: ``p`` done and ``q = 1 - p`` left, each accurate on its own."""

  p: jax.Array
  q: jax.Array


def jump_count(d, length, den):
  """``clip(d + (length == 0), 0, den)`` for int32 ``d`` (steps since a phase began, ``den =
  max(length, 1)``): how many of the phase's steps are done, a phase of length 0 counting as done
  from ``d = 0`` on. Formed as ``max(min(d, den − z) + z, 0)`` so that ``d = 2^31 − 1`` plus the
  jump never wraps (``den − z`` is per setting)."""
  z = (length == 0).astype(d.dtype)
  return jnp.maximum(jnp.minimum(d, den - z) + z, 0)


def progress(t, begin, length, dtype) -> Progress:
  """How far ``t`` is through ``[begin, begin + length]``, clipped to ``[0, 1]``, in plain float:
  ``p = n/T`` and ``q = (T − n)/T`` from the integers, each as a product with the per-setting
  ``1/T`` (no division per step: a division is an "expensive" op that XLA keeps out of the
  consumer's fusion, which costs a kernel of its own in a ``lax.scan``; ~1 ulp). A phase of length
  0 is a jump: ``p = 1`` from ``t = begin`` on, never 0/0 (``jump_count``)."""
  d = t - begin
  den = jnp.maximum(length, 1)
  inv = 1 / den.astype(dtype)
  if is_int(d):
    n = jump_count(d, length, den)
    return Progress(n.astype(dtype) * inv, (den - n).astype(dtype) * inv)
  n = jnp.clip(d, 0, den)  # a float step: the jump needs its own select
  jump, reached = length == 0, (d >= 0).astype(dtype)
  return Progress(
    jnp.where(jump, reached, n.astype(dtype) * inv),
    jnp.where(jump, 1 - reached, (den - n).astype(dtype) * inv),
  )


def select(cond, a: _df.DF, b: _df.DF) -> _df.DF:
  return _df.DF(jnp.where(cond, a.hi, b.hi), jnp.where(cond, a.lo, b.lo))


def lerp(a, b, w_a, w_b):
  """``a·w_a + b·w_b`` where ``w_b = 1 - w_a`` was computed separately (no cancellation)."""
  return a * w_a + b * w_b


def linear_weights(pr: Progress):
  """Weights of the start and end value for a straight line: ``(1-p, p)``."""
  return pr.q, pr.p


_HALF_PI = math.pi / 2


def cosine_weights(pr: Progress):
  """``(½(1+cos πp), ½(1−cos πp))``: the start and end weights of a half-cosine.

  ½(1+cos πp) = sin²(πq/2) and ½(1−cos πp) = sin²(πp/2). One sine, of the smaller of ``p`` and
  ``q = 1 − p`` (each computed from integers), gives the smaller weight to full relative precision
  right down to the last step of a phase; the other weight is 1 minus it, which is at least ½ and
  so loses nothing.
  """
  first_half = pr.p <= pr.q
  s = jnp.sin(jnp.minimum(pr.p, pr.q) * _HALF_PI)
  small = s * s
  big = 1 - small
  return jnp.where(first_half, big, small), jnp.where(first_half, small, big)


def sqrt_weights(pr: Progress):
  """``(√q, 1−√q)`` with ``1−√q = p/(1+√q)``, so neither side cancels."""
  root = jnp.sqrt(pr.q)
  return root, pr.p / (1 + root)


def sqrt_fall_weights(pr: Progress):
  """``(1 − √p, √p)``: the decay shape 1 − √p, as (start, end) weights."""
  root, rest = sqrt_weights(Progress(pr.q, pr.p))
  return rest, root


# (start, target) weights by shape name. A rise goes start → target with w(p): linear p, cosine
# ½(1 − cos πp), sqrt 1 − √(1 − p). A fall goes with f(p): linear 1 − p, cosine ½(1 + cos πp),
# sqrt 1 − √p (as the weight of the start).
RISE_WEIGHTS = {"linear": linear_weights, "cosine": cosine_weights, "sqrt": sqrt_weights}
FALL_WEIGHTS = {"linear": linear_weights, "cosine": cosine_weights, "sqrt": sqrt_fall_weights}


# --- weights raised to a power: w^k = exp(k·ln w), ln w to ~2^-30 ----------------------------------


def _power_from_log(log_w: _df.DF, k: _df.DF):
  y = _df.mul(log_w, k)
  # k·ln w past float range (an absurd k): ln w <= 0, so w^k is 0, not the NaN of inf − inf
  past = ~jnp.isfinite(y.hi)
  y = _df.DF(jnp.where(past, -jnp.inf, y.hi), jnp.where(past, 0, y.lo))
  return _df.exp(y), -_df.expm1(y)


def power_weights(q: _df.DF, k: _df.DF):
  """``(q^k, 1 − q^k)`` for a weight ``q`` given as a pair (``(T − n)/T`` from integers) and an
  exponent ``k`` given as the user's double (a pair).

  The relative error of ``q^k`` is ``k·ln q`` times that of ``ln q``: a float32 ``q`` would give
  3e-6 at ``k = 30``. So ``ln q`` comes from the pair ``q`` (``_df.log_pair``), one pair product
  forms ``k·ln q``, and ``exp``/``expm1`` round once. ``q = 0`` gives ``(0, 1)`` with finite
  gradients. No branch on ``k == 1``: the gradient with respect to ``k`` is right there too.
  """
  positive = q.hi > 0
  one = _df.of(jnp.ones_like(q.hi))
  w, wc = _power_from_log(_df.log_pair(select(positive, q, one)), k)
  return jnp.where(positive, w, 0), jnp.where(positive, wc, 1)


def _log_series(coeffs, terms):
  """Power-series coefficients of ``2·log(Σ coeffs[n]·v^n)`` (``coeffs[0] = 1``), exactly."""
  out = [Fraction(0)] * terms
  for n in range(1, terms):
    s = n * coeffs[n]
    for k in range(1, n):
      s -= k * out[k] * coeffs[n - k]
    out[n] = s / n
  return [2 * c for c in out]


_TERMS = 20
_COS = [Fraction((-1) ** n, math.factorial(2 * n)) for n in range(_TERMS)]
_SINC = [Fraction((-1) ** n, math.factorial(2 * n + 1)) for n in range(_TERMS)]
_V_MAX = (math.pi / 4) ** 2


def _tail(series):
  """Coefficients from v² on, dropping those below 2^-38 at the largest v (π²/16)."""
  keep = [float(c) for n, c in enumerate(series) if n >= 2 and abs(float(c)) * _V_MAX**n > 2**-38]
  return keep


# 2·ln cos θ = −v − v²/6 − ... and 2·ln(sin φ/φ) = −v/3 − v²/90 − ..., v the squared angle.
_COS_TAIL = _tail(_log_series(_COS, _TERMS))
_SINC_TAIL = _tail(_log_series(_SINC, _TERMS))


def _horner(coeffs, v):
  acc = jnp.zeros_like(v) + coeffs[-1]
  for c in coeffs[-2::-1]:
    acc = acc * v + c
  return acc


def cosine_power_weights(t, begin, length, k: _df.DF, dtype):
  """``(c^k, 1 − c^k)`` with ``c = ½(1 + cos πp)``, ``p`` the progress through
  ``[begin, begin + length]``, to float32 precision for any exponent ``k`` (tested to 32).

  ``ln c`` is formed without ever rounding ``c``: with the angle at most π/4,
  ``c = cos²θ`` (``θ = πp/2``, first half) has ``ln c = −θ² − θ⁴/6 − ...`` and ``c = sin²φ``
  (``φ = πq/2``, second half) has ``ln c = 2·ln φ − φ²/3 − ...``; the leading terms are pairs and
  the rest of each series is plain float.
  """
  d = t - begin
  n = jnp.clip(d, 0, length)
  den = jnp.maximum(length, 1)
  rest = den - n
  first = n <= rest
  f = ratio(jnp.where(first, n, rest), den, dtype)  # p or q, at most ½
  f2 = _df.mul(f, f)
  lead = _df.mul(
    f2, select(first, _df.const(-(_HALF_PI**2), dtype), _df.const(-(_HALF_PI**2) / 3, dtype))
  )
  v = f2.hi * (_HALF_PI**2)
  tail = v * v * jnp.where(first, _horner(_COS_TAIL, v), _horner(_SINC_TAIL, v))
  positive = f.hi > 0
  safe = select(first | ~positive, _df.of(jnp.ones_like(f.hi)), f)
  log_phi = _df.add(_df.scale(_df.log_pair(safe), 2), _df.const(2 * math.log(_HALF_PI), dtype))
  log_c = _df.add(lead, _df.add(select(first, _df.of(jnp.zeros_like(f.hi)), log_phi), _df.of(tail)))
  w, wc = _power_from_log(log_c, k)
  zero = ~first & ~positive  # q = 0: the end of the phase
  jump = length == 0
  reached = d >= 0
  w = jnp.where(jump, jnp.where(reached, 0, 1).astype(w.dtype), jnp.where(zero, 0, w))
  wc = jnp.where(jump, jnp.where(reached, 1, 0).astype(w.dtype), jnp.where(zero, 1, wc))
  return w, wc


_RATE_MASK = 0xFFFF0000  # float32 bits kept: sign, exponent, 7 of 23 mantissa bits
_COUNT_MASKS = (0x7FFF0000, 0x0000FFFF)  # an int32 count >= 0 in two pieces of <= 16 bits


def rate_parts(rate: _df.DF):
  """A per-setting float32 rate (a pair) cut for ``count_times``: ``(r_a, r_b)`` with ``r_a`` the
  top 8 significant bits of ``rate`` (so a 16-bit integer times it is exact) and ``r_b`` the rest."""
  bits = jax.lax.bitcast_convert_type(jax.lax.stop_gradient(rate.hi), jnp.uint32)
  r_a = jax.lax.bitcast_convert_type(bits & jnp.uint32(_RATE_MASK), rate.hi.dtype)
  return r_a, (rate.hi - r_a) + rate.lo


def rate_parts_host(rate, dtype):
  """``rate_parts`` of a float64 rate, on the host (no device work at construction)."""
  hi = np.asarray(rate, np.float64).astype(np.float32)
  r_a = (hi.view(np.uint32) & np.uint32(_RATE_MASK)).view(np.float32)
  return r_a, (rate - r_a.astype(np.float64)).astype(np.float32)


def count_times(n, parts, dtype) -> _df.DF:
  """``n · rate`` as a float32 pair for an int32 count ``n >= 0`` and ``parts = rate_parts(rate)``,
  in 11 operations instead of a general pair product: each 16-bit piece of ``n`` times ``r_a`` is
  exact, a fast two-sum keeps what their sum rounds off, and ``n·r_b`` is under 2^-7 of the total,
  so plain float keeps it to ~2^-31 of the total (6e-8 relative in ``exp`` of it at 1e-30). (An FMA
  contraction of an exact product changes nothing.)"""
  r_a, r_b = parts
  high, low = ((n & mask).astype(dtype) * r_a for mask in _COUNT_MASKS)
  top = _df.fast_two_sum(high, low)
  return _df.fast_two_sum(top.hi, top.lo + n.astype(dtype) * r_b)  # normalised


_EXP_SAFE = 80.0  # |hi| below this: exp(hi) and init·exp(hi) are far from float32's limits


def exp_decay(init, x: _df.DF):
  """``init·exp(x)`` for an exponent carried as a pair (``n·ln(gamma)/decay_steps``): the result
  keeps float32 precision at any step (a float32 exponent would be off by ``|x|·2^-24``).

  ``init·(exp(hi)·(1 + lo))``. Where ``exp(hi)`` nears float32's range (``|hi| > 80``) it is
  formed as ``(init·e)·(e·(1 + lo))`` with ``e = exp(hi/2)`` instead (``hi/2`` is exact), so the
  result is right wherever float32 can hold it, even where ``gamma^p`` alone over- or underflows,
  and past that range it is ±inf with ``init``'s sign, or 0. ``lo`` is below ``2^-16`` wherever
  ``e`` is finite and not 0; beyond, it grows with ``hi`` (``hi·2^-24``), so ``1 + lo`` is held at
  >= ½: it can never flip the sign (−inf) or make ``inf·0`` (NaN). An ``init`` of 0 stays 0 where
  ``e`` overflows (0·inf would be NaN); the select is off the critical path."""
  far = jnp.abs(x.hi) > _EXP_SAFE
  e = jnp.exp(jnp.where(far, x.hi * 0.5, x.hi))
  out = jnp.where(far, init * e, init) * (e * jnp.maximum(1 + x.lo, 0.5))
  return jnp.where(init == 0, jnp.zeros_like(out), out)
