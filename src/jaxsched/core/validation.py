"""The checked mode: every range check of construction, evaluated with
``jax.experimental.checkify`` so that traced and batched hyperparameters are checked too."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import jax
import jax.numpy as jnp

from jaxsched import _df
from jaxsched.core.fields import children_of
from jaxsched.core.schedule import Schedule, StepLike, message_text

if TYPE_CHECKING:  # imported where it is used: jax.experimental is not loaded with jaxsched
  from jax.experimental import checkify

ROWS_SHOWN = (
  8  # the checked mode names at most this many failing rows of a batch, then "and N more"
)


def validate(schedule: Schedule) -> None:
  """Checks every hyperparameter range with ``jax.experimental.checkify`` (the checked mode).

  Construction can only raise on concrete values; a schedule built from traced values (inside
  ``jit``/``vmap``) is checked here instead. Call it inside a checkified function::

      err, lr = checkify.checkify(lambda s, t: (jaxsched.validate(s), s(t))[1])(s, t)
      err.throw()   # ValueError-like JaxRuntimeError naming the parameter and its range

  ``jaxsched.checked(schedule, step)`` is that line, jitted. The message names the parameter, its
  range and the value that broke it (``exponential: gamma must be > 0, got -0.25``); on a batch
  (``jaxsched.stack``, ``grid``) it names the failing rows (flat, row-major indices) and their
  values, up to ``ROWS_SHOWN`` of them: ``exponential: gamma must be > 0; rows 5 (-0.25), 11 (0.0)``.

  Args:
    schedule: the schedule to check, nested schedules included; concrete, traced or batched.

  >>> import jax
  >>> from jax.experimental import checkify
  >>> import jaxsched as js
  >>> make = checkify.checkify(lambda g: js.validate(js.exponential(0.1, g)))
  >>> err, _ = jax.jit(make)(-0.25)    # gamma is traced: construction cannot check it
  >>> print(err.get())
  exponential: gamma must be > 0, got -0.25 (`check` failed)
  """
  from jax.experimental import checkify

  batch = schedule.batch_shape
  for ok, message, value in schedule.all_checks():
    message = message_text(message)
    message = message.replace("{", "{{").replace("}", "}}")
    ok = jnp.asarray(ok)
    shown = (
      None
      if value is None
      else jnp.asarray(_df.value(value) if isinstance(value, _df.DF) else value)
    )
    if not batch or ok.ndim < len(batch):
      if shown is None:
        checkify.check(jnp.all(ok), message)
      else:
        checkify.check(jnp.all(ok), message + ", got {}", shown)
      continue
    _check_rows(checkify, ok, message, shown, batch)
  for c in children_of(schedule):
    validate(c)


def _check_rows(checkify, ok, message: str, shown, batch):
  """One checkify check per possible count of failing rows (1 .. ROWS_SHOWN, then more): exactly
  one of them fails, and checkify keeps the first failure, so the message lists exactly the rows
  that fail, each as ``index (value)``, with no padding. A format string is static; a count of
  failures is not, so the count chooses among static strings."""
  n = math.prod(batch)
  rows_ok = (
    jnp.all(ok.reshape((n, -1)), axis=-1)
    if ok.ndim > len(batch) or ok.size == n
    else jnp.broadcast_to(jnp.all(ok), (n,))
  )
  bad = ~rows_ok
  failing = jnp.sum(bad, dtype=jnp.int32)
  slots = min(ROWS_SHOWN, n)
  index = jnp.nonzero(bad, size=slots, fill_value=0)[0].astype(jnp.int32)
  per_row = None if shown is None else shown.reshape((n,) + shown.shape[len(batch) :])

  # The same arguments for every check (the first failing rows and their values, padded), with
  # the message indexing into them ("{0[1]}"): checkify threads one payload per distinct argument
  # signature through the whole program, so a signature per count would bloat the compile.
  args = (failing - slots, index) + (() if per_row is None else (per_row[index],))

  def listing(k):
    parts = [f"{{1[{j}]}}" if per_row is None else f"{{1[{j}]}} ({{2[{j}]}})" for j in range(k)]
    return ("; row " if k == 1 else "; rows ") + ", ".join(parts)

  for k in range(1, slots + 1):
    checkify.check(failing != k, message + listing(k), *args)
  if n > slots:
    checkify.check(failing <= slots, message + listing(slots) + ", and {0} more rows", *args)


@jax.jit
def _checked_call(schedule, step):
  validate(schedule)
  return schedule(step)


def checked(schedule: Schedule, step: StepLike) -> tuple[checkify.Error, jax.Array]:
  """``(error, schedule(step))`` with every range check of ``validate``; ``error.throw()`` raises.

  Args:
    schedule: the schedule to check and evaluate; its hyperparameters may be traced (built inside
      ``jit``/``vmap``) or batched (``jaxsched.stack``).
    step: the step(s) to evaluate at; an integer scalar or array (as for ``schedule(step)``).

  >>> import jax
  >>> import jaxsched as js
  >>> err, lr = js.checked(js.exponential(0.1, 0.5), 4)
  >>> print(err.get(), f"{float(lr):.6g}")
  None 0.00625
  >>> err, lr = jax.jit(lambda g: js.checked(js.exponential(0.1, g), 10))(-0.25)
  >>> print(err.get())
  exponential: gamma must be > 0, got -0.25 (`check` failed)
  """
  from jax.experimental import checkify

  return checkify.checkify(_checked_call)(schedule, step)
