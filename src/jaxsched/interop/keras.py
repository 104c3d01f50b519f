"""Keras ``LearningRateSchedule`` objects or their ``serialize(...)`` dicts → jaxsched.

Keras is never imported: an object is read through its ``get_config()`` and class name; a dict is
``{"class_name": ..., "config": {...}}`` as ``keras.optimizers.schedules.serialize`` writes it
(Keras 3 and tf.keras both). ``schedule(k)`` equals Keras's ``schedule(k)``, with ``k`` the
optimizer's ``iterations`` (updates already applied).

| Keras | jaxsched |
|---|---|
| ``ExponentialDecay(init, decay_steps, rate, staircase)`` | ``exponential(init, rate, decay_steps=decay_steps, staircase=staircase)`` |
| ``PiecewiseConstantDecay(boundaries, values)`` | ``piecewise([b + 1 for b in boundaries], values)`` (Keras switches after b) |
| ``PolynomialDecay(init, decay_steps, end, power, cycle)`` | ``polynomial(init, end, decay_steps, power, cycle=cycle)`` |
| ``InverseTimeDecay(init, decay_steps, rate, staircase)`` | ``inverse_time(init, rate, decay_steps=decay_steps, staircase=staircase)`` |
| ``CosineDecay(init, D, alpha)`` | ``cosine(init, D, end_value=alpha·init)`` |
| ``CosineDecay(init, D, alpha, warmup_target=peak, warmup_steps=W)`` | ``warmup_cosine(peak, W, W + D, init_value=init, end_value=alpha·peak)`` |
| ``CosineDecayRestarts(init, P, t_mul, m_mul, alpha)`` | ``cosine_restarts(init, P, period_mult=t_mul, decay=m_mul, end_value=alpha·init)``; when ``m_mul ≠ 1`` and ``alpha ≠ 0`` Keras decays only the cosine part: ``cosine_restarts((1−alpha)·init, P, period_mult=t_mul, decay=m_mul) + alpha·init`` |
"""

from __future__ import annotations

from typing import Any

from jaxsched import cycles, families
from jaxsched.core import Schedule
from jaxsched.interop._checks import real, whole

_WHERE = "from_keras"


def _get(config: dict, key: str, default: Any = KeyError) -> Any:
  if key in config:
    return config[key]
  if default is KeyError:
    raise ValueError(f"{_WHERE}: the config lacks {key!r} (has {sorted(config)})")
  return default


def _value(config: dict, key: str, default: Any = KeyError) -> float:
  return real(_WHERE, key, _get(config, key, default))


def _exponential(c):
  return families.exponential(
    _value(c, "initial_learning_rate"),
    _value(c, "decay_rate"),
    decay_steps=whole(_WHERE, "decay_steps", _get(c, "decay_steps"), minimum=1),
    staircase=bool(_get(c, "staircase", False)),
  )


def _piecewise(c):
  boundaries = [whole(_WHERE, "boundaries", b) + 1 for b in _get(c, "boundaries")]
  return families.piecewise(boundaries, [real(_WHERE, "values", v) for v in _get(c, "values")])


def _polynomial(c):
  return families.polynomial(
    _value(c, "initial_learning_rate"),
    _value(c, "end_learning_rate", 0.0001),
    whole(_WHERE, "decay_steps", _get(c, "decay_steps"), minimum=1),
    _value(c, "power", 1.0),
    cycle=bool(_get(c, "cycle", False)),
  )


def _inverse_time(c):
  return families.inverse_time(
    _value(c, "initial_learning_rate"),
    _value(c, "decay_rate"),
    decay_steps=whole(_WHERE, "decay_steps", _get(c, "decay_steps"), minimum=1),
    staircase=bool(_get(c, "staircase", False)),
  )


def _cosine(c):
  init, alpha = _value(c, "initial_learning_rate"), _value(c, "alpha", 0.0)
  decay = whole(_WHERE, "decay_steps", _get(c, "decay_steps"))
  target = _get(c, "warmup_target", None)
  warm = whole(_WHERE, "warmup_steps", _get(c, "warmup_steps", 0))
  if target is None:
    return families.cosine(init, decay, end_value=alpha * init)
  target = real(_WHERE, "warmup_target", target)
  return families.warmup_cosine(
    target, warm, warm + decay, init_value=init, end_value=alpha * target
  )


