"""``reduce_on_plateau``: torch ``ReduceLROnPlateau`` as an optax transformation."""

from __future__ import annotations

import numbers
from typing import Any, NamedTuple, cast

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax.typing import ArrayLike

from jaxsched import _convert, _df

_INT32_MAX = 2**31 - 1


class PlateauHyperparams(NamedTuple):
  """The configuration as leaves, so that states of differently configured transformations stack
  (``jax.tree.map(jnp.stack, ...)``) and vmap together. Modes are folded into numbers: a metric
  ``a`` improves on ``best`` when ``sign·a < sign·best·rel − abs``."""

  sign: jax.Array  # float32: +1 for mode="min", −1 for mode="max"
  rel: jax.Array  # 1 − threshold (min, rel), 1 + threshold (max, rel), 1 (abs) ...
  rel_lo: jax.Array  # ... as a float32 pair (hi, lo), from the double
  abs: jax.Array  # threshold (abs), 0 (rel), as a float32 pair
  abs_lo: jax.Array
  factor: jax.Array  # float32
  min_scale: jax.Array  # float32
  eps: jax.Array  # float32
  patience: jax.Array  # int32
  cooldown: jax.Array  # int32
  accumulation_steps: jax.Array  # int32


class ReduceOnPlateauState(NamedTuple):
  """The state of ``jaxsched.reduce_on_plateau``: torch ``ReduceLROnPlateau``'s counters as arrays.

  Fixed dtypes (int32 counters, float32 values), so updates never recompile, and states stack
  and vmap (``jax.tree.map(jnp.stack, ...)``). Formula: the learning rate in force is
  ``schedule(count − 1)·scale`` (what ``jaxsched.current_lr`` reports); torch's equivalent is
  ``scheduler.state_dict()`` (``best``, ``num_bad_epochs``, ``cooldown_counter``, and
  ``_last_lr`` for a base lr of 1), optax's is ``optax.contrib.ReduceLROnPlateauState``.

  Attributes:
    scale: float32, the factor applied to the updates: 1.0 at the start, times ``factor`` at each
      reduction, never below ``min_scale``.
    best: float32, the best (averaged) metric so far; ``+inf`` (``mode="min"``) or ``-inf``
      (``mode="max"``) before the first.
    num_bad: int32, torch's ``num_bad_epochs``: decisions since the last improvement.
    cooldown_counter: int32, torch's ``cooldown_counter``: decisions left in the cooldown.
    count: int32, metrics gathered toward the next decision (below ``accumulation_steps``).
    accumulated: float32, the sum of those metrics.
    hparams: the configuration as leaves (``PlateauHyperparams``), so differently configured
      states share one program.

  >>> import jax.numpy as jnp, jaxsched
  >>> state = jaxsched.reduce_on_plateau(factor=0.5).init({"w": jnp.zeros(3)})
  >>> float(state.scale), float(state.best), int(state.num_bad)
  (1.0, inf, 0)
  """

  scale: jax.Array
  best: jax.Array
  num_bad: jax.Array
  cooldown_counter: jax.Array
  # optax's own plateau state names this field ``count`` too (it shadows tuple.count, as there)
  count: jax.Array  # pyright: ignore[reportIncompatibleMethodOverride]
  accumulated: jax.Array
  hparams: PlateauHyperparams


def _number(name, x, *, integer=False):
  """A concrete scalar through the library's one validation path (``jaxsched._convert``): no
  bools, strings or complex numbers; finite and within float32; counts whole and in int32."""
  if integer:
    return int(_convert.host_count("reduce_on_plateau", name, x, what="an integer"))
  return float(_convert.host_real("reduce_on_plateau", name, x, dtype=np.float32))


