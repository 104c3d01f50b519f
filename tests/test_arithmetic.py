"""Schedule arithmetic with ``+``/``-`` (``s + c``, ``c + s``, ``s - c``, ``c - s``, ``s1 + s2``,
``s1 - s2``, ``-s``): schedules with a config and a repr, refusing what they cannot mean, working
with optax and ``grad`` (README, "Composition").
"""

import json

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import jaxsched as js
from tests.reference import assert_rel


def test_addition_and_subtraction_are_schedules_with_config_and_repr():
  a, b = js.cosine(0.1, 100, end_value=1e-3), js.exponential(0.05, 0.97)
  t = np.array([0, 1, 49, 50, 51, 99, 100, 101, 5000])
  ca = 1e-3 + (0.1 - 1e-3) * 0.5 * (1 + np.cos(np.pi * np.minimum(t, 100) / 100))
  cb = 0.05 * 0.97 ** t.astype(np.float64)
  table = {  # name: (schedule, its two exact terms, family)
    "s + c": (a + 2e-4, (ca, 2e-4), "offset"),
    "c + s": (2e-4 + a, (ca, 2e-4), "offset"),
    "s - c": (a - 2e-4, (ca, -2e-4), "offset"),
    "c - s": (0.5 - a, (0.5, -ca), "offset"),
    "s1 + s2": (a + b, (ca, cb), "sum"),
    "s1 - s2": (a - b, (ca, -cb), "sum"),
    "-s": (-a, (-ca, 0.0), "scaled"),
  }
  for name, (s, (x, y), fam) in table.items():
    assert isinstance(s, js.Schedule) and s.family == fam, name
    # each term is within 1e-6 of its float64 value (README, "Numbers you can trust"); the float32
    # sum adds 2^-24 of it
    bound = 1e-6 * (np.abs(x) + np.abs(y)) + 2**-24 * np.abs(x + y)
    np.testing.assert_array_less(
      np.abs(np.asarray(s(t), np.float64) - (x + y)), bound + 1e-30, err_msg=name
    )
    back = js.from_config(json.loads(json.dumps(s.to_config())))
    assert back == s and repr(back) == repr(s), name
  assert repr(a - 2e-4).startswith("offset(schedule=cosine(") and "offset=-0.0002" in repr(a - 2e-4)
  assert repr(a + b) == f"sum(schedules=[{a!r}, {b!r}])"
  assert (a + 2e-4).to_config() == {"family": "offset", "schedule": a.to_config(), "offset": 0.0002}


def test_arithmetic_refuses_what_it_cannot_mean():
  s = js.cosine(0.1, 100)
  for bad in ("0.1", [0.1, 0.2], None, True):
    with pytest.raises(TypeError):
      s + bad
    with pytest.raises(TypeError):
      bad - s
  with pytest.raises(ValueError, match="offset must be finite"):
    s + float("inf")


def test_arithmetic_composes_with_optax_and_grad():
  s = 1e-3 + js.warmup(js.cosine(0.1, 90), 10) - js.constant(5e-4)
  g = {"w": jnp.ones(2)}
  tx = optax.sgd(s)
  state = tx.init(g)
  for k in range(12):
    updates, state = tx.update(g, state)
    assert_rel(-updates["w"][0], s(k), rtol=1e-6)
  grad = jax.grad(lambda c: (js.cosine(0.1, 100) + c)(7))(0.5)
  assert grad == 1.0
