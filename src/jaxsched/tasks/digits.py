"""scikit-learn's bundled digits (1,797 8×8 images, shipped inside its wheel: no download) as a
training task in the search protocol: an MLP classifier trained with Adam, scored by its
cross-entropy on a held-out validation split.

>>> import jax, jaxsched
>>> from jaxsched.tasks import digits
>>> task = digits.task()
>>> state = task.init(jaxsched.constant(1e-3), jax.random.key(0))
>>> state["params"]["w1"].shape
(64, 64)
>>> before = float(task.score(state, None))
>>> for step in range(20):
...   state = task.update(state, jaxsched.constant(1e-2), step)
>>> float(task.score(state, None)) < before
True
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax

__all__ = ["Task", "task", "load"]


def load(validation: int = 360, seed: int = 0) -> tuple[np.ndarray, ...]:
  """``(x_train, y_train, x_val, y_val)``: the digits scaled to [0, 1], split by a fixed shuffle."""
  try:
    from sklearn.datasets import load_digits
  except ImportError:
    raise ImportError(
      "jaxsched.tasks.digits needs scikit-learn (pip install 'jaxsched[test]' or scikit-learn)"
    ) from None
  images, labels = load_digits(return_X_y=True)
  x = np.asarray(images, np.float32) / 16.0
  y = np.asarray(labels, np.int32)
  order = np.random.default_rng(seed).permutation(len(y))
  x, y = x[order], y[order]
  return x[validation:], y[validation:], x[:validation], y[:validation]


@dataclasses.dataclass(frozen=True)
class Task:
  """The three protocol functions of one task, plus what describes it.

  ``init(schedule, key)`` draws the MLP's weights and Adam's state; ``update(state, schedule,
  step)`` is one Adam update on the minibatch that ``step`` selects (the training set is walked in
  a fixed shuffled order, so any setting can be replayed alone), with learning rate
  ``schedule(step)``; ``score(state, schedule)`` is the validation cross-entropy (lower is better).
  """

  init: Callable[[Any, jax.Array], Any]
  update: Callable[[Any, Any, jax.Array], Any]
  score: Callable[[Any, Any], jax.Array]
  accuracy: Callable[[Any], jax.Array]
  batch_size: int
  hidden: int


def task(hidden: int = 64, batch_size: int = 64, validation: int = 360, seed: int = 0) -> Task:
  """The digits MLP task (``hidden`` units, minibatches of ``batch_size``, ``validation`` held out)."""
  x_train, y_train, x_val, y_val = load(validation, seed)
  n = len(y_train)
  xs, ys = jnp.asarray(x_train), jnp.asarray(y_train)
  xv, yv = jnp.asarray(x_val), jnp.asarray(y_val)
  adam = optax.scale_by_adam()

  def logits(params, x):
    h = jnp.tanh(x @ params["w1"] + params["b1"])
    return h @ params["w2"] + params["b2"]

  def loss(params, x, y):
    return optax.softmax_cross_entropy_with_integer_labels(logits(params, x), y).mean()

  def init(schedule, key):
    del schedule  # every setting starts from the same weights
    k1, k2 = jax.random.split(key)
    params = {
      "w1": jax.random.normal(k1, (64, hidden)) / 8.0,
      "b1": jnp.zeros(hidden),
      "w2": jax.random.normal(k2, (hidden, 10)) / jnp.sqrt(hidden),
      "b2": jnp.zeros(10),
    }
    return {"params": params, "adam": adam.init(params)}

  def update(state, schedule, step):
    index = (step * batch_size + jnp.arange(batch_size)) % n
    grads = jax.grad(loss)(state["params"], xs[index], ys[index])
    direction, adam_state = adam.update(grads, state["adam"], state["params"])
    lr = jnp.asarray(schedule(step), jnp.float32)
    params = jax.tree.map(lambda p, d: p - lr * d, state["params"], direction)
    return {"params": params, "adam": adam_state}

  def score(state, schedule):
    del schedule
    return loss(state["params"], xv, yv)

  def accuracy(state):
    return jnp.mean(jnp.argmax(logits(state["params"], xv), -1) == yv)

  return Task(init, update, score, accuracy, batch_size, hidden)
