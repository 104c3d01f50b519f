"""The Schedule core: one frozen-dataclass pytree base, declarative fields, validation, config, repr.

A family is a short class: its fields say which hyperparameters are array leaves (``real``,
``count``), which change program structure (``static``) and which are nested schedules (``child``,
``children``); its ``_value(t)`` holds the formula. Everything else (conversion, validation,
pytree flattening, ``repr``, ``==``, config round trips, arithmetic, batching) is written once here.

Numbers (numeric core v2):
- A ``real`` field is ONE public array of the result dtype (``s.gamma``): what ``jax.grad`` fills
  in, what an optimizer moves. The user's exact double survives in a private leaf, its ``lo`` word
  (``double − float32(double)``), so ``to_config``/``repr``/``==`` see the value as written.
- A family's per-setting constants (``ln(gamma)/decay_steps`` as a pair, phase ends, cycle
  constants) are derived ONCE, by ``_derive``: in float64 NumPy on the host when the
  hyperparameters are concrete (no device work at construction), with pair arithmetic on the device
  only when they are traced. They are private leaves too, so ``stack``/``vmap``/jit arguments carry
  them, and a ``lax.scan`` over steps pays only the per-step work.
- Formulas read derived leaves through ``_maths.route``: the leaf gives the value and the gradient
  lands, once, on the public hyperparameter. ``replace``/``partition``/``combine`` are the public
  route for updates (they re-derive); a raw ``tree.map`` over leaves leaves derived leaves stale.
- Step counts are int32 leaves so that boundaries are exact.
- A family may *specialise* on exact values (``_specialise``: exponent 1, 2 or ½; SGDR's
  ``period_mult``): a cheaper formula chosen at trace time. It is structure (in the treedef, like a
  static field), decided from concrete values; ``stack`` batches settings that differ in it.

``jaxsched.FAMILIES`` is the registry that ``@family`` fills: a dict from each family's name (the
``"family"`` key of ``to_config()``, the names ``from_config`` accepts) to its class. It holds the
public families and the composites that arithmetic builds (``scaled``, ``sum``, ``offset``):

>>> import jaxsched as js
>>> js.FAMILIES["cosine"] is js.cosine
True
>>> sorted(js.FAMILIES)[:4]
['clip', 'constant', 'cosine', 'cosine_restarts']
"""
from __future__ import annotations

import contextlib
import contextvars
import dataclasses
import math
import numbers
from typing import Any, Callable, ClassVar, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from jaxsched import _convert, _df, _maths

INT32_MAX = 2**31 - 1
MAX_DEPTH = 64    # schedules nested deeper are refused (construction and from_config), before recursion

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
    lambda x: (x[..., 1:] >= x[..., :-1]).all(axis=-1) if x.shape[-1] > 1 else True,
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
  """A float hyperparameter: one finite array of the result dtype (float32 at least); the user's
  exact double is kept in a private ``lo`` leaf."""
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


def is_traced(x) -> bool:
  return any(isinstance(leaf, jax.core.Tracer) for leaf in jax.tree.leaves(x))


def default_float():
  return np.dtype(jax.dtypes.canonicalize_dtype(np.float64))   # float32, or float64 under x64


_HOST_LEAVES = contextvars.ContextVar("jaxsched_host_leaves", default=False)


@contextlib.contextmanager
def host_leaves():
  """Inside, construction keeps leaves as NumPy arrays (no transfer per leaf: ~30-80 us each).
  ``grid``/``sample`` build their settings this way and ``stack`` moves each batched leaf once."""
  token = _HOST_LEAVES.set(True)
  try:
    yield
  finally:
    _HOST_LEAVES.reset(token)


def _leaf(x) -> jax.Array:
  """A host (NumPy) value as a device leaf: a plain transfer, no compiled conversion program."""
  if _HOST_LEAVES.get():
    return np.asarray(x)
  return jax.device_put(np.asarray(x))


def _is_device(x) -> bool:
  return isinstance(x, (jax.Array, jax.core.Tracer)) and not isinstance(x, np.ndarray)


