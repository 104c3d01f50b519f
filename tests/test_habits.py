"""Issue 9: the habits users bring from optax, torch, Flax and Keras just work.

dtypes on every optax path (against optax's own schedule), schedule arithmetic with ``+``/``-``,
torch's ``epochs``/``steps_per_epoch`` for ``one_cycle``, and reduce-on-plateau stepped once an
epoch with ``current_lr`` reporting the rate really used (also through Flax NNX).
"""
import contextlib
import json

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import jaxsched as js
from tests.reference import assert_rel


def _x64(on: bool):
  if not on:
    return contextlib.nullcontext()
  if hasattr(jax, "enable_x64"):
    return jax.enable_x64(True)
  from jax.experimental import enable_x64   # older JAX
  return enable_x64()


# --- 1. bf16/f16 parameters keep their dtype on every optax path ------------------------------------

PATHS = {
    "learning_rate=": lambda s: optax.adamw(s),
    "inject_hyperparams": lambda s: optax.inject_hyperparams(optax.adamw)(learning_rate=s),
    "scale_by_schedule": lambda s: optax.chain(optax.scale_by_adam(), optax.scale_by_schedule(s),
                                               optax.scale(-1.0)),
}


@pytest.mark.parametrize("x64", [False, True], ids=["x64_off", "x64_on"])
def test_update_dtype_matches_optax_schedule_on_every_path(x64):
  with _x64(x64):
    ours, theirs = js.cosine(1e-2, 100), optax.cosine_decay_schedule(1e-2, 100)
    value = ours(3)
    assert value.weak_type and value.dtype == (jnp.float64 if x64 else jnp.float32)
    for dtype in (jnp.bfloat16, jnp.float16, jnp.float32):
      params = {"w": jnp.linspace(-1, 1, 5).astype(dtype)}
      grads = {"w": jnp.linspace(0.5, 2, 5).astype(dtype)}
      for path, make in PATHS.items():
        results = []
        for schedule in (ours, theirs):
          tx = make(schedule)
          state = tx.init(params)
          for _ in range(2):
            updates, state = tx.update(grads, state, params)
          results.append(updates["w"])
        mine, optax_updates = results
        where = f"{path}, {jnp.dtype(dtype).name} params, x64={x64}"
        assert mine.dtype == optax_updates.dtype == dtype, where
        # The same numbers: the lr values agree to float32 rounding, the updates to 2 ulps of dtype.
        np.testing.assert_allclose(np.asarray(mine, np.float64),
                                   np.asarray(optax_updates, np.float64),
                                   rtol=2 * float(jnp.finfo(dtype).eps), err_msg=where)


def test_the_schedule_itself_keeps_float32_precision_with_bf16_around():
  s = js.exponential(0.1, 0.999)
  t = jnp.arange(0, 3000, 7)
  exact = 0.1 * 0.999 ** np.arange(0, 3000, 7, dtype=np.float64)
  assert_rel(s(t), exact, rtol=1e-6)                       # weak typing changed no number
  assert_rel(s(t.astype(jnp.bfloat16)[:10]), exact[:10], rtol=1e-6)   # bf16 steps become f32
  lr_times_bf16 = s(t) * jnp.ones((), jnp.bfloat16)
  assert lr_times_bf16.dtype == jnp.bfloat16                # as optax's python-float schedules


def test_inject_hyperparams_stores_the_rate_in_the_parameter_dtype_like_optax():
  params = {"w": jnp.ones(3, jnp.bfloat16)}
  for schedule in (js.cosine(1e-2, 100), optax.cosine_decay_schedule(1e-2, 100)):
    tx = optax.inject_hyperparams(optax.sgd)(learning_rate=schedule)
    state = tx.init(params)
    _, state = tx.update(params, state, params)
    assert js.current_lr(state).dtype == jnp.bfloat16
  # A float32 rate on bf16 parameters stays available the optax way: hyperparam_dtype.
  tx = optax.inject_hyperparams(optax.sgd, hyperparam_dtype=jnp.float32)(
      learning_rate=js.cosine(1e-2, 100))
  state = tx.init(params)
  assert js.current_lr(state).dtype == jnp.float32


def test_batched_and_jitted_values_are_weakly_typed_too():
  batch = js.stack([js.cosine(0.1, 100), js.cosine(0.2, 100)])
  assert batch(jnp.arange(4)).weak_type
  assert jax.jit(lambda s, t: s(t))(js.cosine(0.1, 100), 5).weak_type
  assert jax.vmap(js.cosine(0.1, 100))(jnp.arange(4)).weak_type


# --- 4. arithmetic: s + c, c + s, s - c, c - s, s1 + s2, s1 - s2 ------------------------------------

