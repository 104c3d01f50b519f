"""The built-in task of ``jaxsched sweep``: a small MLP regression on synthetic data, made in code.

Nothing is downloaded. A fixed PRNG seed draws the inputs, a random "teacher" network and its label
noise; a student MLP (same init for every setting) is trained with mini-batch SGD with momentum,
``optax.inject_hyperparams(optax.sgd)(learning_rate=schedule, momentum=0.9)``, inside ``lax.scan``.
The mini-batches are the same for every setting (common random numbers), so settings differ only by
their schedule.

``make_run(steps)`` returns a pure ``run(schedule) -> {"loss": f32[steps], "lr": f32[steps]}``:
``loss[t]`` is the full training-set mean squared error after update ``t`` and ``lr[t]`` the learning
rate that update used (read back from the optax state). It is vmappable, so ``jaxsched.sweep`` runs a
batch of schedules in one compiled program.
"""
from __future__ import annotations

from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp
import optax

N_TRAIN = 512
N_FEATURES = 8
HIDDEN = 32
TEACHER_HIDDEN = 16
NOISE = 0.1
BATCH_SIZE = 32
MOMENTUM = 0.9

DESCRIPTION = (f"MLP {N_FEATURES}-{HIDDEN}-1 (tanh) regressing a random {N_FEATURES}-{TEACHER_HIDDEN}-1 "
               f"teacher on {N_TRAIN} synthetic points (noise sd {NOISE}); SGD, momentum "
               f"{MOMENTUM}, batch {BATCH_SIZE}; loss = training-set MSE")


class Task(NamedTuple):
  x: jax.Array          # f32[N_TRAIN, N_FEATURES]
  y: jax.Array          # f32[N_TRAIN]
  params: dict          # the student's initial parameters (the same for every setting)
  key: jax.Array        # mini-batch key


def _mlp_init(key, d_in, hidden):
  k1, k2 = jax.random.split(key)
  return {"w1": jax.random.normal(k1, (d_in, hidden)) / jnp.sqrt(d_in),
          "b1": jnp.zeros(hidden),
          "w2": jax.random.normal(k2, (hidden,)) / jnp.sqrt(hidden),
          "b2": jnp.zeros(())}


def _mlp(params, x):
  return jnp.tanh(x @ params["w1"] + params["b1"]) @ params["w2"] + params["b2"]


def make_task(seed: int = 0) -> Task:
  """The synthetic data set and the student's initial parameters, all from ``seed``."""
  k_x, k_teacher, k_noise, k_init, k_batch = jax.random.split(jax.random.key(seed), 5)
  x = jax.random.normal(k_x, (N_TRAIN, N_FEATURES))
  teacher = _mlp_init(k_teacher, N_FEATURES, TEACHER_HIDDEN)
  teacher["w1"] = teacher["w1"] * 2.0                      # a clearly non-linear target
  y = _mlp(teacher, x) + NOISE * jax.random.normal(k_noise, (N_TRAIN,))
  return Task(x, y, _mlp_init(k_init, N_FEATURES, HIDDEN), k_batch)


def _mse(params, x, y):
  return jnp.mean((_mlp(params, x) - y) ** 2)


def make_run(steps: int, *, seed: int = 0) -> Callable:
  """A pure, vmappable ``run(schedule) -> {"loss": f32[steps], "lr": f32[steps]}`` (see module doc)."""
  task = make_task(seed)

  def run(schedule):
    opt = optax.inject_hyperparams(optax.sgd)(learning_rate=schedule, momentum=MOMENTUM)
    state = opt.init(task.params)

    def update(carry, t):
      params, state = carry
      batch = jax.random.randint(jax.random.fold_in(task.key, t), (BATCH_SIZE,), 0, N_TRAIN)
      grads = jax.grad(_mse)(params, task.x[batch], task.y[batch])
      updates, state = opt.update(grads, state, params)
      params = optax.apply_updates(params, updates)
      lr = state.hyperparams["learning_rate"]          # the value this update used
      return (params, state), (_mse(params, task.x, task.y), lr)

    _, (loss, lr) = jax.lax.scan(update, (task.params, state), jnp.arange(steps))
    return {"loss": loss, "lr": lr}

  return run