def _to_real(name: str, family: str, x, rank: int):
  """``(value, lo)``: the stored float array and the private low word of the user's double."""
  if isinstance(x, _df.DF):
    hi, lo = x
    if not is_traced(x):
      exact = _df.join_host(np.asarray(hi), np.asarray(lo))
      return _to_real(name, family, exact, rank)
    return hi, jnp.broadcast_to(jnp.asarray(lo, hi.dtype), hi.shape)
  if isinstance(x, (list, tuple)) and is_traced(x):
    x = jnp.asarray(x)                     # a vector of traced scalars is one traced vector
  if is_traced(x):
    if not (jnp.issubdtype(x.dtype, jnp.floating) or jnp.issubdtype(x.dtype, jnp.integer)):
      raise TypeError(f"{family}: {name} must be a real number, got dtype {x.dtype}")
    dtype = (jnp.promote_types(x.dtype, default_float()) if jnp.issubdtype(x.dtype, jnp.floating)
             else default_float())
    x = x.astype(dtype)
    return x, jnp.zeros_like(x)
  dtype = default_float()
  if _is_device(x) and jnp.issubdtype(x.dtype, jnp.floating):
    dtype = jnp.promote_types(x.dtype, dtype)
  host = _convert.host_real(family, name, np.asarray(x) if _is_device(x) else x, rank, dtype=dtype)
  hi, lo = _df.split_host(host, dtype)
  return _leaf(hi), _leaf(lo)


def _to_count(name: str, family: str, x, rank: int) -> jax.Array:
  if isinstance(x, (list, tuple)) and is_traced(x):
    x = jnp.asarray(x)
  if is_traced(x):
    if isinstance(x, (bool, np.bool_)) or jnp.issubdtype(x.dtype, jnp.floating):
      raise TypeError(f"{family}: {name} must be an integer step count, got a traced {x.dtype}")
    return x.astype(jnp.int32)
  host = _convert.host_count(family, name, np.asarray(x) if _is_device(x) else x, rank)
  return _leaf(host.astype(np.int32))


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


def _host_real(hi, lo):
  """A concrete real field as a Python float (or nested list), as the user would have written it."""
  hi, lo = np.asarray(hi), np.asarray(lo)
  if hi.ndim == 0:
    return _shortest(hi, lo)
  return [_host_real(h, l) for h, l in zip(hi, lo)]


# --- derivation of per-setting constants -----------------------------------------------------------


class _Host:
  """Derivations from concrete hyperparameters: float64 NumPy on the exact doubles, split into a
  (hi, lo) pair of the result dtype at the end. No device work."""
  traced = False

  def __init__(self, schedule):
    self.s, self.dtype = schedule, schedule.dtype

  def real(self, name):
    return _df.join_host(np.asarray(getattr(self.s, name)), np.asarray(self.s._lo[name]))

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
    return _df.DF(_leaf(hi), _leaf(lo))

  leaf = staticmethod(_leaf)     # a derived array computed on the host, as a leaf


class _Device:
  """The same derivations from traced hyperparameters, in pair arithmetic on the device."""
  traced = True
  leaf = staticmethod(lambda x: x)

  def __init__(self, schedule):
    self.s, self.dtype = schedule, schedule.dtype

  def real(self, name):
    return _df.DF(getattr(self.s, name), self.s._lo[name])

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


# --- the Schedule base -------------------------------------------------------------------------------

FAMILIES: dict[str, type["Schedule"]] = {}
FAMILY_HOOKS: list[Callable[[type], None]] = []   # run on every new family (flax registration)


def fields_of(cls) -> list[tuple[str, Spec]]:
  return [(f.name, f.metadata["spec"]) for f in dataclasses.fields(cls) if "spec" in f.metadata]