def test_addition_and_subtraction_are_schedules_with_config_and_repr():
  a, b = js.cosine(0.1, 100, end_value=1e-3), js.exponential(0.05, 0.97)
  t = np.array([0, 1, 49, 50, 51, 99, 100, 101, 5000])
  ca = 1e-3 + (0.1 - 1e-3) * 0.5 * (1 + np.cos(np.pi * np.minimum(t, 100) / 100))
  cb = 0.05 * 0.97 ** t.astype(np.float64)
  table = {   # name: (schedule, its two exact terms, family)
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
    # each term is within 1e-6 of its float64 value (SPEC §6); the float32 sum adds 2^-24 of it
    bound = 1e-6 * (np.abs(x) + np.abs(y)) + 2**-24 * np.abs(x + y)
    np.testing.assert_array_less(np.abs(np.asarray(s(t), np.float64) - (x + y)), bound + 1e-30,
                                 err_msg=name)
    back = js.from_config(json.loads(json.dumps(s.to_config())))
    assert back == s and repr(back) == repr(s), name
  assert repr(a - 2e-4).startswith("offset(schedule=cosine(") and "offset=-0.0002" in repr(a - 2e-4)
  assert repr(a + b) == f"sum(schedules=[{a!r}, {b!r}])"
  assert (a + 2e-4).to_config() == {"family": "offset", "schedule": a.to_config(),
                                    "offset": 0.0002}


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


# --- 5. one_cycle(max_value, epochs=E, steps_per_epoch=S) -------------------------------------------

def test_one_cycle_accepts_torchs_epochs_and_steps_per_epoch():
  by_epochs = js.one_cycle(0.1, epochs=7, steps_per_epoch=13, pct_start=0.25, three_phase=True)
  assert by_epochs == js.one_cycle(0.1, 91, pct_start=0.25, three_phase=True)
  assert by_epochs.to_config()["total_steps"] == 91
  assert js.one_cycle.__doc__ and "epochs" in js.one_cycle.__doc__
  assert js.FAMILIES["one_cycle"] is type(by_epochs)
  assert js.grid(js.one_cycle, {"max_value": [0.1, 0.2]}, epochs=2, steps_per_epoch=5
                 ).batch_shape == (2,)


def test_one_cycle_against_torch_with_epochs_and_steps_per_epoch():
  torch = pytest.importorskip("torch")
  w = torch.nn.Parameter(torch.zeros(1))
  opt = torch.optim.SGD([w], lr=0.1)
  sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.1, epochs=4, steps_per_epoch=25)
  lrs = []
  for _ in range(100):
    lrs.append(opt.param_groups[0]["lr"])
    opt.step()
    sched.step()
  assert_rel(js.one_cycle(0.1, epochs=4, steps_per_epoch=25)(np.arange(100)), lrs, rtol=1e-6)


@pytest.mark.parametrize("kwargs, words", [
    (dict(total_steps=100, epochs=4, steps_per_epoch=25), ["either total_steps", "not both"]),
    (dict(total_steps=100, epochs=4), ["not both"]),
    (dict(), ["either total_steps", "epochs and steps_per_epoch"]),
    (dict(epochs=4), ["epochs and steps_per_epoch", "steps_per_epoch=None"]),
    (dict(epochs=0, steps_per_epoch=25), ["epochs must be an integer >= 1", "got 0"]),
    (dict(epochs=4, steps_per_epoch=2.5), ["steps_per_epoch must be an integer >= 1"]),
    (dict(epochs=2**16, steps_per_epoch=2**16), ["epochs * steps_per_epoch", "2^31-1"]),
])
def test_one_cycle_length_errors_name_the_arguments(kwargs, words):
  with pytest.raises(ValueError) as e:
    js.one_cycle(0.1, **kwargs)
  for w in words:
    assert w in str(e.value), (w, str(e.value))


def test_one_cycle_epochs_types():
  assert js.one_cycle(0.1, epochs=4.0, steps_per_epoch=np.int64(25)) == js.one_cycle(0.1, 100)
  for bad in ("4", True, 4 + 0j):
    with pytest.raises(TypeError, match="one_cycle: epochs must be an integer >= 1"):
      js.one_cycle(0.1, epochs=bad, steps_per_epoch=25)
  with pytest.raises(ValueError, match="epochs must be an integer >= 1, got inf"):
    js.one_cycle(0.1, epochs=float("inf"), steps_per_epoch=25)


# --- 3. reduce_on_plateau once an epoch; current_lr is the rate really used --------------------------

GRADS = {"w": jnp.ones(3)}


def _epochs(tx, metrics, batches=4):
  """Each epoch: ``batches`` updates; the first of epochs > 0 carries the last validation loss."""
  state = tx.init(GRADS)
  used, lrs = [], []
  for epoch, metric in enumerate([None] + list(metrics)):
    for i in range(batches):
      extra = {"value": metric} if i == 0 and metric is not None else {}
      updates, state = tx.update(GRADS, state, GRADS, **extra)
      used.append(-float(updates["w"][0]))
      lrs.append(float(js.current_lr(state)))
  return state, np.array(used), np.array(lrs)


