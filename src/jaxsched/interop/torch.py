"""torch ``lr_scheduler`` objects → jaxsched, read by their attributes (torch is never imported).

The schedule's value at step k is the learning rate the optimizer holds when the scheduler's
``last_epoch`` is k, i.e. after k calls of ``scheduler.step()`` on a fresh scheduler. A scheduler
that was already stepped (or built with ``last_epoch=n``) converts to the same schedule: the
whole trajectory from its start, not the rest of it.

| torch | jaxsched (``b`` = the group's base lr) |
|---|---|
| ``StepLR(step_size, gamma)`` | ``step(b, step_size, gamma)`` |
| ``MultiStepLR(milestones, gamma)`` | ``multistep(b, sorted milestones, gamma)`` (none: ``constant(b)``) |
| ``ExponentialLR(gamma)`` | ``exponential(b, gamma)`` |
| ``CosineAnnealingLR(T, eta)`` | ``repeat(join([cosine(b, T, end_value=eta), cosine(eta, T, end_value=b)], [T]), 2T)`` (torch's curve is a cosine wave: it turns back up after ``T``) |
| ``LinearLR(s, e, n)`` | ``linear(b·s, b·e, n)`` (``n = 0``: ``constant(b·s)``) |
| ``ConstantLR(f, n)`` | ``piecewise([n], [b·f, b])`` (``n = 0``: ``constant(b·f)``) |
| ``PolynomialLR(n, power)`` | ``polynomial(b, 0.0, n, power)`` (``n = 0`` or ``power = 0``: ``constant(b)``) |
| ``OneCycleLR`` | ``one_cycle(max_lr, total_steps, pct_start=..., div_factor=..., final_div_factor=..., anneal=..., three_phase=...)`` |
| ``CyclicLR`` | ``cyclic(base_lr, max_lr, up, step_size_down=down, mode=..., gamma=...)`` |
| ``CosineAnnealingWarmRestarts(T_0, T_mult, eta)`` | ``cosine_restarts(b, T_0, period_mult=T_mult, end_value=eta)`` |
| ``SequentialLR(scheds, milestones)`` | ``join([...], milestones)`` |
| ``ChainedScheduler(scheds)`` | ``product(first, rest with base 1.0...)`` (multiplicative schedulers only) |

The values at the degenerate settings are torch's own, which depend on how torch starts a
scheduler (``_Start``): its update rule, applied from its initial step, never moves on when
``total_iters`` is 0 (``_NO_ITERS``), while the closed form that ``SequentialLR`` uses to start a
scheduler at a milestone gives other values there, or divides by zero.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from typing import Any

from jaxsched import compose, cycles, families
from jaxsched.batches import stack
from jaxsched.core import Schedule
from jaxsched.interop._checks import real, whole

_WHERE = "from_torch"

# schedulers whose step multiplies the current lr by a factor: they chain into a product
_MULTIPLICATIVE = (
  "StepLR",
  "MultiStepLR",
  "ExponentialLR",
  "LinearLR",
  "ConstantLR",
  "PolynomialLR",
)
_COMPOSITE = ("SequentialLR", "ChainedScheduler")


@dataclass(frozen=True)
class _Start:
  """How torch starts a scheduler, which decides its values at a few settings.

  ``how``: ``"initial"``, its own initial step (a scheduler on its own, a ChainedScheduler's
  member, a SequentialLR's first scheduler); ``"stepped"``, an ordinary ``step()`` to
  ``last_epoch`` 0 (the members of a ChainedScheduler that is a SequentialLR's first scheduler:
  SequentialLR's initial step reaches them as a plain step); ``"milestone"``, SequentialLR's
  ``_update_lr(0)`` at a milestone, which takes the scheduler's closed form.
  ``lr``: the lr the scheduler's update rule starts from (None: its own ``base_lrs``); SequentialLR
  resets the lr to the group's ``initial_lr`` before its first scheduler's initial step.
  ``factor``: the scheduler is a factor of a ChainedScheduler's product.
  """

  how: str = "initial"
  lr: float | None = None
  factor: bool = False


# total_iters = 0, by how the scheduler starts: the factor of its starting lr that torch then
# holds at every step (its update rule changes nothing after step 0), or None where torch divides
# by zero (the closed forms divide by total_iters; PolynomialLR's stepped update rule too)
_NO_ITERS = {
  "LinearLR": {
    "initial": lambda s: s.start_factor,
    "stepped": lambda s: s.start_factor,
    "milestone": None,
  },
  "ConstantLR": {
    "initial": lambda s: s.factor,
    "stepped": lambda s: s.factor,
    "milestone": lambda s: 1.0,
  },
  "PolynomialLR": {"initial": lambda s: 1.0, "stepped": None, "milestone": None},
}

# a "stepped" start applies at step 0 the update that the initial step skips: its factor
_STEPPED = {
  "ExponentialLR": lambda s: real(_WHERE, "ExponentialLR.gamma", s.gamma),
  "PolynomialLR": lambda s: (
    (s.total_iters / (s.total_iters + 1.0)) ** real(_WHERE, "PolynomialLR.power", s.power)
  ),
}

_CANNOT = {
  "LambdaLR": "it holds a Python function (lr_lambda), which cannot be read; write it with "
  "jax.numpy as jaxsched.custom(lambda t, base: base * f(t), base=base_lr), or with "
  "jaxsched's families (a Hugging Face get_scheduler(...) LambdaLR converts with "
  "jaxsched.from_hf(name, lr, ...))",
  "MultiplicativeLR": "it holds a Python function (lr_lambda), which cannot be read; a constant "
  "factor f per step is jaxsched.exponential(base_lr, f), any other "
  "jaxsched.custom(fn, **hyperparameters) with the running product in closed "
  "form",
  "ReduceLROnPlateau": "it reacts to a metric, so it is not a function of the step; use "
  "jaxsched.reduce_on_plateau(...) chained after the optimizer",
}


def _own(s, g):
  return real(_WHERE, "base_lrs", s.base_lrs[g])


def _base(s, g, start: _Start):
  """The lr a scheduler's update rule scales: where it starts (its ``base_lrs`` unless its start
  says otherwise), times the update a plain step applies at step 0."""
  b = _own(s, g) if start.lr is None else start.lr
  extra = _STEPPED.get(_name(s) or "") if start.how == "stepped" else None  # ("": no key)
  return b * extra(s) if extra is not None else b


def _step(s, g, start):
  return families.step(
    _base(s, g, start),
    whole(_WHERE, "StepLR.step_size", s.step_size, minimum=1),
    real(_WHERE, "StepLR.gamma", s.gamma),
  )


def _multistep(s, g, start):
  """torch's update rule fires when ``last_epoch`` equals a milestone, so it never reaches a
  negative one; the closed form that starts a scheduler at a SequentialLR milestone counts every
  milestone <= 0 at once."""
  milestones = [
    whole(_WHERE, "MultiStepLR.milestones", m, minimum=None)
    for m in sorted(Counter(s.milestones).elements())
  ]
  if start.how == "milestone":
    milestones = [max(m, 0) for m in milestones]
  else:
    milestones = [m for m in milestones if m >= 0]
  b = _base(s, g, start)
  if not milestones:
    return families.constant(b)
  return families.multistep(b, milestones, real(_WHERE, "MultiStepLR.gamma", s.gamma))


def _exponential(s, g, start):
  return families.exponential(_base(s, g, start), real(_WHERE, "ExponentialLR.gamma", s.gamma))


def _cosine_annealing(s, g, start):
  """torch's update rule scales the distance to ``eta_min`` down to ``eta_min`` at ``T_max``, and
  restarts each rise from the ``base_lrs``: a first half wave from another lr (SequentialLR's
  ``initial_lr``) is followed by the waves of the ``base_lrs``."""
  first, b = _base(s, g, start), _own(s, g)
  eta = real(_WHERE, "CosineAnnealingLR.eta_min", s.eta_min)
  T = whole(_WHERE, "CosineAnnealingLR.T_max", s.T_max, minimum=1)
  down, up = families.cosine(b, T, end_value=eta), families.cosine(eta, T, end_value=b)
  if first == b:
    return compose.repeat(compose.join([down, up], [T]), 2 * T)
  return compose.join(
    [
      families.cosine(first, T, end_value=eta),
      compose.repeat(compose.join([up, down], [T]), 2 * T),
    ],
    [T],
  )


def _linear(s, g, start):
  b = _base(s, g, start)
  return families.linear(
    b * real(_WHERE, "LinearLR.start_factor", s.start_factor),
    b * real(_WHERE, "LinearLR.end_factor", s.end_factor),
    whole(_WHERE, "LinearLR.total_iters", s.total_iters),
  )


def _constant(s, g, start):
  b, f = _base(s, g, start), real(_WHERE, "ConstantLR.factor", s.factor)
  if f == 0:
    raise ValueError(
      f"{_WHERE}: ConstantLR with factor=0 divides by zero (lr · 1/factor) at step "
      f"total_iters={s.total_iters!r} in torch; use a factor > 0"
    )
  return families.piecewise([whole(_WHERE, "ConstantLR.total_iters", s.total_iters)], [b * f, b])


def _polynomial(s, g, start):
  power = real(_WHERE, "PolynomialLR.power", s.power)
  if power < 0:
    raise ValueError(
      f"{_WHERE}: PolynomialLR with power={power!r} raises 0.0 to a negative power "
      "at step total_iters in torch; use power >= 0"
    )
  b = _base(s, g, start)
  if power == 0:  # torch's factors are all 0^0 = 1
    return families.constant(b)
  return families.polynomial(
    b, 0.0, whole(_WHERE, "PolynomialLR.total_iters", s.total_iters), power
  )


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


def _one_cycle(s, g, start):
  """OneCycleLR reads ``max_lr``/``initial_lr``/``min_lr`` from the param group at every step, so
  a later OneCycleLR on the same optimizer (which rewrites them) sets its values too, as here."""
  if start.factor:
    raise ValueError(
      f"{_WHERE}: OneCycleLR sets the lr outright, so it cannot be a factor of a ChainedScheduler"
    )
  group = s.optimizer.param_groups[g]
  total = whole(_WHERE, "OneCycleLR.total_steps", s.total_steps, minimum=1)
  phases = s._schedule_phases
  anneal = getattr(s, "_anneal_func_type", None)
  if anneal is None:  # torch < 2.2 kept the bound method
    anneal = "cos" if "cos" in getattr(s.anneal_func, "__name__", "cos") else "linear"
  max_lr, initial, low = (real(_WHERE, k, group[k]) for k in ("max_lr", "initial_lr", "min_lr"))
  return cycles.one_cycle(
    max_lr,
    total,
    pct_start=_pct_start(phases, total),
    div_factor=max_lr / initial,
    final_div_factor=initial / low,
    anneal=anneal,
    three_phase=len(phases) == 3,
  )


def _cyclic(s, g, start):
  if start.factor:
    raise ValueError(
      f"{_WHERE}: CyclicLR sets the lr outright, so it cannot be a factor of a ChainedScheduler"
    )
  if getattr(s, "_scale_fn_custom", None) is not None:
    raise ValueError(
      f"{_WHERE}: CyclicLR with a custom scale_fn holds a Python function, which "
      "cannot be read; use mode='triangular', 'triangular2' or 'exp_range'"
    )
  total = real(_WHERE, "CyclicLR.total_size", s.total_size)
  up_float = s.step_ratio * total
  up = round(up_float)
  if abs(up_float - up) > 1e-9 * max(total, 1.0) or total != round(total):
    raise ValueError(
      f"{_WHERE}: CyclicLR step sizes must be whole steps to convert, got "
      f"step_size_up={up_float!r}, total {total!r}"
    )
  return cycles.cyclic(
    _own(s, g),
    real(_WHERE, "max_lrs", s.max_lrs[g]),
    up,
    step_size_down=round(total) - up,
    mode=s.mode,
    gamma=real(_WHERE, "CyclicLR.gamma", s.gamma),
  )


def _warm_restarts(s, g, start):
  return cycles.cosine_restarts(  # torch's formula reads base_lrs, whatever the current lr
    _own(s, g),
    whole(_WHERE, "CosineAnnealingWarmRestarts.T_0", s.T_0, minimum=1),
    period_mult=real(_WHERE, "CosineAnnealingWarmRestarts.T_mult", s.T_mult),
    end_value=real(_WHERE, "CosineAnnealingWarmRestarts.eta_min", s.eta_min),
  )


def _sequential(s, g, start):
  """SequentialLR resets the lr to the group's ``initial_lr`` and gives its first scheduler its
  initial step: that scheduler's update rule starts from ``initial_lr``, which a OneCycleLR built
  after it has overwritten (with ``max_lr/div_factor``). At each milestone the next scheduler
  starts from its closed form."""
  subs = list(s._schedulers)
  for i, c in enumerate(subs):
    if _name(c) == "SequentialLR":
      raise ValueError(
        f"{_WHERE}: a SequentialLR inside a SequentialLR is not converted: torch "
        "advances the inner one's step count once more than its schedulers'; "
        "flatten it into one SequentialLR"
      )
    if i and _name(c) in _COMPOSITE:
      raise ValueError(
        f"{_WHERE}: SequentialLR holds a {type(c).__name__} after its first "
        "milestone, which torch cannot start there (its _update_lr(0) raises "
        "NotImplementedError)"
      )
  initial = s.optimizer.param_groups[g].get("initial_lr")
  first = _Start(
    "stepped" if _name(subs[0]) == "ChainedScheduler" else "initial",
    None if initial is None else real(_WHERE, "initial_lr", initial),
  )
  children = [_convert(subs[0], g, first)] + [_convert(c, g, _Start("milestone")) for c in subs[1:]]
  return compose.join(
    children, [whole(_WHERE, "SequentialLR.milestones", m) for m in s._milestones]
  )


def _chained(s, g, start):
  subs = list(s._schedulers)
  for c in subs:
    if _name(c) not in _MULTIPLICATIVE:
      raise ValueError(
        f"{_WHERE}: ChainedScheduler holds a {type(c).__name__}; only the "
        f"multiplicative schedulers ({', '.join(_MULTIPLICATIVE)}) chain into a "
        "product. Convert each scheduler on its own and combine them with "
        "jaxsched.join / jaxsched.product"
      )
  factors = [_convert(subs[0], g, _Start(start.how, start.lr))]
  factors += [_convert(c, g, _Start(start.how, 1.0, factor=True)) for c in subs[1:]]
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


def _convert(s, g: int, start: _Start) -> Schedule:
  name = _name(s)
  if name in _CANNOT:
    raise TypeError(f"{_WHERE}: {type(s).__name__} cannot be converted: {_CANNOT[name]}")
  if name is None:
    raise TypeError(
      f"{_WHERE}: expected a torch.optim.lr_scheduler object, got "
      f"{type(s).__name__}; supported: {', '.join(TABLE)}"
    )
  if name in _NO_ITERS and whole(_WHERE, f"{name}.total_iters", s.total_iters) == 0:
    held = _NO_ITERS[name][start.how]
    if held is None:
      where = (
        "started at a SequentialLR milestone"
        if start.how == "milestone"
        else "inside a ChainedScheduler that starts a SequentialLR"
      )
      raise ValueError(
        f"{_WHERE}: {name} with total_iters=0 {where} divides by zero in torch "
        "(ZeroDivisionError); use total_iters >= 1"
      )
    return families.constant(_base(s, g, start) * real(_WHERE, name, held(s)))
  return TABLE[name](s, g, start)


def from_torch(scheduler: Any, *, group: int | None = None) -> Schedule:
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
  (torch raises); step sizes must be whole steps; negative ``total_iters`` are refused.

  Edges, as torch steps them (its quirks included):

  - ``total_iters=0``: torch's update rule applies the step-0 factor and never moves on, so
    ``LinearLR`` holds ``b·start_factor``, ``ConstantLR`` ``b·factor`` and ``PolynomialLR`` ``b``
    at every step. ``MultiStepLR`` with no milestones (or only negative ones, which torch never
    reaches) is ``constant(b)``; ``PolynomialLR`` with ``power=0`` is ``constant(b)``.
  - ``SequentialLR`` resets the lr to the group's ``initial_lr`` and starts its first scheduler
    from it. A ``OneCycleLR`` overwrites ``initial_lr`` (with ``max_lr/div_factor``) when it is
    built, so in ``SequentialLR(o, [ConstantLR(o, 0.1, 5), OneCycleLR(o, 0.4, total_steps=50)],
    [5])`` on an lr of 0.1 the first five steps are ``0.016·0.1 = 0.0016``, as in torch, not
    0.01. Two OneCycleLRs on one optimizer share the last one's ``max_lr``/``initial_lr``/
    ``min_lr``, as in torch. A ``CosineAnnealingLR`` started from another lr runs its first half
    wave from it and its later waves from its ``base_lrs``, as torch's update rule does.
  - A ``ChainedScheduler`` first in a ``SequentialLR`` gets a plain ``step()`` at step 0, not its
    initial step: its ``ExponentialLR`` is one factor ``gamma`` ahead, its ``PolynomialLR`` one
    factor ``(n/(n + 1))^power``, as in torch.
  - At a ``SequentialLR`` milestone torch starts the next scheduler from its closed form: there
    ``ConstantLR(total_iters=0)`` is ``b`` and negative ``MultiStepLR`` milestones count at once.

  Refused with a ``ValueError`` (torch raises there too): ``ConstantLR(factor=0)`` (torch divides
  by it at ``total_iters >= 1``), ``PolynomialLR`` with a negative power, ``LinearLR`` or
  ``PolynomialLR`` with ``total_iters=0`` started at a milestone (a division by zero), a
  ``ChainedScheduler`` or ``SequentialLR`` after a milestone (``NotImplementedError`` in torch);
  also a ``SequentialLR`` inside a ``SequentialLR`` (torch runs the inner one a step ahead).

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
    _convert(scheduler, 0, _Start())  # raises the clear error
  groups = len(scheduler.optimizer.param_groups)
  if group is not None:
    if isinstance(group, bool) or not isinstance(group, int) or not 0 <= group < groups:
      raise ValueError(f"{_WHERE}: group must be an int in [0, {groups - 1}], got {group!r}")
    return _convert(scheduler, group, _Start())
  rows = [_convert(scheduler, g, _Start()) for g in range(groups)]
  if all(r == rows[0] for r in rows[1:]):
    return rows[0]
  return stack(rows)
