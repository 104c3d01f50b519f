"""The Schedule core: one frozen-dataclass pytree base, declarative fields, validation, config, repr.

A family is a short class: its fields say which hyperparameters are array leaves (``real``,
``count``), which change program structure (``static``) and which are nested schedules (``child``,
``children``); its ``_value(t)`` holds the formula. Everything else (conversion, validation,
pytree flattening, ``repr``, ``==``, config round trips, arithmetic, batching) is written once here.

Float hyperparameters are stored as ``_df.DF(hi, lo)`` pairs so that a Python double survives a
float32 world (SPEC §6); step counts are int32 leaves so that boundaries are exact.
"""
from __future__ import annotations

import dataclasses
import math
import numbers
from typing import Any, Callable, ClassVar, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from jaxsched import _convert, _df, _maths

INT32_MAX = 2**31 - 1
MAX_DEPTH = 64    # nested schedules (SPEC §7): deep enough for any recipe, far from Python's
                  # recursion limit when a nest is traced, compared, printed or configured

# --- field specifications --------------------------------------------------------------------------


class Check(NamedTuple):
  """A constraint on one hyperparameter: ``test(array) -> bool array`` and the range in words."""
  test: Callable[[Any], Any]
  allowed: str


POSITIVE = Check(lambda x: x > 0, "> 0")
NONNEGATIVE = Check(lambda x: x >= 0, ">= 0")
OPEN_UNIT = Check(lambda x: (x > 0) & (x < 1), "in the open interval (0, 1)")
AT_LEAST_ONE = Check(lambda x: x >= 1, ">= 1")
NONDECREASING = Check(  # per row of a batch, so that the checked mode can name the failing rows
    lambda x: jnp.all(jnp.diff(x, axis=-1) >= 0, axis=-1) if x.shape[-1] > 1 else True,
    "sorted in non-decreasing order")


@dataclasses.dataclass(frozen=True)
class Spec:
  kind: str                    # "real" | "count" | "static" | "child" | "children"
  rank: int = 0                # 0: scalar, 1: vector (milestones, boundaries, values)
  checks: tuple[Check, ...] = ()
  choices: tuple | None = None
  optional: bool = False       # a real or count that may be None (absent: changes structure)


def _field(spec: Spec, default):
  if default is dataclasses.MISSING:
    return dataclasses.field(metadata={"spec": spec})
  return dataclasses.field(default=default, metadata={"spec": spec})


def real(default=dataclasses.MISSING, *, checks=(), rank=0, optional=False):
  """A float hyperparameter: a ``DF`` leaf pair, finite, of at least float32 precision."""
  return _field(Spec("real", rank, tuple(checks), optional=optional), default)


def count(default=dataclasses.MISSING, *, checks=(), rank=0, optional=False):
  """A step count: an int32 leaf, a whole number in ``[0, 2^31-1]``; ``optional`` lets None mean
  absent (structure, like ``max_cycles=None``)."""
  return _field(Spec("count", rank, (NONNEGATIVE, *checks), optional=optional), default)


def static(default=dataclasses.MISSING, *, choices=None):
  """Structure, not data: a mode string or flag. Part of the treedef, so changing it recompiles."""
  return _field(Spec("static", choices=choices), default)


def child():
  return _field(Spec("child"), dataclasses.MISSING)


def children():
  return _field(Spec("children"), dataclasses.MISSING)


# --- conversion of user values to leaves -----------------------------------------------------------


def _is_traced(x) -> bool:
  return any(isinstance(leaf, jax.core.Tracer) for leaf in jax.tree.leaves(x))


def default_float():
  return jnp.zeros((), float).dtype      # float32, or float64 under jax_enable_x64