def test_plateau_once_an_epoch_matches_torch_and_current_lr_is_the_rate_used():
  schedule = js.constant(0.1)
  tx = optax.chain(optax.inject_hyperparams(optax.sgd)(learning_rate=schedule),
                   js.reduce_on_plateau(factor=0.5, patience=1))
  metrics = [1.0, 0.9, 0.95, 0.97, 0.99, 0.98, 1.2]
  state, used, lrs = _epochs(tx, metrics)
  # torch: lr per epoch after scheduler.step(val_loss) at the end of each epoch
  per_epoch = [0.1, 0.1, 0.1, 0.1, 0.05, 0.05, 0.025, 0.025]
  assert_rel(used, np.repeat(per_epoch, 4), rtol=1e-6)
  assert_rel(lrs, used, rtol=1e-6)                   # the rate the last update really used
  assert float(state[1].scale) == 0.25


def test_plateau_current_lr_multiplies_the_schedule_value_of_the_last_update():
  schedule = js.exponential(0.1, 0.9)
  tx = optax.chain(optax.inject_hyperparams(optax.sgd)(learning_rate=schedule),
                   js.reduce_on_plateau(factor=0.25, patience=0))
  state = tx.init(GRADS)
  _, state = tx.update(GRADS, state, value=1.0)
  _, state = tx.update(GRADS, state, value=2.0)       # a reduction: 0.25
  _, state = tx.update(GRADS, state)                  # no decision
  assert float(state[1].scale) == 0.25
  assert_rel(js.current_lr(state), 0.25 * float(schedule(2)), rtol=1e-6)
  # An update without value= leaves every counter as it was.
  before = state[1]
  _, state = tx.update(GRADS, state)
  for a, b in zip(jax.tree.leaves(before), jax.tree.leaves(state[1])):
    np.testing.assert_array_equal(a, b)


def test_plateau_before_an_adaptive_optimizer_is_not_a_rate_factor():
  tx = optax.chain(js.reduce_on_plateau(factor=0.5, patience=0),
                   optax.inject_hyperparams(optax.adam)(learning_rate=0.1))
  state = tx.init(GRADS)
  for v in (1.0, 2.0):
    _, state = tx.update(GRADS, state, GRADS, value=v)
  assert float(state[0].scale) == 0.5
  assert_rel(js.current_lr(state), 0.1, rtol=1e-6)


def test_current_lr_per_group_scales_only_its_own_group():
  body = optax.inject_hyperparams(optax.sgd)(learning_rate=0.1)
  head = optax.chain(optax.inject_hyperparams(optax.sgd)(learning_rate=0.01),
                     js.reduce_on_plateau(factor=0.5, patience=0))
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
  tx = optax.chain(optax.inject_hyperparams(optax.sgd)(learning_rate=schedule),
                   js.reduce_on_plateau(factor=0.5, patience=0))
  optimizer = nnx.Optimizer(model, tx, wrt=nnx.Param)
  grads = nnx.grad(lambda m: jnp.sum(m(jnp.ones((1, 2)))))(model)
  for v in (1.0, 2.0, None, None):
    optimizer.update(model, grads, **({} if v is None else {"value": v}))
  for lr in (js.current_lr(optimizer.opt_state), js.current_lr(optimizer)):
    assert isinstance(lr, jax.Array) and lr.shape == ()      # not an OptArray wrapper
    assert_rel(lr, 0.5 * float(schedule(3)), rtol=1e-6)
  # A Linen-style TrainState holds the same optax state: read it whole or by its opt_state.
  from flax.training import train_state
  ts = train_state.TrainState.create(apply_fn=None, params=GRADS, tx=tx)
  for v in (1.0, 2.0, None):       # TrainState.apply_gradients passes no value=: update by hand
    updates, opt_state = ts.tx.update(GRADS, ts.opt_state, ts.params,
                                      **({} if v is None else {"value": v}))
    ts = ts.replace(step=ts.step + 1, params=optax.apply_updates(ts.params, updates),
                    opt_state=opt_state)
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
      plateau.step([1.0, 2.0][k - 9])           # the second call reduces: lr halves ...
  ours = js.one_cycle(0.1, T)
  alone = np.asarray(ours(np.arange(T - 1)), np.float64)
  halved_once = np.where(np.arange(T - 1) == 11, 0.5, 1.0) * alone
  assert_rel(torch_lrs, halved_once, rtol=1e-6)  # ... and one batch later it is gone in torch
  tx = optax.chain(optax.inject_hyperparams(optax.sgd)(learning_rate=ours),
                   js.reduce_on_plateau(factor=0.5, patience=0))
  state, kept = tx.init(GRADS), []
  for k in range(T - 1):
    extra = {"value": [1.0, 2.0][k - 10]} if k in (10, 11) else {}
    _, state = tx.update(GRADS, state, **extra)
    kept.append(float(js.current_lr(state)))
  assert_rel(kept, np.where(np.arange(T - 1) >= 11, 0.5, 1.0) * alone, rtol=1e-6)
  assert "overwritten" in js.reduce_on_plateau.__doc__ and "OneCycleLR" in js.reduce_on_plateau.__doc__
