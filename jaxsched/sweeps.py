"""Sweeps (SPEC §4): many settings of a schedule as one batched pytree, run in one compiled program.

A batch of schedules is an ordinary ``Schedule`` whose leaves carry a leading batch axis
(``schedule.batch_shape``); calling it returns ``batch_shape + t.shape``. ``stack``, ``grid`` and
``sample`` make batches, ``unstack`` takes them apart for reports, ``evaluate`` tabulates them and
``sweep`` runs a user's training function over every setting, vmapped and sharded over devices.
Settings of different structures (families, static choices) share a batch as a mixed batch
(``jaxsched.mixed``), which every helper here accepts.
"""
from __future__ import annotations

import dataclasses
import itertools
import math
import numbers
import sys
import time
from typing import Any, Callable, Mapping, Sequence

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from jaxsched import core
from jaxsched.core import Schedule
from jaxsched.mixed import Mixed, layout, stack_mixed, unstack_mixed

__all__ = ["stack", "unstack", "grid", "sample", "uniform", "log_uniform", "choice", "int_uniform",
           "evaluate", "sweep"]

# --- stacking -------------------------------------------------------------------------------------


def _structure_diff(a: Schedule, b: Schedule, path: str) -> str | None:
  """Where two schedules differ in structure (family, static field, None vs value, shape), or None."""
  if type(a) is not type(b):
    return f"{path or 'family'}: family {a.family!r} vs {b.family!r}"
  for name, spec in core.fields_of(type(a)):
    x, y = getattr(a, name), getattr(b, name)
    where = f"{path}.{name}" if path else name
    if spec.kind == "static":
      if x != y:
        return f"{where}: {x!r} vs {y!r} (a static field: it changes the program)"
    elif (x is None) != (y is None):
      return f"{where}: {'None' if x is None else 'a value'} vs {'None' if y is None else 'a value'}"
    elif x is None:
      continue
    elif spec.kind == "child":
      found = _structure_diff(x, y, where)
      if found:
        return found
    elif spec.kind == "children":
      if len(x) != len(y):
        return f"{where}: {len(x)} schedules vs {len(y)}"
      for i, (u, v) in enumerate(zip(x, y)):
        found = _structure_diff(u, v, f"{where}[{i}]")
        if found:
          return found
    else:
      su, sv = tuple(np.shape(x)), tuple(np.shape(y))
      if su != sv:
        if spec.rank == 1 and su and sv and su[:-1] == sv[:-1]:
          return f"{where}: length {su[-1]} vs {sv[-1]}"
        return f"{where}: shape {su} vs {sv}"
      if x.dtype != y.dtype:
        return f"{where}: dtype {x.dtype} vs {y.dtype}"
  return None