def _to_real(name: str, family: str, x, rank: int) -> _df.DF:
  if isinstance(x, _df.DF):
    return x
  if isinstance(x, (list, tuple)) and _is_traced(x):
    x = jnp.asarray(x)                     # a vector of traced scalars is one traced vector
  if isinstance(x, (jax.Array, jax.core.Tracer)) and not isinstance(x, np.ndarray):
    if not jnp.issubdtype(x.dtype, jnp.floating) and not jnp.issubdtype(x.dtype, jnp.integer):
      raise TypeError(f"{family}: {name} must be a real number, got dtype {x.dtype}")
    if not _is_traced(x):                  # concrete: the one validation path, kept on device
      _convert.host_real(family, name, x, rank, dtype=default_float())
    x = x.astype(jnp.promote_types(x.dtype, default_float())) if jnp.issubdtype(
        x.dtype, jnp.floating) else x.astype(default_float())
    return _df.DF(x, jnp.zeros_like(x))
  host = _convert.host_real(family, name, x, rank, dtype=default_float())
  hi, lo = _df.split_host(host, default_float())
  return _df.DF(jnp.asarray(hi), jnp.asarray(lo))


def _to_count(name: str, family: str, x, rank: int = 0) -> jax.Array:
  if isinstance(x, (list, tuple)) and _is_traced(x):
    x = jnp.asarray(x)
  if isinstance(x, (jax.Array, jax.core.Tracer)) and not isinstance(x, np.ndarray):
    if jnp.issubdtype(x.dtype, jnp.floating) and _is_traced(x):
      raise TypeError(f"{family}: {name} must be an integer step count, got a traced {x.dtype}")
    if _is_traced(x):
      return x.astype(jnp.int32)
    x = np.asarray(x)
  host = _convert.host_count(family, name, x, rank)
  return jnp.asarray(host.astype(np.int32))


def _show(x) -> str:
  x = np.asarray(x)
  return repr(x.item()) if x.ndim == 0 else repr(x.tolist())


def _shortest(hi, lo) -> float:
  """The shortest decimal double that splits back to the very same (hi, lo) pair."""
  exact = float(_df.join_host(hi, lo))
  dtype = np.asarray(hi).dtype
  for digits in range(1, 18):
    candidate = float(f"{exact:.{digits}g}")
    c_hi, c_lo = _df.split_host(candidate, dtype)
    if c_hi == hi and c_lo == lo:
      return candidate
  return exact


def _host_real(x: _df.DF):
  """A concrete pair as a Python float (or nested list), as the user would have written it."""
  hi, lo = np.asarray(x.hi), np.asarray(x.lo)
  if hi.ndim == 0:
    return _shortest(hi, lo)
  return [_host_real(_df.DF(h, l)) for h, l in zip(hi, lo)]


# --- the Schedule base -------------------------------------------------------------------------------

FAMILIES: dict[str, type["Schedule"]] = {}
FAMILY_HOOKS: list[Callable[[type], None]] = []   # run on every new family (flax registration)


def _specs(cls) -> list[tuple[str, Spec]]:
  return [(f.name, f.metadata["spec"]) for f in dataclasses.fields(cls) if "spec" in f.metadata]


