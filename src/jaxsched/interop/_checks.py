"""Argument checks shared by the converters: the peer's own value, named, or a clear error."""

from __future__ import annotations

import math
import numbers
from typing import Any, cast


def whole(where: str, name: str, x: Any, *, minimum: int | None = 0) -> int:
  """``x`` as a Python int (a float equal to a whole number is accepted, as peers store them);
  ``minimum=None`` accepts any whole number."""
  number = cast(float, x)  # read only once it is a numbers.Real (which typeshed gives no __int__)
  if (
    isinstance(x, bool)
    or not isinstance(x, numbers.Real)
    or not math.isfinite(float(number))
    or float(number) != int(number)
  ):
    raise ValueError(f"{where}: {name} must be a whole number of steps, got {x!r}")
  if minimum is not None and int(number) < minimum:
    raise ValueError(f"{where}: {name} must be >= {minimum}, got {x!r}")
  return int(number)


def real(where: str, name: str, x) -> float:
  if isinstance(x, bool) or not isinstance(x, numbers.Real):
    try:  # a 0-d tensor or array (torch stores some lrs as tensors)
      x = float(x)
    except (TypeError, ValueError):
      raise TypeError(f"{where}: {name} must be a real number, got {x!r}") from None
  return float(x)