class Schedule:
  """An immutable, callable JAX pytree ``step -> value``. Families subclass it via ``@family``.

  Numeric hyperparameters are leaves (traceable, vmappable, differentiable with
  ``jax.grad(..., allow_int=True)``: each real field receives d/d(that hyperparameter), once);
  mode strings and flags are static. Private leaves (``_lo``: the user's doubles; ``_derived``:
  per-setting constants) travel with it; to update hyperparameters use ``replace`` or
  ``jaxsched.partition``/``jaxsched.combine``, which re-derive them.

  A schedule is never built as ``Schedule()``: each family (``jaxsched.cosine``, ...) is a
  subclass, and arithmetic with numbers and other schedules builds composites. Its ``repr`` and
  ``to_config()`` show the hyperparameters as written; ``from_config`` rebuilds it.

  >>> import jax.numpy as jnp
  >>> import jaxsched as js
  >>> s = js.cosine(0.1, 100)
  >>> isinstance(s, js.Schedule)
  True
  >>> print(s(jnp.array([0, 50, 100])).round(6))
  [0.1  0.05 0.  ]
  >>> s
  cosine(init_value=0.1, steps=100, end_value=0.0, exponent=1.0, begin=0)
  >>> s.to_config()
  {'family': 'cosine', 'init_value': 0.1, 'steps': 100, 'end_value': 0.0, 'exponent': 1.0, 'begin': 0}
  >>> s.replace(steps=200).steps.item()
  200
  >>> print(f"{float((2 * s + 0.01)(50)):.6f}")      # a composite: scaled, then offset
  0.110000
  """
  family: ClassVar[str] = "schedule"
  _pair_steps: ClassVar[bool] = False     # reads FracStep pairs (per_epoch fractional) itself
  __array_ufunc__ = None   # NumPy defers to our arithmetic: array * schedule is not an object array

  # --- construction ---------------------------------------------------------------------------------
  def __post_init__(self):
    lo = {}
    for name, spec in fields_of(type(self)):
      raw = getattr(self, name)
      value = self._convert(name, spec, raw)
      if spec.kind == "real" and value is not None:
        value, lo[name] = value
      object.__setattr__(self, name, value)
    object.__setattr__(self, "_lo", lo)
    object.__setattr__(self, "_derived", {})
    object.__setattr__(self, "_special", None)
    depth = nesting_depth(self)
    if depth > MAX_DEPTH:
      raise ValueError(f"{self.family}: schedules are nested {depth} deep, deeper than the limit "
                       f"of {MAX_DEPTH} (jaxsched.core.MAX_DEPTH)")
    traced = is_traced(self)
    if not traced:
      self._raise_if_out_of_range()
    object.__setattr__(self, "_special", None if traced else _frozen(self._specialise(self._host_view())))
    derived = self._derive(_Device(self) if traced else _Host(self))
    object.__setattr__(self, "_derived", dict(derived or {}))

  def _raise_if_out_of_range(self, prefix: str = ""):
    """Every range check, on the host view of concrete values (the user's doubles, so messages
    show the value as written); the first failure is a ValueError. Construction and schedules
    restored from a checkpoint share it."""
    for ok, message, value in _with_values(type(self)._all_checks(self._host_view())):
      if not bool(np.all(np.asarray(ok))):
        raise ValueError(prefix + (message if value is None else f"{message}, got {show(value)}"))

  def _convert(self, name, spec: Spec, raw):
    family = self.family
    if raw is None and spec.optional:
      return None
    if spec.kind == "real":
      return _to_real(name, family, raw, spec.rank)
    if spec.kind == "count":
      return _to_count(name, family, raw, spec.rank)
    if spec.kind == "static":
      return _convert.static_flag(family, name, raw, spec.choices)
    if spec.kind == "child":
      if not isinstance(raw, Schedule):
        raise TypeError(f"{family}: {name} must be a jaxsched.Schedule, got {type(raw).__name__}")
      return raw
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

  def _host_view(self):
    """A shallow copy whose real fields are the exact float64 doubles and counts int64 NumPy
    arrays, for range checks on the host (no device work; messages show the value as given)."""
    view = object.__new__(type(self))
    for name, spec in fields_of(type(self)):
      value = getattr(self, name)
      if value is not None and spec.kind == "real":
        value = _df.join_host(np.asarray(value), np.asarray(self._lo[name]))
      elif value is not None and spec.kind == "count":
        value = np.asarray(value).astype(np.int64)
      object.__setattr__(view, name, value)
    object.__setattr__(view, "_lo", {})
    object.__setattr__(view, "_derived", {})
    return view

  def _all_checks(self):
    """``(ok, message, value)`` for every field's range (the message without the value, which
    construction and the checked mode each format their own way), then the family's cross-field
    rules as ``(ok, message)`` pairs."""
    for name, spec in fields_of(type(self)):
      value = getattr(self, name)
      if value is None or spec.kind not in ("real", "count"):
        continue
      if spec.kind == "real":
        stored = np.asarray(value).astype(default_float()) if isinstance(value, np.ndarray) else value
        yield _isfinite(stored), f"{self.family}: {name} must be finite", value
      for check in spec.checks:
        yield check.test(value), f"{self.family}: {name} must be {check.allowed}", value
    yield from self._checks()

  def _checks(self):
    """Cross-field rules, as (ok, message) pairs. Override in families that have any. Fields are
    NumPy values (float64 doubles, int64 counts) for concrete schedules, arrays under checkify."""
    return ()

  def _derive(self, b) -> dict:
    """Per-setting constants, by name, each a ``_df.DF`` pair (``b.pair(x)``) or an array.

    ``b`` is the backend: ``_Host`` (float64 NumPy on the exact doubles; concrete hyperparameters)
    or ``_Device`` (pair arithmetic; traced ones), with ``b.real(name)``, ``b.count(name)``,
    ``b.const``, ``b.log``, ``b.add``/``sub``/``mul``/``div``, ``b.where``, ``b.pair`` and
    ``b.leaf`` (an array computed apart, as a leaf); ``b.traced`` says which. Override in
    families that have any.
    """
    return {}

  def _specialise(self, v):
    """Which cheaper exact formula the hyperparameters allow, from their concrete values ``v``
    (the host view: doubles and int64 counts), e.g. ``{"exponent": 1.0}`` when every row's
    exponent is exactly 1; ``None`` when nothing special holds. Override in families with such
    formulas; read with ``_special_value``.

    It is structure, not data (part of the treedef, like a static field): a jit argument keeps the
    specialisation its values had when flattened, and crossing a special value (exponent 1 -> 1.5)
    compiles once, while changes between other values never do. A schedule whose values are
    traced at construction (inside ``jit``/``vmap``) takes the general formulas. Whenever a
    schedule is rebuilt from concrete leaves (``jax.tree.map`` outside a trace, checkpoint
    restores) an entry the values no longer satisfy is dropped (general formulas; ``replace``,
    ``combine`` and ``stack`` recompute it in full); only a raw ``tree.map`` *inside* a trace can
    leave it stale, like the derived leaves."""
    return None

  # fields whose specialisation may hold several values in a batch (a formula then selects per
  # row: ``_maths.special_power``), so settings that differ in them share one batch group
  _set_valued: ClassVar[tuple[str, ...]] = ()

  def _special_value(self, name):
    """The special value of field ``name`` (``_specialise``), or None."""
    return dict(self._special or ()).get(name)

  # --- the public update route ----------------------------------------------------------------------
  def replace(self, **fields) -> "Schedule":
    """A new schedule with some fields replaced, its derived constants re-derived (on the host for
    concrete values, on the device for traced ones). Unchanged real fields keep the user's double.
    ``jaxsched.combine`` is built on it."""
    specs = dict(fields_of(type(self)))
    kwargs = {}
    for name, spec in specs.items():
      value = getattr(self, name)
      if spec.kind == "real" and value is not None:
        value = _df.DF(value, self._lo[name])
      kwargs[name] = value
    for name, value in fields.items():
      if name not in specs:
        raise ValueError(f"{self.family}: unknown field {name!r}; fields are {sorted(specs)}")
      kwargs[name] = value
    new = type(self)(**kwargs)
    if self._special and new._special is None and is_traced(new):
      # traced values know nothing special, but a field left as it was keeps its special value
      # (so a schedule rebuilt inside a scan keeps its structure); not one that reads derived
      # leaves (re-derived here on the device, where they are only stand-ins)
      kept = tuple((k, v) for k, v in self._special
                   if k not in fields and not self._reads_derived(k, v))
      object.__setattr__(new, "_special", kept or None)
    return new

  def _reads_derived(self, key, value) -> bool:
    """Whether the formula for special value ``value`` of field ``key`` reads derived leaves that
    only the host derives exactly (SGDR's table of cycle starts). Such a specialisation needs the
    host's derivation: a traced ``replace`` drops it, ``specialised`` re-derives for it."""
    return False

  # --- evaluation -----------------------------------------------------------------------------------
  def __call__(self, step):
    if is_traced(step) or is_traced(self):
      # Inside a trace (the user's jit, grad, vmap, scan): inline the formula. A closed-over
      # schedule keeps its leaves concrete here, so XLA folds the per-setting constants.
      return _formula(self, _maths.as_step(step))
    if not isinstance(step, jax.Array):
      step = _maths.as_step(step)     # host values (Python ints of any size, NumPy) on the host
    return evaluate_compiled(self, step)      # eager: one compiled program per structure, one dispatch

  def _value(self, t):
    raise NotImplementedError

  def _exact(self, name) -> _df.DF:
    """A real field as the user's double, ``value + lo`` (for exponents); the gradient is the
    public leaf's."""
    return _maths.exact_value(getattr(self, name), self._lo[name])

  def _d(self, name):
    """A derived leaf, without gradient (route it with ``_maths.route``)."""
    return jax.tree.map(jax.lax.stop_gradient, self._derived[name])

  @property
  def dtype(self):
    """The result dtype: the hyperparameters' float dtype, float32 at least."""
    floats = {l.dtype for l in jax.tree.leaves(self) if jnp.issubdtype(l.dtype, jnp.floating)}
    if len(floats) == 1:           # the usual case, without JAX's type-promotion machinery
      return np.dtype(floats.pop())
    return jnp.result_type(*floats) if floats else default_float()

  @property
  def batch_shape(self) -> tuple[int, ...]:
    """Leading axes shared by every leaf (after ``jaxsched.stack``); ``()`` for one schedule."""
    for name, spec in fields_of(type(self)):
      value = getattr(self, name)
      if value is None or spec.kind == "static":
        continue
      if spec.kind == "child":
        return value.batch_shape
      if spec.kind == "children":
        return value[0].batch_shape if value else ()
      return tuple(value.shape[:value.ndim - spec.rank])
    return ()

  # --- pytree ---------------------------------------------------------------------------------------
  @classmethod
  def _flatten_with_keys(cls, obj):
    data = [(jax.tree_util.GetAttrKey(n), getattr(obj, n)) for n in cls._data_fields]
    data.append((jax.tree_util.GetAttrKey("_lo"), obj._lo))
    data.append((jax.tree_util.GetAttrKey("_derived"), obj._derived))
    return data, cls._aux(obj)

  @classmethod
  def _aux(cls, obj):
    """The treedef's static part: the static fields, then the specialisation."""
    return tuple(getattr(obj, n) for n in cls._meta_fields) + (obj._special,)

  @classmethod
  def _unflatten(cls, aux, data):
    obj = object.__new__(cls)   # bypasses __init__: leaves may be tracers, None or sentinels here
    data = list(data)
    object.__setattr__(obj, "_derived", data.pop())
    object.__setattr__(obj, "_lo", data.pop())
    for n, v in zip(cls._data_fields, data):
      object.__setattr__(obj, n, v)
    *meta, special = aux
    for n, v in zip(cls._meta_fields, meta):
      object.__setattr__(obj, n, v)
    if special is not None:
      special = _respecialised(obj, special)
    object.__setattr__(obj, "_special", special)
    return obj

  # --- identity: the hyperparameters as given (public leaves and the user's doubles) ---------------
  def _identity(self):
    """(structure, leaves) that ``==`` and ``hash`` compare; derived leaves are left out (they are
    functions of these)."""
    parts, leaves = [type(self)], []
    for name, spec in fields_of(type(self)):
      value = getattr(self, name)
      if spec.kind == "static" or value is None:
        parts.append((name, value))
      elif spec.kind == "child":
        s, l = value._identity()
        parts.append((name, s))
        leaves += l
      elif spec.kind == "children":
        for c in value:
          s, l = c._identity()
          parts.append((name, s))
          leaves += l
        parts.append((name, len(value)))
      else:
        parts.append(name)
        leaves.append(value)
        if spec.kind == "real":
          leaves.append(self._lo.get(name))
    return tuple(parts), leaves

  def __eq__(self, other):
    if type(self) is not type(other):
      return NotImplemented
    sa, a = self._identity()
    sb, b = other._identity()
    if sa != sb:
      return False
    if is_traced(a) or is_traced(b):
      return self is other
    return all(np.shape(x) == np.shape(y) and np.asarray(x).dtype == np.asarray(y).dtype
               and np.array_equal(np.asarray(x), np.asarray(y)) for x, y in zip(a, b))

  def __hash__(self):
    """By value for concrete leaves (consistent with ``==``), so ``jax.jit(schedule)`` and static
    arguments work; a schedule with traced leaves hashes by identity (its ``==`` is identity)."""
    structure, leaves = self._identity()
    if is_traced(leaves):
      return id(self)
    return hash((structure, tuple((np.asarray(x).dtype.str, np.shape(x), np.asarray(x).tobytes())
                                  for x in leaves)))

  def __repr__(self):
    parts = []
    for name, spec in fields_of(type(self)):
      parts.append(f"{name}={_repr_value(self, name, spec)}")
    batch = self.batch_shape if not is_traced(self) else ()
    tag = f"[{','.join(map(str, batch))}]" if batch else ""
    return f"{self.family}{tag}({', '.join(parts)})"

  # --- config ---------------------------------------------------------------------------------------
  def to_config(self) -> dict:
    """A JSON-safe dict, ``{"family": ..., <parameter>: ...}``, nested for composites."""
    if is_traced(self):
      raise ValueError(f"{self.family}: to_config needs concrete hyperparameters, not traced ones")
    if self.batch_shape:
      raise ValueError(f"{self.family}: to_config takes one schedule; this is a batch of shape "
                       f"{self.batch_shape} (use jaxsched.unstack first)")
    config = {"family": self.family}
    for name, spec in fields_of(type(self)):
      value = getattr(self, name)
      if value is None or spec.kind == "static":
        config[name] = value
      elif spec.kind == "real":
        config[name] = _host_real(value, self._lo.get(name, np.zeros_like(np.asarray(value))))
      elif spec.kind == "count":
        config[name] = np.asarray(value).tolist()
      elif spec.kind == "child":
        config[name] = value.to_config()
      else:
        config[name] = [s.to_config() for s in value]
    return config

  # --- arithmetic (SPEC §1): s * c, c * s, s * s2, s / c -------------------------------------------
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


