"""Double-float arithmetic: a value carried as an unevaluated sum ``hi + lo`` of two floats.

Why this exists: with x64 off, JAX computes in float32, but the README ("Numbers you can trust")
promises float32 results within 1e-6 relative of float64 maths on the hyperparameters *as the user
gave them*. Where a formula amplifies error (``init·gamma^p`` multiplies the error of ``ln gamma``
by ``p``; ``exp(x)`` turns an absolute error in ``x`` into a relative error of the result), a single
float32 is not enough. A pair gives ~48 bits, which is ample: only the arguments of ``exp``/``log``
are carried this way and the final value is rounded once.

Limit: XLA flushes subnormals to zero, so a value below ~1e-31 (whose ``lo`` would be subnormal in
float32) keeps only float32 precision. Learning rates that small are below the README's 1e-30 floor
anyway.

Every routine works for float32 and float64 alike. Splitting for exact products masks mantissa bits
instead of Dekker's ``(2^s+1)·a`` trick, so a compiler that contracts ``a*b - c`` into an FMA cannot
break it.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np


class DF(NamedTuple):
  """``hi + lo`` with ``|lo| <= ulp(hi)/2`` (after normalisation). A NamedTuple, so it is a pytree."""

  hi: jax.Array | np.ndarray
  lo: jax.Array | np.ndarray


# --- host side: exact splitting of Python/NumPy doubles --------------------------------------------


def split_host(x, dtype) -> tuple[np.ndarray, np.ndarray]:
  """Splits a float64 value (or array) into ``hi = dtype(x)`` and ``lo = dtype(x - hi)``."""
  x = np.asarray(x, np.float64)
  with np.errstate(invalid="ignore", over="ignore"):  # a double past float32's range: hi = inf,
    hi = x.astype(dtype)  # which validation reports as not finite
    lo = (x - hi.astype(np.float64)).astype(dtype)
  lo = np.where(np.isfinite(hi), lo, np.zeros_like(lo))
  return hi, lo


def join_host(hi, lo) -> np.ndarray:
  """The float64 value a host-side pair stands for."""
  return np.asarray(hi, np.float64) + np.asarray(lo, np.float64)


def const(x, dtype) -> DF:
  """A host constant (scalar or array) as a pair."""
  hi, lo = split_host(x, dtype)
  return DF(jnp.asarray(hi, dtype), jnp.asarray(lo, dtype))


# --- error-free transformations ----------------------------------------------------------------------

# XLA's algebraic simplifier rewrites ``(c + x) − c`` to ``x`` when ``c`` is a constant, and under
# ``jit`` every closed-over hyperparameter and literal is one: the textbook ``bb = s − a`` then
# silently zeroes the error term. ``−(a − s)`` and ``(a − s) + b`` are the same IEEE operations
# (negation is exact and rounding is sign-symmetric) in a form the simplifier leaves alone;
# tests/test_df.py shows the textbook form failing and these holding.


def two_sum(a, b) -> DF:
  s = a + b
  bb = -(a - s)
  return DF(s, (a - (s - bb)) + (b - bb))


def fast_two_sum(a, b) -> DF:
  """Exact when ``|a| >= |b|`` or a is zero."""
  s = a + b
  return DF(s, (a - s) + b)


_MASKS = {
  np.dtype(np.float32): (np.uint32, 0xFFFFF000),  # keeps 12 of 24 significant bits
  np.dtype(np.float64): (np.uint64, 0xFFFFFFFFF8000000),
}  # keeps 26 of 53


def _split(a):
  """``a = big + small`` with each half short enough that products of halves are exact."""
  utype, mask = _MASKS[np.dtype(a.dtype)]
  a0 = jax.lax.stop_gradient(a)  # the split point carries no derivative; ``a - big`` carries all
  big = jax.lax.bitcast_convert_type(jax.lax.bitcast_convert_type(a0, utype) & utype(mask), a.dtype)
  return big, a - big


def two_prod(a, b) -> DF:
  """``a·b`` as a pair, to ~2^-47 relative.

  Built only from the four half-products, each exact, because XLA fuses under ``jit`` and LLVM may
  then contract ``a*b - p`` into an FMA, which silently breaks the textbook error term. Any
  contraction of an exact product gives the same bits, so this form is immune.
  """
  ah, al = _split(a)
  bh, bl = _split(b)
  cross = two_sum(ah * bl, al * bh)
  top = two_sum(ah * bh, cross.hi)
  return fast_two_sum(top.hi, top.lo + (cross.lo + al * bl))


# --- arithmetic on pairs -----------------------------------------------------------------------------


def of(x, dtype=None) -> DF:
  """A DF from a DF or a plain float array (exact: ``lo = 0``)."""
  if isinstance(x, DF):
    return x
  x = jnp.asarray(x, dtype)
  return DF(x, jnp.zeros_like(x))


def from_int(n, dtype) -> DF:
  """The integer array ``n`` as an exact pair (exact below 2^48 for float32, 2^53 for float64)."""
  n = jnp.asarray(n)
  if jnp.issubdtype(n.dtype, jnp.floating):
    return of(n.astype(dtype))
  if np.dtype(dtype) == np.float64:
    return of(n.astype(dtype))
  high = (n >> 12) << 12  # at most 36 significant bits left, so at most 24 here
  return fast_two_sum(high.astype(dtype), (n - high).astype(dtype))


def add(x: DF, y: DF) -> DF:
  s, e = two_sum(x.hi, y.hi)
  return fast_two_sum(s, e + (x.lo + y.lo))


def neg(x: DF) -> DF:
  return DF(-x.hi, -x.lo)


def sub(x: DF, y: DF) -> DF:
  return add(x, neg(y))


def mul(x: DF, y: DF) -> DF:
  p, e = two_prod(x.hi, y.hi)
  return fast_two_sum(p, e + (x.hi * y.lo + x.lo * y.hi))


def div(x: DF, y: DF) -> DF:
  """``x / y``; the caller guarantees ``y != 0``."""
  q = x.hi / y.hi
  r = sub(x, mul(of(q), y))
  return fast_two_sum(q, (r.hi + r.lo) / y.hi)


def scale(x: DF, k) -> DF:
  """Multiplication by a power of two (exact)."""
  return DF(x.hi * k, x.lo * k)


def value(x: DF):
  """The pair rounded to one float."""
  return x.hi + x.lo


# --- elementary functions ------------------------------------------------------------------------------

_LN2 = math.log(2.0)
# 2·atanh(s) = 2s·(1 + s²/3 + s⁴/5 + ...): with |s| <= 0.1716, ten terms reach 2^-50.
_ATANH_COEFFS = [1.0 / (2 * k + 1) for k in range(10)]


def poly(x: DF, coeffs) -> DF:
  """``Σ coeffs[k]·x^k`` in pair arithmetic (Horner; coefficients split from doubles)."""
  c = const(np.asarray(coeffs[::-1], np.float64), x.hi.dtype)
  acc = DF(jnp.broadcast_to(c.hi[0], x.hi.shape), jnp.broadcast_to(c.lo[0], x.hi.shape))
  for k in range(1, len(coeffs)):
    acc = add(mul(acc, x), DF(c.hi[k], c.lo[k]))
  return acc


@jax.custom_jvp
def log(x: DF) -> DF:
  """Natural log of a positive pair, to ~2^-46 relative.

  x = 2^e·y with y in [√½, √2); log y = 2·atanh(s), s = (y−1)/(y+1), the series in pair arithmetic.
  That much precision matters: ``log`` feeds exponents multiplied by steps or cycle counts in the
  millions.
  """
  dtype = x.hi.dtype
  mant, e = jnp.frexp(x.hi)
  low = mant < math.sqrt(0.5)
  mant = jnp.where(low, mant * 2, mant)
  e = jnp.where(low, e - 1, e)
  lo = jnp.ldexp(x.lo, -e)  # x/2^e = mant + lo, exactly
  num = two_sum(mant - 1, lo)  # mant − 1 is exact
  den = add(two_sum(mant, const(1.0, dtype).hi), of(lo))
  s = div(num, den)
  log_mant = scale(mul(s, poly(mul(s, s), _ATANH_COEFFS)), 2)
  return add(mul(from_int(e, dtype), const(_LN2, dtype)), log_mant)


@log.defjvp
def _log_jvp(primals, tangents):
  (x,), (dx,) = primals, tangents
  slope = (dx.hi + dx.lo) / (x.hi + x.lo)
  return log(x), DF(slope, jnp.zeros_like(slope))


def _ln2_split(dtype):
  """ln 2 as ``hi + lo`` with ``hi`` short enough that ``e·hi`` is exact for ``|e| < 2^9``."""
  bits = np.finfo(dtype).nmant + 1 - 9
  hi = math.ldexp(round(math.ldexp(_LN2, bits)), -bits)
  return np.asarray(hi, dtype), np.asarray(_LN2 - hi, dtype)


# 2·atanh(s) − 2s = s³·(2/3 + 2s²/5 + ...): |s| <= 0.1716 makes the float tail good to ~2^-31 of
# the log (the tail is below 2^-8 of it), so only ``2s`` needs to be a pair.
_TAIL_COEFFS = [2.0 / (2 * k + 1) for k in range(1, 8)]


_FREXP = {np.dtype(np.float32): (np.uint32, 23, 127), np.dtype(np.float64): (np.uint64, 52, 1023)}


def _frexp_normal(x):
  """``(m, e)`` with ``x = m·2^e``, ``m`` in [½, 1), for positive normal ``x`` (what callers pass:
  zero and subnormals are guarded before). Bit operations: a sixth of ``jnp.frexp``'s program."""
  utype, bits, bias = _FREXP[np.dtype(x.dtype)]
  u = jax.lax.bitcast_convert_type(x, utype)
  e = (u >> utype(bits)).astype(jnp.int32) - (bias - 1)
  half = utype((bias - 1) << bits)
  m = jax.lax.bitcast_convert_type((u & utype((1 << bits) - 1)) | half, x.dtype)
  return m, e