def reduce_on_plateau(
  factor: float = 0.1,
  patience: int = 10,
  *,
  mode: str = "min",
  threshold: float = 1e-4,
  threshold_mode: str = "rel",
  cooldown: int = 0,
  min_scale: float = 0.0,
  accumulation_steps: int = 1,
  eps: float = 0.0,
) -> optax.GradientTransformationExtraArgs:
  """Scales the updates by ``factor`` when a metric stops improving: torch ``ReduceLROnPlateau``.

  ``update(updates, state, params=None, *, value=None)``. A call *with* ``value=`` (a real scalar
  metric, or an array of shape ``()``/``(1,)``; anything else is an error naming ``value``) is one
  torch ``scheduler.step(metric)``; with ``accumulation_steps=k`` the mean of every ``k`` such
  metrics is one step. A call *without* ``value=`` (the other batches of an epoch) decides nothing:
  it only multiplies the updates by the current scale. So torch's most common pattern, a decision
  once an epoch on a validation loss, is one chained optimizer::

      tx = optax.chain(optax.inject_hyperparams(optax.sgd)(learning_rate=schedule),
                       jaxsched.reduce_on_plateau(factor=0.5, patience=5))
      for epoch in range(epochs):
        for i, batch in enumerate(batches):
          extra = {"value": val_loss} if i == 0 and epoch > 0 else {}      # one decision
          updates, state = tx.update(grads(params, batch), state, params, **extra)
          params = optax.apply_updates(params, updates)
        val_loss = validate(params)
      jaxsched.current_lr(state)     # schedule(count − 1) · scale: the rate the last update used

  Passing epoch ``e``'s validation loss with the first update of epoch ``e + 1`` makes the decision
  govern exactly the updates that torch's ``scheduler.step(val_loss)`` at the end of epoch ``e``
  governs: all of epoch ``e + 1``.

  Each decision follows torch:

  - it improves when ``a < best·(1 − threshold)`` (``mode="min"``, ``threshold_mode="rel"``),
    ``a < best − threshold`` (min, abs), ``a > best·(1 + threshold)`` (max, rel),
    ``a > best + threshold`` (max, abs); then ``best = a`` and the bad count restarts at 0, else it
    grows by one;
  - during a cooldown the cooldown counter drops by one and the bad count is reset;
  - when the bad count exceeds ``patience`` the scale becomes ``max(scale·factor, min_scale)``
    (never raised), the cooldown restarts at ``cooldown`` and the bad count at 0.

  The updates of the same call are multiplied by the scale after that decision (as optax's
  ``contrib.reduce_on_plateau`` does); ``state.scale`` is the current value, so the scale sequence
  equals torch's ``get_last_lr()`` after each ``step`` for a base lr of 1.

  Combine it with a schedule, after the optimizer in the chain: the product of both is the step
  size, and ``jaxsched.current_lr(state)`` reports that product (``state[1].scale`` alone is the
  plateau factor in force).

  torch ``OneCycleLR`` + ``ReduceLROnPlateau`` on one optimizer is not this product: both write
  the optimizer's lr, and ``OneCycleLR.step()`` sets it from its own curve on the very next batch,
  so torch's reduction lasts one batch and is then overwritten (only a schedule that multiplies the
  current lr, such as ``ExponentialLR``, keeps it). Here the plateau factor multiplies
  ``one_cycle``'s value and is kept for the rest of the run, which is what the combination is
  meant to do. To reproduce torch's numbers exactly, use the one-cycle schedule alone.

  Negative metrics behave exactly as in torch: ``rel`` scales ``best`` by ``1 ∓ threshold`` with no
  ``abs()``, so for a negative ``best`` the bar lies on the wrong side of it — in ``mode="min"`` a
  slightly *worse* value (``best < a < best·(1 − threshold)``) counts as an improvement, and a flat
  negative metric never plateaus (torch issues #38622, #47513). Use ``threshold_mode="abs"`` for
  metrics that can be negative (log-likelihoods, ELBOs, rewards): it is sign-independent.
  optax's ``contrib.reduce_on_plateau`` is not torch's: it reduces when the bad count *reaches*
  ``patience`` (one decision earlier than torch, which waits until it exceeds it), folds ``rtol``
  and ``atol`` into one bar ``(1 − rtol)·best − atol`` (so it shares torch's negative-``best`` flaw;
  its open PR 1767 makes the margin sign-aware, which would then differ from torch), has no
  ``mode="max"`` and no ``eps``. Here every rule is torch's, so the scale sequence equals torch's lr
  sequence for improving, stalling, negative and ``mode="max"`` metrics alike.

  ``eps`` is torch's: a reduction that would lower the scale by no more than ``eps`` is skipped
  (the cooldown still restarts). torch's default ``eps=1e-8`` is in lr units, so it is
  ``eps=1e-8/base_lr`` here; the default 0 never skips a reduction.

  Keras's ``callbacks.ReduceLROnPlateau(factor=f, patience=p, min_delta=d, min_lr=m)`` reduces
  on the ``p``-th bad epoch in a row where torch waits for the ``p + 1``-th: it is close to
  ``reduce_on_plateau(f, p − 1, threshold=d, threshold_mode="abs", min_scale=m/lr)`` (the
  cooldowns count slightly differently).

  The configuration travels in ``state.hparams``: states from transformations with different
  settings (but the same modes' *structure* — all are numbers) can be stacked and passed to one
  ``jax.vmap(tx.update)``.

  Formula, per decision on the metric ``a`` (torch's rule):
  ``scale ← max(scale·factor, min_scale)`` when ``num_bad > patience`` outside a cooldown, where
  ``num_bad`` counts the decisions in a row with ``a`` not better than ``best·(1 ∓ threshold)``
  (rel) or ``best ∓ threshold`` (abs); the updates are multiplied by ``scale``.

  Args:
    factor: the multiplier of the scale at each reduction, in ``[0, 1)`` (torch's ``factor``).
    patience: how many decisions without improvement are tolerated; the next one reduces
      (torch's ``patience``, an integer ``>= 0``).
    mode: ``"min"`` (a lower metric is better, e.g. a loss) or ``"max"`` (e.g. an accuracy).
    threshold: the margin a metric must beat ``best`` by to count as an improvement: relative
      (``threshold_mode="rel"``, in ``[0, 1)`` for ``mode="min"``) or absolute (``"abs"``).
    threshold_mode: ``"rel"`` (the bar is ``best·(1 ∓ threshold)``) or ``"abs"``
      (``best ∓ threshold``).
    cooldown: decisions to wait after a reduction before counting bad ones again.
    min_scale: the lowest scale (torch's ``min_lr`` divided by the base lr), ``>= 0``.
    accumulation_steps: how many ``value=`` calls are averaged into one decision (``>= 1``).
    eps: a reduction that lowers the scale by no more than ``eps`` is skipped (torch's ``eps``
      divided by the base lr), ``>= 0``.

  Returns:
    An ``optax.GradientTransformationExtraArgs`` whose state is a ``ReduceOnPlateauState``.

  A loss that stalls after the second epoch, with ``patience=1``: the third epoch without
  improvement halves the scale, as torch's ``get_last_lr()`` does for a base lr of 1.

  >>> import jax, jax.numpy as jnp, jaxsched
  >>> tx = jaxsched.reduce_on_plateau(factor=0.5, patience=1)
  >>> state = tx.init({"w": jnp.zeros(())})
  >>> update = jax.jit(tx.update)          # one compile for every decision
  >>> scales = []
  >>> for loss in [1.0, 0.9, 0.9, 0.9, 0.9, 0.9]:
  ...   updates, state = update({"w": jnp.ones(())}, state, value=loss)
  ...   scales.append(float(state.scale))
  >>> scales
  [1.0, 1.0, 1.0, 0.5, 0.5, 0.25]
  >>> float(updates["w"])                  # the updates carry the scale
  0.25
  """
  mode = _convert.static_flag("reduce_on_plateau", "mode", mode, ("min", "max"))
  threshold_mode = _convert.static_flag(
    "reduce_on_plateau", "threshold_mode", threshold_mode, ("rel", "abs")
  )
  factor = _number("factor", factor)
  if not 0 <= factor < 1:
    raise ValueError(f"reduce_on_plateau: factor must be in [0, 1), got {factor!r}")
  threshold = _number("threshold", threshold)
  if threshold < 0 or (mode == "min" and threshold_mode == "rel" and threshold >= 1):
    allowed = "in [0, 1)" if mode == "min" and threshold_mode == "rel" else ">= 0"
    raise ValueError(f"reduce_on_plateau: threshold must be {allowed}, got {threshold!r}")
  min_scale = _number("min_scale", min_scale)
  eps = _number("eps", eps)
  for name, x in (("min_scale", min_scale), ("eps", eps)):
    if x < 0:
      raise ValueError(f"reduce_on_plateau: {name} must be >= 0, got {x!r}")
  counts = {}
  for name, x, low in (
    ("patience", patience, 0),
    ("cooldown", cooldown, 0),
    ("accumulation_steps", accumulation_steps, 1),
  ):
    n = _number(name, x, integer=True)
    if not low <= n <= _INT32_MAX:
      raise ValueError(
        f"reduce_on_plateau: {name} must be an integer in [{low}, 2^31-1], got {x!r}"
      )
    counts[name] = n

  if threshold_mode == "rel":
    rel, absolute = (1 - threshold) if mode == "min" else (1 + threshold), 0.0
  else:
    rel, absolute = 1.0, threshold
  f32, i32 = (lambda x: jnp.asarray(x, jnp.float32)), (lambda x: jnp.asarray(x, jnp.int32))
  (rel_hi, rel_lo), (abs_hi, abs_lo) = (_df.split_host(x, np.float32) for x in (rel, absolute))
  hparams = PlateauHyperparams(
    sign=f32(1.0 if mode == "min" else -1.0),
    rel=f32(rel_hi),
    rel_lo=f32(rel_lo),
    abs=f32(abs_hi),
    abs_lo=f32(abs_lo),
    factor=f32(factor),
    min_scale=f32(min_scale),
    eps=f32(eps),
    patience=i32(counts["patience"]),
    cooldown=i32(counts["cooldown"]),
    accumulation_steps=i32(counts["accumulation_steps"]),
  )

  def init_fn(params):
    del params
    return ReduceOnPlateauState(
      scale=jnp.ones((), jnp.float32),
      best=hparams.sign * jnp.float32(np.inf),
      num_bad=jnp.zeros((), jnp.int32),
      cooldown_counter=jnp.zeros((), jnp.int32),
      count=jnp.zeros((), jnp.int32),
      accumulated=jnp.zeros((), jnp.float32),
      hparams=hparams,
    )

  def update_fn(updates, state: ReduceOnPlateauState, params=None, *, value=None, **extra_args):
    del params, extra_args
    new_state = state if value is None else _step(state, _metric(value))
    updates = jax.tree.map(lambda g: g * new_state.scale.astype(jnp.result_type(g)), updates)
    return updates, new_state

  # optax types the state as any OptState; this transformation's is a ReduceOnPlateauState
  return optax.GradientTransformationExtraArgs(init_fn, update_fn)  # pyright: ignore[reportArgumentType]


