"""Search spaces (``jaxsched.spaces``; README, "Sweeps"): ``grid`` and ``sample`` over ``uniform``,
``log_uniform``, ``int_uniform`` and ``choice``; each setting equal to its factory's schedule."""

import jax
import numpy as np
import pytest

import jaxsched as js

# Reference values: single schedules, each through one jitted call (eager evaluation would compile
# every primitive of every formula separately, which is slow on CI).
_single = jax.jit(lambda schedule, t: schedule(t))


def _configs(batch):
  return [s.to_config() for s in js.unstack(batch)]


# --- grid -----------------------------------------------------------------------------------------


def test_grid_is_row_major_in_the_order_given():
  batch = js.grid(js.exponential, {"init_value": [0.1, 0.01], "gamma": [0.9, 0.99]})
  assert batch.batch_shape == (4,)
  expected = [js.exponential(a, g) for a in (0.1, 0.01) for g in (0.9, 0.99)]
  assert _configs(batch) == [s.to_config() for s in expected]
  t = np.arange(0, 50, 7)
  np.testing.assert_allclose(
    js.evaluate(batch, t), np.stack([_single(s, t) for s in expected]), rtol=1e-6
  )


def test_grid_fixed_arguments_and_bad_axes():
  batch = js.grid(js.cosine, {"steps": [10, 20, 30]}, init_value=0.5, end_value=0.1)
  assert [c["steps"] for c in _configs(batch)] == [10, 20, 30]
  assert {c["init_value"] for c in _configs(batch)} == {0.5}
  with pytest.raises(ValueError, match="both"):
    js.grid(js.cosine, {"steps": [10]}, steps=5, init_value=0.1)
  with pytest.raises(ValueError, match="empty"):
    js.grid(js.cosine, {"steps": []}, init_value=0.1)
  with pytest.raises(ValueError, match="steps"):  # construction still validates each value
    js.grid(js.cosine, {"steps": [10, -1]}, init_value=0.1)


def test_grid_keeps_double_precision():
  batch = js.grid(js.exponential, {"gamma": [0.9999999999, 0.5]}, init_value=1.0)
  assert _configs(batch)[0]["gamma"] == 0.9999999999


# --- sample ---------------------------------------------------------------------------------------


def test_sample_ranges_and_determinism():
  space = {
    "init_value": js.log_uniform(1e-4, 1e-1),
    "gamma": js.uniform(0.5, 0.99),
    "decay_steps": js.int_uniform(1, 3),
    "begin": js.choice([0, 10]),
  }
  a = js.sample(js.exponential, jax.random.key(0), 32, space)
  b = js.sample(js.exponential, jax.random.key(0), 32, space)
  c = js.sample(js.exponential, jax.random.key(1), 32, space)
  assert a.batch_shape == (32,)
  ca, cb, cc = _configs(a), _configs(b), _configs(c)
  assert ca == cb and ca != cc
  init = np.array([x["init_value"] for x in ca])
  gamma = np.array([x["gamma"] for x in ca])
  assert np.all((init >= 1e-4) & (init <= 1e-1)) and np.all((gamma >= 0.5) & (gamma < 0.99))
  assert init.min() < 1e-3 and init.max() > 1e-2  # spread over the decades, not linear
  assert {x["decay_steps"] for x in ca} == {1, 2, 3}
  assert {x["begin"] for x in ca} == {0, 10}
  assert (
    _configs(js.sample(js.exponential, 0, 3, {"gamma": js.uniform(0.5, 0.6)}, init_value=1.0))[0][
      "init_value"
    ]
    == 1.0
  )


@pytest.mark.parametrize(
  "make",
  [
    lambda: js.uniform(1.0, 1.0),
    lambda: js.uniform(2.0, 1.0),
    lambda: js.log_uniform(0.0, 1.0),
    lambda: js.log_uniform(-1.0, 1.0),
    lambda: js.uniform(0.0, float("inf")),
    lambda: js.int_uniform(3, 2),
    lambda: js.choice([]),
  ],
)
def test_bad_ranges_are_value_errors(make):
  with pytest.raises(ValueError):
    make()


def test_sample_bad_arguments():
  with pytest.raises(ValueError):
    js.sample(js.constant, 0, 0, {"value": js.uniform(0, 1)})
  with pytest.raises(TypeError):
    js.sample(js.constant, 0, 2, {"value": (0, 1)})
