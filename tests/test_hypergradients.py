"""Hypergradients: every family against finite differences (through ``grad`` of the schedule and of
``partition``'s params), gradients at an exponent or power of 1, each derivative counted once, an
optax step through ``partition``/``combine``, and the README's Hypergradients example.

References are float64 finite differences or worked by hand.
"""

import os
import re

import chex
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import jaxsched as js

evaluate = jax.jit(lambda s, t: s(t))


def _inverse_decay(t, base, rate):
  return base / (1 + rate * t)


def gradient_cases():
  """One schedule of every family, with the steps its gradients are checked at."""
  return {
    "constant": (lambda: js.constant(0.3), [0, 5]),
    "exponential": (lambda: js.exponential(0.3, 0.97, decay_steps=3, end_value=1e-3), [0, 7, 100]),
    "step": (lambda: js.step(0.3, 7, 0.8), [3, 20, 100]),
    "multistep": (lambda: js.multistep(0.3, [5, 20], 0.7), [3, 10, 30]),
    "piecewise": (lambda: js.piecewise([5, 20], [0.3, 0.2, 0.1]), [3, 10, 30]),
    "inverse_time": (lambda: js.inverse_time(0.3, 0.5, decay_steps=3), [1, 10, 100]),
    "inverse_sqrt": (lambda: js.inverse_sqrt(0.3, 20.0, warmup_steps=5), [2, 10, 100]),
    "linear": (lambda: js.linear(0.3, 0.01, 50, begin=3), [2, 10, 40]),
    "polynomial": (lambda: js.polynomial(0.3, 0.01, 50, power=1.0), [2, 10, 40]),
    "cosine": (lambda: js.cosine(0.3, 50, end_value=0.01, exponent=1.0), [2, 10, 40]),
    "warmup_cosine": (
      lambda: js.warmup_cosine(0.3, 5, 50, init_value=0.01, end_value=0.02, exponent=1.5),
      [2, 10, 40],
    ),
    "cosine_restarts": (
      lambda: js.cosine_restarts(0.3, 10, period_mult=1.5, decay=0.8, end_value=0.01),
      [3, 14, 30, 60],
    ),
    "one_cycle": (
      lambda: js.one_cycle(0.3, 100, pct_start=0.3, div_factor=20.0, final_div_factor=100.0),
      [5, 50, 80],
    ),
    "cyclic": (
      lambda: js.cyclic(0.01, 0.3, 5, step_size_down=7, mode="exp_range", gamma=0.98),
      [2, 8, 30],
    ),
    "wsd": (
      lambda: js.wsd(
        0.3, 5, 10, 20, init_value=0.01, end_value=0.02, warmup_shape="cosine", decay_shape="sqrt"
      ),
      [2, 10, 20, 30],
    ),
    "join": (lambda: js.join([js.linear(0.0, 0.3, 10), js.cosine(0.3, 50)], [10]), [5, 20]),
    "splice": (lambda: js.splice([js.linear(0.0, 0.3, 10), js.cosine(0.3, 50)], [10]), [5, 20]),
    "warmup": (
      lambda: js.warmup(js.exponential(0.3, 0.97), 10, init_value=0.01, shape="exponential"),
      [5, 20],
    ),
    "product": (lambda: js.step(0.3, 7, 0.8) * js.exponential(1.0, 0.99), [3, 20]),
    "clip": (
      lambda: js.clip(js.inverse_sqrt(0.3, 20.0), min_value=0.05, max_value=0.25),
      [0, 10, 1000],
    ),
    "per_epoch": (lambda: js.per_epoch(js.exponential(0.3, 0.9), 3, fractional=True), [4, 10]),
    "scaled": (lambda: js.cosine(0.3, 50) * 2.0, [10]),
    "sum": (lambda: js.cosine(0.3, 50) - js.linear(0.1, 0.0, 40), [10, 45]),
    "offset": (lambda: js.exponential(0.3, 0.97) + 0.01, [0, 20]),
    "shift": (lambda: js.shift(js.cosine(0.3, 50, end_value=0.01), 5), [3, 20]),
    "repeat": (lambda: js.repeat(js.linear(0.3, 0.01, 20), 20), [5, 33]),
    "custom": (lambda: js.custom(_inverse_decay, base=0.3, rate=0.5), [1, 10, 100]),
  }


def test_every_family_has_a_gradient_case():
  # jaxsched's own families (a user's family, from another test file, registers too)
  builtin = {n for n, c in js.FAMILIES.items() if c.__module__.startswith("jaxsched.")}
  assert set(gradient_cases()) == builtin