def _isfinite(x):
  return jnp.isfinite(x) if _is_device(x) else np.isfinite(np.asarray(x))


def _formula(schedule: "Schedule", t):
  """The formula on a clamped step: a batch (``batch_shape``) is vmapped here, giving
  ``batch_shape + t.shape``, and a NaN step gives NaN (SPEC §6), whatever the formula selects.
  Closed-over hyperparameters are constant-folded by XLA (``_df`` is written so that folding
  cannot drop its error terms)."""
  step = t
  if isinstance(t, _maths.FracStep):
    probe = t.hi
    if not schedule._pair_steps:
      step = t.hi + t.lo
  else:
    probe = t
  formula = lambda s: jnp.asarray(s._value(step), s.dtype)
  for _ in schedule.batch_shape:
    formula = jax.vmap(formula)
  out = formula(schedule)
  if jnp.issubdtype(probe.dtype, jnp.floating):
    out = jnp.where(jnp.isnan(probe), jnp.asarray(jnp.nan, out.dtype), out)
  return _weak(out)


try:  # JAX's own cast to a weakly typed array (what a Python float becomes); private, so guarded
  from jax._src.lax.lax import _convert_element_type as _weak_cast
except ImportError:  # pragma: no cover  (tests/test_habits.py fails loudly if this path is taken)
  _weak_cast = None