def log_pair(x: DF) -> DF:
  """Natural log of a positive pair, good to ~2^-30 relative where |log| is large and to ~2^-40
  near 1 (cheap: about 45 operations, against ~800 for ``log``'s full pair series).

  x = 2^e·m with m in [√½, √2); log m = 2·atanh(s), s = (m − 1)/(m + 1): the leading ``2s`` is a
  pair (one exact product corrects the float quotient), the rest of the series is plain float.
  """
  dtype = x.hi.dtype
  mant, e = _frexp_normal(x.hi)
  low = mant < math.sqrt(0.5)
  mant = jnp.where(low, mant * 2, mant)
  e = jnp.where(low, e - 1, e)
  lo = x.lo * pow2(-e, dtype)  # x/2^e = mant + lo
  num = mant - 1  # exact (Sterbenz)
  den = two_sum(mant, jnp.ones_like(mant))
  den_lo = den.lo + lo
  s_hi = (num + lo) / den.hi
  p = two_prod(s_hi, den.hi)
  s_lo = ((((num - p.hi) - p.lo) + lo) - s_hi * den_lo) / den.hi
  s2 = s_hi * s_hi
  tail = jnp.zeros_like(s2) + _TAIL_COEFFS[-1]
  for c in _TAIL_COEFFS[-2::-1]:
    tail = tail * s2 + c
  tail = tail * s2 * s_hi
  ln2_hi, ln2_lo = _ln2_split(dtype)
  ef = e.astype(dtype)
  top = two_sum(ef * ln2_hi, 2 * s_hi)
  return fast_two_sum(top.hi, top.lo + ((2 * s_lo + tail) + ef * ln2_lo))


def pow2(e, dtype):
  """2^e for an int32 ``e`` in the normal range, built from bits (exact)."""
  utype, bits, bias = _FREXP[np.dtype(dtype)]
  return jax.lax.bitcast_convert_type((e + bias).astype(utype) << utype(bits), dtype)


def floor_int(x: DF, cap):
  """⌊hi + lo⌋ as int32, clipped to ``[0, cap]`` (``hi`` may be a large float, its fraction in lo)."""
  h = jnp.floor(jnp.clip(x.hi, -1.0, 2.0**31 - 256))
  r = jnp.clip(jnp.floor((x.hi - h) + x.lo), -2, 255)
  return jnp.clip(h.astype(jnp.int32) + r.astype(jnp.int32), 0, cap)


def exp(x: DF):
  """``exp(hi + lo)`` rounded to one float: the pair's ``lo`` enters to first order."""
  e = jnp.exp(x.hi)
  return jnp.where(jnp.isinf(e), e, e + e * x.lo)  # inf·lo could be inf − inf


def expm1(x: DF):
  return jnp.expm1(x.hi) + jnp.exp(x.hi) * x.lo
