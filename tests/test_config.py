"""Config round trips through JSON, repr, ==, arithmetic, and the bad-input table (``BAD``)."""

import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxsched as js
from tests.cases import CASES

COMPOSITES = [
  js.join([js.linear(0.0, 0.1, 10), js.cosine(0.1, 90, end_value=1e-5)], [10]),
  js.splice([js.linear(0.0, 0.1, 10), js.cosine(0.1, 90, end_value=1e-5)], [10]),
  js.warmup(js.exponential(0.1, 0.99), 7, init_value=1e-3, shape="exponential"),
  js.product(js.step(0.1, 30, 0.1), js.exponential(1.0, 0.999)),
  js.clip(js.inverse_sqrt(0.3, 100.0), min_value=1e-3, max_value=0.1),
  js.per_epoch(js.inverse_sqrt(0.1, 1.0), 390, fractional=True),
  js.cosine(0.1, 100) * 2.0,
  js.cosine(0.1, 100) / 3.0,
  js.cosine(0.1, 100) + 1e-4,  # offset
  0.2 - js.linear(0.0, 0.1, 50),  # offset(scaled)
  js.cosine(0.1, 100) - js.constant(1e-3),  # sum
  js.cosine_restarts(0.1, 10, period_mult=1.5, decay=0.9, end_value=1e-4, max_cycles=3),
  js.one_cycle(0.3, 1000, pct_start=0.25, anneal="linear", three_phase=True),
  js.cyclic(1e-3, 1e-2, 20, step_size_down=35, mode="exp_range", gamma=0.999),
  js.wsd(
    3e-4, 10, 100, 50, init_value=3e-5, end_value=3e-6, warmup_shape="sqrt", decay_shape="cosine"
  ),
  js.shift(js.cosine(0.1, 100), 25),
  js.repeat(js.linear(0.1, 0.0, 10), 12),
]


def _all_schedules():
  return [c["factory"](**c["kwargs"]) for c in CASES] + COMPOSITES


@pytest.mark.parametrize("s", _all_schedules(), ids=lambda s: s.family)
def test_config_round_trip_through_json(s):
  config = s.to_config()
  text = json.dumps(config)
  back = js.from_config(json.loads(text))
  assert back == s
  assert type(back) is type(s)
  t = np.array([0, 1, 9, 10, 11, 500, 2**31 - 1])
  np.testing.assert_array_equal(back(t), s(t))


def test_every_registered_family_has_a_round_trip_case():
  # jaxsched's own families (users' families from other test files register too); custom holds a
  # function and has no config (tests/test_extension.py)
  builtin = {n for n, c in js.FAMILIES.items() if c.__module__.startswith("jaxsched.")}
  assert {s.family for s in _all_schedules()} == builtin - {"custom"}


def test_config_keeps_the_users_decimal():
  s = js.exponential(0.1, 0.999999, decay_steps=3, staircase=True)
  assert s.to_config() == {
    "family": "exponential",
    "init_value": 0.1,
    "gamma": 0.999999,
    "decay_steps": 3,
    "begin": 0,
    "staircase": True,
    "end_value": None,
  }
  assert repr(s) == (
    "exponential(init_value=0.1, gamma=0.999999, decay_steps=3, begin=0, "
    "staircase=True, end_value=None)"
  )


def test_equality_compares_hyperparameters():
  assert js.cosine(0.1, 100) == js.cosine(0.1, 100)
  assert js.cosine(0.1, 100) != js.cosine(0.1, 101)
  assert js.cosine(0.1, 100) != js.cosine(0.1 + 1e-12, 100)  # kept by the lo word
  assert js.linear(0.1, 0.0, 10) != js.cosine(0.1, 10)


def test_arithmetic():
  a, b = js.cosine(0.1, 100), js.exponential(1.0, 0.99)
  t = np.arange(0, 120, 7)
  np.testing.assert_allclose((a * 3)(t), 3 * a(t), rtol=3e-7)
  np.testing.assert_allclose((3 * a)(t), 3 * a(t), rtol=3e-7)
  np.testing.assert_allclose((a / 4)(t), a(t) / 4, rtol=3e-7)
  np.testing.assert_allclose((a * b)(t), a(t) * b(t), rtol=1e-6)
  with pytest.raises(ValueError, match="zero"):
    a / 0


@pytest.mark.parametrize(
  "config,match",
  [
    ({"family": "nope"}, "unknown family 'nope'"),
    ({"family": "cosine", "init_value": 0.1, "steps": 10, "warmup": 3}, "unknown field 'warmup'"),
    ({"init_value": 0.1}, "'family'"),
    ({"family": "join", "schedules": [{"family": "bogus"}], "boundaries": []}, "bogus"),
  ],
)
def test_from_config_rejects_unknown_names(config, match):
  with pytest.raises(ValueError, match=match):
    js.from_config(config)