def _metric(value: Any) -> jax.Array:
  """The metric as a float32 scalar: a real number, or an array of shape ``()`` or ``(1,)``.
  Shapes and dtypes are static, so this check also runs under ``jit``/``vmap`` (per example)."""
  if isinstance(value, (bool, np.bool_, str, bytes)):
    raise TypeError(f"reduce_on_plateau: value must be a real scalar metric, got {value!r}")
  if not isinstance(value, (numbers.Real, np.ndarray, np.generic, jax.Array)):
    shown = repr(value) if isinstance(value, numbers.Number) else type(value).__name__
    raise TypeError(f"reduce_on_plateau: value must be a real scalar metric, got {shown}")
  value = cast(ArrayLike, value)  # a real scalar or array here (typeshed's numbers.Real is none)
  dtype = np.result_type(value) if not isinstance(value, jax.Array) else value.dtype
  if not (jnp.issubdtype(dtype, jnp.floating) or jnp.issubdtype(dtype, jnp.integer)):
    raise TypeError(f"reduce_on_plateau: value must be a real scalar metric, got dtype {dtype}")
  if np.shape(value) not in ((), (1,)):
    raise ValueError(
      f"reduce_on_plateau: value must be a scalar metric (shape () or (1,)), got "
      f"shape {tuple(np.shape(value))}"
    )
  return jnp.reshape(jnp.asarray(value, jnp.float32), ())


