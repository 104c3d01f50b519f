"""Step maths and curve pieces shared by every family.

Two rules make the numbers trustworthy (SPEC §6):
- Integer steps stay integers for as long as possible: offsets, floors, modulo and boundaries are
  int32 arithmetic, exact up to 2^31-1, and become floats only as exact pairs (``_df.from_int``).
- Every weight comes with its complement computed independently (``p`` and ``1-p``; ``cos²`` and
  ``sin²``; ``x^k`` and ``-expm1(k·ln x)``), so ``lerp`` never subtracts nearly equal numbers.

Float steps (fractional epochs) take the same code paths; only their exactness is the user's.
"""
from __future__ import annotations

import math
from typing import NamedTuple

import jax
import jax.numpy as jnp

from jaxsched import _df


def as_step(step) -> jax.Array:
  """The step as an array: integers stay integers, floats stay floats, negatives count as 0."""
  t = jnp.asarray(step)
  if t.dtype == jnp.bool_ or not (jnp.issubdtype(t.dtype, jnp.integer)
                                  or jnp.issubdtype(t.dtype, jnp.floating)):
    raise TypeError(f"a schedule's step must be an integer or float array, got dtype {t.dtype}")
  if jnp.issubdtype(t.dtype, jnp.unsignedinteger):
    t = t.astype(jnp.int32)
  return jnp.maximum(t, 0)


def is_int(t) -> bool:
  return jnp.issubdtype(t.dtype, jnp.integer)


def exact(n, dtype) -> _df.DF:
  """A step-like array as an exact pair (integers exact; floats as they are)."""
  return _df.from_int(n, dtype)


def floordiv(n, d):
  """⌊n/d⌋ for d >= 1 (integer division for integer steps, floor for float steps)."""
  return n // jnp.maximum(d, 1)


def ratio(num, den, dtype) -> _df.DF:
  """num/den as a pair, from exact integers (or floats). A traced count of 0 (which construction
  could not reject) divides by 1 instead of making NaN."""
  return _df.div(exact(num, dtype), exact(jnp.maximum(den, 1), dtype))


class Progress(NamedTuple):
  """Progress through a phase: ``p`` done and ``q = 1 - p`` left, each accurate on its own."""
  p: _df.DF
  q: _df.DF


def progress(t, begin, length, dtype) -> Progress:
  """How far ``t`` is through ``[begin, begin + length]``, clipped to ``[0, 1]``.

  A phase of length 0 is a jump: ``p = 1`` from ``t = begin`` on, never 0/0.
  """
  d = t - begin
  n = jnp.clip(d, 0, length)
  den = jnp.maximum(length, 1)
  p = ratio(n, den, dtype)
  q = ratio(den - n, den, dtype)
  jump = length == 0
  one = _df.of(jnp.ones_like(p.hi))
  zero = _df.of(jnp.zeros_like(p.hi))
  reached = d >= 0
  p = select(jump, select(reached, one, zero), p)
  q = select(jump, select(reached, zero, one), q)
  return Progress(p, q)


def select(cond, a: _df.DF, b: _df.DF) -> _df.DF:
  return _df.DF(jnp.where(cond, a.hi, b.hi), jnp.where(cond, a.lo, b.lo))


def lerp(a, b, w_a, w_b):
  """``a·w_a + b·w_b`` where ``w_b = 1 - w_a`` was computed separately (no cancellation)."""
  return a * w_a + b * w_b


def linear_weights(pr: Progress):
  """Weights of the start and end value for a straight line: ``(1-p, p)``."""
  return _df.value(pr.q), _df.value(pr.p)


_HALF_PI = math.pi / 2


def cosine_weights(pr: Progress):
  """``(½(1+cos πp), ½(1−cos πp))``: the start and end weights of a half-cosine.

  ½(1+cos πp) = cos²(πp/2) = sin²(πq/2). The angle that is at most π/4 is used for both, so each
  weight keeps its relative precision, right down to the last step of a phase.
  """
  dtype = pr.p.hi.dtype
  first_half = pr.p.hi <= 0.5
  frac = select(first_half, pr.p, pr.q)
  theta = _df.mul(frac, _df.const(_HALF_PI, dtype))
  s, c = _df.sin_cos(theta)
  s2, c2 = s * s, c * c
  return jnp.where(first_half, c2, s2), jnp.where(first_half, s2, c2)


def sqrt_weights(pr: Progress):
  """``(√q, 1−√q)`` with ``1−√q = p/(1+√q)``, so neither side cancels."""
  root = jnp.sqrt(_df.value(pr.q))
  return root, _df.value(pr.p) / (1 + root)


def sqrt_fall_weights(pr: Progress):
  """``(1 − √p, √p)``: the decay shape 1 − √p, as (start, end) weights."""
  root, rest = sqrt_weights(Progress(pr.q, pr.p))
  return rest, root


# (start, target) weights by shape name. A rise goes start → target with w(p): linear p, cosine
# ½(1 − cos πp), sqrt 1 − √(1 − p). A fall goes with f(p): linear 1 − p, cosine ½(1 + cos πp),
# sqrt 1 − √p (as the weight of the start).
RISE_WEIGHTS = {"linear": linear_weights, "cosine": cosine_weights, "sqrt": sqrt_weights}
FALL_WEIGHTS = {"linear": linear_weights, "cosine": cosine_weights, "sqrt": sqrt_fall_weights}


def power_weights(base_w, base_wc, exponent: _df.DF):
  """``(w^k, 1 − w^k)`` for a weight ``w`` given with its complement ``wc = 1 − w``.

  ``ln w`` comes from ``log1p(−wc)`` near 1 and from the pair logarithm elsewhere, so both results
  keep their relative precision; ``w = 0`` gives ``(0, 1)`` with finite gradients. ``k = 1`` (the
  default everywhere) skips the logarithm: a ``lax.cond`` when ``k`` is one scalar, so a train step
  pays nothing for it; under ``vmap`` over ``k`` both sides run and ``where`` picks.
  """
  def general(w, wc):
    positive = w > 0
    safe_w = jnp.where(positive, w, 1)
    near_one = wc < 0.5
    log_near_one = _df.of(jnp.log1p(-jnp.where(near_one, wc, 0)))
    log_far = _df.log(_df.of(jnp.where(near_one, 1, safe_w)))
    x = _df.mul(select(near_one, log_near_one, log_far), exponent)
    return jnp.where(positive, _df.exp(x), 0), jnp.where(positive, -_df.expm1(x), 1)

  unit = (exponent.hi == 1) & (exponent.lo == 0)
  if unit.ndim == 0:
    return jax.lax.cond(unit, lambda w, wc: (w, wc), general, base_w, base_wc)
  w, wc = general(base_w, base_wc)
  return jnp.where(unit, base_w, w), jnp.where(unit, base_wc, wc)


def exp_decay(init: _df.DF, gamma: _df.DF, p: _df.DF):
  """``init·gamma^p`` with ``p·ln(gamma)`` carried as a pair: the result keeps float32 precision at
  any ``p`` (a float32 ``gamma`` alone would be off by ``p·2^-24`` relative)."""
  return init.hi * _df.exp(_df.mul(p, _df.log(gamma)))
