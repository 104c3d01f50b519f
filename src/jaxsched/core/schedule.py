"""The ``Schedule`` base class: registration (``@family``), construction, the pytree, evaluation,
identity (``==``, ``hash``, ``repr``) and the specialisation a schedule carries.

A family is a frozen dataclass whose fields are declared with ``jaxsched.real``/``count``/
``static``/``child``/``children`` and whose formula is ``formula(self, t)``. Optional
declarations, as class attributes: ``step_form`` (what ``t`` the formula receives), ``rules``
(cross-field checks), ``derived`` (per-setting constants derived once), and ``special=`` on a
real field (exact values with cheaper formulas). Everything else is written once, here and in
the field kinds.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, TypeAlias, TypeVar, cast

import jax
import jax.core
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike

from jaxsched import _df, _maths
from jaxsched.core import specialise
from jaxsched.core.arithmetic import Arithmetic
from jaxsched.core.checks import Rule
from jaxsched.core.derive import Backend, Device, Host
from jaxsched.core.fields import (
  Field,
  child,
  children,
  count,
  fields_of,
  function,
  nesting_depth,
  real,
  static,
)
from jaxsched.core.leaves import default_float, is_traced, show
from jaxsched.core.registry import FAMILIES, FAMILY_HOOKS

if (
  TYPE_CHECKING
):  # Python 3.11+ has it in typing; a type checker's marker only, nothing at run time
  from typing_extensions import dataclass_transform
else:

  def dataclass_transform(**kwargs):
    return lambda f: f


S = TypeVar("S", bound="Schedule")

# What a schedule is called with: a step or an array of steps, integer or float, as a Python number
# (ints of any size), a sequence, a NumPy or JAX array (traced too), or a fractional pair that
# ``per_epoch(..., fractional=True)`` hands its child.
StepLike: TypeAlias = (
  int
  | float
  | np.integer
  | np.floating
  | np.ndarray
  | jax.Array
  | Sequence[int | float]
  | _maths.FracStep
)

MAX_DEPTH = (
  64  # schedules nested deeper are refused (construction and from_config), before recursion
)


def _float_steps(t, dtype):
  if isinstance(t, _maths.FracStep):
    t = t.hi + t.lo
  return t.astype(dtype)


def _exact_steps(t, dtype):
  return t.hi + t.lo if isinstance(t, _maths.FracStep) else t


# What a family's formula receives as ``t``, by its ``step_form``: "float" (the default, for
# authors) a float array of the result dtype; "exact" int32 for integer steps (exact boundaries,
# floors and cycles) and floats for fractional ones; "pair" also ``_maths.FracStep`` pairs, which
# ``per_epoch(..., fractional=True)`` passes so that ``gamma^(t/k)`` keeps its precision.
STEP_FORMS: dict[str, Callable] = {
  "float": _float_steps,
  "exact": _exact_steps,
  "pair": lambda t, dtype: t,
}


class Schedule(Arithmetic):
  """An immutable, callable JAX pytree ``step -> value``. Families subclass it via ``@family``.

  Numeric hyperparameters are leaves (traceable, vmappable, differentiable with
  ``jax.grad(..., allow_int=True)``: each real field receives d/d(that hyperparameter), once);
  mode strings and flags are static. Private leaves (the user's doubles; per-setting constants)
  travel with it; to update hyperparameters use ``replace`` or ``jaxsched.partition``/
  ``jaxsched.combine``, which re-derive them.

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
  step_form: ClassVar[str] = "float"
  rules: ClassVar[tuple[Rule, ...]] = ()
  # a method ``derived(self, backend) -> dict`` in a family (not a ClassVar: a method overrides it)
  derived: Callable[[Any, Backend], dict[str, Any]] | None = None

  # set on each instance by construction (``object.__setattr__``: the dataclass is frozen): the low
  # words of the user's doubles, the derived constants and the specialisation
  _lo: dict[str, Any]
  _derived: dict[str, Any]
  _special: tuple | None
  # set on each family class by ``@family``
  _jaxsched_fields: ClassVar[list[tuple[str, Field]]]
  _data_fields: ClassVar[tuple[str, ...]]
  _meta_fields: ClassVar[tuple[str, ...]]

  # --- the author's hook ----------------------------------------------------------------------------
  def formula(self, t: Any) -> ArrayLike:
    """The value at step ``t``: by default a float array of the result dtype, clamped into
    ``[0, 2^31−1]`` (``step_form`` says otherwise: int32 steps for "exact", also ``_maths.FracStep``
    pairs for "pair"). Fields read as arrays (``self.peak``). The result is cast to the dtype."""
    raise NotImplementedError(f"{type(self).__name__} must define formula(self, t)")

  # --- construction ---------------------------------------------------------------------------------
  def __post_init__(self):
    lo = {}
    family = self.family
    for name, kind in fields_of(type(self)):
      raw = getattr(self, name)
      if raw is None and kind.optional:
        value = None
      else:
        value, low = kind.convert(family, name, raw)
        if low is not None:
          lo[name] = low
      object.__setattr__(self, name, value)
    object.__setattr__(self, "_lo", lo)
    object.__setattr__(self, "_derived", {})
    object.__setattr__(self, "_special", None)
    depth = nesting_depth(self)
    if depth > MAX_DEPTH:
      raise ValueError(
        f"{family}: schedules are nested {depth} deep, deeper than the limit of "
        f"{MAX_DEPTH} (jaxsched.core.MAX_DEPTH)"
      )
    traced = is_traced(self)
    if not traced:
      self.raise_if_out_of_range()
    object.__setattr__(
      self, "_special", None if traced else specialise.decide(type(self), self.host_view())
    )
    object.__setattr__(self, "_derived", self.derive(Device(self) if traced else Host(self)))

  def derive(self, backend: Backend) -> dict[str, Any]:
    """The per-setting constants of the ``derived`` declaration, computed with ``backend``."""
    make = type(self).derived
    return dict(make(self, backend) or {}) if make is not None else {}

  def raise_if_out_of_range(self, prefix: str = "") -> None:
    """Every range check, on the host view of concrete values (the user's doubles, so messages
    show the value as written); the first failure is a ValueError. Construction and schedules
    restored from a checkpoint share it."""
    for ok, message, value in type(self).all_checks(self.host_view()):
      if not bool(np.all(np.asarray(ok))):
        message = message_text(message)
        raise ValueError(prefix + (message if value is None else f"{message}, got {show(value)}"))

  def host_view(self: S) -> S:
    """A shallow copy whose real fields are the exact float64 doubles and counts int64 NumPy
    arrays, for range checks on the host (no device work; messages show the value as given)."""
    view = object.__new__(type(self))
    for name, kind in fields_of(type(self)):
      value = getattr(self, name)
      if value is not None:
        value = kind.host(value, self._lo.get(name))
      object.__setattr__(view, name, value)
    object.__setattr__(view, "_lo", {})
    object.__setattr__(view, "_derived", {})
    object.__setattr__(view, "_special", None)
    return view

  def all_checks(self) -> Iterator[tuple[Any, str | Callable[[], str], Any]]:
    """``(ok, message, value or None)`` for every field's range, then the family's rules (whose
    message is a function that forms it: ``message_text``)."""
    for name, kind in fields_of(type(self)):
      value = getattr(self, name)
      if value is not None:
        yield from kind.range_checks(self.family, name, value)
    for rule in type(self).rules:  # a rule's message is formed only when it is needed
      yield rule.test(self), lambda rule=rule: f"{self.family}: {rule.says(self)}", None

  # --- reading fields in a formula ------------------------------------------------------------------
  def exact(self, name: str) -> _df.DF:
    """A real field as the user's double, ``value + lo`` (for exponents); the gradient is the
    public leaf's."""
    return _maths.exact_value(getattr(self, name), self._lo[name])

  def lo(self, name: str) -> Any:
    """The low word of a real field's double (the user's value is ``field + lo``), or None."""
    return self._lo.get(name)

  def constant(self, name: str) -> Any:
    """A derived per-setting constant, without gradient (route it with ``_maths.route``)."""
    return jax.tree.map(jax.lax.stop_gradient, self._derived[name])

  def special(self, name: str) -> Any:
    """The special value that field ``name``'s values selected (``Special``), or None."""
    return dict(self._special or ()).get(name)

  @property
  def specialisation(self) -> tuple | None:
    """What holds, as treedef data: sorted ``(field, value)`` items, or None."""
    return self._special

  # --- the public update route ----------------------------------------------------------------------
  def replace(self: S, **fields: Any) -> S:
    """A new schedule with some fields replaced, its derived constants re-derived (on the host for
    concrete values, on the device for traced ones). Unchanged real fields keep the user's double.
    ``jaxsched.combine`` is built on it."""
    kinds = dict(fields_of(type(self)))
    kwargs = {}
    for name, kind in kinds.items():
      value = getattr(self, name)
      kwargs[name] = value if value is None else kind.given(value, self._lo.get(name))
    for name, value in fields.items():
      if name not in kinds:
        raise ValueError(f"{self.family}: unknown field {name!r}; fields are {sorted(kinds)}")
      kwargs[name] = value
    new = type(self)(**kwargs)
    if self._special and new._special is None and is_traced(new):
      # traced values know nothing special, but a field left as it was keeps its special value
      # (so a schedule rebuilt inside a scan keeps its structure); not one that reads constants
      # only the host derives exactly (re-derived here on the device, as stand-ins)
      kept = tuple(
        (k, v)
        for k, v in self._special
        if k not in fields and not specialise.host_derived(type(self), k, v)
      )
      object.__setattr__(new, "_special", kept or None)
    return new

  # --- evaluation -----------------------------------------------------------------------------------
  def __call__(self, step: StepLike) -> jax.Array:
    if is_traced(step) or is_traced(self):
      # Inside a trace (the user's jit, grad, vmap, scan): inline the formula. A closed-over
      # schedule keeps its leaves concrete here, so XLA folds the per-setting constants.
      return evaluate(self, _maths.as_step(step))
    if not isinstance(step, jax.Array):
      step = _maths.as_step(step)  # host values (Python ints of any size, NumPy) on the host
    return evaluate_compiled(self, step)  # eager: one compiled program per structure

  @property
  def dtype(self) -> np.dtype:
    """The result dtype: the hyperparameters' float dtype, float32 at least."""
    floats = {x.dtype for x in jax.tree.leaves(self) if jnp.issubdtype(x.dtype, jnp.floating)}
    if len(floats) == 1:  # the usual case, without JAX's type-promotion machinery
      return np.dtype(floats.pop())
    return jnp.result_type(*floats) if floats else default_float()

  @property
  def batch_shape(self) -> tuple[int, ...]:
    """Leading axes shared by every leaf (after ``jaxsched.stack``); ``()`` for one schedule."""
    for name, kind in fields_of(type(self)):
      value = getattr(self, name)
      shape = None if value is None else kind.batch_shape(value)
      if shape is not None:
        return shape
    return ()

  # --- pytree ---------------------------------------------------------------------------------------
  @classmethod
  def _flatten_with_keys(cls, obj):
    data = [(jax.tree_util.GetAttrKey(n), getattr(obj, n)) for n in cls._data_fields]
    data.append((jax.tree_util.GetAttrKey("_lo"), obj._lo))
    data.append((jax.tree_util.GetAttrKey("_derived"), obj._derived))
    return data, cls._aux(obj)

  @classmethod
  def _flatten(cls, obj):
    return [getattr(obj, n) for n in cls._data_fields] + [obj._lo, obj._derived], cls._aux(obj)

  @classmethod
  def _aux(cls, obj):
    """The treedef's static part: the static fields, then the specialisation."""
    return tuple(getattr(obj, n) for n in cls._meta_fields) + (obj._special,)

  @classmethod
  def _unflatten(cls, aux, data):
    obj = object.__new__(cls)  # bypasses __init__: leaves may be tracers, None or sentinels here
    data = list(data)
    object.__setattr__(obj, "_derived", data.pop())
    object.__setattr__(obj, "_lo", data.pop())
    for n, v in zip(cls._data_fields, data, strict=True):
      object.__setattr__(obj, n, v)
    *meta, special = aux
    for n, v in zip(cls._meta_fields, meta, strict=True):
      object.__setattr__(obj, n, v)
    object.__setattr__(obj, "_special", None if special is None else _respecialised(obj, special))
    return obj

  # --- identity: the hyperparameters as given (public leaves and the user's doubles) ---------------
  def identity(self) -> tuple[tuple, list]:
    """(structure, leaves) that ``==`` and ``hash`` compare; derived leaves are left out (they are
    functions of these)."""
    parts: list[Any] = [type(self)]
    values: list = []
    for name, kind in fields_of(type(self)):
      value = getattr(self, name)
      if value is None:
        parts.append((name, None))
        continue
      more_parts, more = kind.identity(name, value, self._lo.get(name))
      parts += more_parts
      values += more
    return tuple(parts), values

  def __eq__(self, other):
    if type(self) is not type(other):
      return NotImplemented
    sa, a = self.identity()
    sb, b = other.identity()
    if sa != sb:
      return False
    if is_traced(a) or is_traced(b):
      return self is other
    return all(
      np.shape(x) == np.shape(y)
      and np.asarray(x).dtype == np.asarray(y).dtype
      and np.array_equal(np.asarray(x), np.asarray(y))
      for x, y in zip(a, b, strict=True)
    )

  def __hash__(self):
    """By value for concrete leaves (consistent with ``==``), so ``jax.jit(schedule)`` and static
    arguments work; a schedule with traced leaves hashes by identity (its ``==`` is identity)."""
    structure, values = self.identity()
    if is_traced(values):
      return id(self)
    return hash(
      (
        structure,
        tuple((np.asarray(x).dtype.str, np.shape(x), np.asarray(x).tobytes()) for x in values),
      )
    )

  def __repr__(self):
    parts = []
    for name, kind in fields_of(type(self)):
      value = getattr(self, name)
      parts.append(f"{name}={'None' if value is None else kind.show(value, self._lo.get(name))}")
    batch = self.batch_shape if not is_traced(self) else ()
    tag = f"[{','.join(map(str, batch))}]" if batch else ""
    return f"{self.family}{tag}({', '.join(parts)})"

  def to_config(self) -> dict:
    """A JSON-safe dict, ``{"family": ..., <parameter>: ...}``, nested for composites."""
    if is_traced(self):
      raise ValueError(f"{self.family}: to_config needs concrete hyperparameters, not traced ones")
    if self.batch_shape:
      raise ValueError(
        f"{self.family}: to_config takes one schedule; this is a batch of shape "
        f"{self.batch_shape} (use jaxsched.unstack first)"
      )
    config: dict[str, Any] = {"family": self.family}
    for name, kind in fields_of(type(self)):
      value = getattr(self, name)
      config[name] = None if value is None else kind.to_config(value, self._lo.get(name))
    return config


def message_text(message: str | Callable[[], str]) -> str:
  """A check's message: a string, or (a rule's) a function that forms it."""
  return message() if callable(message) else message


# --- evaluation --------------------------------------------------------------------------------------


def evaluate(schedule: Schedule, t: jax.Array | _maths.FracStep) -> jax.Array:
  """The formula on a clamped step: a batch (``batch_shape``) is vmapped here, giving
  ``batch_shape + t.shape``, and a NaN step gives NaN, whatever the formula selects.
  Closed-over hyperparameters are constant-folded by XLA (``_df`` is written so that folding
  cannot drop its error terms)."""
  probe = t.hi if isinstance(t, _maths.FracStep) else t
  form = STEP_FORMS[schedule.step_form]
  formula = lambda s: jnp.asarray(s.formula(form(t, s.dtype)), s.dtype)
  for _ in schedule.batch_shape:
    formula = jax.vmap(formula)
  out = formula(schedule)
  if jnp.issubdtype(probe.dtype, jnp.floating):
    out = jnp.where(jnp.isnan(probe), jnp.asarray(jnp.nan, out.dtype), out)
  return _weak(out)


try:  # JAX's own cast to a weakly typed array (what a Python float becomes); private, so guarded
  from jax._src.lax.lax import _convert_element_type as _weak_cast
except ImportError:  # pragma: no cover  (a test fails loudly if this path is taken)
  _weak_cast = None


def _weak(x: jax.Array) -> jax.Array:
  """The value weakly typed, as optax schedules built from Python floats return theirs: computed in
  float32 (float64 under x64), it then adopts the dtype of what it multiplies, so bf16/f16
  parameters keep bf16/f16 updates under ``inject_hyperparams`` as under ``learning_rate=``."""
  return x if _weak_cast is None else cast(jax.Array, _weak_cast(x, x.dtype, weak_type=True))


@jax.jit
def evaluate_compiled(schedule: Schedule, step: StepLike) -> jax.Array:
  """An eager call runs the formula as one compiled program, cached by structure: one dispatch,
  not hundreds. The step rule is applied inside it, so a device array of steps costs no eager op
  (each would be a small program of its own to compile)."""
  return evaluate(schedule, _maths.as_step(step))


# --- registration -------------------------------------------------------------------------------------


@dataclass_transform(
  frozen_default=True, field_specifiers=(real, count, static, child, children, function)
)
def family(name: str) -> Callable[[type[S]], type[S]]:
  """Class decorator: makes ``cls`` a frozen dataclass pytree and registers it under ``name``.

  Its fields are ``jaxsched.real`` (float hyperparameters), ``count`` (int32 step counts),
  ``static`` (modes and flags), ``child``/``children`` (nested schedules); its formula is
  ``formula(self, t)``. It then has everything a built-in family has: ``repr`` and
  ``jaxsched.parse``, ``to_config``/``from_config``, errors that name the field, batches, sweeps,
  ``jax.grad``, the checked mode and flax serialization.

  Args:
    name: the family's name: its ``repr``, its config's ``"family"`` key, its ``parse`` name.

  >>> import jax.numpy as jnp
  >>> import jaxsched as js
  >>> @js.family("doc_inverse")
  ... class Inverse(js.Schedule):
  ...   init_value: float = js.real()
  ...   def formula(self, t):
  ...     return self.init_value / (1 + t)
  >>> s = Inverse(0.1)
  >>> s, js.from_config(s.to_config()) == s
  (doc_inverse(init_value=0.1), True)
  >>> del js.FAMILIES["doc_inverse"]
  """

  def register(cls: type[S]) -> type[S]:
    if not (isinstance(cls, type) and issubclass(cls, Schedule)):
      raise TypeError(f"family({name!r}) decorates a jaxsched.Schedule subclass, got {cls!r}")
    if name in FAMILIES:
      raise ValueError(f"family {name!r} registered twice")
    if cls.step_form not in STEP_FORMS:
      raise ValueError(
        f"{name}: step_form must be one of {sorted(STEP_FORMS)}, got {cls.step_form!r}"
      )
    cls.family = name
    cls = dataclasses.dataclass(frozen=True, eq=False, repr=False)(cls)
    cls.__hash__ = Schedule.__hash__
    made: Any = cls  # a dataclass now, which the checker cannot see on a type variable
    kinds = [(f.name, f.metadata["kind"]) for f in dataclasses.fields(made) if "kind" in f.metadata]
    for field_name, kind in kinds:
      if not isinstance(kind, Field):
        raise TypeError(
          f"{name}: field {field_name} must be declared with jaxsched.real, count, "
          "static, child or children"
        )
    cls._jaxsched_fields = kinds
    cls._data_fields = tuple(n for n, k in kinds if not k.static)
    cls._meta_fields = tuple(n for n, k in kinds if k.static)
    jax.tree_util.register_pytree_with_keys(
      cls, cls._flatten_with_keys, cls._unflatten, flatten_func=cls._flatten
    )
    FAMILIES[name] = cls
    for hook in FAMILY_HOOKS:
      hook(cls)
    return cls

  return register


def from_leaves(template: Schedule, data: list) -> Schedule:
  """A schedule of ``template``'s structure (family, static fields, specialisation) holding
  ``data``: its data fields in declaration order, then the private leaves of the user's doubles and
  of the derived constants, as ``jax.tree`` flattens them. Nothing is converted, checked or
  derived: for batches assembled from stacked parts and for checkpoint restores."""
  cls = type(template)
  return cls._unflatten(cls._aux(template), data)


def private_leaves(schedule: Schedule) -> tuple[dict, dict]:
  """``(lo, derived)``: the low words of the user's doubles and the derived constants."""
  return schedule._lo, schedule._derived


# --- specialisation of rebuilt schedules -------------------------------------------------------------


def _concrete_number(x) -> bool:
  if isinstance(x, jax.core.Tracer):
    return False
  if isinstance(x, jax.Array):
    return x.is_fully_addressable
  return isinstance(x, (np.ndarray, np.generic, int, float)) and not isinstance(x, bool)


def _respecialised(obj: Schedule, special):
  """The specialisation of a schedule rebuilt from leaves (``tree.unflatten``): the treedef's,
  minus any entry that the leaves, when they are concrete numbers, no longer satisfy. So a
  ``tree.map`` or a checkpoint restore can never keep a stale one, and ``unflatten(treedef,
  leaves)`` keeps ``treedef`` whenever the leaves fit it (never upgrades: a chunk of a batch keeps
  the batch's program)."""
  values = [(getattr(obj, n), k.optional) for n, k in fields_of(type(obj)) if k.numeric]
  values += [(v, False) for v in (obj._lo.values() if isinstance(obj._lo, dict) else [obj._lo])]
  if not all(_concrete_number(v) if v is not None else optional for v, optional in values):
    return special  # tracers, or not numbers at all (a tree.map to other objects: orbax's args)
  try:
    holds = dict(specialise.decide(type(obj), obj.host_view()) or ())
  except Exception:  # numbers of another shape than the fields (a tree.map to odd values)
    return None
  return tuple((k, v) for k, v in special if specialise.covers(v, holds.get(k))) or None


def _rebuilt(schedule: Schedule, child_fn, special_fn) -> Schedule:
  out = object.__new__(type(schedule))
  for k, v in vars(schedule).items():
    object.__setattr__(out, k, v)
  for name, kind in fields_of(type(schedule)):
    value = getattr(schedule, name)
    if value is not None:
      object.__setattr__(out, name, kind.map_children(value, child_fn))
  object.__setattr__(out, "_special", special_fn(schedule))
  return out


def specialised(schedule: Schedule) -> Schedule:
  """The schedule (children too) with its specialisation recomputed in full from its concrete
  values; where a special value reads constants only the host derives exactly, they are
  re-derived on the host, in case they came from a trace. ``stack``, ``unstack`` and checkpoint
  restores call it; a traced schedule is returned as it is."""
  if is_traced(schedule):
    return schedule
  out = _rebuilt(schedule, specialised, lambda s: specialise.decide(type(s), s.host_view()))
  if any(specialise.host_derived(type(out), k, v) for k, v in out._special or ()):
    object.__setattr__(out, "_derived", out.derive(Host(out)))
  return out


def grouping_form(schedule: Schedule) -> Schedule:
  """The schedule as a batch group sees it: per-row specialisations reduced to their names, others
  kept (children too). Settings with equal grouping forms stack into one batch that recomputes its
  specialisation (``specialised``) and gives each row its own formula."""
  return _rebuilt(schedule, grouping_form, lambda s: specialise.grouping_items(type(s), s._special))


def generalised(schedule: Schedule) -> Schedule:
  """The schedule with every specialisation dropped (children too): the same values, general
  formulas. ``stack`` stacks batches that differ in a specialisation this way; the stacked batch
  recomputes its own."""
  return _rebuilt(schedule, generalised, lambda s: None)