def _weak(x):
  """The value weakly typed, as optax schedules built from Python floats return theirs: computed in
  float32 (float64 under x64), it then adopts the dtype of what it multiplies, so bf16/f16
  parameters keep bf16/f16 updates under ``inject_hyperparams`` as under ``learning_rate=``."""
  return x if _weak_cast is None else _weak_cast(x, x.dtype, weak_type=True)


@jax.jit
def evaluate_compiled(schedule: "Schedule", step):
  """An eager call runs the formula as one compiled program, cached by structure: one dispatch,
  not hundreds. The step rule (SPEC §6) is applied inside it, so a device array of steps costs no
  eager op (each would be a small program of its own to compile)."""
  return _formula(schedule, _maths.as_step(step))


def _reciprocal(x: float) -> _df.DF:
  """1/x as a pair from the double 1/x (SPEC: Python floats are exact doubles)."""
  hi, lo = _df.split_host(1.0 / x, default_float())
  return _df.DF(hi, lo)


def _is_scalar_like(x) -> bool:
  if isinstance(x, bool):
    return False
  if isinstance(x, numbers.Real):
    return True
  return isinstance(x, (jax.Array, np.ndarray, jax.core.Tracer)) and np.ndim(x) == 0


def show(x) -> str:
  """A leaf for an error message: its value, or ``<traced>`` (checkify messages see tracers).
  A concrete real pair shows the shortest decimal that gives it back, as the user wrote it."""
  if is_traced(x):
    return "<traced>"
  if isinstance(x, _df.DF):
    return repr(_host_real(x.hi, x.lo))
  return _show(x)