class Schedule:
  """An immutable, callable JAX pytree ``step -> value``. Families subclass it via ``@family``.

  Numeric hyperparameters are leaves (traceable, vmappable, differentiable with
  ``jax.grad(..., allow_int=True)``); mode strings and flags are static.
  """
  family: ClassVar[str] = "schedule"
  __array_ufunc__ = None   # NumPy defers to our arithmetic: array * schedule is not an object array

  # --- construction ---------------------------------------------------------------------------------
  def __post_init__(self):
    for name, spec in _specs(type(self)):
      raw = getattr(self, name)
      object.__setattr__(self, name, self._convert(name, spec, raw))
    depth = nesting_depth(self)
    if depth > MAX_DEPTH:
      raise ValueError(f"{self.family}: schedules are nested {depth} deep, deeper than the limit "
                       f"of {MAX_DEPTH} (jaxsched.core.MAX_DEPTH)")
    if not _is_traced(self):
      self._raise_if_out_of_range()

  def _raise_if_out_of_range(self, prefix: str = ""):
    """Every range check on concrete values; the first failure is a ValueError (construction, and
    schedules restored from a checkpoint)."""
    for ok, message, value in _with_values(self._all_checks()):
      if not bool(np.all(np.asarray(ok))):
        raise ValueError(prefix + (message if value is None else f"{message}, got {show(value)}"))

  def _convert(self, name, spec: Spec, raw):
    family = self.family
    if raw is None and spec.optional:
      return None
    if spec.kind == "real":
      value = _to_real(name, family, raw, spec.rank)
    elif spec.kind == "count":
      value = _to_count(name, family, raw, spec.rank)
    elif spec.kind == "static":
      return _convert.static_flag(family, name, raw, spec.choices)
    elif spec.kind == "child":
      if not isinstance(raw, Schedule):
        raise TypeError(f"{family}: {name} must be a jaxsched.Schedule, got {type(raw).__name__}")
      return raw
    else:  # children
      if isinstance(raw, Schedule) or not isinstance(raw, (list, tuple)):
        raise TypeError(f"{family}: {name} must be a list of jaxsched.Schedule objects, got "
                        f"{type(raw).__name__}")
      raw = tuple(raw)
      if not raw:
        raise ValueError(f"{family}: {name} must hold at least one schedule, got none")
      for s in raw:
        if not isinstance(s, Schedule):
          raise TypeError(f"{family}: {name} must hold jaxsched.Schedule objects, got "
                          f"{type(s).__name__}")
      return raw
    if not _is_traced(value):
      ndim = (value.hi if spec.kind == "real" else value).ndim
      if ndim != spec.rank:
        kind = "a scalar" if spec.rank == 0 else "a 1-D sequence"
        raise ValueError(f"{family}: {name} must be {kind}, got shape "
                         f"{(value.hi if spec.kind == 'real' else value).shape}")
    return value

  def _all_checks(self):
    """``(ok, message, value)`` for every field's range (the message without the value, which
    construction and the checked mode each format their own way), then the family's cross-field
    rules as ``(ok, message)`` pairs."""
    for name, spec in _specs(type(self)):
      value = getattr(self, name)
      if value is None or spec.kind not in ("real", "count"):
        continue
      x = _df.value(value) if spec.kind == "real" else value
      if spec.kind == "real":
        yield jnp.isfinite(x), f"{self.family}: {name} must be finite", value
      for check in spec.checks:
        yield check.test(x), f"{self.family}: {name} must be {check.allowed}", value
    yield from self._checks()

  def _checks(self):
    """Cross-field rules, as (ok, message) pairs. Override in families that have any."""
    return ()

  # --- evaluation -----------------------------------------------------------------------------------
  def __call__(self, step):
    return _evaluate(self, _maths.as_step(step))

  def _value(self, t):
    raise NotImplementedError

  @property
  def dtype(self):
    """The result dtype: the hyperparameters' float dtype, float32 at least."""
    floats = [l.dtype for l in jax.tree.leaves(self) if jnp.issubdtype(l.dtype, jnp.floating)]
    return jnp.result_type(*floats) if floats else default_float()

  @property
  def batch_shape(self) -> tuple[int, ...]:
    """Leading axes shared by every leaf (after ``jaxsched.stack``); ``()`` for one schedule."""
    for name, spec in _specs(type(self)):
      value = getattr(self, name)
      if value is None or spec.kind == "static":
        continue
      if spec.kind == "child":
        return value.batch_shape
      if spec.kind == "children":
        return value[0].batch_shape if value else ()
      leaf = value.hi if spec.kind == "real" else value
      return tuple(leaf.shape[:leaf.ndim - spec.rank])
    return ()

  # --- pytree ---------------------------------------------------------------------------------------
  @classmethod
  def _flatten_with_keys(cls, obj):
    data = [(jax.tree_util.GetAttrKey(n), getattr(obj, n)) for n in cls._data_fields]
    return data, tuple(getattr(obj, n) for n in cls._meta_fields)

  @classmethod
  def _unflatten(cls, meta, data):
    obj = object.__new__(cls)   # bypasses __init__: leaves may be tracers, None or sentinels here
    for n, v in zip(cls._data_fields, data):
      object.__setattr__(obj, n, v)
    for n, v in zip(cls._meta_fields, meta):
      object.__setattr__(obj, n, v)
    return obj

  # --- identity -------------------------------------------------------------------------------------
  def __eq__(self, other):
    if type(self) is not type(other):
      return NotImplemented
    a, ta = jax.tree.flatten(self)
    b, tb = jax.tree.flatten(other)
    if ta != tb:
      return False
    if _is_traced(a) or _is_traced(b):
      return self is other
    return all(np.shape(x) == np.shape(y) and np.array_equal(np.asarray(x), np.asarray(y))
               for x, y in zip(a, b))

  __hash__ = None

  def __repr__(self):
    parts = []
    for name, spec in _specs(type(self)):
      parts.append(f"{name}={_repr_value(getattr(self, name), spec)}")
    batch = self.batch_shape if not _is_traced(self) else ()
    tag = f"[{','.join(map(str, batch))}]" if batch else ""
    return f"{self.family}{tag}({', '.join(parts)})"

  # --- config ---------------------------------------------------------------------------------------
  def to_config(self) -> dict:
    """A JSON-safe dict, ``{"family": ..., <parameter>: ...}``, nested for composites."""
    if _is_traced(self):
      raise ValueError(f"{self.family}: to_config needs concrete hyperparameters, not traced ones")
    if self.batch_shape:
      raise ValueError(f"{self.family}: to_config takes one schedule; this is a batch of shape "
                       f"{self.batch_shape} (use jaxsched.unstack first)")
    config = {"family": self.family}
    for name, spec in _specs(type(self)):
      value = getattr(self, name)
      if value is None or spec.kind == "static":
        config[name] = value
      elif spec.kind == "real":
        config[name] = _host_real(value)
      elif spec.kind == "count":
        config[name] = np.asarray(value).tolist()
      elif spec.kind == "child":
        config[name] = value.to_config()
      else:
        config[name] = [s.to_config() for s in value]
    return config

  # --- arithmetic (SPEC §1): s * c, c * s, s * s2, s / c, s ± c, c ± s, s ± s2, -s ---------------
  def __mul__(self, other):
    if isinstance(other, Schedule):
      return Product(schedules=(self, other))
    if _is_scalar_like(other):
      return Scaled(schedule=self, factor=other)
    return NotImplemented

  def __rmul__(self, other):
    if _is_scalar_like(other):
      return Scaled(schedule=self, factor=other)
    return NotImplemented

  def __add__(self, other):
    if isinstance(other, Schedule):
      return Sum(schedules=(self, other))
    if _is_scalar_like(other):
      return Offset(schedule=self, offset=other)
    return NotImplemented

  def __radd__(self, other):
    if _is_scalar_like(other):
      return Offset(schedule=self, offset=other)
    return NotImplemented

  def __sub__(self, other):
    if isinstance(other, Schedule):
      return Sum(schedules=(self, -other))
    if _is_scalar_like(other):
      return Offset(schedule=self, offset=-other)
    return NotImplemented

  def __rsub__(self, other):
    if _is_scalar_like(other):
      return Offset(schedule=-self, offset=other)
    return NotImplemented

  def __neg__(self):
    return Scaled(schedule=self, factor=-1.0)

  def __truediv__(self, other):
    if isinstance(other, numbers.Real) and not isinstance(other, bool):
      other = float(_convert.host_real("scaled", "divisor", other, dtype=default_float()))
      if other == 0:
        raise ValueError("cannot divide a schedule by zero")
      return Scaled(schedule=self, factor=_reciprocal(other))
    if _is_scalar_like(other):
      return Scaled(schedule=self, factor=1 / jnp.asarray(other))
    return NotImplemented


