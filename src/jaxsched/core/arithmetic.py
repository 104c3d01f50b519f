"""Arithmetic on schedules: ``s * c``, ``c * s``, ``s * s2``, ``s / c``, ``s + c``, ``c + s``,
``s - c``, ``c - s``, ``s1 + s2``, ``s1 - s2`` and ``-s`` build the composites ``product``,
``scaled``, ``sum`` and ``offset`` (``jaxsched.compose``), found by name in the registry so that
the core imports no family."""

from __future__ import annotations

import numbers

import jax
import jax.core
import jax.numpy as jnp
import numpy as np

from jaxsched import _convert, _df
from jaxsched.core.leaves import default_float
from jaxsched.core.registry import composite


def _is_scalar_like(x) -> bool:
  if isinstance(x, bool):
    return False
  if isinstance(x, numbers.Real):
    return True
  return isinstance(x, (jax.Array, np.ndarray, jax.core.Tracer)) and np.ndim(x) == 0


def _reciprocal(x: float) -> _df.DF:
  """1/x as a pair from the double 1/x (Python floats are exact doubles)."""
  hi, lo = _df.split_host(1.0 / x, default_float())
  return _df.DF(hi, lo)


class Arithmetic:
  """The operators; ``Schedule`` inherits them."""

  __array_ufunc__ = None  # NumPy defers to our arithmetic: array * schedule is not an object array

  def __mul__(self, other):
    if isinstance(other, Arithmetic):
      return composite("product")(schedules=(self, other))
    if _is_scalar_like(other):
      return composite("scaled")(schedule=self, factor=other)
    return NotImplemented

  def __rmul__(self, other):
    if _is_scalar_like(other):
      return composite("scaled")(schedule=self, factor=other)
    return NotImplemented

  def __add__(self, other):
    if isinstance(other, Arithmetic):
      return composite("sum")(schedules=(self, other))
    if _is_scalar_like(other):
      return composite("offset")(schedule=self, offset=other)
    return NotImplemented

  def __radd__(self, other):
    if _is_scalar_like(other):
      return composite("offset")(schedule=self, offset=other)
    return NotImplemented

  def __sub__(self, other):
    if isinstance(other, Arithmetic):
      return composite("sum")(schedules=(self, -other))
    if _is_scalar_like(other):
      return composite("offset")(schedule=self, offset=-other)
    return NotImplemented

  def __rsub__(self, other):
    if _is_scalar_like(other):
      return composite("offset")(schedule=-self, offset=other)
    return NotImplemented

  def __neg__(self):
    return composite("scaled")(schedule=self, factor=-1.0)

  def __truediv__(self, other):
    if isinstance(other, numbers.Real) and not isinstance(other, bool):
      other = float(_convert.host_real("scaled", "divisor", other, dtype=default_float()))
      if other == 0:
        raise ValueError("cannot divide a schedule by zero")
      return composite("scaled")(schedule=self, factor=_reciprocal(other))
    if _is_scalar_like(other):
      return composite("scaled")(schedule=self, factor=1 / jnp.asarray(other))
    return NotImplemented