def stack(schedules: Sequence[Schedule]) -> Schedule:
  """One batched schedule from a list of schedules: ``stack([s₀, …, sₙ₋₁])(t)[i] == sᵢ(t)``.

  Schedules of one structure (family, static fields such as mode strings and flags, which optional
  fields are None, vector lengths such as the number of milestones) give a plain batch of that
  family: every leaf stacked on a new leading axis.

  Schedules of different structures give a *mixed batch* (``jaxsched.mixed.Mixed``): one batch
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
  schedules = [s.member() if isinstance(s, Mixed) and not s.batch_shape and not core.is_traced(s)
               else s for s in schedules]
  first = schedules[0]
  layouts = [layout(s) for s in schedules]
  if all(x == layouts[0] for x in layouts):
    return _stack_same(schedules)
  if not any(x.batch_shape for x in schedules):
    # one group per structure; settings that differ only in a specialisation (exponent 1 vs 2)
    # share one whose formula selects per row: either way the batch equals a loop bit for bit
    return stack_mixed(schedules, _stack_same)
  general = [core.generalised(x) for x in schedules]
  if len({layout(x) for x in general}) == 1:
    return _stack_same(general)           # batches: specialised again from all their rows
  i = next(i for i, x in enumerate(layouts) if x != layouts[0])
  s = schedules[i]
  found = _structure_diff(first, s, "") or f"tree structure {layouts[0][0]} vs {layouts[i][0]}"
  raise ValueError(f"stack: schedule {i} ({s.family}) does not have the structure of schedule 0 "
                   f"({first.family}): {found}. Batches of different structures cannot be "
                   f"stacked on a new axis; jaxsched.unstack them and stack their settings "
                   f"into one mixed batch.")


def _stack_same(schedules: list[Schedule]) -> Schedule:
  """Same-structure schedules stacked leaf by leaf on a new leading axis."""
  if core.is_traced(schedules):
    return jax.tree.map(lambda *xs: jnp.stack(xs), *schedules)
  # Concrete leaves: stack on the host (no per-shape device program to compile), then one transfer.
  return core.specialised(
      jax.tree.map(lambda *xs: jnp.asarray(np.stack([np.asarray(x) for x in xs])), *schedules))


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
  n, host = _host_rows(leaves, batched.batch_shape)
  return [core.specialised(jax.tree.unflatten(treedef, [jnp.asarray(h[i]) for h in host]))
          for i in range(n)]


def _host_rows(leaves, batch):
  """``(n, the leaves on the host with their batch axes flattened into one of length n)``."""
  n = math.prod(batch)
  return n, [np.asarray(x).reshape((n,) + np.shape(x)[len(batch):]) for x in leaves]


# --- grids and random search ----------------------------------------------------------------------


def _check_fixed(axes_names, fixed, who):
  both = sorted(set(axes_names) & set(fixed))
  if both:
    raise ValueError(f"{who}: {both} given both as swept and as fixed")


def _build(factory, who, kwargs):
  schedule = factory(**kwargs)
  if not isinstance(schedule, Schedule):
    raise TypeError(f"{who}: the factory returned a {type(schedule).__name__}, not a "
                    "jaxsched.Schedule")
  return schedule


def grid(factory: Callable[..., Schedule], axes: Mapping[str, Sequence], **fixed) -> Schedule:
  """The cartesian product of ``axes`` as one batch, row-major in the order given.

  ``grid(jaxsched.exponential, {"init_value": [.1, .01], "gamma": [.9, .99]})`` is a batch of 4:
  (0.1, 0.9), (0.1, 0.99), (0.01, 0.9), (0.01, 0.99); the first axis is the outermost. ``fixed``
  keyword arguments go to every setting. Each setting is built by ``factory`` from Python values (so
  doubles keep their precision and bad values raise at once), then the settings are ``stack``ed.

  Axes may sweep structure too: a static choice (``{"decay_shape": ["linear", "cosine"]}``), None vs
  a value, or a factory that returns different families; the result is then a mixed batch (see
  ``stack``), still one program::

      families = {"cosine": lambda lr: jaxsched.cosine(lr, 1000),
                  "wsd": lambda lr: jaxsched.wsd(lr, 100, 700, 200)}
      batch = grid(lambda family, lr: families[family](lr),
                   {"family": list(families), "lr": [1e-3, 3e-3]})     # 4 settings, 2 families

  Formula: ``grid(f, {"a": A, "b": B}, **fixed)`` is
  ``stack([f(a=a, b=b, **fixed) for a in A for b in B])``.

  Peer: a grid sweep of W&B/Optuna/Ray Tune (``GridSampler``, ``tune.grid_search``), which launches
  one trial per setting; here the grid is one batch, run in one program by ``jaxsched.sweep``.

  Args:
    factory: a callable that takes keyword arguments and returns a ``Schedule`` (a family such as
      ``jaxsched.cosine``, or a lambda that builds a composite).
    axes: an ordered mapping from a keyword of ``factory`` to the list (or 1-D array) of values it
      takes; the first axis is the outermost.
    fixed: keyword arguments passed unchanged to every call of ``factory``.

  Returns:
    A batch with ``batch_shape == (prod of the axes' lengths,)`` (a mixed batch when the settings
    differ in structure).

  >>> import numpy as np, jaxsched
  >>> batch = jaxsched.grid(jaxsched.exponential, {"init_value": [0.1, 0.01], "gamma": [0.9, 0.99]})
  >>> batch.batch_shape
  (4,)
  >>> np.asarray(batch(1), np.float64).round(6).tolist()        # init_value·gamma at step 1
  [0.09, 0.099, 0.009, 0.0099]
  >>> shapes = jaxsched.grid(jaxsched.wsd, {"decay_shape": ["linear", "cosine"]},
  ...                        peak_value=1.0, warmup_steps=0, stable_steps=0, decay_steps=4)
  >>> np.asarray(shapes(2), np.float64).round(6).tolist()       # half way through the decay
  [0.5, 0.5]
  """
  axes = dict(axes)
  _check_fixed(axes, fixed, "grid")
  names = list(axes)
  values = []
  for name in names:
    v = axes[name]
    if isinstance(v, (np.ndarray, jax.Array)) and np.ndim(v) == 1:
      v = np.asarray(v).tolist()              # NumPy/JAX scalars as Python numbers
    if isinstance(v, (str, bytes)) or not isinstance(v, Sequence):
      raise TypeError(f"grid: axis {name!r} must be a list (or 1-D array) of values, got "
                      f"{type(v).__name__}")
    v = list(v)
    if not v:
      raise ValueError(f"grid: axis {name!r} is empty")
    values.append(v)
  with core.host_leaves():          # NumPy leaves: stack transfers each batched leaf once
    settings = [_build(factory, "grid", {**fixed, **dict(zip(names, combo))})
                for combo in itertools.product(*values)]
  return stack(settings)


@dataclasses.dataclass(frozen=True)
class uniform:
  """Real values drawn uniformly from ``[lo, hi)``, for ``jaxsched.sample``.

  Formula: ``x = lo + (hi − lo)·u`` with ``u ~ U[0, 1)`` (``jax.random.uniform``), mapped in
  float64 on the host. Peer: Optuna's ``suggest_float(name, lo, hi)``, Ray Tune's
  ``tune.uniform(lo, hi)``.

  Args:
    lo: the lower bound (included), a finite real number.
    hi: the upper bound (excluded), a finite real number greater than ``lo``.

  >>> import numpy as np, jaxsched
  >>> jaxsched.uniform(0.9, 1.0)
  uniform(lo=0.9, hi=1.0)
  >>> batch = jaxsched.sample(jaxsched.exponential, 0, 4, {"gamma": jaxsched.uniform(0.9, 1.0)},
  ...                         init_value=1.0)
  >>> gamma = np.asarray(batch(1))          # init_value·gamma at step 1 is gamma
  >>> bool(((gamma >= 0.9) & (gamma < 1.0)).all())
  True
  """
  lo: float
  hi: float

  def __post_init__(self):
    _check_range(self, "uniform")

  def _draw(self, key, n):
    u = np.asarray(jax.random.uniform(key, (n,)), np.float64)
    return np.minimum(self.lo + (self.hi - self.lo) * u, np.nextafter(self.hi, self.lo)).tolist()


@dataclasses.dataclass(frozen=True)
class log_uniform:
  """Real values whose logarithm is uniform on ``[log lo, log hi)``, for ``jaxsched.sample``: for
  learning rates, decays, anything that spans orders of magnitude (``lo > 0``).

  Formula: ``x = exp(log lo + (log hi − log lo)·u)`` with ``u ~ U[0, 1)``, in float64 on the host.
  Peer: Optuna's ``suggest_float(name, lo, hi, log=True)``, Ray Tune's ``tune.loguniform(lo, hi)``.

  Args:
    lo: the lower bound, a finite real number ``> 0``.
    hi: the upper bound, a finite real number greater than ``lo``.

  >>> import numpy as np, jaxsched
  >>> batch = jaxsched.sample(jaxsched.exponential, 0, 4,
  ...                         {"init_value": jaxsched.log_uniform(1e-4, 1e-1)}, gamma=0.9)
  >>> lr = np.asarray(batch(0))
  >>> bool(((lr >= 1e-4) & (lr <= 1e-1)).all())
  True
  """
  lo: float
  hi: float

  def __post_init__(self):
    _check_range(self, "log_uniform")
    if self.lo <= 0:
      raise ValueError(f"log_uniform: lo must be > 0, got {self.lo!r}")

  def _draw(self, key, n):
    u = np.asarray(jax.random.uniform(key, (n,)), np.float64)
    a, b = math.log(self.lo), math.log(self.hi)
    return np.clip(np.exp(a + (b - a) * u), self.lo, self.hi).tolist()


@dataclasses.dataclass(frozen=True)
class int_uniform:
  """Integers drawn uniformly from ``lo..hi`` inclusive, for ``jaxsched.sample`` (step counts:
  ``warmup_steps``, ``steps``).

  Formula: ``x = jax.random.randint(key, lo, hi + 1)``. Peer: Optuna's ``suggest_int(name, lo,
  hi)``, Ray Tune's ``tune.randint(lo, hi + 1)`` (whose upper bound is excluded).

  Args:
    lo: the smallest value, an integer in ``[-2^31, 2^31 − 2]``.
    hi: the largest value (included), an integer ``>= lo`` in the same range.

  >>> import jaxsched
  >>> batch = jaxsched.sample(lambda step_size: jaxsched.step(0.1, step_size, 0.5), 0, 4,
  ...                         {"step_size": jaxsched.int_uniform(10, 20)})
  >>> all(10 <= int(s.step_size) <= 20 for s in jaxsched.unstack(batch))
  True
  """
  lo: int
  hi: int

  def __post_init__(self):
    for name in ("lo", "hi"):
      v = getattr(self, name)
      if isinstance(v, bool) or not isinstance(v, numbers.Integral):
        raise TypeError(f"int_uniform: {name} must be an integer, got {v!r}")
    if not self.lo <= self.hi:
      raise ValueError(f"int_uniform: needs lo <= hi, got lo={self.lo!r}, hi={self.hi!r}")
    if self.lo < -2**31 or self.hi >= 2**31 - 1:
      raise ValueError("int_uniform: lo and hi must lie in [-2^31, 2^31 - 2]")

  def _draw(self, key, n):
    return np.asarray(jax.random.randint(key, (n,), int(self.lo), int(self.hi) + 1)).tolist()


@dataclasses.dataclass(frozen=True)
class choice:
  """One of ``options``, each equally likely, for ``jaxsched.sample``. Options may be static choices
  (mode strings, flags), None, or anything the factory turns into a different family: the batch is
  then a mixed batch.

  Formula: ``x = options[jax.random.randint(key, 0, len(options))]``. Peer: Optuna's
  ``suggest_categorical(name, options)``, Ray Tune's ``tune.choice(options)``.

  Args:
    options: a non-empty list (or other iterable, not a string) of the values to choose from.

  >>> import jaxsched
  >>> jaxsched.choice(["linear", "cosine"])
  choice(options=('linear', 'cosine'))
  >>> space = {"decay_shape": jaxsched.choice(["linear", "cosine"])}
  >>> batch = jaxsched.sample(jaxsched.wsd, 0, 4, space,
  ...                         peak_value=1.0, warmup_steps=0, stable_steps=0, decay_steps=4)
  >>> all(s.decay_shape in ("linear", "cosine") for s in jaxsched.unstack(batch))
  True
  """
  options: tuple

  def __init__(self, options):
    if isinstance(options, (str, bytes)):
      raise TypeError(f"choice: options must be a list, got {options!r}")
    object.__setattr__(self, "options", tuple(options))
    if not self.options:
      raise ValueError("choice: needs at least one option")

  def _draw(self, key, n):
    picks = np.asarray(jax.random.randint(key, (n,), 0, len(self.options)))
    return [self.options[i] for i in picks]


def _check_range(dist, name):
  for field in ("lo", "hi"):
    v = getattr(dist, field)
    if isinstance(v, bool) or not isinstance(v, numbers.Real) or not math.isfinite(v):
      raise ValueError(f"{name}: {field} must be a finite real number, got {v!r}")
  if not dist.lo < dist.hi:
    raise ValueError(f"{name}: needs lo < hi, got lo={dist.lo!r}, hi={dist.hi!r}")


_DISTRIBUTIONS = (uniform, log_uniform, int_uniform, choice)


def sample(factory: Callable[..., Schedule], key, n: int, space: Mapping[str, Any],
           **fixed) -> Schedule:
  """Random search (Bergstra & Bengio, 2012): ``n`` settings drawn from ``space``, as one batch.

  ``space`` maps a parameter to ``uniform(lo, hi)``, ``log_uniform(lo, hi)``, ``int_uniform(lo, hi)``
  or ``choice(options)``. ``key`` is a ``jax.random`` key (or an int seed); the draw is
  deterministic: parameter ``i`` of ``space`` uses ``jax.random.split(key, len(space))[i]``. The
  uniform draws are mapped to the range in float64 on the host, and each setting is built by
  ``factory`` from Python values, then ``stack``ed (a mixed batch when the draws change structure,
  e.g. ``"decay_shape": choice(["linear", "cosine"])``).

  Formula: ``sample(f, key, n, space, **fixed)`` is ``stack([f(**{p: xᵢ[p]}, **fixed) for i in
  range(n)])`` with ``xᵢ[p]`` the ``i``-th of ``n`` draws of ``space[p]``.

  Peer: random search in Optuna (``RandomSampler``), Ray Tune or W&B sweeps, one trial per
  setting; here the ``n`` settings are one batch for ``jaxsched.sweep``.

  Args:
    factory: a callable that takes keyword arguments and returns a ``Schedule``.
    key: a ``jax.random`` key, or an int seed; the same key gives the same batch.
    n: the number of settings, a positive integer.
    space: a mapping from a keyword of ``factory`` to its distribution: ``uniform``,
      ``log_uniform``, ``int_uniform`` or ``choice``.
    fixed: keyword arguments passed unchanged to every call of ``factory``.

  Returns:
    A batch with ``batch_shape == (n,)`` (a mixed batch when the draws differ in structure).

  >>> import jaxsched
  >>> space = {"init_value": jaxsched.log_uniform(1e-4, 1e-1), "gamma": jaxsched.uniform(0.9, 1.0)}
  >>> batch = jaxsched.sample(jaxsched.exponential, 0, 4, space)
  >>> batch.batch_shape
  (4,)
  >>> batch == jaxsched.sample(jaxsched.exponential, 0, 4, space)     # deterministic in the key
  True
  """
  if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 1:
    raise ValueError(f"sample: n must be a positive integer, got {n!r}")
  space = dict(space)
  _check_fixed(space, fixed, "sample")
  for name, dist in space.items():
    if not isinstance(dist, _DISTRIBUTIONS):
      raise TypeError(f"sample: space[{name!r}] must be uniform, log_uniform, int_uniform or choice, "
                      f"got {dist!r}")
  if isinstance(key, numbers.Integral) and not isinstance(key, bool):
    key = jax.random.key(int(key))
  names = list(space)
  keys = jax.random.split(key, max(len(names), 1))
  columns = [space[name]._draw(k, int(n)) for name, k in zip(names, keys)]
  with core.host_leaves():          # NumPy leaves: stack transfers each batched leaf once
    settings = [_build(factory, "sample", {**fixed, **{k: col[i] for k, col in zip(names, columns)}})
                for i in range(int(n))]
  return stack(settings)


# --- evaluation -----------------------------------------------------------------------------------

_evaluate = core.evaluate_compiled     # the program every schedule call runs, batches included


def evaluate(schedule: Schedule, steps) -> jax.Array:
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


# --- sweep ----------------------------------------------------------------------------------------


def _resolve_devices(devices) -> list:
  """The devices of a sweep's 1-D mesh, the same list in every process.

  ``None``: every device of every process (``jax.devices()``). An int ``n``: with one process, the
  first ``n`` devices; with ``P`` processes (``jax.distributed``), the first ``n / P`` local devices
  of each process, so that every process owns part of the mesh and feeds it (``n`` must be a
  multiple of ``P`` and at most ``P`` times the smallest local device count). A list of devices is
  used as given; with several processes it must hold a device of every process. A bad request is a
  ``ValueError`` computed from global facts only, so every process raises the same one instead of
  some of them running on alone.
  """
  available = jax.devices()
  procs = sorted({d.process_index for d in available})
  if devices is None:
    return list(available)
  if isinstance(devices, numbers.Integral) and not isinstance(devices, bool):
    devices = int(devices)
    where = f"{len(available)} devices ({available[0].platform})"
    if len(procs) > 1:
      where = f"{len(available)} devices ({available[0].platform}) in {len(procs)} processes"
    if not 1 <= devices <= len(available):
      raise ValueError(f"sweep: devices={devices}, but there are {where}")
    if len(procs) == 1:
      return list(available[:devices])
    local = {p: [d for d in available if d.process_index == p] for p in procs}
    fewest = min(len(v) for v in local.values())
    if devices % len(procs) or devices // len(procs) > fewest:
      raise ValueError(
          f"sweep: devices={devices} cannot be split evenly over the {len(procs)} processes (each "
          f"process must own devices/{len(procs)} of them, at most {fewest}); there are {where}. "
          f"Use a multiple of {len(procs)} up to {fewest * len(procs)}, or None for all")
    k = devices // len(procs)
    return [d for p in procs for d in local[p][:k]]
  if isinstance(devices, jax.Device):
    devices = [devices]
  try:
    devices = list(devices)
  except TypeError:
    devices = None
  if not devices or not all(isinstance(d, jax.Device) for d in devices):
    raise TypeError("sweep: devices must be None, a number of devices, or a list of jax.Device")
  if len(set(devices)) != len(devices):
    raise ValueError("sweep: devices lists a device twice")
  if len(procs) > 1:
    missing = sorted(set(procs) - {d.process_index for d in devices})
    if missing:
      raise ValueError(f"sweep: devices holds no device of process(es) {missing}; with several "
                       "processes every process must own part of the mesh (or pass an int)")
  return devices


def _to_host(tree):
  """``tree``'s arrays as NumPy arrays holding their global values, in every process.

  One process: a plain device-to-host copy. Several (``jax.distributed``): a sweep's results span
  the devices of every process, which ``np.asarray`` cannot read, so they are gathered with
  ``jax.experimental.multihost_utils.process_allgather(tiled=True)`` (a collective: every process
  must call it).
  """
  if jax.process_count() == 1:
    return jax.tree.map(np.asarray, jax.device_get(tree))
  from jax.experimental import multihost_utils
  return jax.tree.map(np.asarray, multihost_utils.process_allgather(tree, tiled=True))


def _batch_of(schedules):
  """(n, batch_shape, flat host leaves, treedef) of what ``sweep`` was given."""
  if isinstance(schedules, (list, tuple)) and schedules and all(
      isinstance(s, Schedule) for s in schedules):
    schedules = stack(schedules)
  leaves, treedef = jax.tree.flatten(schedules)
  if not leaves:
    raise ValueError("sweep: schedules holds no arrays")
  if core.is_traced(leaves):
    raise ValueError("sweep: schedules must be concrete (sweep compiles its own program; call it "
                     "outside jit)")
  if isinstance(schedules, Schedule):
    batch = schedules.batch_shape
    if not batch:
      raise ValueError(f"sweep: {schedules.family} is a single schedule, not a batch; make one with "
                       "jaxsched.stack, grid or sample")
  else:
    batch = tuple(np.shape(leaves[0])[:1])
    if not batch or any(np.ndim(x) < 1 or np.shape(x)[0] != batch[0] for x in leaves):
      raise ValueError("sweep: every array in schedules needs the same leading batch axis; got shapes "
                       f"{sorted({tuple(np.shape(x)) for x in leaves})}")
  n, host = _host_rows(leaves, batch)
  if n == 0:
    raise ValueError("sweep: the batch is empty")
  return n, batch, host, treedef


def _stderr_is_terminal() -> bool:
  try:
    return bool(sys.stderr.isatty())
  except (AttributeError, ValueError):          # replaced or closed streams
    return False


def _progress_mode(progress) -> str:
  """``"live"`` (redrawn in place), ``"lines"`` (plain lines, for logs) or ``"off"``."""
  if progress is not None and not isinstance(progress, (bool, np.bool_)):
    raise TypeError(f"sweep: progress must be None (auto), True or False, got {progress!r}")
  if progress is None:
    return "live" if _stderr_is_terminal() else "off"
  if progress:
    return "live" if _stderr_is_terminal() else "lines"
  return "off"


class _Progress:
  """A sweep's progress on stderr, fitted to where stderr goes.

  - ``"live"`` (a terminal): tqdm when it is installed, else a one-line counter redrawn with ``\r``.
  - ``"lines"`` (a log file, a pipe, CI): plain lines and never ``\r``: one at the start, one per
    finished chunk when there is more than one chunk, one at the end.
  - ``"off"``: silent.
  """

  def __init__(self, total: int, mode: str, desc: str = "sweep", *, chunks: int = 1,
               chunk_size: int = 0, devices: int = 1, platform: str = "cpu"):
    self.total, self.done, self.mode, self.desc = total, 0, mode, desc
    self.chunks, self.chunk_index = chunks, 0
    self.bar = None
    self.started = time.perf_counter()
    self.summary = ""
    if mode == "live":
      try:
        from tqdm.auto import tqdm
      except ImportError:
        self._write()
      else:
        self.bar = tqdm(total=total, desc=desc, unit="setting", file=sys.stderr, leave=True)
    elif mode == "lines":
      layout = f"{chunks} chunks of {chunk_size}" if chunks > 1 else "one chunk"
      self._line(f"{total} settings in {layout} on {devices} {platform} device(s); compiling one "
                 "program")

  def _write(self, note: str = ""):
    sys.stderr.write(f"\r{self.desc}: {self.done}/{self.total} settings{note}")
    sys.stderr.flush()

  def _line(self, text: str):
    sys.stderr.write(f"{self.desc}: {text}\n")
    sys.stderr.flush()

  def note(self, text: str):
    """A remark after the count, e.g. "compiling" while the program compiles ("" clears it); only
    a live display shows it."""
    if self.bar is not None:
      self.bar.set_postfix_str(text)
    elif self.mode == "live":
      self._write(f" ({text})" if text else " " * 12)

  def restart_clock(self):
    """After compiling: rates and ETA count from here."""
    if self.bar is not None:
      self.bar.reset(total=self.total)

  def update(self, k: int):
    k = min(k, self.total - self.done)
    self.done += k
    self.chunk_index += 1
    if self.bar is not None:
      self.bar.update(k)
    elif self.mode == "live":
      self._write()
    elif self.mode == "lines" and self.chunks > 1:
      self._line(f"{self.done}/{self.total} settings (chunk {self.chunk_index}/{self.chunks}, "
                 f"{time.perf_counter() - self.started:.1f} s)")

  def close(self):
    if self.bar is not None:
      self.bar.close()
    elif self.mode == "live":
      sys.stderr.write("\n")
      sys.stderr.flush()
    elif self.mode == "lines":
      elapsed = time.perf_counter() - self.started
      if self.done == self.total:
        self._line(f"{self.total}/{self.total} settings done in {elapsed:.1f} s{self.summary}")
      else:
        self._line(f"stopped after {self.done}/{self.total} settings ({elapsed:.1f} s)")


def sweep(run: Callable[[Any], Any], schedules, *, devices=None, chunk_size: int | None = None,
          progress: bool | None = None):
  """Runs the pure ``run(schedule) -> pytree`` for every setting of a batch in one compiled program.

  ``schedules`` is a batched ``Schedule`` (from ``stack``, ``grid``, ``sample``, mixed batches of
  several families included; a multi-axis ``batch_shape`` is flattened row-major and restored in the
  results), a list of schedules (``stack``ed for you, whatever their families), or any pytree whose
  arrays share one leading batch axis.

  ``jax.vmap(run)`` is compiled once (ahead of time: ``jit(...).lower(...).compile()``) with the
  batch axis sharded over a 1-D ``jax.sharding.Mesh`` named ``"batch"`` (``NamedSharding(mesh,
  PartitionSpec("batch"))``). The batch is padded, by repeating the last setting, to a multiple of
  the number of devices (and of the chunk); the padding is sliced off the results.

  - ``devices``: ``None`` for all of ``jax.devices()``; an int ``n`` for the first ``n`` (with
    several processes, ``n / process_count`` from each); or a list of devices. On a CPU-only machine, JAX has one CPU device unless asked for more
    (``jax.config.update("jax_num_cpu_devices", n)`` or
    ``XLA_FLAGS=--xla_force_host_platform_device_count=n`` before JAX starts).
  - ``chunk_size``: at most this many settings run at once (rounded down to a multiple of the
    number of devices, at least one per device), bounding the memory of ``run``'s intermediates; the
    chunks reuse the one compiled program and the results are concatenated (the outputs themselves
    are all kept).
  - ``progress``: ``None`` (the default) shows a live progress bar only when stderr is a terminal
    (tqdm if installed, else a one-line counter), and is silent otherwise, so a library call in a
    script whose output goes to a log prints nothing. ``True`` always reports: live on a terminal,
    and on anything else (a log, CI) plain lines without ``\r``: one at the start, one per
    finished chunk when there are several chunks, one at the end. ``False`` is silent. Only
    process 0 reports. (tqdm's ``disable=None`` is the same rule.)

  Returns ``run``'s output pytree with a leading batch axis (``batch_shape`` first), as
  ``jax.Array``s: sharded over the devices on the batch axis, as computed (when padding had to be
  sliced off, XLA chooses the layout of the slice).

  Multi-host: after ``jax.distributed.initialize()``, ``jax.devices()`` lists every process's
  devices; every process must call ``sweep`` with the same ``run``, ``schedules`` and ``devices``
  (SPMD). ``devices=n`` takes ``n / process_count`` local devices from every process (see
  ``_resolve_devices``), so no process is left out. Each process feeds only the shards of its own
  devices (``jax.make_array_from_callback``), and the results are global arrays: gather them with
  ``jax.experimental.multihost_utils.process_allgather(results, tiled=True)``. Only JAX's own
  runtime is used. Tested with 2 local CPU processes of 2 devices each against 1 process of 4
  (``tests/test_multihost.py``): the same numbers.

  Formula: ``sweep(run, b)[i] == run(unstack(b)[i])`` for every setting ``i``, computed as
  ``jax.jit(jax.vmap(run))(b)`` (one compile) with the batch axis sharded over ``devices``.

  Peer: W&B, Optuna or Ray Tune sweeps, and loops over torch/optax schedulers, run one trial
  (and one compile) per setting; here the whole sweep is one program, as ``jax.vmap`` over the
  hyperparameters allows.

  Args:
    run: a pure function ``schedule -> pytree of arrays`` (a training run under one setting); it
      is traced once, with a single (unbatched) schedule.
    schedules: the settings: a batched ``Schedule``, a list of schedules, or a pytree whose arrays
      share a leading batch axis.
    devices: ``None`` (all devices), an int (how many), or a list of ``jax.Device``; see above.
    chunk_size: at most this many settings at once (``None``: all at once); see above.
    progress: ``None`` (a bar on a terminal only), ``True`` or ``False``; see above.

  >>> import jax.numpy as jnp, numpy as np, jaxsched
  >>> batch = jaxsched.grid(jaxsched.exponential, {"init_value": [0.1, 0.2]}, gamma=0.5)
  >>> total = jaxsched.sweep(lambda s: s(jnp.arange(3)).sum(), batch)   # lr summed over 3 steps
  >>> total.shape
  (2,)
  >>> np.asarray(total, np.float64).round(6).tolist()                 # 0.1·(1 + 0.5 + 0.25), ...
  [0.175, 0.35]
  """
  out, _ = _sweep(run, schedules, devices=devices, chunk_size=chunk_size, progress=progress)
  return out


def _sweep(run, schedules, *, devices=None, chunk_size=None, progress=None, desc="sweep"):
  """``sweep``, also returning facts for reports: ``compile_s`` (= ``lower_s``, tracing and lowering,
  + ``xla_compile_s``), ``run_s`` (feeding, running, gathering), ``chunks``, ``chunk_size``,
  ``devices``, ``padded`` (settings added), ``platform``."""
  if not callable(run):
    raise TypeError(f"sweep: run must be callable, got {type(run).__name__}")
  n, batch, host, treedef = _batch_of(schedules)
  devs = _resolve_devices(devices)
  d = len(devs)
  if chunk_size is None or chunk_size >= n:
    chunk = -(-n // d) * d
  else:
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, numbers.Integral) or chunk_size < 1:
      raise ValueError(f"sweep: chunk_size must be a positive integer, got {chunk_size!r}")
    chunk = max(d, chunk_size // d * d)
  n_chunks = -(-n // chunk)
  padded = n_chunks * chunk
  if padded > n:                          # repeat the last setting
    index = np.minimum(np.arange(padded), n - 1)
    host = [h[index] for h in host]

  mesh = Mesh(np.array(devs), ("batch",))
  sharding = NamedSharding(mesh, PartitionSpec("batch"))
  fn = jax.jit(jax.vmap(run), in_shardings=sharding, out_shardings=sharding)
  abstract = jax.tree.unflatten(treedef, [
      jax.ShapeDtypeStruct((chunk,) + h.shape[1:], h.dtype, sharding=sharding) for h in host])
  mode = _progress_mode(progress) if jax.process_index() == 0 else "off"
  bar = _Progress(n, mode, desc, chunks=n_chunks, chunk_size=chunk, devices=d,
                  platform=devs[0].platform)
  try:
    bar.note("compiling")
    started = time.perf_counter()
    lowered = fn.lower(abstract)               # tracing run under vmap, lowering to StableHLO
    lowered_at = time.perf_counter()
    compiled = lowered.compile()               # XLA
    compile_s = time.perf_counter() - started
    lower_s = lowered_at - started
    bar.note("")
    bar.summary = f" (compiling {compile_s:.1f} s)"
    bar.restart_clock()
    outs = []
    started = time.perf_counter()
    for c in range(n_chunks):
      part = [h[c * chunk:(c + 1) * chunk] for h in host]
      args = jax.tree.unflatten(treedef, [
          jax.make_array_from_callback(p.shape, sharding, lambda index, p=p: p[index]) for p in part])
      out = compiled(args)
      if mode != "off" or n_chunks > 1:   # one chunk in flight at a time: that is what bounds memory
        jax.block_until_ready(out)
      outs.append(out)
      bar.update(chunk)
  finally:
    bar.close()
  result = outs[0] if n_chunks == 1 else jax.tree.map(lambda *xs: jnp.concatenate(xs), *outs)
  if padded > n:
    result = jax.tree.map(lambda x: x[:n], result)
  if len(batch) > 1:
    result = jax.tree.map(lambda x: x.reshape(batch + x.shape[1:]), result)
  jax.block_until_ready(result)
  run_s = time.perf_counter() - started
  stats = {"compile_s": compile_s, "lower_s": lower_s, "xla_compile_s": compile_s - lower_s,
           "run_s": run_s, "chunks": n_chunks, "chunk_size": chunk,
           "devices": d, "padded": padded - n, "platform": devs[0].platform}
  return result, stats
