"""Field kinds as objects: each kind knows how to convert a user value, check it, show it, put it in
a config and read it back, compare it, partition it, batch it and walk its children. Operations on
a schedule loop over its fields and ask them; none of them switches on a kind.

A family declares its fields with the factories ``real``, ``count``, ``static``, ``child`` and
``children`` (public as ``jaxsched.real`` and so on). A new kind is one ``Field`` subclass.

Every method receives a present value: an optional field whose value is None is absent, and the
schedule handles absence once (``None`` is structure, like a static field).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeAlias

import jax
import jax.numpy as jnp
import numpy as np

from jaxsched import _convert, _df
from jaxsched.core import leaves
from jaxsched.core.checks import Check, nonnegative

# What a field accepts: the annotations of a family's fields (and so of its constructor). A field
# holds the converted value: a ``jax.Array`` (a tracer inside a trace), or a NumPy array while a
# batch is built on the host (``host_leaves``) and in a schedule's host view.
RealLike: TypeAlias = float | np.floating | np.integer | np.ndarray | jax.Array
"""A ``real()`` field: a Python or NumPy number, a 0-d array or a (traced) JAX scalar."""
RealsLike: TypeAlias = Sequence[RealLike] | np.ndarray | jax.Array
"""A ``real(rank=1)`` field: a sequence of reals, or a 1-D array."""
CountLike: TypeAlias = int | np.integer | np.ndarray | jax.Array
"""A ``count()`` field: a whole number in ``[0, 2^31-1]`` (a whole float such as ``3.0`` is accepted
too, and converted; annotate with ``int``)."""
CountsLike: TypeAlias = Sequence[CountLike] | np.ndarray | jax.Array
"""A ``count(rank=1)`` field: a sequence of counts, or a 1-D array."""

SKIP = object()  # what ``params``/``combine`` give for a field that has no float hyperparameters


@dataclasses.dataclass(frozen=True)
class Special:
  """Exact values of a real field that select a cheaper formula (read with ``Schedule.special``).

  Args:
    values: candidates; the field is special when every row of a batch equals one of them.
    per_row: a batch holding several candidates is special too (the formula then selects per row,
      ``_maths.special_power``), so settings that differ in it share one batch group.
    classify: instead of ``values``, a function of the schedule's host view (doubles and int64
      counts) that returns the special value or None (SGDR's ``period_mult``: "unit", "table").
    host_derived: special values whose formula reads constants that only the host derives exactly
      (SGDR's table of cycle starts): a traced ``replace`` drops them, ``specialised`` re-derives.
  """

  values: tuple = ()
  per_row: bool = False
  classify: Callable[[Any], Any] | None = None
  host_derived: tuple = ()

  def of(self, name: str, view):
    if self.classify is not None:
      return self.classify(view)
    values = getattr(view, name)
    if values is None:
      return None
    a = np.asarray(values)
    if not a.size:
      return None
    for c in self.values:
      if np.all(a == c):
        return c
    held = tuple(sorted(c for c in self.values if np.any(a == c)))
    if self.per_row and np.all(np.isin(a, held)):
      return held
    return None


class Field:
  """The behaviour of one kind of field. Subclasses override what differs from "plain data"."""

  static = False  # part of the treedef (changing it recompiles) rather than a leaf
  numeric = False  # a real or count leaf (checked, concreteness decides specialisation)
  holds_schedules = False
  variadic = False  # a parser may take its schedules as positional arguments
  optional = False
  rank = 0
  special: Special | None = None

  def convert(self, family: str, name: str, raw: Any) -> tuple[Any, Any]:
    """``(value, lo)``: the stored value and, for a real field, the low word of the double."""
    return raw, None

  def given(self, value: Any, lo: Any) -> Any:
    """The value to hand a constructor so that it rebuilds this field exactly (``replace``)."""
    return value

  def host(self, value: Any, lo: Any) -> Any:
    """The value for host-side checks and specialisation (doubles, int64 counts)."""
    return value

  def range_checks(self, family: str, name: str, value: Any) -> Iterable[tuple[Any, str, Any]]:
    """``(ok, message, value)`` for every range this field must satisfy."""
    return ()

  def batch_shape(self, value: Any) -> tuple[int, ...] | None:
    """The leading batch axes ``value`` carries, or None when it carries none (static)."""
    return None

  def identity(self, name: str, value: Any, lo: Any) -> tuple[list, list]:
    """``(structure parts, leaves)`` that ``==`` and ``hash`` compare."""
    return [(name, value)], []

  def show(self, value: Any, lo: Any) -> str:
    return repr(value)

  def to_config(self, value: Any, lo: Any) -> Any:
    return value

  def from_config(self, value: Any, where: str, build: Callable) -> Any:
    """The constructor argument for a config value (``build`` rebuilds a nested config)."""
    return value

  def params(self, value: Any, partition: Callable) -> Any:
    """The float hyperparameters of this field for ``partition``, or ``SKIP``."""
    return SKIP

  def combine(self, new: Any, old: Any, lo: Any, combine: Callable) -> Any:
    """The constructor argument for new float hyperparameters (``combine``), or ``SKIP``."""
    return SKIP

  def children(self, value: Any) -> list:
    return []

  def map_children(self, value: Any, fn: Callable) -> Any:
    return value

  def structure_diff(self, x: Any, y: Any, where: str, diff: Callable) -> str | None:
    """Where two present values differ in what makes a program (shape, dtype, nesting), or None."""
    return None


@dataclasses.dataclass(frozen=True)
class _Array(Field):
  """A numeric leaf: a scalar (``rank=0``) or a vector (``rank=1``) per setting."""

  rank: int = 0
  checks: tuple[Check, ...] = ()
  optional: bool = False
  numeric = True

  def range_checks(self, family, name, value):
    for check in self.checks:
      yield check.test(value), f"{family}: {name} must be {check.allowed}", value

  def batch_shape(self, value):
    return tuple(value.shape[: value.ndim - self.rank])

  def identity(self, name, value, lo):
    return [name], [value]

  def show(self, value, lo):
    if leaves.is_traced(value):
      return f"<traced {value.dtype}{list(value.shape)}>"
    return repr(self.to_config(value, lo))

  def structure_diff(self, x, y, where, diff):
    su, sv = tuple(np.shape(x)), tuple(np.shape(y))
    if su != sv:
      if self.rank == 1 and su and sv and su[:-1] == sv[:-1]:
        return f"{where}: length {su[-1]} vs {sv[-1]}"
      return f"{where}: shape {su} vs {sv}"
    if x.dtype != y.dtype:
      return f"{where}: dtype {x.dtype} vs {y.dtype}"
    return None


@dataclasses.dataclass(frozen=True)
class Real(_Array):
  """A float hyperparameter: one finite array of the result dtype (float32 at least); the user's
  exact double is kept in a private ``lo`` leaf. ``special`` declares cheaper exact formulas."""

  special: Special | None = None

  def convert(self, family, name, raw):
    return leaves.to_real(name, family, raw, self.rank)

  def given(self, value, lo):
    return _df.DF(value, lo)

  def host(self, value, lo):
    return _df.join_host(np.asarray(value), np.asarray(lo))

  def range_checks(self, family, name, value):
    stored = (
      np.asarray(value).astype(leaves.default_float()) if isinstance(value, np.ndarray) else value
    )
    yield leaves.isfinite(stored), f"{family}: {name} must be finite", value
    yield from super().range_checks(family, name, value)

  def identity(self, name, value, lo):
    return [name], [value, lo]

  def to_config(self, value, lo):
    return leaves.host_real(value, np.zeros_like(np.asarray(value)) if lo is None else lo)

  def params(self, value, partition):
    return value

  def combine(self, new, old, lo, combine):
    """A value equal to the old one keeps the user's exact double."""
    if leaves.is_traced(new) or leaves.is_traced(old):
      new = jnp.asarray(new)
      return _df.DF(new, jnp.where(new == old, lo, jnp.zeros_like(lo)).astype(new.dtype))
    if np.shape(new) == np.shape(old) and np.array_equal(np.asarray(new), np.asarray(old)):
      return _df.DF(old, lo)
    return new


@dataclasses.dataclass(frozen=True)
class Count(_Array):
  """A step count: an int32 leaf, a whole number in ``[0, 2^31-1]``."""

  def convert(self, family, name, raw):
    return leaves.to_count(name, family, raw, self.rank), None

  def host(self, value, lo):
    return np.asarray(value).astype(np.int64)

  def to_config(self, value, lo):
    return np.asarray(value).tolist()


@dataclasses.dataclass(frozen=True)
class Static(Field):
  """Structure, not data: a mode string or flag, part of the treedef (changing it recompiles)."""

  choices: tuple | None = None
  static = True

  def convert(self, family, name, raw):
    return _convert.static_flag(family, name, raw, self.choices), None

  def structure_diff(self, x, y, where, diff):
    if x != y:
      return f"{where}: {x!r} vs {y!r} (a static field: it changes the program)"
    return None


@dataclasses.dataclass(frozen=True)
class Function(Static):
  """A pure function as structure (``jaxsched.custom``): hashable, compared by identity."""

  def convert(self, family, name, raw):
    if not callable(raw):
      raise TypeError(f"{family}: {name} must be a callable, got {type(raw).__name__}")
    return raw, None

  def show(self, value, lo):
    return getattr(value, "__qualname__", None) or repr(value)

  def to_config(self, value, lo):
    raise TypeError(
      "a Python function cannot be saved as data: rebuild the schedule with "
      "jaxsched.custom(fn, **hyperparameters)"
    )


@dataclasses.dataclass(frozen=True)
class Child(Field):
  """One nested schedule."""

  holds_schedules = True

  def convert(self, family, name, raw):
    from jaxsched.core.schedule import Schedule

    if not isinstance(raw, Schedule):
      raise TypeError(f"{family}: {name} must be a jaxsched.Schedule, got {type(raw).__name__}")
    return raw, None

  def batch_shape(self, value):
    return value.batch_shape

  def identity(self, name, value, lo):
    structure, values = value.identity()
    return [(name, structure)], values

  def to_config(self, value, lo):
    return value.to_config()

  def from_config(self, value, where, build):
    return build(value, where)

  def params(self, value, partition):
    return partition(value)[0]

  def combine(self, new, old, lo, combine):
    return combine(new, old)

  def children(self, value):
    return [value]

  def map_children(self, value, fn):
    return fn(value)

  def structure_diff(self, x, y, where, diff):
    return diff(x, y, where)


@dataclasses.dataclass(frozen=True)
class Children(Field):
  """A non-empty list of nested schedules."""

  holds_schedules = True
  variadic = True

  def convert(self, family, name, raw):
    from jaxsched.core.schedule import Schedule

    if isinstance(raw, Schedule) or not isinstance(raw, (list, tuple)):
      raise TypeError(
        f"{family}: {name} must be a list of jaxsched.Schedule objects, got {type(raw).__name__}"
      )
    raw = tuple(raw)
    if not raw:
      raise ValueError(f"{family}: {name} must hold at least one schedule, got none")
    for s in raw:
      if not isinstance(s, Schedule):
        raise TypeError(
          f"{family}: {name} must hold jaxsched.Schedule objects, got {type(s).__name__}"
        )
    return raw, None

  def batch_shape(self, value):
    return value[0].batch_shape if value else ()

  def identity(self, name, value, lo):
    parts, values = [], []
    for c in value:
      structure, more = c.identity()
      parts.append((name, structure))
      values += more
    return parts + [(name, len(value))], values

  def show(self, value, lo):
    return "[" + ", ".join(map(repr, value)) + "]"

  def to_config(self, value, lo):
    return [s.to_config() for s in value]

  def from_config(self, value, where, build):
    if not isinstance(value, (list, tuple)):
      raise TypeError(f"{where} must be a list of schedule configs, got {type(value).__name__}")
    return tuple(build(v, f"{where}[{i}]") for i, v in enumerate(value))

  def params(self, value, partition):
    return [partition(s)[0] for s in value]

  def combine(self, new, old, lo, combine):
    return tuple(combine(p, s) for p, s in zip(new, old, strict=True))

  def children(self, value):
    return list(value)

  def map_children(self, value, fn):
    return tuple(fn(c) for c in value)

  def structure_diff(self, x, y, where, diff):
    if len(x) != len(y):
      return f"{where}: {len(x)} schedules vs {len(y)}"
    for i, (u, v) in enumerate(zip(x, y, strict=True)):
      found = diff(u, v, f"{where}[{i}]")
      if found:
        return found
    return None


# --- the factories a family author uses ------------------------------------------------------------


def _field(kind: Field, default: Any) -> Any:
  if default is dataclasses.MISSING:
    return dataclasses.field(metadata={"kind": kind})
  return dataclasses.field(default=default, metadata={"kind": kind})


def real(
  default: Any = dataclasses.MISSING,
  *,
  checks: Sequence[Check] = (),
  rank: int = 0,
  optional: bool = False,
  special: Special | None = None,
) -> Any:
  """A float hyperparameter of a family: one array leaf of the result dtype (float32, float64
  under x64), traced, vmapped and differentiated; the user's exact double is kept beside it.

  Args:
    default: the default value (a Python float), or none for a required field.
    checks: ranges the value must satisfy (``jaxsched.positive``, ...); finiteness always.
    rank: 0 for a scalar, 1 for a vector (one per piece, say).
    optional: None is allowed and means absent (structure: a different program).
    special: exact values that select a cheaper formula (``Special``).

  >>> import jax.numpy as jnp
  >>> import jaxsched as js
  >>> @js.family("doc_halving")
  ... class Halving(js.Schedule):
  ...   init_value: float = js.real(checks=[js.positive])
  ...   def formula(self, t):
  ...     return self.init_value * 0.5 ** t
  >>> print(Halving(0.1)(jnp.array([0, 1, 2])))
  [0.1   0.05  0.025]
  >>> del js.FAMILIES["doc_halving"]
  """
  return _field(Real(rank, tuple(checks), optional, special), default)


def count(
  default: Any = dataclasses.MISSING,
  *,
  checks: Sequence[Check] = (),
  rank: int = 0,
  optional: bool = False,
) -> Any:
  """A step count of a family: an int32 leaf, a whole number in ``[0, 2^31-1]``, so boundaries
  on it are exact.

  Args:
    default: the default value (an int), or none for a required field.
    checks: ranges beyond ``>= 0`` (``jaxsched.at_least_one``, ...).
    rank: 0 for a scalar, 1 for a vector (milestones, boundaries).
    optional: None is allowed and means absent (structure, like ``max_cycles=None``).

  >>> import jaxsched as js
  >>> @js.family("doc_drop")
  ... class Drop(js.Schedule):
  ...   at: int = js.count(checks=[js.at_least_one])
  ...   def formula(self, t):
  ...     return 0.1 * (t < self.at) + 0.01 * (t >= self.at)
  >>> print(f"{float(Drop(10)(9)):.6g} {float(Drop(10)(10)):.6g}")
  0.1 0.01
  >>> del js.FAMILIES["doc_drop"]
  """
  return _field(Count(rank, (nonnegative, *checks), optional), default)


def static(default: Any = dataclasses.MISSING, *, choices: Sequence[Any] | None = None) -> Any:
  """Structure, not data, of a family: a mode string or a flag. Part of the treedef, so changing
  it recompiles (and a batch of several values is a mixed batch).

  Args:
    default: the default value, or none for a required field.
    choices: the accepted values (strings, or ``(False, True)`` for a flag); None accepts any.

  >>> import jaxsched as js
  >>> @js.family("doc_mode")
  ... class Mode(js.Schedule):
  ...   value: float = js.real()
  ...   mode: str = js.static("hold", choices=("hold", "zero"))
  ...   def formula(self, t):
  ...     return self.value * t ** 0 if self.mode == "hold" else t * 0
  >>> Mode(0.1, mode="zero")
  doc_mode(value=0.1, mode='zero')
  >>> del js.FAMILIES["doc_mode"]
  """
  return _field(Static(None if choices is None else tuple(choices)), default)


def function() -> Any:
  """A pure Python function held as structure (``jaxsched.custom``)."""
  return _field(Function(), dataclasses.MISSING)


def child() -> Any:
  """One nested schedule, the argument of a composite; the composite calls it in its formula.

  >>> import jaxsched as js
  >>> @js.family("doc_half")
  ... class Half(js.Schedule):
  ...   schedule: js.Schedule = js.child()
  ...   def formula(self, t):
  ...     return 0.5 * self.schedule(t)
  >>> print(f"{float(Half(js.constant(0.1))(3)):.6g}")
  0.05
  >>> del js.FAMILIES["doc_half"]
  """
  return _field(Child(), dataclasses.MISSING)


def children() -> Any:
  """A non-empty list of nested schedules (``jaxsched.parse`` also takes them as positional
  arguments).

  >>> import jax.numpy as jnp
  >>> import jaxsched as js
  >>> @js.family("doc_largest")
  ... class Largest(js.Schedule):
  ...   schedules: tuple = js.children()
  ...   def formula(self, t):
  ...     out = self.schedules[0](t)
  ...     for s in self.schedules[1:]:
  ...       out = jnp.maximum(out, s(t))
  ...     return out
  >>> print(f"{float(Largest([js.constant(0.1), js.linear(0.0, 1.0, 10)])(5)):.6g}")
  0.5
  >>> del js.FAMILIES["doc_largest"]
  """
  return _field(Children(), dataclasses.MISSING)


# --- walking a schedule's fields ---------------------------------------------------------------------


def fields_of(cls) -> list[tuple[str, Field]]:
  """``(name, kind)`` of every declared field of a family class, in declaration order."""
  cached = cls.__dict__.get("_jaxsched_fields")
  if cached is not None:
    return cached
  return [(f.name, f.metadata["kind"]) for f in dataclasses.fields(cls) if "kind" in f.metadata]


def children_of(schedule) -> list:
  """The schedules a composite holds directly (its ``child`` and ``children`` fields, in order)."""
  out = []
  for name, kind in fields_of(type(schedule)):
    value = getattr(schedule, name)
    if value is not None:
      out.extend(kind.children(value))
  return out


def is_composite(cls) -> bool:
  """Whether a family holds nested schedules."""
  return any(kind.holds_schedules for _, kind in fields_of(cls))


def nesting_depth(schedule) -> int:
  """How many schedules deep ``schedule`` nests (1 for a family without children). Iterative, so
  that it can refuse a nest before anything recursive (tracing, ``repr``, ``==``) meets it."""
  depth, stack = 0, [(schedule, 1)]
  while stack:
    s, d = stack.pop()
    depth = max(depth, d)
    stack.extend((c, d + 1) for c in children_of(s))
  return depth


def structure_diff(a, b, path: str = "") -> str | None:
  """Where two schedules differ in structure (family, static field, None vs value, shape), or None."""
  if type(a) is not type(b):
    return f"{path or 'family'}: family {a.family!r} vs {b.family!r}"
  for name, kind in fields_of(type(a)):
    x, y = getattr(a, name), getattr(b, name)
    where = f"{path}.{name}" if path else name
    if not kind.static and (x is None) != (y is None):
      return (
        f"{where}: {'None' if x is None else 'a value'} vs {'None' if y is None else 'a value'}"
      )
    found = (
      None if x is None and not kind.static else kind.structure_diff(x, y, where, structure_diff)
    )
    if found:
      return found
  return None