@pytest.mark.parametrize("name", sorted(gradient_cases()))
def test_gradients_match_finite_differences_x64(name):
  """d/d(each real hyperparameter), once per field, through both routes (grad w.r.t. the schedule
  and w.r.t. ``partition``'s params), against central differences of freshly built schedules."""
  build, steps = gradient_cases()[name]
  with jax.enable_x64(True):
    s = build()
    t = jnp.asarray(steps, jnp.int64)
    params, rest = js.partition(s)
    g_params = jax.grad(lambda p: js.combine(p, rest)(t).sum())(params)
    g_tree = jax.grad(lambda s: s(t).sum(), allow_int=True)(s)
    chex.assert_trees_all_close(js.partition(g_tree)[0], g_params, rtol=1e-9, atol=1e-12)
    leaves, treedef = jax.tree.flatten(params)
    got = jax.tree.leaves(g_params)
    for k, (leaf, g) in enumerate(zip(leaves, got, strict=True)):
      leaf = np.asarray(leaf, np.float64)
      for j in np.ndindex(leaf.shape):
        h = 1e-6 * max(abs(float(leaf[j])), 1e-3)

        def at(d):
          moved = [np.asarray(x, np.float64).copy() for x in leaves]
          moved[k][j] += d
          return float(np.sum(js.combine(jax.tree.unflatten(treedef, moved), rest)(t)))

        fd = (at(h) - at(-h)) / (2 * h)
        np.testing.assert_allclose(
          np.asarray(g)[j], fd, rtol=2e-5, atol=1e-9, err_msg=f"{name}: field {k} index {j}"
        )


def test_gradient_at_exponent_and_power_one_is_not_zero():
  # d/dk of 0.1·0.5^k at k = 1 (step 50 of 100): 0.1·0.5·ln 0.5, worked by hand.
  want = 0.1 * 0.5 * np.log(0.5)
  for s in [js.polynomial(0.1, 0.0, 100, power=1.0), js.cosine(0.1, 100, exponent=1.0)]:
    g = jax.grad(lambda s: s(50), allow_int=True)(s)
    field = "power" if s.family == "polynomial" else "exponent"
    np.testing.assert_allclose(getattr(g, field), want, rtol=1e-5)


def test_gradients_count_once():
  s = js.exponential(0.1, 0.99)
  g = jax.grad(lambda s: s(100), allow_int=True)(s)
  np.testing.assert_allclose(g.gamma, 0.1 * 100 * 0.99**99, rtol=1e-5)
  np.testing.assert_allclose(g.init_value, 0.99**100, rtol=1e-5)
  # the private leaves get nothing, so an update counts each derivative once
  assert all(
    float(jnp.abs(x).max()) == 0
    for x in jax.tree.leaves((g._lo, g._derived))
    if jnp.issubdtype(x.dtype, jnp.floating)
  )
  assert g.to_config()["gamma"] == pytest.approx(0.1 * 100 * 0.99**99, rel=1e-5)


def test_optax_step_through_partition_equals_a_fresh_schedule():
  for s, fresh in [
    (
      js.exponential(0.1, 0.99, decay_steps=3),
      lambda p: js.exponential(p["init_value"], p["gamma"], decay_steps=3),
    ),
    (
      js.warmup(js.cosine_restarts(0.1, 10, period_mult=1.5, decay=0.9), 5, init_value=0.01),
      lambda p: js.warmup(
        js.cosine_restarts(
          p["schedule"]["init_value"],
          10,
          period_mult=p["schedule"]["period_mult"],
          decay=p["schedule"]["decay"],
          end_value=p["schedule"]["end_value"],
        ),
        5,
        init_value=p["init_value"],
      ),
    ),
  ]:
    params, rest = js.partition(s)
    opt = optax.adam(1e-2)
    state = opt.init(params)
    grads = jax.grad(lambda p: js.combine(p, rest)(jnp.arange(40)).sum())(params)
    updates, state = opt.update(grads, state, params)
    new = optax.apply_updates(params, updates)
    combined = js.combine(new, rest)
    built = fresh(new)
    assert combined == built
    chex.assert_trees_all_equal(combined, built)  # derived leaves too: re-derived
    assert combined != s
    # under jit the constants are re-derived on the device: same values to float32 rounding
    t = jnp.arange(0, 2000, 7)
    jitted = jax.jit(js.combine)(new, rest)
    # (README, "Numbers you can trust": where the end value has crossed zero the bound is
    # 2^-24·max|endpoint| absolute)
    bound = 2.0**-23 * max(abs(float(x)) for x in jax.tree.leaves(new))
    chex.assert_trees_all_close(evaluate(jitted, t), evaluate(built, t), rtol=2e-6, atol=bound)
  # unchanged values keep the user's exact double
  s = js.exponential(0.1, 0.999999, decay_steps=3)
  assert js.combine(*js.partition(s)) == s
  assert s.replace(gamma=0.5) == js.exponential(0.1, 0.5, decay_steps=3)


def one_of_each():
  return [build() for build, _ in gradient_cases().values()]


def test_docs_hypergradient_step_runs():
  path = os.path.join(os.path.dirname(__file__), "..", "docs", "hypergradients.md")
  code = re.search(r"^# Hypergradients.*?```python\n(.*?)```", open(path).read(), re.S).group(1)
  namespace = {}
  exec(compile(code, "docs/hypergradients.md", "exec"), namespace)
  assert isinstance(namespace["schedule"], js.Schedule)
