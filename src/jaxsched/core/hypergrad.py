"""Hypergradients: ``partition`` splits a schedule into its float hyperparameters and the rest,
``combine`` rebuilds it from new values through its constructor (equinox's pattern), so derived
constants are re-derived and ranges re-checked."""

from __future__ import annotations

from typing import TypeAlias

from jax.typing import ArrayLike

from jaxsched.core.fields import SKIP, fields_of
from jaxsched.core.schedule import S, Schedule

# ``partition``'s params: each real field's array by name, a child's params under its field name,
# a ``children`` field's as a list (the values may be any real arrays after an optax update)
Params: TypeAlias = "dict[str, ArrayLike | Params | list[Params]]"


def partition(schedule: Schedule) -> tuple[Params, Schedule]:
  """``(params, rest)``: ``params`` holds the schedule's public real hyperparameters as a nested
  dict of float arrays (children under their field name, ``children`` as lists), ready for
  ``jax.grad`` and an optax optimizer; ``rest`` is the schedule itself (structure, step counts,
  static fields and the user's exact doubles). ``combine(params, rest)`` rebuilds the schedule.

  Hypergradient descent, equinox style::

      params, rest = jaxsched.partition(schedule)
      grads = jax.grad(lambda p: loss(jaxsched.combine(p, rest)))(params)
      updates, opt_state = opt.update(grads, opt_state, params)
      schedule = jaxsched.combine(optax.apply_updates(params, updates), rest)

  Args:
    schedule: any ``jaxsched.Schedule`` (family or composite).

  >>> import jaxsched as js
  >>> params, rest = js.partition(js.exponential(0.1, 0.99))
  >>> sorted(params), f"{float(params['gamma']):.2f}"
  (['gamma', 'init_value'], '0.99')
  """
  if not isinstance(schedule, Schedule):
    raise TypeError(f"partition: expects a jaxsched.Schedule, got {type(schedule).__name__}")
  params: dict = {}  # (the field kinds give Any)
  for name, kind in fields_of(type(schedule)):
    value = getattr(schedule, name)
    found = SKIP if value is None else kind.params(value, partition)
    if found is not SKIP:
      params[name] = found
  return params, schedule


def combine(params: Params, rest: S) -> S:
  """The schedule ``rest`` with the real hyperparameters in ``params`` (from ``partition``),
  rebuilt through its constructor, so derived constants are re-derived and ranges re-checked: it
  equals the schedule constructed afresh from those values. A value equal to the one in ``rest``
  keeps the user's exact double. Works under ``jit``/``grad`` (traced values re-derive on the
  device). equinox's ``combine`` is the model; the inverse of ``partition``.

  Args:
    params: the real hyperparameters, shaped as ``partition(rest)[0]`` (a nested dict of arrays,
      e.g. after an optax update).
    rest: the schedule that gives the structure, step counts and static fields.

  >>> import jaxsched as js
  >>> params, rest = js.partition(js.exponential(0.1, 0.99))
  >>> s = js.combine(dict(params, gamma=0.98), rest)
  >>> s == js.exponential(0.1, 0.98), f"{float(s(10)):.6f}"
  (True, '0.081707')
  """
  if not isinstance(rest, Schedule):
    raise TypeError(f"combine: rest must be a jaxsched.Schedule, got {type(rest).__name__}")
  fields = {}
  for name, kind in fields_of(type(rest)):
    old = getattr(rest, name)
    if name not in params or old is None:
      continue
    new = kind.combine(params[name], old, rest.lo(name), combine)
    if new is not SKIP:
      fields[name] = new
  return rest.replace(**fields)
