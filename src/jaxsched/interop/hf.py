"""Hugging Face ``transformers.get_scheduler(name, ...)`` → jaxsched, by name (transformers is never
imported). ``schedule(k)`` is the lr after k ``scheduler.step()`` calls, with ``b`` =
``learning_rate``, ``W`` = ``num_warmup_steps``, ``T`` = ``num_training_steps``, ``D = T − W`` and
``L = max(1, D)``, the length HF divides its decay progress ``(k − W)/max(1, T − W)`` by:

| name | jaxsched |
|---|---|
| ``linear`` | ``warmup(linear(b, 0.0, D), W)``; ``D <= 0``: ``join([linear(0.0, b, W), constant(0.0)], [W])`` |
| ``cosine`` | ``warmup_cosine(b, W, W + L)`` |
| ``cosine_with_restarts`` (``num_cycles=n``) | ``warmup(cosine_restarts(b, L/n, max_cycles=n), W)`` |
| ``polynomial`` (``lr_end``, ``power``) | ``warmup(polynomial(b, lr_end, D, power), W)``; ``D < 0``: ``join([linear(0.0, b, W), constant(lr_end)], [W])`` |
| ``constant`` | ``constant(b)`` |
| ``constant_with_warmup`` | ``warmup(constant(b), W)`` |
| ``inverse_sqrt`` (``timescale``) | ``inverse_sqrt(b, timescale, warmup_steps=W)`` |
| ``cosine_with_min_lr`` (``min_lr`` or ``min_lr_rate=r``) | ``warmup_cosine(b, W, W + L, end_value=r·b)`` |
| ``cosine_warmup_with_min_lr`` | ``join([linear(b·r₀, b, W − 1), cosine(b, L, end_value=r·b)], [W − 1])`` (HF counts this one from step + 1) |
| ``warmup_stable_decay`` | ``wsd(b, W, S, D, init_value=m·b, end_value=m·b, warmup_shape=..., decay_shape=...)`` |

(Without warmup, ``warmup(s, 0)`` is left out.) ``L`` is ``T − W`` unless ``T <= W``, which HF
accepts: there its decay lasts one step.
"""

from __future__ import annotations

from typing import Any

from jaxsched import compose, cycles, families
from jaxsched.core import Schedule
from jaxsched.interop._checks import real, whole

_WHERE = "from_hf"


def _half_wave(kw: dict, name: str):
  """HF's ``num_cycles`` for the cosine schedules: only the default half wave (0.5) is one cosine
  decay; other values make a wave that rises again."""
  cycles_ = kw.pop("num_cycles", 0.5)
  if cycles_ != 0.5:
    raise ValueError(
      f"{_WHERE}: {name} with num_cycles={cycles_!r} is a cosine wave that rises "
      "again; only num_cycles=0.5 (one decay) converts. For repeated decays use "
      "'cosine_with_restarts'"
    )


def _rest_none(kw: dict, name: str):
  if kw:
    raise TypeError(f"{_WHERE}: {name} got unexpected arguments {sorted(kw)}")


def _warm(decay, W, b, *, from_peak=True):
  """HF's warmup ``b·k/W`` for ``k < W``, then ``decay(k − W)``: jaxsched's warmup prefix when the
  decay starts at the peak ``b``; a join when it does not (HF's linear at ``W >= T`` ramps towards
  ``b`` and is 0 from ``k = W``)."""
  if not W:
    return decay
  if from_peak:
    return compose.warmup(decay, W)
  return compose.join([families.linear(0.0, b, W), decay], [W])


def _length(W, T):
  """HF's decay length: it divides the progress ``k − W`` by ``max(1, T − W)``."""
  return max(1, T - W)


def _linear(b, W, T, kw):
  """``max(0, (T − k)/max(1, T − W))``: with ``T <= W`` it is 0 from ``k = W`` on."""
  _rest_none(kw, "linear")
  D = T - W
  return _warm(families.linear(b, 0.0, max(D, 0)), W, b, from_peak=D >= 1)