def children_of(schedule: "Schedule") -> list["Schedule"]:
  """The schedules a composite holds directly (its ``child`` and ``children`` fields, in order)."""
  out = []
  for name, spec in fields_of(type(schedule)):
    if spec.kind == "child":
      out.append(getattr(schedule, name))
    elif spec.kind == "children":
      out.extend(getattr(schedule, name))
  return out


def nesting_depth(schedule: "Schedule") -> int:
  """How many schedules deep ``schedule`` nests (1 for a family without children). Iterative, so
  that it can refuse a nest before anything recursive (tracing, ``repr``, ``==``) meets it."""
  depth, stack = 0, [(schedule, 1)]
  while stack:
    s, d = stack.pop()
    depth = max(depth, d)
    stack.extend((c, d + 1) for c in children_of(s))
  return depth


def _with_values(checks):
  """``(ok, message, value or None)`` from the field triples and the families' pairs."""
  for item in checks:
    yield item if len(item) == 3 else (*item, None)


def _repr_value(s: Schedule, name: str, spec: Spec) -> str:
  value = getattr(s, name)
  if value is None or spec.kind == "static":
    return repr(value)
  if spec.kind == "child":
    return repr(value)
  if spec.kind == "children":
    return "[" + ", ".join(map(repr, value)) + "]"
  if is_traced(value):
    return f"<traced {value.dtype}{list(value.shape)}>"
  if spec.kind == "real":
    return repr(_host_real(value, s._lo.get(name, np.zeros_like(np.asarray(value)))))
  return repr(np.asarray(value).tolist())


