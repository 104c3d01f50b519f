"""``current_lr`` reports the rate really used: reduce-on-plateau stepped once an epoch (against
torch), the plateau scale times the schedule value of the last update, per parameter group, through
Flax NNX and a Linen ``TrainState``; torch's ``OneCycleLR`` overwrites a plateau reduction and
jaxsched keeps it.
"""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import jaxsched as js
from tests.reference import assert_rel

GRADS = {"w": jnp.ones(3)}


def _epochs(tx, metrics, batches=4):
  """Each epoch: ``batches`` updates; the first of epochs > 0 carries the last validation loss."""
  state = tx.init(GRADS)
  used, lrs = [], []
  for metric in [None] + list(metrics):
    for i in range(batches):
      extra = {"value": metric} if i == 0 and metric is not None else {}
      updates, state = tx.update(GRADS, state, GRADS, **extra)
      used.append(-float(updates["w"][0]))
      lrs.append(float(js.current_lr(state)))
  return state, np.array(used), np.array(lrs)


def test_plateau_once_an_epoch_matches_torch_and_current_lr_is_the_rate_used():
  schedule = js.constant(0.1)
  tx = optax.chain(
    optax.inject_hyperparams(optax.sgd)(learning_rate=schedule),
    js.reduce_on_plateau(factor=0.5, patience=1),
  )
  metrics = [1.0, 0.9, 0.95, 0.97, 0.99, 0.98, 1.2]
  state, used, lrs = _epochs(tx, metrics)
  # torch: lr per epoch after scheduler.step(val_loss) at the end of each epoch
  per_epoch = [0.1, 0.1, 0.1, 0.1, 0.05, 0.05, 0.025, 0.025]
  assert_rel(used, np.repeat(per_epoch, 4), rtol=1e-6)
  assert_rel(lrs, used, rtol=1e-6)  # the rate the last update really used
  assert float(state[1].scale) == 0.25


def test_plateau_current_lr_multiplies_the_schedule_value_of_the_last_update():
  schedule = js.exponential(0.1, 0.9)
  tx = optax.chain(
    optax.inject_hyperparams(optax.sgd)(learning_rate=schedule),
    js.reduce_on_plateau(factor=0.25, patience=0),
  )
  state = tx.init(GRADS)
  _, state = tx.update(GRADS, state, value=1.0)
  _, state = tx.update(GRADS, state, value=2.0)  # a reduction: 0.25
  _, state = tx.update(GRADS, state)  # no decision
  assert float(state[1].scale) == 0.25
  assert_rel(js.current_lr(state), 0.25 * float(schedule(2)), rtol=1e-6)
  # An update without value= leaves every counter as it was.
  before = state[1]
  _, state = tx.update(GRADS, state)
  for a, b in zip(jax.tree.leaves(before), jax.tree.leaves(state[1]), strict=True):
    np.testing.assert_array_equal(a, b)


def test_plateau_before_an_adaptive_optimizer_is_not_a_rate_factor():
  tx = optax.chain(
    js.reduce_on_plateau(factor=0.5, patience=0),
    optax.inject_hyperparams(optax.adam)(learning_rate=0.1),
  )
  state = tx.init(GRADS)
  for v in (1.0, 2.0):
    _, state = tx.update(GRADS, state, GRADS, value=v)
  assert float(state[0].scale) == 0.5
  assert_rel(js.current_lr(state), 0.1, rtol=1e-6)


def test_current_lr_per_group_scales_only_its_own_group():
  body = optax.inject_hyperparams(optax.sgd)(learning_rate=0.1)
  head = optax.chain(
    optax.inject_hyperparams(optax.sgd)(learning_rate=0.01),
    js.reduce_on_plateau(factor=0.5, patience=0),
  )
  tx = optax.multi_transform({"body": body, "head": head}, {"w": "body", "b": "head"})
  params = {"w": jnp.ones(2), "b": jnp.ones(())}
  state = tx.init(params)
  for v in (1.0, 2.0):
    _, state = tx.update(params, state, params, value=v)
  lrs = {("body" if "body" in k else "head"): float(v) for k, v in js.current_lr(state).items()}
  assert_rel([lrs["body"], lrs["head"]], [0.1, 0.005], rtol=1e-6)


