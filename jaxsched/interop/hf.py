"""Hugging Face ``transformers.get_scheduler(name, ...)`` → jaxsched, by name (transformers is never
imported). ``schedule(k)`` is the lr after k ``scheduler.step()`` calls, with ``b`` =
``learning_rate``, ``W`` = ``num_warmup_steps``, ``T`` = ``num_training_steps``, ``D = T − W``:

| name | jaxsched |
|---|---|
| ``linear`` | ``warmup(linear(b, 0.0, D), W)`` |
| ``cosine`` | ``warmup_cosine(b, W, T)`` |
| ``cosine_with_restarts`` (``num_cycles=n``) | ``warmup(cosine_restarts(b, D/n, max_cycles=n), W)`` |
| ``polynomial`` (``lr_end``, ``power``) | ``warmup(polynomial(b, lr_end, D, power), W)`` |
| ``constant`` | ``constant(b)`` |
| ``constant_with_warmup`` | ``warmup(constant(b), W)`` |
| ``inverse_sqrt`` (``timescale``) | ``inverse_sqrt(b, timescale, warmup_steps=W)`` |
| ``cosine_with_min_lr`` (``min_lr`` or ``min_lr_rate=r``) | ``warmup_cosine(b, W, T, end_value=r·b)`` |
| ``cosine_warmup_with_min_lr`` | ``join([linear(b·r₀, b, W − 1), cosine(b, D, end_value=r·b)], [W − 1])`` (HF counts this one from step + 1) |
| ``warmup_stable_decay`` | ``wsd(b, W, S, D, init_value=m·b, end_value=m·b, warmup_shape=..., decay_shape=...)`` |

(Without warmup, ``warmup(s, 0)`` is left out.)
"""
from __future__ import annotations

from jaxsched import compose, cycles, families
from jaxsched.core import Schedule
from jaxsched.interop._checks import real, whole

_WHERE = "from_hf"


def _half_wave(kw: dict, name: str):
  """HF's ``num_cycles`` for the cosine schedules: only the default half wave (0.5) is one cosine
  decay; other values make a wave that rises again."""
  cycles_ = kw.pop("num_cycles", 0.5)
  if cycles_ != 0.5:
    raise ValueError(f"{_WHERE}: {name} with num_cycles={cycles_!r} is a cosine wave that rises "
                     "again; only num_cycles=0.5 (one decay) converts. For repeated decays use "
                     "'cosine_with_restarts'")


def _rest_none(kw: dict, name: str):
  if kw:
    raise TypeError(f"{_WHERE}: {name} got unexpected arguments {sorted(kw)}")


def _warm(schedule, W):
  return compose.warmup(schedule, W) if W else schedule


def _decay_steps(W, T, name):
  if T < W:
    raise ValueError(f"{_WHERE}: {name} needs num_training_steps >= num_warmup_steps, got {T} < {W}")
  return T - W


def _linear(b, W, T, kw):
  _rest_none(kw, "linear")
  return _warm(families.linear(b, 0.0, _decay_steps(W, T, "linear")), W)


def _cosine(b, W, T, kw):
  _half_wave(kw, "cosine")
  _rest_none(kw, "cosine")
  _decay_steps(W, T, "cosine")
  return families.warmup_cosine(b, W, T)


