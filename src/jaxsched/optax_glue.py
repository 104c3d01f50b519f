"""Optax glue: reading back the learning rate a schedule gave, and recipes.

A ``Schedule`` is already an optax schedule (a callable ``count -> value``), so it goes straight into
``learning_rate=``, ``optax.inject_hyperparams``, ``optax.join_schedules`` and
``optax.scale_by_schedule``. Recipes (README "Optax recipes" shows them in full):

- per-parameter-group schedules: ``optax.multi_transform({"body": optax.adamw(s1), "head":
  optax.adamw(s2)}, labels)`` or ``optax.partition``;
- any hyperparameter on a schedule: ``optax.inject_hyperparams(optax.adamw)(learning_rate=s,
  weight_decay=jaxsched.cosine(1e-2, T))``, or momentum via ``optax.sgd``'s ``momentum``;
- epoch-based stepping: ``jaxsched.per_epoch(schedule, steps_per_epoch)``.
"""

from __future__ import annotations

import numbers
from typing import Any

import jax
import numpy as np
from jax.typing import ArrayLike
from optax import InjectHyperparamsState

from jaxsched.plateau import ReduceOnPlateauState

try:  # optax >= 0.2.3 also has a stateful variant with the same ``hyperparams`` dict
  from optax import InjectStatefulHyperparamsState

  _INJECT_STATES = (InjectHyperparamsState, InjectStatefulHyperparamsState)
except ImportError:  # pragma: no cover
  _INJECT_STATES = (InjectHyperparamsState,)


def _is_inject_state(x) -> bool:
  return isinstance(x, _INJECT_STATES)


def current_lr(opt_state: Any, name: str = "learning_rate") -> ArrayLike | dict[str, ArrayLike]:
  """The learning rate the *last* update really used, read from an ``optax.inject_hyperparams``
  state wherever it sits, times the scale of every ``reduce_on_plateau`` that follows it.

  After ``k`` updates the inject state's ``count`` is ``k`` and its value is ``schedule(k − 1)``
  (``schedule(0)`` straight after ``init``). A ``jaxsched.reduce_on_plateau`` placed *after* the
  optimizer in the same ``optax.chain`` (at any nesting) multiplied that update by its
  ``state.scale``, so the rate returned is ``schedule(k − 1)·scale``; a plateau placed *before* an
  adaptive optimizer is not a learning-rate factor (Adam normalises it away) and is not counted.

  ``opt_state`` may be any pytree holding the state: an ``optax.chain`` /
  ``multi_transform``/``partition`` / ``MultiSteps`` state, a Flax ``TrainState``, an NNX
  ``nnx.Optimizer`` or its ``opt_state`` (NNX ``OptArray`` wrappers are unwrapped to the array).
  One match returns its value; several (one per ``multi_transform`` group) return a dict keyed by
  the path to each, e.g. ``{"inner_states['head']": 0.01, ...}``. ``name`` picks another
  hyperparameter (``"weight_decay"``); plateau scales apply to ``learning_rate`` only.

  Formula: after ``k`` updates, ``current_lr(state) = schedule(max(k − 1, 0))·∏ scale`` over the
  ``reduce_on_plateau`` states that follow the optimizer.

  Peer equivalents: optax's ``state.hyperparams["learning_rate"]`` (this finds it, and applies the
  plateau scales); torch's ``optimizer.param_groups[0]["lr"]`` read *before*
  ``scheduler.step()`` (torch's ``get_last_lr()`` after the step is already the next update's
  rate, ``schedule(k)``); Keras's ``optimizer.learning_rate``.

  Args:
    opt_state: the optimizer state (or any pytree holding it) to search for
      ``optax.inject_hyperparams`` states.
    name: the injected hyperparameter to read; ``"learning_rate"`` by default.

  Returns:
    The value (a scalar array; a batch for a stacked state), or a dict of them keyed by path when
    several inject states hold ``name``. Raises ``ValueError`` when none does.

  >>> import jax.numpy as jnp, optax, jaxsched
  >>> sgd = optax.inject_hyperparams(optax.sgd)(learning_rate=jaxsched.exponential(0.1, 0.5))
  >>> tx = optax.chain(sgd, jaxsched.reduce_on_plateau(factor=0.5, patience=0))
  >>> params = {"w": jnp.zeros(())}
  >>> state = tx.init(params)
  >>> print(f"{float(jaxsched.current_lr(state)):.6f}")       # schedule(0) before any update
  0.100000
  >>> for loss in [1.0, 1.0]:                  # the second loss does not improve: scale 0.5
  ...   updates, state = tx.update({"w": jnp.ones(())}, state, params, value=loss)
  >>> print(f"{float(jaxsched.current_lr(state)):.6f}")       # schedule(1)·0.5
  0.025000
  >>> print(f"{float(-updates['w']):.6f}")                    # the rate the last update used
  0.025000
  """
  nodes = jax.tree_util.tree_flatten_with_path(opt_state, is_leaf=_is_state)[0]
  plateaus = [(path, node) for path, node in nodes if isinstance(node, ReduceOnPlateauState)]
  found = {}
  for path, node in nodes:
    if _is_inject_state(node) and name in node.hyperparams:
      value = _unwrap(node.hyperparams[name])
      if name == "learning_rate":
        for plateau_path, plateau in plateaus:
          if _follows(plateau_path, path):
            value = value * _unwrap(plateau.scale)
      found[jax.tree_util.keystr(path)] = value
  if not found:
    raise ValueError(
      f"no optax.inject_hyperparams state holding {name!r} in this optimizer state; "
      f"wrap the optimizer: optax.inject_hyperparams(optax.adamw)(learning_rate=...)"
    )
  if len(found) == 1:
    return next(iter(found.values()))
  return found


def _is_state(x) -> bool:
  return _is_inject_state(x) or isinstance(x, ReduceOnPlateauState)


def _follows(plateau_path, path) -> bool:
  """Whether a plateau state at ``plateau_path`` sits in an ``optax.chain`` state (a tuple) after
  the element that holds the inject state at ``path``: then it scaled that optimizer's updates."""
  if not plateau_path or not isinstance(plateau_path[-1], jax.tree_util.SequenceKey):
    return False
  depth = len(plateau_path) - 1
  if len(path) <= depth or tuple(path[:depth]) != tuple(plateau_path[:depth]):
    return False
  key = path[depth]
  return isinstance(key, jax.tree_util.SequenceKey) and key.idx < plateau_path[-1].idx


def _unwrap(x: Any) -> Any:
  """An array held in a wrapper pytree (NNX ``OptArray``/``Variable``, a Flax box) as the array."""
  if isinstance(x, (jax.Array, np.ndarray, numbers.Number)):
    return x
  leaves = jax.tree.leaves(x)
  return leaves[0] if len(leaves) == 1 else x