@jax.jit
def _evaluate(schedule: "Schedule", t):
  """Every call runs the formula as one compiled program, cached by structure: an eager call is one
  dispatch, not hundreds; inside a user's ``jit`` it is inlined, and closed-over hyperparameters
  are constant-folded (``_df`` is written so that folding cannot drop its error terms). A batch
  (``batch_shape``, static under tracing) is vmapped here, giving ``batch_shape + t.shape``."""
  formula = lambda s: jnp.asarray(s._value(t), s.dtype)
  for _ in schedule.batch_shape:
    formula = jax.vmap(formula)
  return _weak(formula(schedule))


try:  # JAX's own cast to a weakly typed array (what a Python float becomes); private, so guarded
  from jax._src.lax.lax import _convert_element_type as _weak_cast
except ImportError:  # pragma: no cover  (tests/test_habits.py fails loudly if this path is taken)
  _weak_cast = None


def _weak(x):
  """The value weakly typed, as optax schedules built from Python floats return theirs: computed in
  float32 (float64 under x64), it then adopts the dtype of what it multiplies, so bf16/f16
  parameters keep bf16/f16 updates under ``inject_hyperparams`` as under ``learning_rate=``."""
  return x if _weak_cast is None else _weak_cast(x, x.dtype, weak_type=True)