BAD = [
  (lambda: js.step(0.1, 0, 0.5), ValueError, "step_size must be >= 1"),
  (lambda: js.step(0.1, -3, 0.5), ValueError, r"step_size must be an integer in \[0, 2\^31-1\]"),
  (lambda: js.step(0.1, 2.5, 0.5), ValueError, "step_size must be a non-negative integer"),
  (lambda: js.step(0.1, "10", 0.5), TypeError, "step_size"),
  (lambda: js.step(0.1, 2**31, 0.5), ValueError, "step_size must be an integer in"),
  (lambda: js.exponential(0.1, 0.9, decay_steps=0), ValueError, "decay_steps must be >= 1"),
  (lambda: js.exponential(0.1, 0.0), ValueError, "gamma must be > 0"),
  (lambda: js.exponential(0.1, -0.5), ValueError, "gamma must be > 0"),
  (lambda: js.exponential(float("nan"), 0.9), ValueError, "init_value must be finite"),
  (lambda: js.cosine(float("inf"), 10), ValueError, "init_value must be finite"),
  (lambda: js.cosine(1e39, 10), ValueError, "init_value must be finite"),
  (lambda: js.cosine("0.1", 10), TypeError, "init_value must be a real number"),
  (lambda: js.multistep(0.1, [30, 20], 0.1), ValueError, "milestones must be sorted"),
  (lambda: js.piecewise([10, 5], [1.0, 0.5, 0.1]), ValueError, "boundaries must be sorted"),
  (lambda: js.piecewise([10, 20], [1.0, 0.5]), ValueError, r"len\(values\) must be"),
  (lambda: js.piecewise(10, [1.0, 0.5]), ValueError, "boundaries must be a 1-D sequence"),
  (lambda: js.exponential(0.1, 0.9, staircase="yes"), TypeError, "staircase must be one of"),
  (lambda: js.warmup(js.constant(0.1), 10, shape="quadratic"), ValueError, "shape must be one of"),
  (lambda: js.warmup(js.constant(0.1), 10, shape="exponential"), ValueError, "cannot start from 0"),
  (lambda: js.warmup_cosine(0.1, 200, 100), ValueError, "warmup_steps must be <= total_steps"),
  (lambda: js.polynomial(0.1, 0.0, 0, cycle=True), ValueError, "steps must be >= 1 when cycle"),
  (lambda: js.polynomial(0.1, 0.0, 10, power=0.0), ValueError, "power must be > 0"),
  (lambda: js.inverse_time(0.1, -1.0), ValueError, "decay_rate must be >= 0"),
  (lambda: js.inverse_sqrt(0.1, 0.0), ValueError, "timescale must be > 0"),
  (lambda: js.per_epoch(js.constant(0.1), 0), ValueError, "steps_per_epoch must be >= 1"),
  (
    lambda: js.join([js.constant(1.0), js.constant(2.0)], [1, 2]),
    ValueError,
    r"len\(boundaries\) must be",
  ),
  (lambda: js.join([js.constant(1.0), 2.0], [1]), TypeError, "must hold jaxsched.Schedule"),
  (
    lambda: js.clip(js.constant(1.0), min_value=2.0, max_value=1.0),
    ValueError,
    "min_value must be <= max_value",
  ),
  (lambda: js.linear(0.1, 0.0, True), TypeError, "steps"),
]


@pytest.mark.parametrize("build,error,match", BAD, ids=[m for _, _, m in BAD])
def test_bad_input_raises_at_construction_naming_the_parameter(build, error, match):
  with pytest.raises(error, match=match):
    build()


def test_checked_mode_catches_traced_bad_values():
  @jax.jit
  def f(gamma, steps):
    return js.checked(js.exponential(0.1, gamma, decay_steps=steps), jnp.arange(4))

  err, out = f(jnp.float32(0.9), jnp.int32(2))
  assert err.get() is None
  np.testing.assert_allclose(out, 0.1 * 0.9 ** (np.arange(4) / 2), rtol=1e-6)
  err, out = f(jnp.float32(-0.9), jnp.int32(2))
  assert "gamma must be > 0" in err.get()
  err, out = f(jnp.float32(0.9), jnp.int32(0))
  assert "decay_steps must be >= 1" in err.get()
  assert np.all(np.isfinite(out))  # and even unchecked, a zero-length step gives no NaN/inf
