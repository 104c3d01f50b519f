"""Range checks on hyperparameters, as data: a field lists its ``Check`` objects, a family its
cross-field ``Rule`` objects. Construction raises on the first failure of concrete values; the
checked mode (``jaxsched.validate``) evaluates the same tests on traced values."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple


class Check(NamedTuple):
  """A constraint on one hyperparameter: ``test(array) -> bool array`` and the range in words."""

  test: Callable[[Any], Any]
  allowed: str


positive = Check(lambda x: x > 0, "> 0")
nonnegative = Check(lambda x: x >= 0, ">= 0")
open_unit = Check(lambda x: (x > 0) & (x < 1), "in the open interval (0, 1)")
at_least_one = Check(lambda x: x >= 1, ">= 1")
nondecreasing = Check(  # per row of a batch, so that the checked mode can name the failing rows
  lambda x: (x[..., 1:] >= x[..., :-1]).all(axis=-1) if x.shape[-1] > 1 else True,
  "sorted in non-decreasing order",
)


class Rule(NamedTuple):
  """A rule across fields: ``test(schedule) -> bool array`` and ``says(schedule) -> message``.

  Fields are NumPy values (float64 doubles, int64 counts) for concrete schedules and arrays under
  the checked mode; ``jaxsched.core.show`` formats a field for the message.
  """

  test: Callable[[Any], Any]
  says: Callable[[Any], str]
