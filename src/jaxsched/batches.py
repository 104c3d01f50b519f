"""Batches of schedules, in one place: ``stack`` makes one, ``unstack`` takes it apart, ``evaluate``
tabulates it; settings of different structures share a batch as a *mixed batch* (``Mixed``).

A batch of schedules is an ordinary ``Schedule`` whose leaves carry a leading batch axis
(``schedule.batch_shape``); calling it returns ``batch_shape + t.shape``. Everything that follows
``jaxsched.stack(schedules)`` is in this module (plus calls into ``jaxsched.core``); the search
spaces that build batches are ``jaxsched.spaces``, the runner that trains over them
``jaxsched.runner``.

Mixed batches. A batch must share one program, and a schedule's structure (family, static choices,
None vs a value, vector lengths) *is* its program. So the members are grouped by structure; each
group is an ordinary batch, padded to the full batch length ``N`` with copies of the group's first
member (valid, finite placeholders), and an int32 leaf ``which`` says which group holds each
setting::

    stack([cosine(.1, 100), wsd(.1, 10, 50, 40), cosine(.2, 100)])
      groups = (cosine[3](init_value=[.1, .1, .2], ...),        # row 1 is a placeholder
                wsd[3](peak_value=[.1, .1, .1], ...))            # rows 0 and 2 are placeholders
      which  = [0, 1, 0]

Every leaf carries the batch axis ``N``, so ``vmap``, ``jax.sharding``, chunking and ``sweep`` treat
a mixed batch like any other. Evaluating a setting computes each group's formula and keeps its own
with ``where``: straight-line code, no ``lax.switch``/``cond`` per step (under ``vmap`` those would
run every branch anyway), a per-step cost that grows with the number of distinct structures ``G``
and never with ``N``, and gradients that reach only the selected group (``where`` passes a zero
cotangent to the rest, and the placeholders are finite, so no NaN leaks in).

Groups are ordered canonically (by family and structure, not by first appearance), so two mixed
batches of the same length made of the same set of structures share one compiled program whatever
their values and member order: passing one as a ``jit`` argument does not recompile.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from jaxsched import core
from jaxsched.core import Rule, Schedule, children, count, family, structure_diff

__all__ = [
  "stack",
  "unstack",
  "evaluate",
  "Mixed",
  "layout",
  "group_by_structure",
  "stack_mixed",
  "unstack_mixed",
  "host_rows",
]

# --- stacking -------------------------------------------------------------------------------------


def stack(schedules: Sequence[Schedule]) -> Schedule:
  """One batched schedule from a list of schedules: ``stack([s₀, …, sₙ₋₁])(t)[i] == sᵢ(t)``.

  Schedules of one structure (family, static fields such as mode strings and flags, which optional
  fields are None, vector lengths such as the number of milestones) give a plain batch of that
  family: every leaf stacked on a new leading axis.

  Schedules of different structures give a *mixed batch* (``jaxsched.batches.Mixed``): one batch
  per distinct structure, each padded to the full length, and an int32 leaf selecting each
  setting's group. It is used exactly like a plain batch (``vmap``, ``jit``, sharding, ``sweep``,
  ``evaluate``, ``plot``, ``unstack``); a step costs one evaluation per distinct structure (not per
  setting), with no per-step control flow. Two mixed batches of the same length made of the same
  set of structures share one compiled program.

  Stacking batches (each of the same ``batch_shape`` and structure) adds one more leading axis;
  batches of different structures are a ``ValueError`` naming the first difference (``unstack``
  them and stack their settings instead).

  Peer: none of torch, Keras, optax or HF batches schedules; there a sweep is a Python list of
  schedulers, one program (and one compile) per setting. ``stack`` is ``jax.tree.map(jnp.stack,
  *schedules)`` made safe for mixed structures.

  Args:
    schedules: a non-empty sequence of ``jaxsched.Schedule``s: single schedules of any families,
      or batches of one ``batch_shape`` and structure.

  Returns:
    A ``Schedule`` with ``batch_shape == (len(schedules),) + schedules[0].batch_shape``.

  >>> import jax.numpy as jnp, numpy as np, jaxsched
  >>> batch = jaxsched.stack([jaxsched.exponential(0.1, 0.5), jaxsched.exponential(0.2, 0.9)])
  >>> batch.batch_shape
  (2,)
  >>> np.asarray(batch(jnp.arange(3)), np.float64).round(6).tolist()    # [setting, step]
  [[0.1, 0.05, 0.025], [0.2, 0.18, 0.162]]
  >>> mixed = jaxsched.stack([jaxsched.constant(0.1), jaxsched.exponential(0.2, 0.5)])
  >>> np.asarray(mixed(jnp.arange(3)), np.float64).round(6).tolist()    # two families, one batch
  [[0.1, 0.1, 0.1], [0.2, 0.1, 0.05]]
  """
  schedules = list(schedules)
  if not schedules:
    raise ValueError("stack: needs at least one schedule")
  for i, s in enumerate(schedules):
    if not isinstance(s, Schedule):
      raise TypeError(f"stack: item {i} is a {type(s).__name__}, not a jaxsched.Schedule")
  schedules = [
    s.member() if isinstance(s, Mixed) and not s.batch_shape and not core.is_traced(s) else s
    for s in schedules
  ]
  first = schedules[0]
  layouts = [layout(s) for s in schedules]
  if all(x == layouts[0] for x in layouts):
    return _stack_same(schedules)
  if not any(x.batch_shape for x in schedules):
    # one group per structure; settings that differ only in a specialisation (exponent 1 vs 2)
    # share one whose formula selects per row: either way the batch equals a loop bit for bit
    return stack_mixed(schedules)
  general = [core.generalised(x) for x in schedules]
  if len({layout(x) for x in general}) == 1:
    return _stack_same(general)  # batches: specialised again from all their rows
  i = next(i for i, x in enumerate(layouts) if x != layouts[0])
  s = schedules[i]
  found = structure_diff(first, s, "") or f"tree structure {layouts[0][0]} vs {layouts[i][0]}"
  raise ValueError(
    f"stack: schedule {i} ({s.family}) does not have the structure of schedule 0 "
    f"({first.family}): {found}. Batches of different structures cannot be "
    f"stacked on a new axis; jaxsched.unstack them and stack their settings "
    f"into one mixed batch."
  )


def _stack_same(schedules: list[Schedule]) -> Schedule:
  """Same-structure schedules stacked leaf by leaf on a new leading axis."""
  if core.is_traced(schedules):
    return jax.tree.map(lambda *xs: jnp.stack(xs), *schedules)
  # Concrete leaves: stack on the host (no per-shape device program to compile), then one transfer.
  return core.specialised(
    jax.tree.map(lambda *xs: jnp.asarray(np.stack([np.asarray(x) for x in xs])), *schedules)
  )


def unstack(batched: Schedule) -> list[Schedule]:
  """The single schedules of a batch, as a list (row-major for a multi-axis ``batch_shape``).

  Each has concrete leaves, so ``to_config()`` and ``repr`` work; ``stack(unstack(b)) == b`` for a
  one-axis batch. The members of a mixed batch come back as the schedules that were stacked (their
  own families). An unbatched schedule gives ``[schedule]``.

  Formula: ``unstack(b)[i](t) == b(t)[i]`` (row-major index ``i`` over ``b.batch_shape``).

  Peer: none (peers have no batches); it is ``[jax.tree.map(lambda x: x[i], b) for i in
  range(n)]`` with the members of a mixed batch restored to their own families.

  Args:
    batched: a ``Schedule`` with concrete (not traced) leaves: a batch, a mixed batch, or a single
      schedule.

  Returns:
    A list of single schedules, one per setting.

  >>> import jaxsched
  >>> batch = jaxsched.stack([jaxsched.constant(0.1), jaxsched.exponential(0.2, 0.5)])
  >>> [s.family for s in jaxsched.unstack(batch)]
  ['constant', 'exponential']
  >>> jaxsched.unstack(batch)[1] == jaxsched.exponential(0.2, 0.5)
  True
  """
  if not isinstance(batched, Schedule):
    raise TypeError(f"unstack: expects a jaxsched.Schedule, got {type(batched).__name__}")
  if core.is_traced(batched):
    raise ValueError("unstack: needs concrete hyperparameters, not traced ones")
  if isinstance(batched, Mixed):
    return unstack_mixed(batched)
  leaves, treedef = jax.tree.flatten(batched)
  n, host = host_rows(leaves, batched.batch_shape)
  return [
    core.specialised(jax.tree.unflatten(treedef, [jnp.asarray(h[i]) for h in host]))
    for i in range(n)
  ]


def host_rows(leaves, batch):
  """``(n, the leaves on the host with their batch axes flattened into one of length n)``."""
  n = math.prod(batch)
  return n, [np.asarray(x).reshape((n,) + np.shape(x)[len(batch) :]) for x in leaves]


# --- evaluation -----------------------------------------------------------------------------------


def evaluate(schedule: Schedule, steps: core.StepLike) -> jax.Array:
  """``schedule(steps)`` for a single schedule or a batch: shape ``batch_shape + steps.shape``.

  One compiled call, cached by structure: another batch of the same family, static fields and
  shapes but different values reuses it (no recompilation); so does a mixed batch of the same
  length made of the same set of structures. ``steps`` is an array of steps (an int
  is one step, as for ``schedule(t)``).

  Formula: ``evaluate(s, steps)[i, j] == unstack(s)[i](steps[j])``.

  Peer: torch and Keras evaluate one scheduler at a time (torch by stepping it); optax's
  ``jax.vmap(schedule)(steps)`` covers the steps of one setting, not a batch of settings.

  Args:
    schedule: a ``Schedule``, single or batched (mixed batches included).
    steps: the steps to evaluate at: an int, or an array of ints (or floats for fractional steps)
      of any shape.

  Returns:
    A float32 array of shape ``schedule.batch_shape + np.shape(steps)``.

  >>> import numpy as np, jaxsched
  >>> batch = jaxsched.grid(jaxsched.step, {"init_value": [0.1, 1.0]}, step_size=2, gamma=0.5)
  >>> values = jaxsched.evaluate(batch, np.arange(5))
  >>> values.shape
  (2, 5)
  >>> np.asarray(values, np.float64).round(6).tolist()
  [[0.1, 0.1, 0.05, 0.05, 0.025], [1.0, 1.0, 0.5, 0.5, 0.25]]
  """
  if not isinstance(schedule, Schedule):
    raise TypeError(f"evaluate: expects a jaxsched.Schedule, got {type(schedule).__name__}")
  return schedule(steps)


# --- mixed batches --------------------------------------------------------------------------------


@family("mixed")
class Mixed(Schedule):
  """A batch of schedules of different structures; setting ``i`` evaluates as member ``i``.

  Made by ``jaxsched.stack`` (and so by ``grid`` and ``sample``) when the members' structures
  differ; never needed by hand. ``groups`` holds one batch per distinct structure, ``which[i]`` the
  group of setting ``i``. ``jaxsched.unstack`` gives the members back (each with ``to_config()``);
  ``len(batch)`` is the number of settings. There is no peer equivalent: torch/Keras/optax
  schedules are Python objects that cannot share one compiled program across families.
  """

  groups: tuple = children()
  which: Any = count()

  step_form = "exact"
  rules = (
    Rule(
      lambda s: s.which < len(s.groups),
      lambda s: f"which must index one of the {len(s.groups)} groups, got {core.show(s.which)}",
    ),
  )

  def formula(self, t):
    values = [g(t) for g in self.groups]  # every group's formula: straight-line code
    out = values[0]
    for i, v in enumerate(values[1:], start=1):
      out = jnp.where(self.which == i, v, out)  # select, no per-step control flow
    return out

  # --- a batch of members, not a family of its own --------------------------------------------------
  def member(self) -> Schedule:
    """The one schedule an unbatched (concrete) mixed schedule stands for."""
    if core.is_traced(self):
      raise ValueError("mixed: member needs concrete values, not traced ones")
    if self.batch_shape:
      raise ValueError(f"mixed: this is a batch of shape {self.batch_shape}; use jaxsched.unstack")
    return self.groups[int(np.asarray(self.which))]

  def to_config(self) -> dict:
    """The member's config for an unbatched mixed schedule (``from_config`` gives the member back);
    a batch raises, as every batch does: ``[s.to_config() for s in jaxsched.unstack(batch)]``."""
    if core.is_traced(self) or self.batch_shape:
      return super().to_config()  # raises the usual, explanatory error
    return self.member().to_config()

  def __len__(self) -> int:
    if not self.batch_shape:
      raise TypeError("len() of an unbatched mixed schedule")
    return self.batch_shape[0]

  def __bool__(self) -> bool:  # a schedule is truthy, batched or not
    return True

  def __repr__(self):
    names = ", ".join(dict.fromkeys(g.family for g in self.groups))
    if core.is_traced(self):
      return f"mixed(<traced>, groups: {names})"
    batch = self.batch_shape
    if not batch:
      return f"mixed({self.member()!r})"
    return f"mixed[{','.join(map(str, batch))}]({', '.join(map(repr, unstack_mixed(self)))})"


# Mixed is a batch layout, not a family: it has no config of its own (members do), and it is not a
# name for `from_config`, the CLI's SPEC parser or `jaxsched families`. `@family` gave it the pytree
# machinery; take the name back out of the registry.
del core.FAMILIES[Mixed.family]


def layout(schedule: Schedule):
  """What must be equal for schedules to stack leaf by leaf: the tree (family, static fields, which
  optional fields are None, specialisation) and the leaves' shapes (vector lengths) and dtypes."""
  leaves, treedef = jax.tree.flatten(schedule)
  return treedef, tuple((tuple(np.shape(x)), np.dtype(x.dtype).str) for x in leaves)