def test_current_lr_reads_a_flax_nnx_optimizer():
  nnx = pytest.importorskip("flax.nnx")
  model = nnx.Linear(2, 1, rngs=nnx.Rngs(0))
  schedule = js.warmup(js.cosine(0.1, 20), 3)
  tx = optax.chain(
    optax.inject_hyperparams(optax.sgd)(learning_rate=schedule),
    js.reduce_on_plateau(factor=0.5, patience=0),
  )
  optimizer = nnx.Optimizer(model, tx, wrt=nnx.Param)
  grads = nnx.grad(lambda m: jnp.sum(m(jnp.ones((1, 2)))))(model)
  for v in (1.0, 2.0, None, None):
    optimizer.update(model, grads, **({} if v is None else {"value": v}))
  for lr in (js.current_lr(optimizer.opt_state), js.current_lr(optimizer)):
    assert isinstance(lr, jax.Array) and lr.shape == ()  # not an OptArray wrapper
    assert_rel(lr, 0.5 * float(schedule(3)), rtol=1e-6)
  # A Linen-style TrainState holds the same optax state: read it whole or by its opt_state.
  from flax.training import train_state

  ts = train_state.TrainState.create(apply_fn=None, params=GRADS, tx=tx)
  for v in (1.0, 2.0, None):  # TrainState.apply_gradients passes no value=: update by hand
    updates, opt_state = ts.tx.update(
      GRADS, ts.opt_state, ts.params, **({} if v is None else {"value": v})
    )
    ts = ts.replace(
      step=ts.step + 1, params=optax.apply_updates(ts.params, updates), opt_state=opt_state
    )
  assert_rel(js.current_lr(ts), 0.5 * float(schedule(2)), rtol=1e-6)
  assert_rel(js.current_lr(ts.opt_state), js.current_lr(ts), rtol=0)


def test_torch_one_cycle_overwrites_the_plateau_reduction_and_jaxsched_keeps_it():
  """The documented difference (plateau docstring, README): torch's OneCycleLR sets the lr from
  its own curve at every step, so ReduceLROnPlateau's reduction lasts one batch."""
  torch = pytest.importorskip("torch")
  T = 40
  w = torch.nn.Parameter(torch.zeros(1))
  opt = torch.optim.SGD([w], lr=0.1)
  cycle = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.1, total_steps=T)
  plateau = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, factor=0.5, patience=0)
  torch_lrs = []
  for k in range(T - 1):
    torch_lrs.append(opt.param_groups[0]["lr"])
    opt.step()
    cycle.step()
    if k in (9, 10):
      plateau.step([1.0, 2.0][k - 9])  # the second call reduces: lr halves ...
  ours = js.one_cycle(0.1, T)
  alone = np.asarray(ours(np.arange(T - 1)), np.float64)
  halved_once = np.where(np.arange(T - 1) == 11, 0.5, 1.0) * alone
  assert_rel(torch_lrs, halved_once, rtol=1e-6)  # ... and one batch later it is gone in torch
  tx = optax.chain(
    optax.inject_hyperparams(optax.sgd)(learning_rate=ours),
    js.reduce_on_plateau(factor=0.5, patience=0),
  )
  state, kept = tx.init(GRADS), []
  for k in range(T - 1):
    extra = {"value": [1.0, 2.0][k - 10]} if k in (10, 11) else {}
    _, state = tx.update(GRADS, state, **extra)
    kept.append(float(js.current_lr(state)))
  assert_rel(kept, np.where(np.arange(T - 1) >= 11, 0.5, 1.0) * alone, rtol=1e-6)
  assert (
    "overwritten" in js.reduce_on_plateau.__doc__ and "OneCycleLR" in js.reduce_on_plateau.__doc__
  )
