"""The learning-rate range test (Smith 2017; fastai's ``lr_find``), as one compiled program.

The ramp: one run whose learning rate rises exponentially from ``min_value`` to ``max_value`` over
``steps`` updates (``jaxsched.exponential`` with ``gamma = max/min`` per ``steps − 1`` steps, so
update ``i`` uses ``min·(max/min)^(i/(steps−1))``), scored after every update, the scores smoothed
exponentially. The parallel variant: ``K`` constant learning rates, geometric between the bounds,
each trained ``steps`` updates from the same start, all in one vmapped program.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from jaxsched.batches import stack
from jaxsched.families import constant, exponential
from jaxsched.search.training import check_steps, default_key

__all__ = ["lr_range_test", "RangeTestResult"]


@dataclasses.dataclass(frozen=True)
class RangeTestResult:
  """What ``jaxsched.lr_range_test`` returns.

  Attributes:
    lrs: the learning rates, shape ``(steps,)`` for the ramp (the rate of update ``i``) or
      ``(K,)`` for the parallel variant.
    losses: the score after each update of the ramp, or the final score of each parallel run.
    smoothed: the ramp's exponentially smoothed losses (the parallel variant's losses as they are).
    start: the score before any update (the parallel runs all start there).
    diverged_at: the learning rate at which training diverged (see ``lr_range_test``), or None.
    suggestion: a stable learning rate (see ``lr_range_test``), or None when no point qualifies.
    parallel: whether this is the parallel variant.

  >>> import jax.numpy as jnp, jaxsched as js
  >>> init = lambda s, key: jnp.float32(1.0)
  >>> update = lambda w, s, t: w - s(t) * w               # gradient descent on w²/2
  >>> score = lambda w, s: w * w
  >>> result = js.lr_range_test(init, update, score, min_value=1e-3, max_value=100.0, steps=50)
  >>> result.lrs.shape, bool(result.suggestion < 2.0 < result.diverged_at)   # diverges past 2
  ((50,), True)
  """

  lrs: np.ndarray
  losses: np.ndarray
  smoothed: np.ndarray
  start: float
  diverged_at: float | None
  suggestion: float | None
  parallel: bool

  def plot(self, ax: Any = None) -> Any:
    """The losses against the learning rate (log axis), the suggestion and the divergence marked;
    matplotlib is imported here. Returns the ``Axes``.

    Args:
      ax: the matplotlib ``Axes`` to draw on; None (the default) makes a new figure.
    """
    import matplotlib.pyplot as plt

    if ax is None:
      _, ax = plt.subplots(figsize=(6, 4))
    lrs = np.asarray(self.lrs)
    if self.parallel:
      ax.plot(lrs, self.losses, "o-", label="final loss")
      ax.axhline(self.start, color="gray", lw=0.8, ls=":", label="starting loss")
    else:
      ax.plot(lrs, self.losses, color="C0", alpha=0.3, lw=1, label="loss")
      ax.plot(lrs, self.smoothed, color="C0", label="smoothed")
    if self.suggestion is not None:
      ax.axvline(self.suggestion, color="C2", ls="--", label=f"suggestion {self.suggestion:.3g}")
    if self.diverged_at is not None:
      ax.axvline(self.diverged_at, color="C3", ls=":", label=f"diverged {self.diverged_at:.3g}")
    ax.set_xscale("log")
    finite = np.asarray(self.smoothed)[np.isfinite(self.smoothed)]
    if finite.size:
      low, high = float(finite.min()), float(max(finite[0], self.start))
      ax.set_ylim(low - 0.1 * abs(high - low), high + 0.5 * abs(high - low) + 1e-12)
    ax.set_xlabel("learning rate")
    ax.set_ylabel("loss")
    ax.legend()
    return ax


def _bounds(min_value: Any, max_value: Any) -> tuple[float, float]:
  for name, v in (("min_value", min_value), ("max_value", max_value)):
    if isinstance(v, bool) or not isinstance(v, numbers.Real):
      raise TypeError(f"lr_range_test: {name} must be a positive number, got {v!r}")
    if not (math.isfinite(float(v)) and float(v) > 0):
      raise ValueError(f"lr_range_test: {name} must be finite and > 0, got {v}")
  if not float(min_value) < float(max_value):
    raise ValueError(
      f"lr_range_test: min_value must be < max_value, got {min_value} and {max_value}"
    )
  return float(min_value), float(max_value)


def _unit(value: Any, name: str, low_open: bool, high: float | None) -> float:
  if isinstance(value, bool) or not isinstance(value, numbers.Real):
    raise TypeError(f"lr_range_test: {name} must be a number, got {value!r}")
  v = float(value)
  ok = math.isfinite(v) and (v > 0 if low_open else v >= 0) and (high is None or v <= high)
  if not ok:
    where = "(0, 1]" if high == 1 else "> 1"
    raise ValueError(f"lr_range_test: {name} must be in {where}, got {value}")
  return v


def _scalar(value: Any, what: str) -> jax.Array:
  value = jnp.asarray(value)
  if value.shape != ():
    raise TypeError(f"{what}: score must return a scalar, got shape {value.shape}")
  return value.astype(jnp.result_type(value.dtype, jnp.float32))


def smoothed_losses(losses: np.ndarray, smooth: float) -> np.ndarray:
  """``a₀ = l₀``, ``aᵢ = smooth·lᵢ + (1 − smooth)·aᵢ₋₁`` (torch-lr-finder's ``smooth_f``); a
  non-finite loss makes every later value non-finite."""
  out = np.empty(len(losses), np.float64)
  avg = np.nan
  for i, x in enumerate(np.asarray(losses, np.float64)):
    avg = x if i == 0 else smooth * x + (1 - smooth) * avg
    out[i] = avg
  return out


def ramp_divergence(smoothed: np.ndarray, diverge: float) -> int | None:
  """The first index whose smoothed loss exceeds ``diverge`` × the running minimum, or is not
  finite; None when there is none."""
  best = np.inf
  for i, x in enumerate(smoothed):
    if not np.isfinite(x):
      return i
    best = min(best, x)
    if x > diverge * best:
      return i
  return None


def steepest(lrs: np.ndarray, smoothed: np.ndarray, stop: int) -> float | None:
  """The learning rate where the smoothed loss falls fastest against ``log lr`` (fastai's
  steepest-descent suggestion), over the points before ``stop``; None with fewer than 3."""
  if stop < 3:
    return None
  slope = np.gradient(smoothed[:stop], np.log(lrs[:stop]))
  return float(lrs[int(np.argmin(slope))])


def lr_range_test(
  init: Callable[..., Any],
  update: Callable[..., Any],
  score: Callable[..., Any],
  *,
  min_value: float = 1e-7,
  max_value: float = 10.0,
  steps: int = 100,
  key: jax.Array | None = None,
  parallel: int | None = None,
  smooth: float = 0.05,
  diverge: float = 4.0,
) -> RangeTestResult:
  """The learning-rate range test on the search protocol, as one compiled program.

  The ramp (the default): one run from ``init(schedule, key)`` whose ``update`` ``i`` (of
  ``steps``) receives the schedule ``exponential(min_value, max_value/min_value,
  decay_steps=steps − 1, end_value=max_value)``, so its learning rate is
  ``lrᵢ = min·(max/min)^(i/(steps − 1))``; ``lossᵢ`` is ``score`` after update ``i``. The losses
  are smoothed, ``a₀ = loss₀``, ``aᵢ = smooth·lossᵢ + (1 − smooth)·aᵢ₋₁``.

  - ``diverged_at``: the first ``lrᵢ`` whose ``aᵢ > diverge · min(a₀ … aᵢ)``, or whose ``aᵢ`` is not
    finite (losses are taken to be positive, as for a cross-entropy or a squared error).
  - ``suggestion``: the ``lrᵢ`` of steepest descent of ``a`` against ``log lr`` before the
    divergence (fastai's default suggestion, ``np.gradient`` of the smoothed curve).

  The parallel variant (``parallel=K``): ``K`` runs with the constant schedules ``constant(lrₖ)``,
  ``lrₖ`` geometric from ``min_value`` to ``max_value``, each ``steps`` updates from
  ``init(constant(lrₖ), key)``, as one vmapped program; ``losses`` are their final scores.

  - ``diverged_at``: the smallest ``lrₖ`` whose final score is above its starting score or not
    finite.
  - ``suggestion``: the ``lrₖ`` of the best (lowest) finite final score.

  Peer: fastai ``Learner.lr_find`` (exponential ramp, stops at 4× the minimum; ``steep``
  suggestion) and torch-lr-finder ``LRFinder.range_test(smooth_f=0.05, diverge_th=5)``, which train
  in a Python loop; the parallel variant has no peer that runs the rates at once.

  Args:
    init: ``init(schedule, key) -> state``, pure.
    update: ``update(state, schedule, step) -> state``, one optimizer update reading its learning
      rate as ``schedule(step)``; pure.
    score: ``score(state, schedule) -> scalar`` (a positive loss; lower is better).
    min_value: the smallest learning rate; finite, > 0. Default 1e-7.
    max_value: the largest learning rate; finite, > ``min_value``. Default 10.
    steps: the ramp's updates (an integer >= 2), or each parallel run's (>= 1). Default 100.
    key: the PRNG key of ``init`` (``None``: ``jax.random.key(0)``).
    parallel: None (the default) for the ramp, or ``K``, the number of constant rates (an integer
      >= 2).
    smooth: the ramp's smoothing weight of the newest loss; in (0, 1] (1: no smoothing). Default
      0.05.
    diverge: the ramp's divergence threshold, a multiple of the running minimum; > 1. Default 4.

  Returns:
    A ``RangeTestResult`` (``lrs``, ``losses``, ``smoothed``, ``start``, ``diverged_at``,
    ``suggestion``; ``plot()``).

  >>> import jax.numpy as jnp, jaxsched as js
  >>> init = lambda s, key: jnp.float32(1.0)
  >>> update = lambda w, s, t: w - s(t) * w               # gradient descent on w²/2: diverges past 2
  >>> score = lambda w, s: w * w
  >>> result = js.lr_range_test(init, update, score, min_value=1e-2, max_value=10.0, steps=20,
  ...                           parallel=16)
  >>> print(f"{result.diverged_at:.3g}", f"{result.suggestion:.3g}")
  2.51 1
  """
  what = "lr_range_test"
  for name, fn in (("init", init), ("update", update), ("score", score)):
    if not callable(fn):
      raise TypeError(f"{what}: {name} must be callable, got {type(fn).__name__}")
  low, high = _bounds(min_value, max_value)
  smooth = _unit(smooth, "smooth", True, 1.0)
  diverge = _unit(diverge, "diverge", True, None)
  if diverge <= 1:
    raise ValueError(f"{what}: diverge must be > 1, got {diverge}")
  key = default_key(key)
  if parallel is not None:
    count = check_steps(parallel, "parallel", what, minimum=2)
    steps = check_steps(steps, "steps", what)
    return _parallel(init, update, score, key, low, high, steps, count, what)
  steps = check_steps(steps, "steps", what, minimum=2)
  ramp = exponential(low, high / low, decay_steps=steps - 1, end_value=high)

  @jax.jit
  def run(schedule):
    state = init(schedule, key)
    first = _scalar(score(state, schedule), what)

    def one(st, i):
      st = update(st, schedule, i)
      return st, _scalar(score(st, schedule), what)

    _, losses = jax.lax.scan(one, state, jnp.arange(steps, dtype=jnp.int32))
    return first, losses, schedule(jnp.arange(steps, dtype=jnp.int32))

  first, losses, lrs = jax.device_get(run(ramp))
  losses = np.asarray(losses, np.float64)
  lrs = np.asarray(lrs, np.float64)
  avg = smoothed_losses(losses, smooth)
  stop = ramp_divergence(avg, diverge)
  return RangeTestResult(
    lrs=lrs,
    losses=losses,
    smoothed=avg,
    start=float(first),
    diverged_at=None if stop is None else float(lrs[stop]),
    suggestion=steepest(lrs, avg, len(lrs) if stop is None else stop),
    parallel=False,
  )


def _parallel(init, update, score, key, low, high, steps, count, what) -> RangeTestResult:
  rates = np.geomspace(low, high, count)
  batch = stack([constant(float(x)) for x in rates])

  @jax.jit
  def run(schedules):
    def one(schedule):
      state = init(schedule, key)
      first = _scalar(score(state, schedule), what)
      step = lambda i, st: update(st, schedule, i.astype(jnp.int32))
      state = jax.lax.fori_loop(0, steps, step, state)
      return first, _scalar(score(state, schedule), what), schedule(0)

    return jax.vmap(one)(schedules)

  first, losses, lrs = jax.device_get(run(batch))
  losses = np.asarray(losses, np.float64)
  lrs = np.asarray(lrs, np.float64)
  start = float(np.asarray(first, np.float64)[0])
  bad = ~np.isfinite(losses) | (losses > np.asarray(first, np.float64))
  finite = np.isfinite(losses)
  return RangeTestResult(
    lrs=lrs,
    losses=losses,
    smoothed=losses.copy(),
    start=start,
    diverged_at=float(lrs[int(np.argmax(bad))]) if bad.any() else None,
    suggestion=float(lrs[int(np.argmin(np.where(finite, losses, np.inf)))])
    if finite.any()
    else None,
    parallel=True,
  )