def _cosine_with_restarts(b, W, T, kw):
  n = whole(_WHERE, "num_cycles", kw.pop("num_cycles", 1), minimum=1)
  _rest_none(kw, "cosine_with_restarts")
  D = _decay_steps(W, T, "cosine_with_restarts")
  if D % n:
    raise ValueError(f"{_WHERE}: cosine_with_restarts needs num_training_steps − num_warmup_steps "
                     f"({D}) to be a multiple of num_cycles ({n}), so that every cycle restarts on "
                     "a whole step")
  return _warm(cycles.cosine_restarts(b, D // n, max_cycles=n), W)


def _polynomial(b, W, T, kw):
  lr_end = real(_WHERE, "lr_end", kw.pop("lr_end", 1e-7))
  power = real(_WHERE, "power", kw.pop("power", 1.0))
  _rest_none(kw, "polynomial")
  if not b > lr_end:
    raise ValueError(f"{_WHERE}: lr_end ({lr_end}) must be smaller than learning_rate ({b})")
  return _warm(families.polynomial(b, lr_end, _decay_steps(W, T, "polynomial"), power), W)


def _constant(b, W, T, kw):
  return families.constant(b)


def _constant_with_warmup(b, W, T, kw):
  _rest_none(kw, "constant_with_warmup")
  return _warm(families.constant(b), W)


def _inverse_sqrt(b, W, T, kw):
  timescale = kw.pop("timescale", None)
  _rest_none(kw, "inverse_sqrt")
  if timescale is None:                      # HF's default
    timescale = W or 10_000
  return families.inverse_sqrt(b, real(_WHERE, "timescale", timescale), warmup_steps=W)


def _min_rate(b, kw, name):
  min_lr, rate = kw.pop("min_lr", None), kw.pop("min_lr_rate", None)
  if min_lr is not None and rate is not None:
    raise ValueError(f"{_WHERE}: {name}: only one of min_lr or min_lr_rate should be set")
  if min_lr is not None:
    return real(_WHERE, "min_lr", min_lr) / b
  if rate is None:
    raise ValueError(f"{_WHERE}: {name} needs min_lr or min_lr_rate")
  return real(_WHERE, "min_lr_rate", rate)


def _cosine_with_min_lr(b, W, T, kw):
  _half_wave(kw, "cosine_with_min_lr")
  rate = _min_rate(b, kw, "cosine_with_min_lr")
  _rest_none(kw, "cosine_with_min_lr")
  _decay_steps(W, T, "cosine_with_min_lr")
  return families.warmup_cosine(b, W, T, end_value=rate * b)


def _cosine_warmup_with_min_lr(b, W, T, kw):
  """HF's ``..._with_warmup_lr_rate`` variant counts one step ahead: warmup ``(k + 1)/W`` (or
  ``r + (1 − r)·k/(W − 1)``), cosine progress ``(k − W + 1)/D``; both reach ``b`` at ``W − 1``."""
  _half_wave(kw, "cosine_warmup_with_min_lr")
  rate = _min_rate(b, kw, "cosine_warmup_with_min_lr")
  warmup_rate = kw.pop("warmup_lr_rate", None)
  _rest_none(kw, "cosine_warmup_with_min_lr")
  D = _decay_steps(W, T, "cosine_warmup_with_min_lr")
  decay = families.cosine(b, D, end_value=rate * b)
  if W == 0 or (W == 1 and warmup_rate is not None and warmup_rate != 1.0):
    raise ValueError(f"{_WHERE}: cosine_warmup_with_min_lr with num_warmup_steps={W}"
                     f"{' and warmup_lr_rate' if W else ''} starts its cosine one step in at step "
                     "0, which no jaxsched schedule says; use num_warmup_steps >= 2 (or 'cosine_"
                     "with_min_lr', which starts at the peak)")
  if W == 1:
    return decay
  start = 1.0 / W if warmup_rate is None else real(_WHERE, "warmup_lr_rate", warmup_rate)
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
      raise ValueError(f"{_WHERE}: warmup_stable_decay needs num_training_steps or "
                       "num_stable_steps")
    stable = T - W - decay
  for kind, value in (("warmup_type", warmup_type), ("decay_type", decay_type)):
    if value not in _SHAPES:
      raise ValueError(f"{_WHERE}: unknown {kind} {value!r}; expected 'linear', 'cosine' or "
                       "'1-sqrt'")
  return cycles.wsd(b, W, whole(_WHERE, "num_stable_steps", stable), decay, init_value=ratio * b,
                    end_value=ratio * b, warmup_shape=_SHAPES[warmup_type],
                    decay_shape=_SHAPES[decay_type])


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

_NEEDS_TOTAL = ("linear", "cosine", "cosine_with_restarts", "polynomial", "cosine_with_min_lr",
                "cosine_warmup_with_min_lr")


def from_hf(name, learning_rate, num_warmup_steps=None, num_training_steps=None,
            **scheduler_specific_kwargs) -> Schedule:
  """The jaxsched schedule of ``transformers.get_scheduler(name, optimizer, num_warmup_steps,
  num_training_steps, scheduler_specific_kwargs)`` for an optimizer with lr ``learning_rate``.

  ``schedule(k)`` is the lr after k ``scheduler.step()`` calls, up to ``num_training_steps``.
  After it, HF's cosine schedules (``cosine``, ``cosine_with_min_lr``,
  ``cosine_warmup_with_min_lr``) evaluate their cosine past the end and rise again; jaxsched holds
  the final value. ``num_cycles`` other than 0.5 (a wave) is not converted for them.
  ``reduce_lr_on_plateau`` is ``jaxsched.reduce_on_plateau``.

  Formula: ``from_hf(name, b, W, T)(k)`` is HF's ``b·lr_lambda(k)``; each name maps to the
  composite in this module's table (``"linear"`` → ``warmup(linear(b, 0.0, T − W), W)``,
  ``"cosine"`` → ``warmup_cosine(b, W, T)``, ...).

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
  key = getattr(name, "value", name)                    # a transformers.SchedulerType enum
  if key == "reduce_lr_on_plateau":
    raise ValueError(f"{_WHERE}: reduce_lr_on_plateau reacts to a metric, so it is not a function "
                     "of the step; use jaxsched.reduce_on_plateau(...) chained after the optimizer")
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
