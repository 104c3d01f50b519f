"""The built-in task of ``jaxsched sweep``: a small MLP regression on synthetic data, made in code.

Nothing is downloaded. A fixed seed (NumPy's PCG64) draws the inputs, a random "teacher" network,
its label noise, the student's initial parameters (the same for every setting) and the
mini-batches; the student MLP is trained with mini-batch SGD with momentum,
``optax.inject_hyperparams(optax.sgd)(learning_rate=schedule, momentum=0.9)``, inside ``lax.scan``.
The mini-batches are the same for every setting (common random numbers), so settings differ only by
their schedule.

``make_run(steps)`` returns a pure ``run(schedule) -> {"loss": f32[steps], "lr": f32[steps]}``:
``loss[t]`` is the full training-set mean squared error after update ``t`` and ``lr[t]`` the learning
rate that update used (read back from the optax state). ``schedule`` is a ``jaxsched.Schedule`` or
any optax schedule (``count -> lr``). It is vmappable, so ``jaxsched.sweep`` runs a batch of
schedules in one compiled program, and the batch may mix families (``jaxsched.stack`` of schedules
of several structures): each vmapped setting is then a mixed schedule that evaluates as its own
member, so ``run`` needs no knowledge of families.
"""
from __future__ import annotations

from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

N_TRAIN = 512
N_FEATURES = 8
HIDDEN = 32
TEACHER_HIDDEN = 16
NOISE = 0.1
BATCH_SIZE = 8
MOMENTUM = 0.9

DESCRIPTION = (f"MLP {N_FEATURES}-{HIDDEN}-1 (tanh) regressing a random "
               f"{N_FEATURES}-{TEACHER_HIDDEN}-1 teacher on {N_TRAIN} synthetic points (noise sd "
               f"{NOISE}); SGD, momentum {MOMENTUM}, batch {BATCH_SIZE}; loss = training-set MSE")


class Task(NamedTuple):
  x: np.ndarray         # f32[N_TRAIN, N_FEATURES]
  y: np.ndarray         # f32[N_TRAIN]
  params: dict          # the student's initial parameters (the same for every setting)
  batches: np.ndarray   # i32[steps, BATCH_SIZE]: the mini-batch of each step


def _mlp_init(rng, d_in, hidden):
  return {"w1": rng.standard_normal((d_in, hidden), np.float32) / np.sqrt(d_in, dtype=np.float32),
          "b1": np.zeros(hidden, np.float32),
          "w2": rng.standard_normal(hidden, np.float32) / np.sqrt(hidden, dtype=np.float32),
          "b2": np.zeros((), np.float32)}


def _mlp(params, x):
  return jnp.tanh(x @ params["w1"] + params["b1"]) @ params["w2"] + params["b2"]


def make_task(steps: int, seed: int = 0) -> Task:
  """The synthetic data set, the student's initial parameters and the mini-batches, from ``seed``.

  Drawn with NumPy's PCG64 on the host (no device program to compile for the data).
  """
  rng = np.random.default_rng(seed)
  x = rng.standard_normal((N_TRAIN, N_FEATURES), np.float32)
  teacher = _mlp_init(rng, N_FEATURES, TEACHER_HIDDEN)
  teacher["w1"] *= 2.0                                     # a clearly non-linear target
  hidden = np.tanh(x @ teacher["w1"] + teacher["b1"])
  y = (hidden @ teacher["w2"] + NOISE * rng.standard_normal(N_TRAIN, np.float32)).astype(np.float32)
  params = _mlp_init(rng, N_FEATURES, HIDDEN)
  batches = rng.integers(0, N_TRAIN, (steps, BATCH_SIZE), dtype=np.int32)
  return Task(x, y, params, batches)


def _mse(params, x, y):
  return jnp.mean((_mlp(params, x) - y) ** 2)


def make_run(steps: int, *, seed: int = 0) -> Callable:
  """A pure, vmappable ``run(schedule) -> {"loss": f32[steps], "lr": f32[steps]}`` (see module doc)."""
  task = make_task(steps, seed)

  def run(schedule):
    x, y = jnp.asarray(task.x), jnp.asarray(task.y)
    params = jax.tree.map(jnp.asarray, task.params)
    opt = optax.inject_hyperparams(optax.sgd)(learning_rate=schedule, momentum=MOMENTUM)
    state = opt.init(params)

    def update(carry, batch):
      params, state = carry
      grads = jax.grad(_mse)(params, x[batch], y[batch])
      updates, state = opt.update(grads, state, params)
      params = optax.apply_updates(params, updates)
      lr = state.hyperparams["learning_rate"]          # the value this update used
      return (params, state), (_mse(params, x, y), lr)

    _, (loss, lr) = jax.lax.scan(update, (params, state), jnp.asarray(task.batches))
    return {"loss": loss, "lr": lr}

  return run
