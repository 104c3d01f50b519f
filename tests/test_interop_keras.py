"""js.from_keras against Keras schedules called directly. KERAS_BACKEND=jax."""

import os

import numpy as np
import pytest

import jaxsched as js

os.environ.setdefault("KERAS_BACKEND", "jax")
keras = pytest.importorskip("keras")
S = keras.optimizers.schedules

# (Keras schedule, steps, native form or None)
CASES = {
  "ExponentialDecay": (
    lambda: S.ExponentialDecay(0.1, 10, 0.9),
    [0, 1, 9, 10, 11, 55, 200],
    js.exponential(0.1, 0.9, decay_steps=10),
  ),
  "ExponentialDecay_staircase": (
    lambda: S.ExponentialDecay(0.1, 10, 0.9, staircase=True),
    [0, 1, 9, 10, 11, 19, 20, 21, 200],
    js.exponential(0.1, 0.9, decay_steps=10, staircase=True),
  ),
  "PiecewiseConstantDecay": (
    lambda: S.PiecewiseConstantDecay([10, 20], [0.1, 0.05, 0.01]),
    [0, 9, 10, 11, 19, 20, 21, 1000],
    js.piecewise([11, 21], [0.1, 0.05, 0.01]),
  ),
  "PolynomialDecay": (
    lambda: S.PolynomialDecay(0.1, 50, 1e-3, power=2.0),
    [0, 1, 25, 49, 50, 51, 500],
    js.polynomial(0.1, 1e-3, 50, 2.0),
  ),
  "PolynomialDecay_cycle": (
    lambda: S.PolynomialDecay(0.1, 20, 1e-3, power=1.5, cycle=True),
    [0, 1, 19, 20, 21, 39, 40, 41, 100],
    js.polynomial(0.1, 1e-3, 20, 1.5, cycle=True),
  ),
  "InverseTimeDecay": (
    lambda: S.InverseTimeDecay(0.1, 7, 0.5),
    [0, 6, 7, 8, 100],
    js.inverse_time(0.1, 0.5, decay_steps=7),
  ),
  "InverseTimeDecay_staircase": (
    lambda: S.InverseTimeDecay(0.1, 7, 0.5, staircase=True),
    [0, 6, 7, 8, 13, 14, 15, 100],
    None,
  ),
  "CosineDecay": (
    lambda: S.CosineDecay(0.1, 100, alpha=0.01),
    [0, 1, 50, 99, 100, 101, 500],
    js.cosine(0.1, 100, end_value=0.001),
  ),
  "CosineDecay_warmup": (
    lambda: S.CosineDecay(0.0, 100, alpha=0.1, warmup_target=0.2, warmup_steps=10),
    [0, 1, 9, 10, 11, 60, 109, 110, 111, 500],
    js.warmup_cosine(0.2, 10, 110, init_value=0.0, end_value=0.1 * 0.2),
  ),
  "CosineDecayRestarts": (
    lambda: S.CosineDecayRestarts(0.1, 10, t_mul=2.0, alpha=0.01),
    [0, 1, 9, 10, 11, 29, 30, 31, 69, 70, 71, 100],
    None,
  ),
  "CosineDecayRestarts_m_mul": (
    lambda: S.CosineDecayRestarts(0.1, 10, t_mul=1.0, m_mul=0.5),
    [0, 9, 10, 11, 19, 20, 21, 45],
    None,
  ),
}


def _keras_values(schedule, steps):
  return np.array([float(schedule(k)) for k in steps])


@pytest.mark.parametrize("name", list(CASES))
def test_matches_keras(name):
  make, steps, native = CASES[name]
  k = make()
  s = js.from_keras(k)
  # Keras computes in float32 (pow, log, cos): 2e-6 relative covers its rounding, not a step off
  np.testing.assert_allclose(
    np.asarray(s(np.array(steps)), np.float64), _keras_values(k, steps), rtol=2e-6, atol=1e-9
  )
  assert js.from_keras(S.serialize(k)) == s
  if native is not None:
    assert s == native


needs_add = pytest.mark.skipif(
  not hasattr(js.Schedule, "__add__"), reason="Schedule.__add__ (s + c) is not in this jaxsched yet"
)


@needs_add
def test_cosine_restarts_with_decaying_peaks_and_a_floor():
  k = S.CosineDecayRestarts(0.1, 10, t_mul=2.0, m_mul=0.5, alpha=0.1)
  steps = [0, 1, 9, 10, 11, 29, 30, 31, 69, 70, 71, 100]
  s = js.from_keras(k)
  np.testing.assert_allclose(
    np.asarray(s(np.array(steps)), np.float64), _keras_values(k, steps), rtol=2e-6
  )
  assert js.parse(repr(s)) == s


def test_bad_input():
  with pytest.raises(ValueError, match="'Nope'"):
    js.from_keras({"class_name": "Nope", "config": {}})
  with pytest.raises(ValueError, match="class_name"):
    js.from_keras({"config": {}})
  with pytest.raises(TypeError, match="LearningRateSchedule"):
    js.from_keras(0.1)
