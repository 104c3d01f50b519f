"""The main job of ``jaxsched sweep``: the task it trains (a small MLP regression on synthetic data,
made in code) and the grid of settings it trains it under (``build_grid``).

Task and grid are one module because they are one experiment: the grid's peak learning rates
(``LR_RANGE``) and its shape hyperparameters (warmups, decay lengths tied to the run length) are
chosen for this task's optimizer (SGD with momentum 0.9) and run length, and every user of one
(the CLI, the benchmarks) uses the other. It was ``jaxsched._demo`` (the task) plus the grid
functions of ``jaxsched.cli``; the CLI now only reads arguments, calls these and reports.

The task. Nothing is downloaded. A fixed seed (NumPy's PCG64) draws the inputs, a random "teacher"
network, its label noise, the student's initial parameters (the same for every setting) and the
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

``protocol(steps)`` is the same task in the search protocol of ``jaxsched.halving``, ``pbt`` and
``lr_range_test``: ``init(schedule, key)``, ``update(state, schedule, step)`` (one SGD-with-momentum
update on the mini-batch of global step ``step``, with learning rate ``schedule(step)``) and
``score(state, schedule)`` (the full training-set MSE). Trained for ``steps`` updates it gives
``make_run``'s final loss; the searches run on it (``jaxsched sweep --search``, ``jaxsched lr-find``).

The grid. ``build_grid(settings, steps)`` spreads ``settings`` over eleven families (``plan``; ten
for runs under 4 steps), each with its shape variants, and gives each variant log-spaced peak
learning rates in ``LR_RANGE``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, NamedTuple, cast

import jax
import jax.numpy as jnp
import numpy as np
import optax

import jaxsched

DEFAULT_SETTINGS = 96  # jaxsched sweep --settings
DEFAULT_STEPS = 200  # jaxsched sweep --steps
LR_RANGE = (0.01, 0.3)  # peak learning rates, log-spaced (SGD with momentum 0.9)

N_TRAIN = 512
N_FEATURES = 8
HIDDEN = 32
TEACHER_HIDDEN = 16
NOISE = 0.1
BATCH_SIZE = 8
MOMENTUM = 0.9

DESCRIPTION = (
  f"MLP {N_FEATURES}-{HIDDEN}-1 (tanh) regressing a random "
  f"{N_FEATURES}-{TEACHER_HIDDEN}-1 teacher on {N_TRAIN} synthetic points (noise sd "
  f"{NOISE}); SGD, momentum {MOMENTUM}, batch {BATCH_SIZE}; loss = training-set MSE"
)


class Task(NamedTuple):
  x: np.ndarray  # f32[N_TRAIN, N_FEATURES]
  y: np.ndarray  # f32[N_TRAIN]
  params: dict  # the student's initial parameters (the same for every setting)
  batches: np.ndarray  # i32[steps, BATCH_SIZE]: the mini-batch of each step


def _mlp_init(rng, d_in, hidden):
  return {
    "w1": rng.standard_normal((d_in, hidden), np.float32) / np.sqrt(d_in, dtype=np.float32),
    "b1": np.zeros(hidden, np.float32),
    "w2": rng.standard_normal(hidden, np.float32) / np.sqrt(hidden, dtype=np.float32),
    "b2": np.zeros((), np.float32),
  }


def _mlp(params, x):
  return jnp.tanh(x @ params["w1"] + params["b1"]) @ params["w2"] + params["b2"]


def make_task(steps: int, seed: int = 0) -> Task:
  """The synthetic data set, the student's initial parameters and the mini-batches, from ``seed``.

  Drawn with NumPy's PCG64 on the host (no device program to compile for the data).
  """
  rng = np.random.default_rng(seed)
  x = rng.standard_normal((N_TRAIN, N_FEATURES), np.float32)
  teacher = _mlp_init(rng, N_FEATURES, TEACHER_HIDDEN)
  teacher["w1"] *= 2.0  # a clearly non-linear target
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
      lr = cast(Any, state).hyperparams["learning_rate"]  # the value this update used
      return (params, state), (_mse(params, x, y), lr)

    _, (loss, lr) = jax.lax.scan(update, (params, state), jnp.asarray(task.batches))
    return {"loss": loss, "lr": lr}

  return run


class Protocol(NamedTuple):
  """The main job's task in the search protocol (see ``protocol``)."""

  init: Callable[[Any, Any], Any]
  update: Callable[[Any, Any, Any], Any]
  score: Callable[[Any, Any], Any]