def family(name: str):
  """Class decorator: makes ``cls`` a frozen dataclass pytree and registers it under ``name``."""

  def register(cls):
    cls.family = name
    cls = dataclasses.dataclass(frozen=True, eq=False, repr=False)(cls)
    cls.__hash__ = Schedule.__hash__
    specs = fields_of(cls)
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
    data = [getattr(obj, n) for n in cls._data_fields] + [obj._lo, obj._derived]
    return data, cls._aux(obj)
  return flatten


def _concrete_number(x) -> bool:
  if isinstance(x, jax.core.Tracer):
    return False
  if isinstance(x, jax.Array):
    return x.is_fully_addressable
  return isinstance(x, (np.ndarray, np.generic, numbers.Number)) and not isinstance(x, bool)


def _respecialised(obj: Schedule, special):
  """The specialisation of a schedule rebuilt from leaves (``tree.unflatten``): the treedef's,
  minus any entry that the leaves, when they are concrete numbers, no longer satisfy. So a
  ``tree.map`` or a checkpoint restore can never keep a stale one, and ``unflatten(treedef,
  leaves)`` keeps ``treedef`` whenever the leaves fit it (never upgrades: a chunk of a batch keeps
  the batch's program)."""
  values = [(getattr(obj, n), sp.optional) for n, sp in fields_of(type(obj))
             if sp.kind in ("real", "count")]
  values += [(v, False) for v in (obj._lo.values() if isinstance(obj._lo, dict) else [obj._lo])]
  if not all(_concrete_number(v) if v is not None else optional for v, optional in values):
    return special      # tracers, or not numbers at all (a tree.map to other objects: orbax's args)
  try:
    holds = dict(_frozen(obj._specialise(obj._host_view())) or ())
  except Exception:   # numbers of another shape than the fields (a tree.map to odd values)
    return None
  return tuple((k, v) for k, v in special if _covers(v, holds.get(k))) or None


def _covers(special, held) -> bool:
  """Whether a formula specialised on ``special`` (a value, or a tuple of values selected per row)
  is right for leaves whose own specialisation is ``held`` (a chunk of a batch holds a subset)."""
  if held is None:
    return False
  if not isinstance(special, tuple):
    return held == special
  return set(held if isinstance(held, tuple) else (held,)) <= set(special)


def _frozen(special):
  """A specialisation as treedef data: a sorted tuple of the (name, value) items that hold, or None."""
  items = tuple(sorted((k, v) for k, v in (special or {}).items() if v is not None))
  return items or None


def _rebuilt(schedule: Schedule, child_fn, special_fn) -> Schedule:
  out = object.__new__(type(schedule))
  for k, v in vars(schedule).items():
    object.__setattr__(out, k, v)
  for name, spec in fields_of(type(schedule)):
    value = getattr(schedule, name)
    if spec.kind == "child":
      object.__setattr__(out, name, child_fn(value))
    elif spec.kind == "children":
      object.__setattr__(out, name, tuple(child_fn(c) for c in value))
  object.__setattr__(out, "_special", special_fn(schedule))
  return out


def specialised(schedule: Schedule) -> Schedule:
  """The schedule (children too) with its specialisation recomputed in full from its concrete
  values; where it reads derived leaves (``_reads_derived``) they are re-derived on the host, in
  case they came from a trace. ``stack``, ``unstack`` and checkpoint restores call it; a traced
  schedule is returned as it is."""
  if is_traced(schedule):
    return schedule
  out = _rebuilt(schedule, specialised, lambda s: _frozen(s._specialise(s._host_view())))
  if any(out._reads_derived(k, v) for k, v in out._special or ()):
    object.__setattr__(out, "_derived", dict(out._derive(_Host(out)) or {}))
  return out