def _cosine(b, W, T, kw):
  _half_wave(kw, "cosine")
  _rest_none(kw, "cosine")
  return families.warmup_cosine(b, W, W + _length(W, T))


def _cosine_with_restarts(b, W, T, kw):
  """Each of ``n`` cycles lasts ``L/n`` steps; with ``L = 1`` the one step ``k = W`` is the start
  of the first cycle whatever ``n`` is."""
  n = whole(_WHERE, "num_cycles", kw.pop("num_cycles", 1), minimum=1)
  _rest_none(kw, "cosine_with_restarts")
  L = _length(W, T)
  n = 1 if L == 1 else n
  if L % n:
    raise ValueError(
      f"{_WHERE}: cosine_with_restarts needs num_training_steps − num_warmup_steps "
      f"({L}) to be a multiple of num_cycles ({n}), so that every cycle restarts on "
      "a whole step"
    )
  return _warm(cycles.cosine_restarts(b, L // n, max_cycles=n), W, b)


def _polynomial(b, W, T, kw):
  """HF holds ``lr_end`` from ``k > T``; at ``W == T`` it divides by ``T − W = 0`` at ``k = W``."""
  lr_end = real(_WHERE, "lr_end", kw.pop("lr_end", 1e-7))
  power = real(_WHERE, "power", kw.pop("power", 1.0))
  _rest_none(kw, "polynomial")
  if not b > lr_end:
    raise ValueError(f"{_WHERE}: lr_end ({lr_end}) must be smaller than learning_rate ({b})")
  D = T - W
  if D == 0:
    raise ValueError(
      f"{_WHERE}: polynomial with num_training_steps == num_warmup_steps ({T}) "
      "divides by num_training_steps − num_warmup_steps = 0 at step "
      "num_warmup_steps in HF (ZeroDivisionError); use num_training_steps > "
      "num_warmup_steps"
    )
  if D < 0:  # HF's decay branch never runs: lr_end from k = W
    return _warm(families.constant(lr_end), W, b, from_peak=False)
  if power < 0:
    raise ValueError(
      f"{_WHERE}: polynomial with power={power} raises 0 to a negative power at "
      "step num_training_steps in HF (ZeroDivisionError); use power >= 0"
    )
  if power == 0:  # (1 − p)^0 = 1 up to T, lr_end after it
    return _warm(families.piecewise([D + 1], [b, lr_end]), W, b)
  return _warm(families.polynomial(b, lr_end, D, power), W, b)


def _constant(b, W, T, kw):
  return families.constant(b)


def _constant_with_warmup(b, W, T, kw):
  _rest_none(kw, "constant_with_warmup")
  return _warm(families.constant(b), W, b)


def _inverse_sqrt(b, W, T, kw):
  timescale = kw.pop("timescale", None)
  _rest_none(kw, "inverse_sqrt")
  if timescale is None:  # HF's default
    timescale = W or 10_000
  timescale = real(_WHERE, "timescale", timescale)
  if not timescale > 0:
    raise ValueError(
      f"{_WHERE}: inverse_sqrt needs timescale > 0, got {timescale}: HF divides by "
      "it and takes the square root of (k − W + timescale)/timescale"
    )
  return families.inverse_sqrt(b, timescale, warmup_steps=W)


def _min_rate(b, kw, name):
  min_lr, rate = kw.pop("min_lr", None), kw.pop("min_lr_rate", None)
  if min_lr is not None and rate is not None:
    raise ValueError(f"{_WHERE}: {name}: only one of min_lr or min_lr_rate should be set")
  if min_lr is not None:
    if b == 0:
      raise ValueError(
        f"{_WHERE}: {name} with min_lr needs learning_rate != 0 (HF divides min_lr "
        "by it); use min_lr_rate"
      )
    return real(_WHERE, "min_lr", min_lr) / b
  if rate is None:
    raise ValueError(f"{_WHERE}: {name} needs min_lr or min_lr_rate")
  return real(_WHERE, "min_lr_rate", rate)


def _floored(schedule, rate):
  """HF takes ``max(0, factor)`` in its cosine decays (and the wsd warmup): it bites only below a
  negative end rate (the lr ``b`` is >= 0, as torch optimizers require)."""
  return compose.clip(schedule, min_value=0.0) if rate < 0 else schedule


def _cosine_with_min_lr(b, W, T, kw):
  _half_wave(kw, "cosine_with_min_lr")
  rate = _min_rate(b, kw, "cosine_with_min_lr")
  _rest_none(kw, "cosine_with_min_lr")
  return _floored(families.warmup_cosine(b, W, W + _length(W, T), end_value=rate * b), rate)


def _cosine_warmup_with_min_lr(b, W, T, kw):
  """HF's ``..._with_warmup_lr_rate`` variant counts one step ahead: warmup ``(k + 1)/W`` (or
  ``r + (1 − r)·k/(W − 1)``), cosine progress ``(k − W + 1)/D``; both reach ``b`` at ``W − 1``."""
  _half_wave(kw, "cosine_warmup_with_min_lr")
  rate = _min_rate(b, kw, "cosine_warmup_with_min_lr")
  warmup_rate = kw.pop("warmup_lr_rate", None)
  _rest_none(kw, "cosine_warmup_with_min_lr")
  decay = _floored(families.cosine(b, _length(W, T), end_value=rate * b), rate)
  if W == 0:
    raise ValueError(
      f"{_WHERE}: cosine_warmup_with_min_lr with num_warmup_steps=0 starts its "
      "cosine one step in at step 0, which no jaxsched schedule says; use "
      "num_warmup_steps >= 1 (or 'cosine_with_min_lr', which starts at the peak)"
    )
  start = 1.0 / W if warmup_rate is None else real(_WHERE, "warmup_lr_rate", warmup_rate)
  if W == 1:  # step 0 is b·start (1 without a rate), then the cosine at k
    return decay if start == 1.0 else compose.product(decay, families.piecewise([1], [start, 1.0]))
  return compose.join([families.linear(b * start, b, W - 1), decay], [W - 1])


_SHAPES = {"linear": "linear", "cosine": "cosine", "1-sqrt": "sqrt"}


def _wsd(b, W, T, kw):
  if "num_decay_steps" not in kw:
    raise TypeError(f"{_WHERE}: warmup_stable_decay needs num_decay_steps")
  decay = whole(_WHERE, "num_decay_steps", kw.pop("num_decay_steps"))
  stable = kw.pop("num_stable_steps", None)
  warmup_type, decay_type = kw.pop("warmup_type", "linear"), kw.pop("decay_type", "cosine")
  ratio = real(_WHERE, "min_lr_ratio", kw.pop("min_lr_ratio", 0.0))
  if decay_type == "cosine":
    _half_wave(kw, "warmup_stable_decay")
  kw.pop("num_cycles", None)
  _rest_none(kw, "warmup_stable_decay")
  if stable is None:
    if T is None:
      raise ValueError(
        f"{_WHERE}: warmup_stable_decay needs num_training_steps or num_stable_steps"
      )
    stable = T - W - decay
  for kind, value in (("warmup_type", warmup_type), ("decay_type", decay_type)):
    if value not in _SHAPES:
      raise ValueError(
        f"{_WHERE}: unknown {kind} {value!r}; expected 'linear', 'cosine' or '1-sqrt'"
      )
  stable = whole(_WHERE, "num_stable_steps", stable, minimum=None)
  if stable < 0:
    if stable + decay > 0:
      raise ValueError(
        f"{_WHERE}: warmup_stable_decay with num_stable_steps={stable} (num_"
        "training_steps < num_warmup_steps + num_decay_steps) starts HF's decay "
        "part of the way down, which wsd does not say; use num_stable_steps >= 0"
      )
    stable = decay = 0  # HF's stable and decay ranges [W, W + S + D) are empty
  out = cycles.wsd(
    b,
    W,
    stable,
    decay,
    init_value=ratio * b,
    end_value=ratio * b,
    warmup_shape=_SHAPES[warmup_type],
    decay_shape=_SHAPES[decay_type],
  )
  if ratio < 0:  # HF floors its warmup and decay at 0, but not the min_lr_ratio after them
    out = compose.join([_floored(out, ratio), families.constant(ratio * b)], [W + stable + decay])
  return out


TABLE = {
  "linear": _linear,
  "cosine": _cosine,
  "cosine_with_restarts": _cosine_with_restarts,
  "polynomial": _polynomial,
  "constant": _constant,
  "constant_with_warmup": _constant_with_warmup,
  "inverse_sqrt": _inverse_sqrt,
  "cosine_with_min_lr": _cosine_with_min_lr,
  "cosine_warmup_with_min_lr": _cosine_warmup_with_min_lr,
  "warmup_stable_decay": _wsd,
}

_NEEDS_TOTAL = (
  "linear",
  "cosine",
  "cosine_with_restarts",
  "polynomial",
  "cosine_with_min_lr",
  "cosine_warmup_with_min_lr",
)


def from_hf(
  name: str,
  learning_rate: float,
  num_warmup_steps: int | None = None,
  num_training_steps: int | None = None,
  **scheduler_specific_kwargs: Any,
) -> Schedule:
  """The jaxsched schedule of ``transformers.get_scheduler(name, optimizer, num_warmup_steps,
  num_training_steps, scheduler_specific_kwargs)`` for an optimizer with lr ``learning_rate``.

  ``schedule(k)`` is the lr after k ``scheduler.step()`` calls, up to ``num_training_steps``
  (and to ``num_warmup_steps + 1`` where that is later). After it, HF's cosine schedules
  (``cosine``, ``cosine_with_min_lr``, ``cosine_warmup_with_min_lr``) evaluate their cosine past
  the end and rise again; jaxsched holds the final value. ``num_cycles`` other than 0.5 (a wave)
  is not converted for them. ``reduce_lr_on_plateau`` is ``jaxsched.reduce_on_plateau``.

  Edges, as HF computes them: HF divides the decay's progress by ``max(1, T − W)``, so at
  ``W >= T`` (which HF accepts) its decay lasts one step. ``linear`` ramps ``0, b/W, ...,
  b(W − 1)/W`` and is 0 from ``k = W``; the cosines give the peak ``b`` at ``k = W`` and their end
  value at ``W + 1``; ``cosine_with_restarts`` gives ``b`` at ``W`` and 0 after, whatever
  ``num_cycles``; ``polynomial`` with ``T < W`` is ``lr_end`` from ``k = W``; ``warmup_stable_decay``
  whose stable and decay phases do not fit (``T <= W``) is ``min_lr_ratio·b`` from ``k = W``.
  ``W = 0`` has no warmup; ``T = 0`` (with ``W = 0``) makes ``linear`` 0 throughout. A negative
  ``min_lr_rate``/``min_lr_ratio`` is floored at 0 where HF takes ``max(0, factor)`` (the cosine
  decays, the wsd warmup and decay) and not after the wsd decay, where HF returns the ratio.

  Refused with a ``ValueError`` naming the parameter, where HF itself divides by zero or raises:
  ``polynomial`` with ``num_training_steps == num_warmup_steps`` (a ZeroDivisionError at step
  ``W``) or a negative ``power``; ``inverse_sqrt`` with ``timescale <= 0``. Also refused, though HF
  runs them: ``cosine_warmup_with_min_lr`` with ``num_warmup_steps=0`` (its cosine starts one step
  in at step 0), ``cosine_with_restarts`` whose cycles do not restart on whole steps, and
  ``warmup_stable_decay`` whose decay starts part-way (``W < T < W + num_decay_steps``).

  Formula: ``from_hf(name, b, W, T)(k)`` is HF's ``b·lr_lambda(k)``; each name maps to the
  composite in this module's table (``"linear"`` → ``warmup(linear(b, 0.0, T − W), W)``,
  ``"cosine"`` → ``warmup_cosine(b, W, T)`` for ``T > W``, ...).

  Peer: ``transformers.get_scheduler`` (and the ``get_*_schedule_with_warmup`` functions it
  calls); transformers is never imported.

  Args:
    name: the scheduler name, a string or a ``transformers.SchedulerType`` (``"linear"``,
      ``"cosine"``, ``"cosine_with_restarts"``, ``"polynomial"``, ``"constant"``,
      ``"constant_with_warmup"``, ``"inverse_sqrt"``, ``"cosine_with_min_lr"``,
      ``"cosine_warmup_with_min_lr"``, ``"warmup_stable_decay"``).
    learning_rate: the optimizer's lr (HF's base lr, the peak after the warmup).
    num_warmup_steps: the warmup length ``W`` in steps (required by every name but
      ``"constant"``).
    num_training_steps: the total length ``T`` in steps (required by the decaying schedules).
    scheduler_specific_kwargs: HF's ``scheduler_specific_kwargs``, by keyword: ``num_cycles``,
      ``lr_end``, ``power``, ``timescale``, ``min_lr``, ``min_lr_rate``, ``warmup_lr_rate``,
      ``num_stable_steps``, ``num_decay_steps``, ``warmup_type``, ``decay_type``,
      ``min_lr_ratio``.

  Returns:
    A single ``Schedule``.

  With transformers and torch (these lines are skipped by the doctest run, so that it needs
  neither), HF's

  >>> import torch, transformers                                               # doctest: +SKIP
  >>> opt = torch.optim.AdamW([torch.zeros(1, requires_grad=True)], lr=1e-3)   # doctest: +SKIP
  >>> hf = transformers.get_scheduler("linear", opt, num_warmup_steps=10,
  ...                                 num_training_steps=110)                  # doctest: +SKIP

  is, without them:

  >>> import numpy as np, jaxsched
  >>> s = jaxsched.from_hf("linear", 1e-3, num_warmup_steps=10, num_training_steps=110)
  >>> s == jaxsched.warmup(jaxsched.linear(1e-3, 0.0, 100), 10)
  True
  >>> [f"{float(v):.6f}" for v in s(np.array([5, 10, 60, 110]))]    # up, peak, half way, end
  ['0.000500', '0.001000', '0.000500', '0.000000']
  """
  key = getattr(name, "value", name)  # a transformers.SchedulerType enum
  if key == "reduce_lr_on_plateau":
    raise ValueError(
      f"{_WHERE}: reduce_lr_on_plateau reacts to a metric, so it is not a function "
      "of the step; use jaxsched.reduce_on_plateau(...) chained after the optimizer"
    )
  if key not in TABLE:
    raise ValueError(f"{_WHERE}: unknown scheduler name {key!r}; known: {', '.join(TABLE)}")
  b = real(_WHERE, "learning_rate", learning_rate)
  kw = dict(scheduler_specific_kwargs)
  if key == "constant":
    return _constant(b, 0, None, kw)
  if num_warmup_steps is None:
    raise ValueError(f"{_WHERE}: {key} requires num_warmup_steps")
  W = whole(_WHERE, "num_warmup_steps", num_warmup_steps)
  T = None
  if num_training_steps is not None:
    T = whole(_WHERE, "num_training_steps", num_training_steps)
  elif key in _NEEDS_TOTAL:
    raise ValueError(f"{_WHERE}: {key} requires num_training_steps")
  return TABLE[key](b, W, T, kw)
