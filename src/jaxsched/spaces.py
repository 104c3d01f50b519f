"""Search spaces: many settings of a schedule built as one batch, by a grid (``grid``) or by random
search (``sample``) over the distributions ``uniform``, ``log_uniform``, ``int_uniform`` and
``choice``.

Each setting is built by the user's factory from Python values (so doubles keep their precision and
bad values raise at once), then the settings are ``jaxsched.stack``ed (``jaxsched.batches``): a
mixed batch when they differ in structure. Running them is ``jaxsched.sweep`` (``jaxsched.runner``).
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import numbers
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import jax
import numpy as np

from jaxsched import core
from jaxsched.batches import stack
from jaxsched.core import Schedule

__all__ = ["grid", "sample", "uniform", "log_uniform", "int_uniform", "choice"]


def _check_fixed(axes_names, fixed, who):
  both = sorted(set(axes_names) & set(fixed))
  if both:
    raise ValueError(f"{who}: {both} given both as swept and as fixed")


def _build(factory, who, kwargs):
  schedule = factory(**kwargs)
  if not isinstance(schedule, Schedule):
    raise TypeError(
      f"{who}: the factory returned a {type(schedule).__name__}, not a jaxsched.Schedule"
    )
  return schedule


def grid(
  factory: Callable[..., Schedule], axes: Mapping[str, Sequence[Any]], **fixed: Any
) -> Schedule:
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
      v = np.asarray(v).tolist()  # NumPy/JAX scalars as Python numbers
    if isinstance(v, (str, bytes)) or not isinstance(v, Sequence):
      raise TypeError(
        f"grid: axis {name!r} must be a list (or 1-D array) of values, got {type(v).__name__}"
      )
    v = list(v)
    if not v:
      raise ValueError(f"grid: axis {name!r} is empty")
    values.append(v)
  with core.host_leaves():  # NumPy leaves: stack transfers each batched leaf once
    settings = [
      _build(factory, "grid", {**fixed, **dict(zip(names, combo, strict=True))})
      for combo in itertools.product(*values)
    ]
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
    if self.lo < -(2**31) or self.hi >= 2**31 - 1:
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


def sample(
  factory: Callable[..., Schedule],
  key: jax.Array | int,
  n: int,
  space: Mapping[str, Any],
  **fixed: Any,
) -> Schedule:
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
      raise TypeError(
        f"sample: space[{name!r}] must be uniform, log_uniform, int_uniform or choice, got {dist!r}"
      )
  if isinstance(key, numbers.Integral) and not isinstance(key, bool):
    key = jax.random.key(int(key))
  names = list(space)
  keys = jax.random.split(key, max(len(names), 1))
  columns = [space[name]._draw(k, int(n)) for name, k in zip(names, keys, strict=True)]
  with core.host_leaves():  # NumPy leaves: stack transfers each batched leaf once
    settings = [
      _build(
        factory, "sample", {**fixed, **{k: col[i] for k, col in zip(names, columns, strict=True)}}
      )
      for i in range(int(n))
    ]
  return stack(settings)
