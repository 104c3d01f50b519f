"""torch ``lr_scheduler`` objects → jaxsched, read by their attributes (torch is never imported).

The schedule's value at step k is the learning rate the optimizer holds when the scheduler's
``last_epoch`` is k, i.e. after k calls of ``scheduler.step()`` on a fresh scheduler. A scheduler
that was already stepped (or built with ``last_epoch=n``) converts to the same schedule: the
whole trajectory from its start, not the rest of it.

| torch | jaxsched (``b`` = the group's base lr) |
|---|---|
| ``StepLR(step_size, gamma)`` | ``step(b, step_size, gamma)`` |
| ``MultiStepLR(milestones, gamma)`` | ``multistep(b, sorted milestones, gamma)`` |
| ``ExponentialLR(gamma)`` | ``exponential(b, gamma)`` |
| ``CosineAnnealingLR(T, eta)`` | ``repeat(join([cosine(b, T, end_value=eta), cosine(eta, T, end_value=b)], [T]), 2T)`` (torch's curve is a cosine wave: it turns back up after ``T``) |
| ``LinearLR(s, e, n)`` | ``linear(b·s, b·e, n)`` |
| ``ConstantLR(f, n)`` | ``piecewise([n], [b·f, b])`` |
| ``PolynomialLR(n, power)`` | ``polynomial(b, 0.0, n, power)`` |
| ``OneCycleLR`` | ``one_cycle(max_lr, total_steps, pct_start=..., div_factor=..., final_div_factor=..., anneal=..., three_phase=...)`` |
| ``CyclicLR`` | ``cyclic(base_lr, max_lr, up, step_size_down=down, mode=..., gamma=...)`` |
| ``CosineAnnealingWarmRestarts(T_0, T_mult, eta)`` | ``cosine_restarts(b, T_0, period_mult=T_mult, end_value=eta)`` |
| ``SequentialLR(scheds, milestones)`` | ``join([...], milestones)`` |
| ``ChainedScheduler(scheds)`` | ``product(first, rest with base 1.0...)`` (multiplicative schedulers only) |
"""
from __future__ import annotations

import math
from collections import Counter

from jaxsched import compose, cycles, families
from jaxsched.core import Schedule
from jaxsched.interop._checks import real, whole
from jaxsched.sweeps import stack

_WHERE = "from_torch"

# schedulers whose step multiplies the current lr by a factor: they chain into a product
_MULTIPLICATIVE = ("StepLR", "MultiStepLR", "ExponentialLR", "LinearLR", "ConstantLR",
                   "PolynomialLR")

_CANNOT = {
    "LambdaLR": "it holds a Python function (lr_lambda), which cannot be read; write the schedule "
                "with jaxsched's families (a Hugging Face get_scheduler(...) LambdaLR converts with "
                "jaxsched.from_hf(name, lr, ...))",
    "MultiplicativeLR": "it holds a Python function (lr_lambda), which cannot be read; a constant "
                        "factor f per step is jaxsched.exponential(base_lr, f)",
    "ReduceLROnPlateau": "it reacts to a metric, so it is not a function of the step; use "
                         "jaxsched.reduce_on_plateau(...) chained after the optimizer",
}


def _base(s, g, base):
  return real(_WHERE, "base_lrs", s.base_lrs[g]) if base is None else base


def _step(s, g, base):
  return families.step(_base(s, g, base), whole(_WHERE, "StepLR.step_size", s.step_size, minimum=1),
                       real(_WHERE, "StepLR.gamma", s.gamma))


def _multistep(s, g, base):
  milestones = sorted(Counter(s.milestones).elements())
  return families.multistep(_base(s, g, base), [whole(_WHERE, "milestones", m) for m in milestones],
                            real(_WHERE, "MultiStepLR.gamma", s.gamma))


def _exponential(s, g, base):
  return families.exponential(_base(s, g, base), real(_WHERE, "ExponentialLR.gamma", s.gamma))


def _cosine_annealing(s, g, base):
  b, eta = _base(s, g, base), real(_WHERE, "CosineAnnealingLR.eta_min", s.eta_min)
  T = whole(_WHERE, "CosineAnnealingLR.T_max", s.T_max, minimum=1)
  wave = compose.join([families.cosine(b, T, end_value=eta), families.cosine(eta, T, end_value=b)],
                      [T])
  return compose.repeat(wave, 2 * T)


def _linear(s, g, base):
  b = _base(s, g, base)
  return families.linear(b * real(_WHERE, "LinearLR.start_factor", s.start_factor),
                         b * real(_WHERE, "LinearLR.end_factor", s.end_factor),
                         whole(_WHERE, "LinearLR.total_iters", s.total_iters))


def _constant(s, g, base):
  b = _base(s, g, base)
  return families.piecewise([whole(_WHERE, "ConstantLR.total_iters", s.total_iters)],
                            [b * real(_WHERE, "ConstantLR.factor", s.factor), b])