def protocol(steps: int, *, seed: int = 0) -> Protocol:
  """The task of ``make_run(steps, seed=seed)`` as ``init``, ``update`` and ``score``.

  ``init(schedule, key)``: the student's initial parameters (drawn from ``seed``, the same for
  every setting and key: the key is not used) and an empty momentum buffer. ``update(state,
  schedule, step)``: one update of SGD with momentum ``MOMENTUM`` (optax's ``trace`` and
  ``-lr * trace``, as ``optax.sgd`` computes it) on the mini-batch of step ``step`` (steps past
  ``steps`` wrap around), with learning rate ``schedule(step)``, which is what
  ``optax.inject_hyperparams`` uses at that update. ``score(state, schedule)``: the full
  training-set mean squared error, ``make_run``'s ``loss``.

  >>> task = protocol(20)
  >>> state = task.init(jaxsched.constant(0.1), jax.random.key(0))
  >>> state = task.update(state, jaxsched.constant(0.1), 0)
  >>> bool(task.score(state, jaxsched.constant(0.1)) > 0)
  True
  """
  data = make_task(steps, seed)
  trace = optax.trace(decay=MOMENTUM)
  x, y = jnp.asarray(data.x), jnp.asarray(data.y)
  batches = jnp.asarray(data.batches)
  params0 = jax.tree.map(jnp.asarray, data.params)

  def init(schedule, key):
    del schedule, key  # every setting starts from the same parameters
    return {"params": params0, "trace": trace.init(params0)}

  def update(state, schedule, step):
    step = jnp.asarray(step, jnp.int32)
    batch = batches[step % batches.shape[0]]
    grads = jax.grad(_mse)(state["params"], x[batch], y[batch])
    direction, trace_state = trace.update(grads, state["trace"])
    lr = jnp.asarray(schedule(step), jnp.float32)
    updates = jax.tree.map(lambda d: -lr * d, direction)
    return {"params": optax.apply_updates(state["params"], updates), "trace": trace_state}

  def score(state, schedule):
    del schedule
    return _mse(state["params"], x, y)

  return Protocol(init, update, score)


# --- the grid -------------------------------------------------------------------------------------


def plan(steps: int):
  """(family, [variant(lr) -> Schedule]) for the main job: each family's shape hyperparameters,
  tied to the run length ``steps``; the peak learning rate is the swept axis."""
  T = steps
  q = max(T // 20, 1)  # a short warmup (one step at least; never longer than the run)
  q2 = min(2 * q, T)
  js = jaxsched
  families = [
    ("constant", [lambda lr: js.constant(lr)]),
    (
      "step",
      [lambda lr: js.step(lr, max(T // 4, 1), 0.5), lambda lr: js.step(lr, max(T // 10, 1), 0.7)],
    ),
    (
      "exponential",
      [
        lambda lr: js.exponential(lr, 0.01 ** (1 / T)),
        lambda lr: js.exponential(lr, 0.1 ** (1 / T)),
      ],
    ),
    (
      "inverse_time",
      [lambda lr: js.inverse_time(lr, 10 / T), lambda lr: js.inverse_time(lr, 100 / T)],
    ),
    (
      "inverse_sqrt",
      [
        lambda lr: js.inverse_sqrt(lr, T / 20, warmup_steps=q),
        lambda lr: js.inverse_sqrt(lr, T / 5, warmup_steps=q),
      ],
    ),
    ("linear", [lambda lr: js.linear(lr, 0.0, T), lambda lr: js.linear(lr, lr / 10, T)]),
    (
      "polynomial",
      [lambda lr: js.polynomial(lr, 0.0, T, 2.0), lambda lr: js.polynomial(lr, 0.0, T, 0.5)],
    ),
    ("cosine", [lambda lr: js.cosine(lr, T), lambda lr: js.cosine(lr, T, end_value=lr / 10)]),
    (
      "warmup_cosine",
      [
        lambda lr: js.warmup_cosine(lr, q, T),
        lambda lr: js.warmup_cosine(lr, q2, T, end_value=lr / 10),
      ],
    ),
  ]
  w, d = q, max(T // 5, 1)
  families.append(
    (
      "wsd",
      [
        lambda lr: js.wsd(lr, w, max(T - w - d, 0), d),
        lambda lr: js.wsd(lr, w, max(T - w - 2 * d, 0), min(2 * d, T - w)),
      ],
    )
  )
  if T >= 4:  # pct_start·T − 1 must leave the warmup phase a step or more
    families.append(
      ("one_cycle", [lambda lr: js.one_cycle(lr, T), lambda lr: js.one_cycle(lr, T, pct_start=0.1)])
    )
  return families


def learning_rates(n: int) -> list[float]:
  """``n`` peak learning rates, log-spaced over ``LR_RANGE`` (one: its geometric middle)."""
  lo, hi = LR_RANGE
  if n == 0:
    return []
  if n == 1:
    return [math.sqrt(lo * hi)]
  return np.geomspace(lo, hi, n).tolist()


def build_grid(settings: int, steps: int):
  """The main job's settings: ``settings`` spread as evenly as possible over the families (earlier
  families get the remainder), and within a family over its shape variants; each variant gets
  log-spaced peak learning rates in ``LR_RANGE``. Returns ``[(family, [schedules])]``, empty
  families left out."""
  families = plan(steps)
  groups = []
  for i, (name, variants) in enumerate(families):
    k = share(settings, len(families), i)
    schedules = [
      variant(lr)
      for j, variant in enumerate(variants)
      for lr in learning_rates(share(k, len(variants), j))
    ]
    if schedules:
      groups.append((name, schedules))
  return groups


def share(total: int, parts: int, i: int) -> int:
  """Part ``i`` of ``total`` split into ``parts`` near-equal whole parts, larger ones first."""
  return total // parts + (i < total % parts)