def _improves(a, best, hp: PlateauHyperparams):
  """``a < best·rel − abs`` decided in pair precision: torch compares the (exact) double of a
  float32 metric with a double bar, and a float32 bar would flip ties such as
  ``−1.05 > −1.0·1.05``. Where ``a`` or ``best`` is ±inf (``best`` is +inf before the first
  metric) the plain comparison is torch's own IEEE one: −inf beats any finite best, nothing beats
  a best of −inf, +inf beats nothing; NaN never improves."""
  infinite = jnp.isinf(a) | jnp.isinf(best)
  finite_a, finite_best = jnp.where(infinite, 0, a), jnp.where(infinite, 0, best)
  bar = _df.sub(_df.mul(_df.of(finite_best), _df.DF(hp.rel, hp.rel_lo)), _df.DF(hp.abs, hp.abs_lo))
  return jnp.where(infinite, a < best * hp.rel - hp.abs, _df.sub(_df.of(finite_a), bar).hi < 0)


def _step(state: ReduceOnPlateauState, value) -> ReduceOnPlateauState:
  """One call: accumulate the metric; every ``accumulation_steps`` calls, one torch ``step``."""
  hp = state.hparams
  count = state.count + 1
  accumulated = state.accumulated + jnp.asarray(value, jnp.float32)
  decide = count >= hp.accumulation_steps
  metric = accumulated / count.astype(jnp.float32)

  better = _improves(hp.sign * metric, hp.sign * state.best, hp)
  best = jnp.where(better, metric, state.best)
  num_bad = jnp.where(better, 0, jnp.minimum(state.num_bad, _INT32_MAX - 1) + 1)
  cooling = state.cooldown_counter > 0
  cooldown_counter = jnp.where(cooling, state.cooldown_counter - 1, state.cooldown_counter)
  num_bad = jnp.where(cooling, 0, num_bad)
  reduce = num_bad > hp.patience
  lowered = jnp.maximum(state.scale * hp.factor, hp.min_scale)
  scale = jnp.where(reduce & (state.scale - lowered > hp.eps), lowered, state.scale)
  cooldown_counter = jnp.where(reduce, hp.cooldown, cooldown_counter)
  num_bad = jnp.where(reduce, 0, num_bad)

  keep = lambda new, old: jnp.where(decide, new, old)
  return ReduceOnPlateauState(
    scale=keep(scale, state.scale),
    best=keep(best, state.best),
    num_bad=keep(num_bad, state.num_bad),
    cooldown_counter=keep(cooldown_counter, state.cooldown_counter),
    count=jnp.where(decide, 0, count),
    accumulated=jnp.where(decide, 0.0, accumulated),
    hparams=hp,
  )
