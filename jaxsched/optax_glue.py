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

import jax
from optax import InjectHyperparamsState

try:  # optax >= 0.2.3 also has a stateful variant with the same ``hyperparams`` dict
  from optax import InjectStatefulHyperparamsState
  _INJECT_STATES = (InjectHyperparamsState, InjectStatefulHyperparamsState)
except ImportError:  # pragma: no cover
  _INJECT_STATES = (InjectHyperparamsState,)


def _is_inject_state(x) -> bool:
  return isinstance(x, _INJECT_STATES)


def current_lr(opt_state, name: str = "learning_rate"):
  """The learning rate held in an ``optax.inject_hyperparams`` state, wherever it sits.

  It is the value the *last* update used: after ``k`` updates the state's ``count`` is ``k`` and the
  value is ``schedule(k − 1)`` (``schedule(0)`` straight after ``init``). The state may be nested in
  ``optax.chain``, ``optax.multi_transform``/``partition``, ``MultiSteps`` or any pytree. One match
  returns its value; several (one per ``multi_transform`` group) return a dict keyed by the path to
  each, e.g. ``{"inner_states['head']": 0.01, ...}``. ``name`` picks another hyperparameter.
  """
  found = {}
  leaves = jax.tree_util.tree_flatten_with_path(opt_state, is_leaf=_is_inject_state)[0]
  for path, node in leaves:
    if _is_inject_state(node) and name in node.hyperparams:
      found[jax.tree_util.keystr(path)] = node.hyperparams[name]
  if not found:
    raise ValueError(f"no optax.inject_hyperparams state holding {name!r} in this optimizer state; "
                     f"wrap the optimizer: optax.inject_hyperparams(optax.adamw)(learning_rate=...)")
  if len(found) == 1:
    return next(iter(found.values()))
  return found