def _polynomial(s, g, base):
  return families.polynomial(_base(s, g, base), 0.0,
                             whole(_WHERE, "PolynomialLR.total_iters", s.total_iters),
                             real(_WHERE, "PolynomialLR.power", s.power))


def _pct_start(phases, total: int) -> float:
  """torch keeps ``pct_start`` only inside the phase ends (``float(pct·T) − 1``); the double that
  rebuilds those very ends."""
  end = phases[0]["end_step"]
  guess = (end + 1) / total
  candidates, up, down = [guess], guess, guess
  for _ in range(4):
    up, down = math.nextafter(up, 2.0), math.nextafter(down, -1.0)
    candidates += [up, down]

  def rebuilds(pct):
    ok = float(pct * total) - 1 == end
    if len(phases) == 3:
      ok = ok and float(2 * pct * total) - 2 == phases[1]["end_step"]
    return ok
  for pct in candidates:
    if rebuilds(pct):
      return pct
  return guess


def _one_cycle(s, g, base):
  if base is not None:
    raise ValueError(f"{_WHERE}: OneCycleLR sets the lr outright, so it cannot be a factor of a "
                     "ChainedScheduler")
  group = s.optimizer.param_groups[g]
  total = whole(_WHERE, "OneCycleLR.total_steps", s.total_steps, minimum=1)
  phases = s._schedule_phases
  anneal = getattr(s, "_anneal_func_type", None)
  if anneal is None:                       # torch < 2.2 kept the bound method
    anneal = "cos" if "cos" in getattr(s.anneal_func, "__name__", "cos") else "linear"
  max_lr, initial, low = (real(_WHERE, k, group[k]) for k in ("max_lr", "initial_lr", "min_lr"))
  return cycles.one_cycle(max_lr, total, pct_start=_pct_start(phases, total),
                          div_factor=max_lr / initial, final_div_factor=initial / low,
                          anneal=anneal, three_phase=len(phases) == 3)


def _cyclic(s, g, base):
  if base is not None:
    raise ValueError(f"{_WHERE}: CyclicLR sets the lr outright, so it cannot be a factor of a "
                     "ChainedScheduler")
  if getattr(s, "_scale_fn_custom", None) is not None:
    raise ValueError(f"{_WHERE}: CyclicLR with a custom scale_fn holds a Python function, which "
                     "cannot be read; use mode='triangular', 'triangular2' or 'exp_range'")
  total = real(_WHERE, "CyclicLR.total_size", s.total_size)
  up_float = s.step_ratio * total
  up = round(up_float)
  if abs(up_float - up) > 1e-9 * max(total, 1.0) or total != round(total):
    raise ValueError(f"{_WHERE}: CyclicLR step sizes must be whole steps to convert, got "
                     f"step_size_up={up_float!r}, total {total!r}")
  return cycles.cyclic(real(_WHERE, "base_lrs", s.base_lrs[g]), real(_WHERE, "max_lrs", s.max_lrs[g]),
                       up, step_size_down=round(total) - up, mode=s.mode,
                       gamma=real(_WHERE, "CyclicLR.gamma", s.gamma))


def _warm_restarts(s, g, base):
  return cycles.cosine_restarts(
      _base(s, g, base), whole(_WHERE, "CosineAnnealingWarmRestarts.T_0", s.T_0, minimum=1),
      period_mult=real(_WHERE, "CosineAnnealingWarmRestarts.T_mult", s.T_mult),
      end_value=real(_WHERE, "CosineAnnealingWarmRestarts.eta_min", s.eta_min))


def _sequential(s, g, base):
  children = [_convert(c, g, base) for c in s._schedulers]
  return compose.join(children, [whole(_WHERE, "SequentialLR.milestones", m)
                                 for m in s._milestones])


def _chained(s, g, base):
  subs = list(s._schedulers)
  for c in subs:
    if _name(c) not in _MULTIPLICATIVE:
      raise ValueError(f"{_WHERE}: ChainedScheduler holds a {type(c).__name__}; only the "
                       f"multiplicative schedulers ({', '.join(_MULTIPLICATIVE)}) chain into a "
                       "product. Convert each scheduler on its own and combine them with "
                       "jaxsched.join / jaxsched.product")
  factors = [_convert(subs[0], g, base)] + [_convert(c, g, 1.0) for c in subs[1:]]
  return factors[0] if len(factors) == 1 else compose.product(*factors)


TABLE = {
    "StepLR": _step,
    "MultiStepLR": _multistep,
    "ExponentialLR": _exponential,
    "CosineAnnealingLR": _cosine_annealing,
    "LinearLR": _linear,
    "ConstantLR": _constant,
    "PolynomialLR": _polynomial,
    "OneCycleLR": _one_cycle,
    "CyclicLR": _cyclic,
    "CosineAnnealingWarmRestarts": _warm_restarts,
    "SequentialLR": _sequential,
    "ChainedScheduler": _chained,
}