def _structure_key(schedule: Schedule):
  """What must be equal for schedules to share a batch group: their ``layout``, except that a
  set-valued specialisation (exponent 1 or 2) is not a group of its own (a group's batch
  recomputes it from its rows, and its formula selects per row)."""
  return layout(core.grouping_form(schedule))


def _canonical(key) -> tuple:
  treedef, shapes = key
  return (str(treedef), str(shapes))


def group_by_structure(schedules: Sequence[Schedule]):
  """``(keys in canonical order, group index of each schedule)``."""
  keys = [_structure_key(s) for s in schedules]
  distinct = sorted(dict.fromkeys(keys), key=_canonical)
  position = {k: g for g, k in enumerate(distinct)}
  return distinct, [position[k] for k in keys]


def stack_mixed(schedules: Sequence[Schedule]) -> Schedule:
  """A ``Mixed`` batch of single schedules of several structures.

  Group ``g`` is its members stacked leaf by leaf, then gathered to length ``N``: row ``i`` is its own
  row where ``which[i] == g``, else the group's first member.
  """
  for i, s in enumerate(schedules):
    if s.batch_shape:
      raise ValueError(
        f"stack: schedule {i} ({s.family}) is a batch of shape {s.batch_shape}; schedules of "
        "different structures are stacked one setting at a time (jaxsched.unstack the batches "
        "first)"
      )
  keys, which = group_by_structure(schedules)
  if len(keys) == 1:  # one structure once specialisations are set aside: an ordinary batch
    return _stack_same([core.grouping_form(s) for s in schedules])
  n = len(schedules)
  which = np.asarray(which, np.int32)
  traced = core.is_traced(schedules)
  groups = []
  for g in range(len(keys)):
    members = [core.grouping_form(s) for s, w in zip(schedules, which, strict=True) if w == g]
    own = _stack_same(members)
    index = np.zeros(n, np.int32)
    index[which == g] = np.arange(len(members), dtype=np.int32)
    if traced:
      groups.append(jax.tree.map(lambda x, index=index: jnp.take(x, index, axis=0), own))
    else:
      groups.append(jax.tree.map(lambda x, index=index: jnp.asarray(np.asarray(x)[index]), own))
  # Validate one unbatched template through the constructor, then give it the batched groups
  # (as they are: each keeps the specialisation its stacking found) and ``which``.
  firsts = tuple(
    next(s for s, w in zip(schedules, which, strict=True) if w == g) for g in range(len(keys))
  )
  template = Mixed(groups=firsts, which=0)
  return core.from_leaves(
    template, [tuple(groups), jnp.asarray(which), *core.private_leaves(template)]
  )


def unstack_mixed(batch: Mixed) -> list[Schedule]:
  """The members of a concrete mixed batch, row-major: member ``i`` is row ``i`` of group
  ``which[i]``."""
  batch_shape = batch.batch_shape
  n = int(np.prod(batch_shape)) if batch_shape else 1
  which = np.asarray(batch.which).reshape(n)
  rows = []
  for g in batch.groups:
    leaves, treedef = jax.tree.flatten(g)
    host = [np.asarray(x).reshape((n,) + np.shape(x)[len(batch_shape) :]) for x in leaves]
    rows.append((treedef, host))
  out = []
  for i, w in enumerate(which):
    treedef, host = rows[int(w)]
    out.append(core.specialised(jax.tree.unflatten(treedef, [jnp.asarray(h[i]) for h in host])))
  return out
