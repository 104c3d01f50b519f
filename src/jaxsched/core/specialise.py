"""Specialisation: exact values of a hyperparameter (an exponent of 1, 2 or ½; SGDR's
``period_mult``) that select a cheaper formula, declared on the field (``real(special=...)``).

What holds is decided from concrete values and kept as structure (in the treedef, like a static
field): a jit argument keeps the formula its values selected, crossing a special value compiles
once more, and changes between other values never do. A schedule whose values are traced takes the
general formulas. The schedule keeps the decision as a sorted tuple of ``(field, value)`` items
(``frozen``), or None.
"""

from __future__ import annotations

from jaxsched.core.fields import fields_of


def frozen(special) -> tuple | None:
  """A specialisation as treedef data: the sorted (name, value) items that hold, or None."""
  items = tuple(sorted((k, v) for k, v in (special or {}).items() if v is not None))
  return items or None


def decide(cls, view) -> tuple | None:
  """What the fields' declarations allow for the host view ``view`` (doubles, int64 counts)."""
  return frozen(
    {name: kind.special.of(name, view) for name, kind in fields_of(cls) if kind.special is not None}
  )


def per_row(cls, name: str) -> bool:
  """Whether field ``name``'s specialisation may hold several values selected per row."""
  kind = dict(fields_of(cls)).get(name)
  return bool(kind is not None and kind.special is not None and kind.special.per_row)


def host_derived(cls, name: str, value) -> bool:
  """Whether the formula for special ``value`` of ``name`` reads constants that only the host
  derives exactly: a traced ``replace`` drops such a specialisation, ``specialised`` re-derives."""
  kind = dict(fields_of(cls)).get(name)
  return bool(kind is not None and kind.special is not None and value in kind.special.host_derived)


def covers(special, held) -> bool:
  """Whether a formula specialised on ``special`` (a value, or a tuple of values selected per row)
  is right for leaves whose own specialisation is ``held`` (a chunk of a batch holds a subset)."""
  if held is None:
    return False
  if not isinstance(special, tuple):
    return held == special
  return set(held if isinstance(held, tuple) else (held,)) <= set(special)


def grouping_items(cls, special) -> tuple | None:
  """The specialisation as a batch group sees it: per-row entries reduced to their names."""
  return tuple((k, None if per_row(cls, k) else v) for k, v in (special or ())) or None