def _name(s) -> str | None:
  """The torch class a scheduler is (or derives from), by name: torch is never imported."""
  for cls in type(s).__mro__:
    if cls.__name__ in TABLE or cls.__name__ in _CANNOT:
      return cls.__name__
  return None


def _convert(s, g: int, base) -> Schedule:
  name = _name(s)
  if name in _CANNOT:
    raise TypeError(f"{_WHERE}: {type(s).__name__} cannot be converted: {_CANNOT[name]}")
  if name is None:
    raise TypeError(f"{_WHERE}: expected a torch.optim.lr_scheduler object, got "
                    f"{type(s).__name__}; supported: {', '.join(TABLE)}")
  return TABLE[name](s, g, base)


def from_torch(scheduler, *, group: int | None = None) -> Schedule:
  """The jaxsched schedule of a constructed ``torch.optim.lr_scheduler`` object.

  ``schedule(k)`` is the lr the optimizer holds after k calls of ``scheduler.step()`` (float32,
  within 1e-6 relative of torch's float64). Base learning rates come from ``base_lrs``
  (``max_lr``/``initial_lr``/``min_lr`` for ``OneCycleLR``, ``base_lrs``/``max_lrs`` for
  ``CyclicLR``).

  Param groups: ``group=i`` converts group ``i``. Without it, groups whose schedules are equal give
  one schedule, and groups that differ give a stacked batch (``batch_shape == (groups,)``, one row
  per group, in order) — ``jaxsched.unstack`` splits it, and ``optax.multi_transform`` takes one row
  per partition.

  ``LambdaLR``, ``MultiplicativeLR`` and ``ReduceLROnPlateau`` raise ``TypeError`` saying what to
  use instead. Differences from torch: ``OneCycleLR`` holds its last value from ``total_steps`` on
  (torch raises); step sizes must be whole steps.

  Formula: ``from_torch(scheduler)(k)`` is ``optimizer.param_groups[group]["lr"]`` after ``k``
  calls of ``scheduler.step()`` on a fresh scheduler; each torch class maps to the family in this
  module's table (``StepLR(step_size, gamma)`` → ``step(b, step_size, gamma)``, ...).

  Peer: the torch scheduler itself; torch is never imported, the scheduler is read through its
  attributes and its class name.

  Args:
    scheduler: a constructed ``torch.optim.lr_scheduler`` object (``StepLR``, ``MultiStepLR``,
      ``ExponentialLR``, ``CosineAnnealingLR``, ``LinearLR``, ``ConstantLR``, ``PolynomialLR``,
      ``OneCycleLR``, ``CyclicLR``, ``CosineAnnealingWarmRestarts``, ``SequentialLR``,
      ``ChainedScheduler``).
    group: the index of the optimizer's param group to convert; ``None`` converts all of them.

  Returns:
    A ``Schedule`` (a batch with one row per group when the groups' schedules differ).

  With torch (these lines are skipped by the doctest run, so that it needs no torch):

  >>> import torch, jaxsched                                                   # doctest: +SKIP
  >>> opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)      # doctest: +SKIP
  >>> scheduler = torch.optim.lr_scheduler.StepLR(opt, step_size=30, gamma=0.1)  # doctest: +SKIP
  >>> jaxsched.from_torch(scheduler) == jaxsched.step(0.1, 30, 0.1)            # doctest: +SKIP
  True

  The same conversion from a stand-in that has the attributes torch's ``StepLR`` has (the class
  name picks the converter):

  >>> import numpy as np, jaxsched
  >>> from types import SimpleNamespace
  >>> class StepLR(SimpleNamespace):                          # stands in for torch's StepLR
  ...   pass
  >>> scheduler = StepLR(optimizer=SimpleNamespace(param_groups=[{"lr": 0.1}]), base_lrs=[0.1],
  ...                    step_size=30, gamma=0.1)
  >>> s = jaxsched.from_torch(scheduler)
  >>> s == jaxsched.step(0.1, 30, 0.1)
  True
  >>> np.asarray(s(np.array([0, 29, 30, 60])), np.float64).round(6).tolist()
  [0.1, 0.1, 0.01, 0.001]
  """
  if _name(scheduler) in _CANNOT or _name(scheduler) is None:
    _convert(scheduler, 0, None)            # raises the clear error
  groups = len(scheduler.optimizer.param_groups)
  if group is not None:
    if isinstance(group, bool) or not isinstance(group, int) or not 0 <= group < groups:
      raise ValueError(f"{_WHERE}: group must be an int in [0, {groups - 1}], got {group!r}")
    return _convert(scheduler, group, None)
  rows = [_convert(scheduler, g, None) for g in range(groups)]
  if all(r == rows[0] for r in rows[1:]):
    return rows[0]
  return stack(rows)
