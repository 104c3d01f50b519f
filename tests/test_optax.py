"""A Schedule is an optax schedule: learning_rate=, inject_hyperparams, join_schedules,
scale_by_schedule, multi_transform; ``current_lr`` reads back schedule(count − 1)."""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import optax

import jaxsched as js


def _problem():
  params = {"w": jnp.ones((3,)), "b": jnp.zeros(())}
  x = jnp.linspace(-1, 1, 12).reshape(4, 3)
  y = jnp.array([1.0, -1.0, 0.5, 2.0])
  loss = lambda p: jnp.mean((x @ p["w"] + p["b"] - y) ** 2)
  return params, loss


def test_inject_hyperparams_adamw_in_a_jitted_step_and_current_lr():
  schedule = js.warmup_cosine(1e-2, 5, 40, init_value=1e-4, end_value=1e-5)
  opt = optax.inject_hyperparams(optax.adamw)(learning_rate=schedule, weight_decay=1e-4)
  params, loss = _problem()
  state = opt.init(params)
  np.testing.assert_allclose(js.current_lr(state), schedule(0), rtol=3e-7)

  @jax.jit
  @chex.assert_max_traces(n=1)  # new counts and lrs never retrace the step
  def train_step(params, state):
    grads = jax.grad(loss)(params)
    updates, state = opt.update(grads, state, params)
    return optax.apply_updates(params, updates), state

  first = loss(params)
  for k in range(1, 31):
    params, state = train_step(params, state)
    assert int(state.count) == k
    np.testing.assert_allclose(js.current_lr(state), schedule(k - 1), rtol=3e-7)
  assert loss(params) < first


def test_learning_rate_argument_and_scale_by_schedule_match_by_hand():
  schedule = js.exponential(0.1, 0.5)
  g = {"w": jnp.array([1.0, 2.0])}
  sgd = optax.sgd(schedule)
  chain = optax.chain(optax.scale_by_schedule(schedule), optax.scale(-1.0))
  s1, s2 = sgd.init(g), chain.init(g)
  for k in range(4):
    u1, s1 = sgd.update(g, s1)
    u2, s2 = chain.update(g, s2)
    np.testing.assert_allclose(u1["w"], -0.1 * 0.5**k * g["w"], rtol=3e-7)
    np.testing.assert_allclose(u2["w"], u1["w"], rtol=3e-7)


def test_optax_join_schedules_accepts_ours():
  joined = optax.join_schedules([js.linear(0.0, 0.1, 10), js.cosine(0.1, 90)], [10])
  ours = js.join([js.linear(0.0, 0.1, 10), js.cosine(0.1, 90)], [10])
  t = jnp.arange(0, 120)
  np.testing.assert_allclose(joined(t), ours(t), rtol=3e-7)


def test_current_lr_inside_chain_and_multi_transform():
  body = js.cosine(1e-3, 100)
  head = js.constant(1e-2)
  opt = optax.chain(
    optax.clip_by_global_norm(1.0),
    optax.multi_transform(
      {
        "body": optax.inject_hyperparams(optax.sgd)(learning_rate=body),
        "head": optax.inject_hyperparams(optax.adam)(learning_rate=head),
      },
      {"w": "body", "b": "head"},
    ),
  )
  params, loss = _problem()
  state = opt.init(params)
  for _ in range(3):
    updates, state = opt.update(jax.grad(loss)(params), state, params)
  lrs = js.current_lr(state)
  assert len(lrs) == 2
  by_label = {("body" if "body" in k else "head"): v for k, v in lrs.items()}
  np.testing.assert_allclose(by_label["body"], body(2), rtol=3e-7)
  np.testing.assert_allclose(by_label["head"], 1e-2, rtol=3e-7)


def test_current_lr_without_inject_hyperparams_is_a_clear_error():
  import pytest

  state = optax.adam(1e-3).init({"w": jnp.ones(2)})
  with pytest.raises(ValueError, match="inject_hyperparams"):
    js.current_lr(state)


def test_schedule_for_weight_decay_and_a_scan_training_loop():
  lr = js.warmup(js.cosine(1e-2, 50), 5)
  wd = js.linear(1e-4, 1e-2, 55)
  opt = optax.inject_hyperparams(optax.adamw)(learning_rate=lr, weight_decay=wd)
  params, loss = _problem()

  def step(carry, _):
    params, state = carry
    updates, state = opt.update(jax.grad(loss)(params), state, params)
    return (optax.apply_updates(params, updates), state), js.current_lr(state, "weight_decay")

  (params, state), wds = jax.lax.scan(step, (params, opt.init(params)), None, length=20)
  np.testing.assert_allclose(wds, wd(jnp.arange(20)), rtol=1e-6)
