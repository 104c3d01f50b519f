"""js.lr_range_test: the closed form (SGD on ½·Σ Lᵢ·wᵢ² diverges exactly past lr = 2/max L), the
ramp's schedule and smoothing, the parallel variant, plot() and bad arguments."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxsched as js
from jaxsched.search.range_test import ramp_divergence, smoothed_losses, steepest

L = jnp.array([1.0, 10.0, 100.0])
EDGE = 2 / 100.0  # SGD on ½·Σ Lᵢ·wᵢ² is stable exactly while lr < 2/max L
SIGMA = 0.1


def init(schedule, key):
  return {"w": jnp.ones(3), "key": key}


def update(state, schedule, step):
  noise = SIGMA * jax.random.normal(jax.random.fold_in(state["key"], step), (3,))
  grad = L * state["w"] + noise
  return {"w": state["w"] - schedule(step) * grad, "key": state["key"]}


def score(state, schedule):
  return 0.5 * jnp.sum(L * state["w"] ** 2)


@pytest.fixture(scope="module")
def ramp():
  return js.lr_range_test(init, update, score, steps=200)


def test_ramp_diverges_just_past_two_over_max_curvature(ramp):
  assert EDGE < ramp.diverged_at <= 4 * EDGE
  assert ramp.suggestion < EDGE
  assert ramp.suggestion < ramp.diverged_at


def test_ramp_rises_exponentially_from_min_to_max(ramp):
  lrs = ramp.lrs
  assert lrs.shape == ramp.losses.shape == ramp.smoothed.shape == (200,)
  want = 1e-7 * (10.0 / 1e-7) ** (np.arange(200) / 199)
  np.testing.assert_allclose(lrs, want, rtol=2e-6)
  assert ramp.start == pytest.approx(0.5 * 111.0)
  assert not ramp.parallel


def test_the_ramp_schedule_reaches_the_users_update():
  seen = []

  def record(state, schedule, step):
    return state + schedule(step)

  result = js.lr_range_test(
    lambda s, k: jnp.float32(0.0),
    record,
    lambda w, s: w,
    min_value=1e-3,
    max_value=1.0,
    steps=4,
  )
  seen = np.cumsum(1e-3 * 1000.0 ** (np.arange(4) / 3))
  np.testing.assert_allclose(result.losses, seen, rtol=1e-6)


def test_parallel_diverges_one_grid_step_past_the_edge_and_suggests_below_it():
  result = js.lr_range_test(init, update, score, steps=100, parallel=32)
  ratio = (10.0 / 1e-7) ** (1 / 31)
  assert result.parallel and result.lrs.shape == result.losses.shape == (32,)
  np.testing.assert_allclose(result.lrs, np.geomspace(1e-7, 10.0, 32), rtol=1e-6)
  assert EDGE < result.diverged_at <= EDGE * ratio
  assert result.suggestion < EDGE
  below = result.lrs < EDGE
  assert np.all(result.losses[below] <= result.start)


def test_smoothing_divergence_and_steepest_descent_rules():
  losses = np.array([4.0, 2.0, 1.0, 1.0, 5.0, np.nan])
  avg = smoothed_losses(losses, 0.5)
  np.testing.assert_allclose(avg[:5], [4.0, 3.0, 2.0, 1.5, 3.25])
  assert np.isnan(avg[5])
  assert ramp_divergence(avg, 2.0) == 4  # 3.25 > 2 × 1.5
  assert ramp_divergence(avg, 4.0) == 5  # not finite
  assert ramp_divergence(avg[:4], 4.0) is None
  lrs = np.geomspace(1e-3, 1.0, 6)
  assert steepest(lrs, np.array([5.0, 4.9, 3.0, 2.95, 2.9, 9.0]), 5) == pytest.approx(
    lrs[1], rel=1e-9
  )
  assert steepest(lrs, avg, 2) is None


def test_plot_returns_axes(ramp):
  pytest.importorskip("matplotlib")
  import matplotlib

  matplotlib.use("Agg")
  import matplotlib.pyplot as plt

  ax = ramp.plot()
  assert ax.get_xscale() == "log" and ax.get_lines()
  plt.close("all")


@pytest.mark.parametrize(
  "kwargs,error,match",
  [
    (dict(min_value=0.0), ValueError, "min_value"),
    (dict(min_value=1.0, max_value=0.5), ValueError, "min_value must be < max_value"),
    (dict(max_value=float("inf")), ValueError, "max_value"),
    (dict(max_value="1"), TypeError, "max_value"),
    (dict(steps=1), ValueError, "steps"),
    (dict(steps=2.5), TypeError, "steps"),
    (dict(parallel=1), ValueError, "parallel"),
    (dict(smooth=0.0), ValueError, "smooth"),
    (dict(smooth=1.5), ValueError, "smooth"),
    (dict(diverge=1.0), ValueError, "diverge"),
  ],
)
def test_bad_arguments_name_the_parameter(kwargs, error, match):
  with pytest.raises(error, match=match):
    js.lr_range_test(init, update, score, **kwargs)


def test_score_must_be_a_scalar():
  with pytest.raises(TypeError, match="scalar"):
    js.lr_range_test(init, update, lambda st, s: st["w"], steps=3)