def _reciprocal(x: float) -> _df.DF:
  """1/x as a pair from the double 1/x (SPEC: Python floats are exact doubles)."""
  hi, lo = _df.split_host(1.0 / x, default_float())
  return _df.DF(jnp.asarray(hi), jnp.asarray(lo))


def _is_scalar_like(x) -> bool:
  if isinstance(x, bool):
    return False
  if isinstance(x, numbers.Real):
    return True
  return isinstance(x, (jax.Array, np.ndarray, jax.core.Tracer)) and np.ndim(x) == 0


def real_value(x):
  """A ``real`` field's value as one float array, for code outside the numeric core (composites,
  sweeps, interop). Today the core stores a pair and this is its ``hi``; numeric core v2 stores one
  leaf, and then this is the leaf itself."""
  return x.hi if isinstance(x, _df.DF) else x


def show(x) -> str:
  """A leaf for an error message: its value, or ``<traced>`` (checkify messages see tracers).
  A concrete real pair shows the shortest decimal that gives it back, as the user wrote it."""
  if _is_traced(x):
    return "<traced>"
  if isinstance(x, _df.DF):
    return repr(_host_real(x))
  return _show(x)


def nesting_depth(schedule: "Schedule") -> int:
  """How many schedules deep ``schedule`` nests (1 for a family without children). Iterative, so
  that it can refuse a nest before anything recursive (tracing, ``repr``, ``==``) meets it."""
  depth, stack = 0, [(schedule, 1)]
  while stack:
    s, d = stack.pop()
    depth = max(depth, d)
    for name, spec in _specs(type(s)):
      if spec.kind == "child":
        stack.append((getattr(s, name), d + 1))
      elif spec.kind == "children":
        stack.extend((c, d + 1) for c in getattr(s, name))
  return depth


def _with_values(checks):
  """``(ok, message, value or None)`` from the field triples and the families' pairs."""
  for item in checks:
    yield item if len(item) == 3 else (*item, None)


def _repr_value(value, spec: Spec) -> str:
  if value is None or spec.kind == "static":
    return repr(value)
  if spec.kind == "child":
    return repr(value)
  if spec.kind == "children":
    return "[" + ", ".join(map(repr, value)) + "]"
  if _is_traced(value):
    leaf = value.hi if spec.kind == "real" else value
    return f"<traced {leaf.dtype}{list(leaf.shape)}>"
  if spec.kind == "real":
    return repr(_host_real(value))
  return repr(np.asarray(value).tolist())


