"""Per-setting constants, derived once per schedule: the two backends a family's ``derived``
declaration receives. ``Host`` computes in float64 NumPy on the user's exact doubles (concrete
hyperparameters: no device work at construction); ``Device`` computes the same in pair arithmetic
(traced hyperparameters). Both split results into (hi, lo) pairs of the result dtype."""

from __future__ import annotations

from typing import Any, Protocol

import jax.numpy as jnp
import numpy as np

from jaxsched import _df, _maths
from jaxsched.core.leaves import leaf


class Host:
  """Derivations from concrete hyperparameters: float64 NumPy on the exact doubles, split into a
  (hi, lo) pair of the result dtype at the end. No device work."""

  traced = False

  def __init__(self, schedule):
    self.s, self.dtype = schedule, schedule.dtype

  def real(self, name):
    return _df.join_host(*map(np.asarray, self.s.exact(name)))

  def count(self, name, at_least=0):
    return np.maximum(np.asarray(getattr(self.s, name)), at_least).astype(np.float64)

  def const(self, x):
    return np.float64(x)

  log = staticmethod(np.log)

  @staticmethod
  def add(a, b):
    return a + b

  @staticmethod
  def sub(a, b):
    return a - b

  @staticmethod
  def mul(a, b):
    return a * b

  @staticmethod
  def div(a, b):
    return a / b

  def where(self, c, a, b):
    return np.where(c, a, b)

  def pair(self, x) -> _df.DF:
    with np.errstate(all="ignore"):
      hi, lo = _df.split_host(np.asarray(x, np.float64), self.dtype)
    return _df.DF(leaf(hi), leaf(lo))

  leaf = staticmethod(leaf)  # a derived array computed on the host, as a leaf


class Device:
  """The same derivations from traced hyperparameters, in pair arithmetic on the device."""

  traced = True
  leaf = staticmethod(lambda x: x)

  def __init__(self, schedule):
    self.s, self.dtype = schedule, schedule.dtype

  def real(self, name):
    return self.s.exact(name)

  def count(self, name, at_least=0):
    """A count as an exact pair; ``at_least`` guards a traced 0 that construction could not reject
    (a derived constant stays finite, as every formula must)."""
    return _maths.exact(jnp.maximum(getattr(self.s, name), at_least), self.dtype)

  def const(self, x):
    return _df.const(x, self.dtype)

  def log(self, x):
    # the full pair series (~2^-46): derived logs are multiplied by steps and cycle counts
    return _df.log(x)

  add, sub, mul = staticmethod(_df.add), staticmethod(_df.sub), staticmethod(_df.mul)

  @staticmethod
  def div(a, b):
    return _df.div(a, b)

  def where(self, c, a, b):
    return _maths.select(c, a, b)

  def pair(self, x) -> _df.DF:
    return _df.DF(x.hi, x.lo)


class Backend(Protocol):
  """What a family's ``derived`` declaration receives: ``Host`` or ``Device``. Its numbers are
  float64 NumPy values on the host and pairs (``_df.DF``) on the device, hence ``Any``; a
  derivation that differs between them branches on ``traced``."""

  traced: bool
  dtype: Any  # the result dtype

  def real(self, name: str) -> Any: ...
  def count(self, name: str, at_least: int = 0) -> Any: ...
  def const(self, x: float, /) -> Any: ...
  def log(self, x: Any, /) -> Any: ...
  def add(self, a: Any, b: Any, /) -> Any: ...
  def sub(self, a: Any, b: Any, /) -> Any: ...
  def mul(self, a: Any, b: Any, /) -> Any: ...
  def div(self, a: Any, b: Any, /) -> Any: ...
  def where(self, c: Any, a: Any, b: Any, /) -> Any: ...
  def pair(self, x: Any, /) -> _df.DF: ...
  def leaf(self, x: Any, /) -> Any: ...