def _cosine_restarts(c):
  init, alpha = _value(c, "initial_learning_rate"), _value(c, "alpha", 0.0)
  period = whole(_WHERE, "first_decay_steps", _get(c, "first_decay_steps"), minimum=1)
  t_mul, m_mul = _value(c, "t_mul", 2.0), _value(c, "m_mul", 1.0)
  if m_mul == 1.0 or alpha == 0.0:
    return cycles.cosine_restarts(
      init, period, period_mult=t_mul, decay=m_mul, end_value=alpha * init
    )
  # Keras: init·(alpha + (1 − alpha)·m_mulⁱ·½(1 + cos)): the floor alpha·init does not decay.
  return (
    cycles.cosine_restarts((1.0 - alpha) * init, period, period_mult=t_mul, decay=m_mul)
    + alpha * init
  )


TABLE = {
  "ExponentialDecay": _exponential,
  "PiecewiseConstantDecay": _piecewise,
  "PolynomialDecay": _polynomial,
  "InverseTimeDecay": _inverse_time,
  "CosineDecay": _cosine,
  "CosineDecayRestarts": _cosine_restarts,
}


def from_keras(schedule: Any) -> Schedule:
  """The jaxsched schedule of a Keras ``LearningRateSchedule`` object or of its
  ``keras.optimizers.schedules.serialize(...)`` dict (as found in saved model configs).

  ``schedule(k)`` equals Keras's ``schedule(k)``. Keras computes in float32 with ``pow``/``log``;
  jaxsched is exact to 1e-6 relative against float64 at every step (Keras's own
  ``CosineDecayRestarts`` finds the cycle with a float32 logarithm, which can put a step on the
  wrong side of a restart at large steps; jaxsched's restarts are exact integers).

  Formula: ``from_keras(s)(k) == s(k)`` with each Keras class mapped by this module's table
  (``ExponentialDecay(init, decay_steps, rate)`` → ``exponential(init, rate,
  decay_steps=decay_steps)``, ``PiecewiseConstantDecay(boundaries, values)`` →
  ``piecewise([b + 1 for b in boundaries], values)``, ...).

  Peer: the Keras ``keras.optimizers.schedules`` class itself (Keras 3 or tf.keras); Keras is
  never imported.

  Args:
    schedule: a Keras ``LearningRateSchedule`` object (``ExponentialDecay``,
      ``PiecewiseConstantDecay``, ``PolynomialDecay``, ``InverseTimeDecay``, ``CosineDecay``,
      ``CosineDecayRestarts``), or its serialized dict ``{"class_name": ..., "config": {...}}``.

  Returns:
    A single ``Schedule``.

  With Keras (these lines are skipped by the doctest run, so that it needs no Keras):

  >>> import keras, jaxsched                                                   # doctest: +SKIP
  >>> keras_schedule = keras.optimizers.schedules.ExponentialDecay(0.1, 100, 0.5)  # doctest: +SKIP
  >>> converted = jaxsched.from_keras(keras_schedule)                           # doctest: +SKIP
  >>> converted == jaxsched.exponential(0.1, 0.5, decay_steps=100)             # doctest: +SKIP
  True

  Without Keras, from the dict ``keras.optimizers.schedules.serialize`` writes; Keras's
  ``PiecewiseConstantDecay`` switches *after* each boundary:

  >>> import numpy as np, jaxsched
  >>> s = jaxsched.from_keras({"class_name": "PiecewiseConstantDecay",
  ...                          "config": {"boundaries": [100], "values": [0.1, 0.01]}})
  >>> np.asarray(s(np.array([100, 101])), np.float64).round(6).tolist()
  [0.1, 0.01]
  >>> e = jaxsched.from_keras({"class_name": "ExponentialDecay", "config": {
  ...     "initial_learning_rate": 0.1, "decay_steps": 100, "decay_rate": 0.5}})
  >>> print(f"{float(e(200)):.6f}")                           # 0.1·0.5^(200/100)
  0.025000
  """
  if isinstance(schedule, dict):
    name = schedule.get("class_name")
    config = schedule.get("config")
    if not isinstance(name, str) or not isinstance(config, dict):
      raise ValueError(
        f"{_WHERE}: a serialized schedule is a dict with 'class_name' and "
        f"'config', got keys {sorted(schedule)}"
      )
  else:
    get_config = getattr(schedule, "get_config", None)
    if get_config is None:
      raise TypeError(
        f"{_WHERE}: expected a keras LearningRateSchedule or its serialize() "
        f"dict, got {type(schedule).__name__}"
      )
    name = next(
      (cls.__name__ for cls in type(schedule).__mro__ if cls.__name__ in TABLE),
      type(schedule).__name__,
    )
    config = get_config()
  if name not in TABLE:
    raise ValueError(
      f"{_WHERE}: cannot convert Keras schedule {name!r}; supported: {', '.join(TABLE)}"
    )
  return TABLE[name](config)