def grouping_form(schedule: Schedule) -> Schedule:
  """The schedule as a batch group sees it: set-valued specialisations (``_set_valued``) reduced to
  their names, others kept (children too). Settings with equal grouping forms stack into one batch
  that recomputes its specialisation (``specialised``) and gives each row its own formula."""
  return _rebuilt(schedule, grouping_form, lambda s: tuple(
      (k, None if k in type(s)._set_valued else v) for k, v in (s._special or ())) or None)


def generalised(schedule: Schedule) -> Schedule:
  """The schedule with every specialisation dropped (children too): the same values, general
  formulas. ``stack`` stacks batches that differ in a specialisation this way; the stacked batch
  recomputes its own."""
  return _rebuilt(schedule, generalised, lambda s: None)


# --- hypergradients: the public update route -------------------------------------------------------


def partition(schedule: Schedule):
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
  params = {}
  for name, spec in fields_of(type(schedule)):
    value = getattr(schedule, name)
    if value is None or spec.kind in ("static", "count"):
      continue
    if spec.kind == "real":
      params[name] = value
    elif spec.kind == "child":
      params[name] = partition(value)[0]
    else:
      params[name] = [partition(s)[0] for s in value]
  return params, schedule


def combine(params, rest: Schedule) -> Schedule:
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
  for name, spec in fields_of(type(rest)):
    old = getattr(rest, name)
    if name not in params or old is None or spec.kind in ("static", "count"):
      continue
    new = params[name]
    if spec.kind == "child":
      fields[name] = combine(new, old)
    elif spec.kind == "children":
      fields[name] = tuple(combine(p, s) for p, s in zip(new, old))
    else:
      lo = rest._lo[name]
      if is_traced(new) or is_traced(old):
        new = jnp.asarray(new)
        fields[name] = _df.DF(new, jnp.where(new == old, lo, jnp.zeros_like(lo)).astype(new.dtype))
      elif np.shape(new) == np.shape(old) and np.array_equal(np.asarray(new), np.asarray(old)):
        fields[name] = _df.DF(old, lo)
      else:
        fields[name] = new
  return rest.replace(**fields)



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
  for name, spec in fields_of(type(schedule)):
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


def from_config(config: dict) -> Schedule:
  """Rebuilds a schedule from ``to_config()`` output. Never evaluates or unpickles anything.

  Junk is a ``ValueError``/``TypeError`` naming the family and field; a config nested deeper than
  ``MAX_DEPTH`` schedules is refused (checked without recursion) before anything is built.

  Args:
    config: a dict as ``Schedule.to_config()`` returns it (or as parsed from its JSON): a
      ``"family"`` key naming a registered family, and that family's fields; fields with defaults
      may be left out.

  >>> import jaxsched as js
  >>> s = js.from_config({"family": "cosine", "init_value": 0.1, "steps": 100})
  >>> s
  cosine(init_value=0.1, steps=100, end_value=0.0, exponent=1.0, begin=0)
  >>> js.from_config(s.to_config()) == s
  True
  """
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
  specs = dict(fields_of(cls))
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
  _pair_steps = True

  def _value(self, t):
    out = self.schedules[0](t)
    zero = out == 0
    for s in self.schedules[1:]:
      factor = s(t)
      out, zero = out * factor, zero | (factor == 0)
    # a factor of exactly 0 makes the product 0, even beside a growing factor that overflowed to
    # inf (0·inf would be NaN)
    return jnp.where(zero, jnp.zeros_like(out), out)


@family("scaled")
class Scaled(Schedule):
  """``factor · schedule(t)``; made by ``s * c``, ``c * s`` and ``s / c``."""
  schedule: Schedule = child()
  factor: Any = real()
  _pair_steps = True

  def _value(self, t):
    out = self.schedule(t) * self.factor
    return jnp.where(self.factor == 0, jnp.zeros_like(out), out)   # 0·inf is 0 here, not NaN


@family("sum")
class Sum(Schedule):
  """Element-wise sum ``s₁(t) + s₂(t) + ···``; made by ``s1 + s2`` and ``s1 - s2`` (as
  ``s1 + (−1)·s2``). A sum is only as exact as float32 addition: where terms cancel, the result
  carries their rounding (2⁻²⁴ of the larger), not 1e-6 of the difference."""
  schedules: tuple = children()
  _pair_steps = True

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
  _pair_steps = True

  def _value(self, t):
    return self.schedule(t) + self.offset
