"""Value dtypes on every optax path, against optax's own schedule: bf16/f16 parameters keep their
dtype under ``learning_rate=``, ``inject_hyperparams`` and ``scale_by_schedule``, with x64 off and
on; values are weakly typed (README, "Numbers you can trust") and keep float32 precision.
"""

import contextlib

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
  from jax.experimental import enable_x64  # older JAX

  return enable_x64()


PATHS = {
  "learning_rate=": lambda s: optax.adamw(s),
  "inject_hyperparams": lambda s: optax.inject_hyperparams(optax.adamw)(learning_rate=s),
  "scale_by_schedule": lambda s: optax.chain(
    optax.scale_by_adam(), optax.scale_by_schedule(s), optax.scale(-1.0)
  ),
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
        np.testing.assert_allclose(
          np.asarray(mine, np.float64),
          np.asarray(optax_updates, np.float64),
          rtol=2 * float(jnp.finfo(dtype).eps),
          err_msg=where,
        )


def test_the_schedule_itself_keeps_float32_precision_with_bf16_around():
  s = js.exponential(0.1, 0.999)
  t = jnp.arange(0, 3000, 7)
  exact = 0.1 * 0.999 ** np.arange(0, 3000, 7, dtype=np.float64)
  assert_rel(s(t), exact, rtol=1e-6)  # weak typing changed no number
  assert_rel(s(t.astype(jnp.bfloat16)[:10]), exact[:10], rtol=1e-6)  # bf16 steps become f32
  lr_times_bf16 = s(t) * jnp.ones((), jnp.bfloat16)
  assert lr_times_bf16.dtype == jnp.bfloat16  # as optax's python-float schedules


def test_inject_hyperparams_stores_the_rate_in_the_parameter_dtype_like_optax():
  params = {"w": jnp.ones(3, jnp.bfloat16)}
  for schedule in (js.cosine(1e-2, 100), optax.cosine_decay_schedule(1e-2, 100)):
    tx = optax.inject_hyperparams(optax.sgd)(learning_rate=schedule)
    state = tx.init(params)
    _, state = tx.update(params, state, params)
    assert js.current_lr(state).dtype == jnp.bfloat16
  # A float32 rate on bf16 parameters stays available the optax way: hyperparam_dtype.
  tx = optax.inject_hyperparams(optax.sgd, hyperparam_dtype=jnp.float32)(
    learning_rate=js.cosine(1e-2, 100)
  )
  state = tx.init(params)
  assert js.current_lr(state).dtype == jnp.float32


def test_batched_and_jitted_values_are_weakly_typed_too():
  batch = js.stack([js.cosine(0.1, 100), js.cosine(0.2, 100)])
  assert batch(jnp.arange(4)).weak_type
  assert jax.jit(lambda s, t: s(t))(js.cosine(0.1, 100), 5).weak_type
  assert jax.vmap(js.cosine(0.1, 100))(jnp.arange(4)).weak_type
