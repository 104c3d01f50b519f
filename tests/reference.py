"""Float64 NumPy closed forms of the families, written from the README's formulas, not jaxsched.

Steps arrive as int64 arrays (or float64 for fractional steps); every value is float64.
"""

import numpy as np


def _n(t, begin=0):
  return np.maximum(np.asarray(t) - begin, 0).astype(np.float64)


def _frac(t, begin, steps):
  n = _n(t, begin)
  if steps == 0:
    return (np.asarray(t) >= begin).astype(np.float64)
  return np.clip(n / steps, 0.0, 1.0)


def constant(t, value):
  return np.full(np.shape(t), float(value))


def exponential(t, init_value, gamma, decay_steps=1, begin=0, staircase=False, end_value=None):
  p = _n(t, begin) / decay_steps
  if staircase:
    p = np.floor(_n(t, begin) // decay_steps)
  v = init_value * np.power(gamma, p)
  if end_value is not None:
    v = np.maximum(v, end_value) if gamma < 1 else np.minimum(v, end_value)
  return v


def step(t, init_value, step_size, gamma):
  return init_value * np.power(gamma, (np.asarray(t) // step_size).astype(np.float64))


def multistep(t, init_value, milestones, gamma):
  k = np.sum(np.asarray(milestones)[None, :] <= np.asarray(t).reshape(-1, 1), axis=1)
  return (init_value * np.power(gamma, k.astype(np.float64))).reshape(np.shape(t))


def piecewise(t, boundaries, values):
  k = np.sum(np.asarray(boundaries)[None, :] <= np.asarray(t).reshape(-1, 1), axis=1)
  return np.asarray(values, np.float64)[k].reshape(np.shape(t))


def inverse_time(t, init_value, decay_rate, decay_steps=1, staircase=False):
  p = _n(t) / decay_steps
  if staircase:
    p = (np.asarray(t) // decay_steps).astype(np.float64)
  return init_value / (1.0 + decay_rate * p)


def inverse_sqrt(t, init_value, timescale, warmup_steps=0):
  t = np.asarray(t)
  tf = t.astype(np.float64)
  warm = init_value * tf / max(warmup_steps, 1)
  decay = init_value * np.sqrt(timescale / (tf - warmup_steps + timescale))
  return np.where(t < warmup_steps, warm, decay)


def linear(t, init_value, end_value, steps, begin=0):
  return init_value * _left(t, begin, steps) + end_value * _frac(t, begin, steps)


def polynomial(t, init_value, end_value, steps, power=1.0, begin=0, cycle=False):
  if cycle:
    n = _n(t, begin)
    horizon = steps * np.maximum(1.0, np.ceil(n / steps))
    p = n / horizon
    q = (horizon - n) / horizon
  else:
    p, q = _frac(t, begin, steps), _left(t, begin, steps)
  w = np.power(q, power)
  wc = np.where(q > 0.5, -np.expm1(power * np.log1p(-p)), 1 - w)
  return init_value * w + end_value * wc


def _left(t, begin, steps):
  """1 − p computed from integers, (steps − n)/steps: a float64 ``1 − p`` loses all digits at the
  end of a 2^31-step phase, and so would any reference built on it."""
  if steps == 0:
    return 1.0 - _frac(t, begin, steps)
  return (steps - np.clip(_n(t, begin), 0, steps)) / steps


def _cos_weights(p, q):
  """½(1 ± cos πp) via cos²(πp/2) = sin²(πq/2): the naive float64 form cancels near both ends."""
  c = np.where(p <= 0.5, np.cos(np.pi * p / 2) ** 2, np.sin(np.pi * q / 2) ** 2)
  cc = np.where(p <= 0.5, np.sin(np.pi * p / 2) ** 2, np.cos(np.pi * q / 2) ** 2)
  return c, cc


def cosine(t, init_value, steps, end_value=0.0, exponent=1.0, begin=0):
  c, cc = _cos_weights(_frac(t, begin, steps), _left(t, begin, steps))
  w = np.power(c, exponent)
  wc = np.where(c > 0.5, -np.expm1(exponent * np.log1p(-cc)), 1 - w)
  return init_value * w + end_value * wc


def warmup_cosine(
  t, peak_value, warmup_steps, total_steps, init_value=0.0, end_value=0.0, exponent=1.0
):
  t = np.asarray(t)
  warm = linear(t, init_value, peak_value, warmup_steps)
  decay = cosine(t, peak_value, total_steps - warmup_steps, end_value, exponent, begin=warmup_steps)
  return np.where(t < warmup_steps, warm, decay)


def assert_rel(got, ref, rtol=1e-6, tiny=1e-30):
  """Relative comparison where the float64 value is >= ``tiny``; below it, |got| must stay tiny."""
  got = np.asarray(got, np.float64)
  ref = np.asarray(ref, np.float64)
  assert got.shape == ref.shape, (got.shape, ref.shape)
  assert np.all(np.isfinite(got)), "non-finite value"
  big = np.abs(ref) >= tiny
  err = np.abs(got[big] - ref[big]) / np.abs(ref[big])
  if err.size:
    worst = int(np.argmax(err))
    assert err[worst] <= rtol, (
      f"relative error {err[worst]:.3g} > {rtol:g} at index "
      f"{np.flatnonzero(big)[worst]}: got {got[big][worst]!r}, "
      f"float64 {ref[big][worst]!r}"
    )
  assert np.all(np.abs(got[~big]) <= 10 * tiny)
