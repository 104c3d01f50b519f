"""Mixed batches: one batch of schedules of different structures (families, static choices, None vs
a value, vector lengths), made by ``jaxsched.stack`` and every helper built on it.

A batch must share one program, and a schedule's structure *is* its program. So the members are
grouped by structure; each group is an ordinary batch, padded to the full batch length ``N`` with
copies of the group's first member (valid, finite placeholders), and an int32 leaf ``which`` says
which group holds each setting::

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

from typing import Any, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from jaxsched import core
from jaxsched.core import Schedule, children, count, family


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

  def _checks(self):
    yield self.which < len(self.groups), (
        f"mixed: which must index one of the {len(self.groups)} groups, got {core.show(self.which)}")

  def _value(self, t):
    values = [g(t) for g in self.groups]           # every group's formula: straight-line code
    out = values[0]
    for i, v in enumerate(values[1:], start=1):
      out = jnp.where(self.which == i, v, out)      # select, no per-step control flow
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
      return super().to_config()                   # raises the usual, explanatory error
    return self.member().to_config()

  def __len__(self) -> int:
    if not self.batch_shape:
      raise TypeError("len() of an unbatched mixed schedule")
    return self.batch_shape[0]

  def __bool__(self) -> bool:                      # a schedule is truthy, batched or not
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


def stack_mixed(schedules: Sequence[Schedule], stack_same) -> Schedule:
  """A ``Mixed`` batch of single schedules of several structures (``stack_same`` stacks one group).

  Group ``g`` is ``stack_same`` of its members, then gathered to length ``N``: row ``i`` is its own
  row where ``which[i] == g``, else the group's first member.
  """
  for i, s in enumerate(schedules):
    if s.batch_shape:
      raise ValueError(
          f"stack: schedule {i} ({s.family}) is a batch of shape {s.batch_shape}; schedules of "
          "different structures are stacked one setting at a time (jaxsched.unstack the batches "
          "first)")
  keys, which = group_by_structure(schedules)
  if len(keys) == 1:      # one structure once specialisations are set aside: an ordinary batch
    return stack_same([core.grouping_form(s) for s in schedules])
  n = len(schedules)
  which = np.asarray(which, np.int32)
  traced = core.is_traced(schedules)
  groups = []
  for g in range(len(keys)):
    members = [core.grouping_form(s) for s, w in zip(schedules, which) if w == g]
    own = stack_same(members)
    index = np.zeros(n, np.int32)
    index[which == g] = np.arange(len(members), dtype=np.int32)
    if traced:
      groups.append(jax.tree.map(lambda x: jnp.take(x, index, axis=0), own))
    else:
      groups.append(jax.tree.map(lambda x: jnp.asarray(np.asarray(x)[index]), own))
  # Validate one unbatched template through the constructor, then give it the batched groups
  # (as they are: each keeps the specialisation its stacking found) and ``which``.
  firsts = tuple(next(s for s, w in zip(schedules, which) if w == g) for g in range(len(keys)))
  template = Mixed(groups=firsts, which=0)
  return Mixed._unflatten(Mixed._aux(template), [tuple(groups), jnp.asarray(which), template._lo,
                                                 template._derived])


def unstack_mixed(batch: Mixed) -> list[Schedule]:
  """The members of a concrete mixed batch, row-major: member ``i`` is row ``i`` of group
  ``which[i]``."""
  batch_shape = batch.batch_shape
  n = int(np.prod(batch_shape)) if batch_shape else 1
  which = np.asarray(batch.which).reshape(n)
  rows = []
  for g in batch.groups:
    leaves, treedef = jax.tree.flatten(g)
    host = [np.asarray(x).reshape((n,) + np.shape(x)[len(batch_shape):]) for x in leaves]
    rows.append((treedef, host))
  out = []
  for i, w in enumerate(which):
    treedef, host = rows[int(w)]
    out.append(core.specialised(jax.tree.unflatten(treedef, [jnp.asarray(h[i]) for h in host])))
  return out