def family(name: str):
  """Class decorator: makes ``cls`` a frozen dataclass pytree and registers it under ``name``."""

  def register(cls):
    cls.family = name
    cls = dataclasses.dataclass(frozen=True, eq=False, repr=False)(cls)
    specs = _specs(cls)
    cls._data_fields = tuple(n for n, s in specs if s.kind != "static")
    cls._meta_fields = tuple(n for n, s in specs if s.kind == "static")
    jax.tree_util.register_pytree_with_keys(cls, cls._flatten_with_keys, cls._unflatten,
                                            flatten_func=_plain_flatten(cls))
    if name in FAMILIES:
      raise ValueError(f"family {name!r} registered twice")
    FAMILIES[name] = cls
    for hook in FAMILY_HOOKS:
      hook(cls)
    return cls

  return register


def _plain_flatten(cls):
  def flatten(obj):
    return [getattr(obj, n) for n in cls._data_fields], tuple(getattr(obj, n) for n in cls._meta_fields)
  return flatten


ROWS_SHOWN = 8    # the checked mode names at most this many failing rows of a batch, then "and N more"


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
  """
  from jax.experimental import checkify
  batch = schedule.batch_shape
  for ok, message, value in _with_values(schedule._all_checks()):
    message = message.replace("{", "{{").replace("}", "}}")
    ok = jnp.asarray(ok)
    shown = None if value is None else jnp.asarray(
        _df.value(value) if isinstance(value, _df.DF) else value)
    if not batch or ok.ndim < len(batch):
      if shown is None:
        checkify.check(jnp.all(ok), message)
      else:
        checkify.check(jnp.all(ok), message + ", got {}", shown)
      continue
    _check_rows(checkify, ok, message, shown, batch)
  for name, spec in _specs(type(schedule)):
    if spec.kind == "child":
      validate(getattr(schedule, name))
    elif spec.kind == "children":
      for s in getattr(schedule, name):
        validate(s)


def _check_rows(checkify, ok, message: str, shown, batch):
  """One checkify check per possible count of failing rows (1 .. ROWS_SHOWN, then more): exactly
  one of them fails, and checkify keeps the first failure, so the message lists exactly the rows
  that fail, each as ``index (value)``, with no padding. A format string is static; a count of
  failures is not, so the count chooses among static strings."""
  n = math.prod(batch)
  rows_ok = jnp.all(ok.reshape((n, -1)), axis=-1) if ok.ndim > len(batch) or ok.size == n else \
      jnp.broadcast_to(jnp.all(ok), (n,))
  bad = ~rows_ok
  failing = jnp.sum(bad, dtype=jnp.int32)
  slots = min(ROWS_SHOWN, n)
  index = jnp.nonzero(bad, size=slots, fill_value=0)[0].astype(jnp.int32)
  per_row = None if shown is None else shown.reshape((n,) + shown.shape[len(batch):])

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


def checked(schedule: Schedule, step):
  """``(error, schedule(step))`` with every range check of ``validate``; ``error.throw()`` raises."""
  from jax.experimental import checkify
  return checkify.checkify(_checked_call)(schedule, step)


def from_config(config: dict) -> Schedule:
  """Rebuilds a schedule from ``to_config()`` output. Never evaluates or unpickles anything.

  Junk is a ``ValueError``/``TypeError`` naming the family and field; a config nested deeper than
  ``MAX_DEPTH`` schedules is refused (checked without recursion) before anything is built."""
  _check_config_depth(config)
  return _from_config(config, "config")


def _check_config_depth(config) -> None:
  """Refuses a config nested deeper than ``MAX_DEPTH`` schedules, walking it without recursion.
  Lists count toward a looser bound too, so that even a list that contains itself is refused."""
  stack = [(config, 1, 0)]
  while stack:
    node, depth, containers = stack.pop()
    if depth > MAX_DEPTH or containers > 4 * MAX_DEPTH:
      raise ValueError(f"the schedule config is nested deeper than the limit of {MAX_DEPTH} "
                       f"schedules (jaxsched.core.MAX_DEPTH)")
    if isinstance(node, dict):
      stack.extend((v, depth + 1, containers + 1) for v in node.values()
                   if isinstance(v, (dict, list, tuple)))
    elif isinstance(node, (list, tuple)):  # its items sit at the depth of the schedule holding it
      stack.extend((v, depth, containers + 1) for v in node if isinstance(v, (dict, list, tuple)))


def _from_config(config, where: str) -> Schedule:
  if not isinstance(config, dict):
    raise TypeError(f"{where} must be a schedule config (a dict with a 'family' key), got "
                    f"{type(config).__name__}")
  if "family" not in config:
    raise ValueError(f"{where}: a schedule config needs a 'family' key")
  name = config["family"]
  if not isinstance(name, str):
    raise TypeError(f"{where}: 'family' must be a string naming a family, got "
                    f"{type(name).__name__} {_convert._written(name)}")
  if name not in FAMILIES:
    raise ValueError(f"unknown family {name!r}; known families: {sorted(FAMILIES)}")
  cls = FAMILIES[name]
  specs = dict(_specs(cls))
  kwargs = {}
  for key, value in config.items():
    if key == "family":
      continue
    if key not in specs:
      raise ValueError(f"{name}: unknown field {key!r}; fields are {sorted(specs)}")
    spec = specs[key]
    if spec.kind == "child":
      value = _from_config(value, f"{name}: {key}")
    elif spec.kind == "children":
      if not isinstance(value, (list, tuple)):
        raise TypeError(f"{name}: {key} must be a list of schedule configs, got "
                        f"{type(value).__name__}")
      value = tuple(_from_config(v, f"{name}: {key}[{i}]") for i, v in enumerate(value))
    kwargs[key] = value
  missing = [f.name for f in dataclasses.fields(cls) if "spec" in f.metadata and f.name not in
             kwargs and f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING]
  if missing:
    raise ValueError(f"{name}: the config lacks the required field(s) {missing}")
  return cls(**kwargs)


# --- the two composites that arithmetic needs live here, so the core imports no family ------------


@family("product")
class Product(Schedule):
  """Element-wise product ``s₁(t)·s₂(t)···`` (torch ``ChainedScheduler`` of multiplicative
  schedulers; T5-style factor strings). Made by ``jaxsched.product(*s)`` or ``s1 * s2``."""
  schedules: tuple = children()

  def _checks(self):
    if not self.schedules:
      yield False, "product: schedules must hold at least one schedule"

  def _value(self, t):
    out = self.schedules[0](t)
    for s in self.schedules[1:]:
      out = out * s(t)
    return out


@family("scaled")
class Scaled(Schedule):
  """``factor · schedule(t)``; made by ``s * c``, ``c * s`` and ``s / c``."""
  schedule: Schedule = child()
  factor: Any = real()

  def _value(self, t):
    return self.schedule(t) * self.factor.hi


@family("sum")
class Sum(Schedule):
  """Element-wise sum ``s₁(t) + s₂(t) + ···``; made by ``s1 + s2`` and ``s1 - s2`` (as
  ``s1 + (−1)·s2``). A sum is only as exact as float32 addition: where terms cancel, the result
  carries their rounding (2⁻²⁴ of the larger), not 1e-6 of the difference."""
  schedules: tuple = children()

  def _checks(self):
    if not self.schedules:
      yield False, "sum: schedules must hold at least one schedule"

  def _value(self, t):
    out = self.schedules[0](t)
    for s in self.schedules[1:]:
      out = out + s(t)
    return out


@family("offset")
class Offset(Schedule):
  """``schedule(t) + offset``; made by ``s + c``, ``c + s``, ``s − c`` (offset −c) and ``c − s``
  (``(−s) + c``). E.g. a floor under a decay: ``cosine(0.1 − 1e-4, T) + 1e-4``."""
  schedule: Schedule = child()
  offset: Any = real()

  def _value(self, t):
    return self.schedule(t) + real_value(self.offset)
