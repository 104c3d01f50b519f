"""reduce_on_plateau: torch ReduceLROnPlateau traces, a torch-semantics reference, dtypes, vmap."""

import json
import math
import os

import chex
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import jaxsched as js
from tests.reference import assert_rel

GOLDEN = os.path.join(os.path.dirname(__file__), "data", "golden_plateau.json")
LENGTH = 100  # every metric sequence is padded to this (a prefix is compared)
GRADS = {"w": jnp.ones(3, jnp.float32)}


def _trace(state, metrics):
  """The scale after each call. Any transformation's ``update`` will do: the configuration
  travels in ``state.hparams``, so this one jitted function serves every setting."""
  update = js.reduce_on_plateau().update

  def body(state, metric):
    _, state = update(GRADS, state, value=metric)
    return state, state.scale

  return jax.lax.scan(body, state, metrics)[1]


trace = jax.jit(_trace)
trace_many = jax.jit(jax.vmap(_trace))


def scales(metrics, **config):
  padded = np.zeros(LENGTH, np.float32)
  padded[: len(metrics)] = metrics
  return np.asarray(trace(js.reduce_on_plateau(**config).init(GRADS), padded))[: len(metrics)]


def torch_reference(
  metrics,
  factor=0.1,
  patience=10,
  mode="min",
  threshold=1e-4,
  threshold_mode="rel",
  cooldown=0,
  min_scale=0.0,
  accumulation_steps=1,
  eps=0.0,
  _float32=True,
):
  """torch ReduceLROnPlateau.step, base lr 1, one step per ``accumulation_steps`` metrics (their
  mean, of the float32 metrics jaxsched sees unless ``_float32=False``); the scale after each
  call."""
  best, bad, cool, scale, pending, out = math.inf if mode == "min" else -math.inf, 0, 0, 1.0, [], []
  for metric in metrics:
    pending.append(metric)
    if len(pending) == accumulation_steps:
      a = (
        float(np.mean(np.asarray(pending, np.float32), dtype=np.float32))
        if _float32
        else float(np.mean(pending))
      )
      pending = []
      if mode == "min":
        better = a < (best * (1 - threshold) if threshold_mode == "rel" else best - threshold)
      else:
        better = a > (best * (1 + threshold) if threshold_mode == "rel" else best + threshold)
      best, bad = (a, 0) if better else (best, bad + 1)
      if cool > 0:
        cool, bad = cool - 1, 0
      if bad > patience:
        lowered = max(scale * factor, min_scale)
        if scale - lowered > eps:
          scale = lowered
        cool, bad = cooldown, 0
    out.append(scale)
  return np.array(out)


# --- golden traces from torch itself -------------------------------------------------------------

CASES = json.load(open(GOLDEN)) if os.path.exists(GOLDEN) else []


@pytest.mark.skipif(not CASES, reason="tests/data/golden_plateau.json not generated")
@pytest.mark.parametrize("case", CASES, ids=[c["peer"][24:110] for c in CASES])
def test_matches_torch_traces(case):
  # The traces ran torch with its default eps=1e-8 and base lr 1: eps=1e-8 here.
  got = scales(case["metrics"], **case["config"], eps=1e-8)
  assert_rel(got, case["values"], rtol=1e-6)
  # Without eps (the default) only reductions torch's eps swallows differ: those by <= 1e-8, so
  # while torch's lr is above 1e-6 the traces agree, and below it ours is never higher.
  plain, want = scales(case["metrics"], **case["config"]), np.asarray(case["values"])
  assert_rel(plain[want > 1e-6], want[want > 1e-6], rtol=1e-6)
  assert np.all(plain <= want * (1 + 1e-6))


# --- a torch-semantics reference over many settings, all run at once under vmap ----------------

_rs = np.random.RandomState(7)
SEQUENCES = {
  "improve_then_stall": [1.0 - 0.04 * i for i in range(15)] + [0.44] * 25 + [0.3] + [0.3] * 19,
  "noisy_decay": [2 * math.exp(-i / 12) + 0.3 + 0.04 * _rs.randn() for i in range(60)],
  "negative": [-1 - 0.05 * i for i in range(10)] + [-1.5 + 4e-4 * _rs.randn() for _ in range(50)],
  "crosses_zero": [1.0 - 0.1 * i for i in range(20)] + [-1.0] * 10 + [-0.9999] * 30,
  "accuracy_max": [min(0.9, 0.4 + 0.05 * i) + 0.01 * _rs.randn() for i in range(60)],
}
SETTINGS = [
  dict(factor=0.5, patience=0),
  dict(factor=0.5, patience=1, cooldown=2),
  dict(factor=0.1, patience=3, min_scale=1e-3),
  dict(factor=0.5, patience=2, threshold=0.01, threshold_mode="abs"),
  dict(factor=0.5, patience=1, threshold=0.05, threshold_mode="rel", cooldown=1),
  dict(factor=0.5, patience=1, accumulation_steps=3),
  dict(factor=0.3, patience=0, cooldown=1, accumulation_steps=2, min_scale=0.05),
]
GRID = [
  (name, dict(setting, mode=mode))
  for name in SEQUENCES
  for setting in SETTINGS
  for mode in ("min", "max")
]


def test_many_settings_at_once_match_the_torch_reference():
  states = jax.tree.map(
    lambda *x: jnp.stack(x), *[js.reduce_on_plateau(**config).init(GRADS) for _, config in GRID]
  )
  metrics = np.zeros((len(GRID), LENGTH), np.float32)
  for row, (name, _) in enumerate(GRID):
    metrics[row, : len(SEQUENCES[name])] = SEQUENCES[name]
  got = np.asarray(trace_many(states, metrics))
  reductions = 0
  for row, (name, config) in enumerate(GRID):
    want = torch_reference(SEQUENCES[name], **config)
    assert_rel(got[row, : len(want)], want, rtol=1e-6)
    reductions += want[-1] < 1
  assert reductions > len(GRID) // 2  # the grid exercises reductions, not just patience


@pytest.mark.skipif(not CASES, reason="tests/data/golden_plateau.json not generated")
def test_reference_reproduces_the_torch_traces():
  # The reference above is torch's algorithm: it reproduces every torch trace (eps=1e-8, torch's
  # default), in float64, so it may stand in for torch on the settings the traces do not cover.
  for case in CASES:
    np.testing.assert_allclose(
      torch_reference(case["metrics"], **case["config"], eps=1e-8, _float32=False),
      case["values"],
      rtol=1e-12,
    )


def test_negative_metrics_follow_torch_not_a_sign_aware_margin():
  # A flat negative loss: torch's rel bar best·(1 − threshold) lies above best, so every step
  # "improves" and the lr never drops; the abs mode reduces as it would for a positive loss.
  flat = [-1.0] * 8
  np.testing.assert_array_equal(scales(flat, factor=0.1, patience=2), np.ones(8))
  assert_rel(
    scales(flat, factor=0.1, patience=2, threshold_mode="abs"), [1, 1, 1, 0.1, 0.1, 0.1, 0.01, 0.01]
  )
  # optax reduces one decision earlier than torch (bad count == patience, not > patience).
  assert_rel(scales([1.0] * 8, factor=0.1, patience=2), [1, 1, 1, 0.1, 0.1, 0.1, 0.01, 0.01])


# --- the transformation itself --------------------------------------------------------------------


def test_state_dtypes_are_fixed_and_updates_never_recompile():
  tx = js.reduce_on_plateau(factor=0.5, patience=1, cooldown=1, accumulation_steps=2)
  params = {"w": jnp.ones(3, jnp.bfloat16), "b": jnp.zeros((), jnp.float32)}
  state = tx.init(params)
  kinds = jax.tree.map(lambda x: (x.dtype, x.weak_type, x.shape), state)
  update = jax.jit(chex.assert_max_traces(tx.update, n=1))  # a retrace fails the call
  grads = jax.tree.map(jnp.ones_like, params)
  for metric in [3.0, 2.0, 2.5, 2.5, 2.6, 2.7, 2.8, 2.9, 3.0, 3.1]:
    updates, state = update(grads, state, value=jnp.float32(metric))
  assert jax.tree.map(lambda x: (x.dtype, x.weak_type, x.shape), state) == kinds
  assert state.scale.dtype == jnp.float32 and state.num_bad.dtype == jnp.int32
  assert updates["w"].dtype == jnp.bfloat16 and updates["b"].dtype == jnp.float32
  assert float(state.scale) < 1
  np.testing.assert_allclose(np.asarray(updates["w"], np.float32), float(state.scale), rtol=1e-2)


def test_vmapped_over_three_configs_equals_a_loop():
  configs = [
    dict(factor=0.5, patience=0),
    dict(factor=0.1, patience=2, cooldown=1, mode="max"),
    dict(factor=0.5, patience=1, threshold=0.01, threshold_mode="abs", min_scale=0.2),
  ]
  txs = [js.reduce_on_plateau(**c) for c in configs]
  states = jax.tree.map(lambda *x: jnp.stack(x), *[tx.init(GRADS) for tx in txs])
  metrics = np.asarray(
    [SEQUENCES["noisy_decay"][:40], SEQUENCES["accuracy_max"][:40], SEQUENCES["negative"][:40]],
    np.float32,
  )
  step = jax.jit(jax.vmap(lambda s, m: txs[0].update(GRADS, s, value=m)))
  loop_states = [tx.init(GRADS) for tx in txs]
  for k in range(40):
    updates, states = step(states, metrics[:, k])
    for i, tx in enumerate(txs):
      loop_updates, loop_states[i] = tx.update(GRADS, loop_states[i], value=metrics[i, k])
      np.testing.assert_array_equal(updates["w"][i], loop_updates["w"])
  np.testing.assert_array_equal(states.scale, [s.scale for s in loop_states])
  assert len(set(np.asarray(states.scale).tolist())) > 1


def test_chained_with_a_schedule():
  schedule = js.warmup_cosine(1e-3, 2, 100)
  tx = optax.chain(optax.adamw(schedule), js.reduce_on_plateau(factor=0.5, patience=0))
  params = {"w": jnp.ones(3)}
  state = tx.init(params)
  for loss in [1.0, 0.5, 0.7]:
    updates, state = tx.update(params, state, params, value=loss)
  assert float(state[1].scale) == 0.5
  # sgd makes the product visible: −lr·scale·grad.
  tx = optax.chain(optax.sgd(js.constant(0.1)), js.reduce_on_plateau(factor=0.5, patience=0))
  state = tx.init(params)
  for loss in [1.0, 2.0]:
    updates, state = tx.update(params, state, params, value=loss)
  np.testing.assert_allclose(updates["w"], -0.1 * 0.5 * np.ones(3), rtol=1e-7)


BAD = [
  (dict(mode="avg"), ValueError, "mode must be one of ['min', 'max']"),
  (dict(threshold_mode="relative"), ValueError, "threshold_mode must be one of"),
  (dict(factor=1.0), ValueError, "factor must be in [0, 1)"),
  (dict(factor=-0.5), ValueError, "factor"),
  (dict(factor=float("nan")), ValueError, "factor must be finite"),
  (dict(patience=-1), ValueError, "patience must be an integer in [0, 2^31-1]"),
  (dict(patience=2.5), ValueError, "patience must be an integer"),
  (dict(patience=True), TypeError, "patience"),
  (dict(cooldown=-2), ValueError, "cooldown"),
  (dict(accumulation_steps=0), ValueError, "accumulation_steps must be an integer in [1"),
  (dict(threshold=-1e-4), ValueError, "threshold must be in [0, 1)"),
  (dict(threshold=1.0), ValueError, "threshold must be in [0, 1)"),
  (dict(threshold=-1.0, threshold_mode="abs"), ValueError, "threshold must be >= 0"),
  (dict(min_scale=-0.1), ValueError, "min_scale must be >= 0"),
  (dict(factor="0.1"), TypeError, "factor must be a real number"),
]


@pytest.mark.parametrize("kwargs,error,message", BAD, ids=[str(b[0]) for b in BAD])
def test_bad_input_is_rejected(kwargs, error, message):
  with pytest.raises(error) as info:
    js.reduce_on_plateau(**kwargs)
  assert message in str(info.value)


# --- metrics: what `value` may be, and ±inf / NaN exactly as torch --------------------------------

INF = float("inf")
NAN = float("nan")
NONFINITE = [
  ([1, -INF, 0.5, 0.4, 0.3, 0.2], dict(mode="min")),
  ([1, INF, 0.9, 0.95, 0.97, 1.0, 1.1], dict(mode="min")),
  ([INF, INF, INF, 2, 1, 1, 1], dict(mode="min")),
  ([-INF, 1, 0.5, -INF, 0.4, 0.3], dict(mode="min", threshold_mode="abs")),
  ([NAN, 1, NAN, NAN, 0.5, NAN, NAN, NAN], dict(mode="min")),
  ([1, NAN, INF, -INF, NAN, 0.5, 0.4], dict(mode="min")),
  ([0.5, INF, 0.9, 0.95, 0.97, 0.99], dict(mode="max")),
  ([0.5, -INF, 0.6, 0.4, 0.3, 0.2], dict(mode="max")),
  ([-INF, -INF, 0.1, 0.2, 0.2, 0.2], dict(mode="max", threshold_mode="abs")),
  ([NAN, 0.3, NAN, NAN, NAN, 0.9], dict(mode="max", cooldown=1)),
]


def test_infinite_metrics_follow_torch_the_issue_example():
  # torch: -inf becomes best and nothing beats it afterwards, so the bad count grows.
  assert_rel(
    scales([1, -INF, 0.5, 0.4, 0.3, 0.2], factor=0.5, patience=1),
    [1, 1, 1, 0.5, 0.5, 0.25],
    rtol=1e-7,
  )


@pytest.mark.parametrize("metrics, config", NONFINITE, ids=[str(m) for m, _ in NONFINITE])
def test_nan_and_infinite_metrics_match_torch(metrics, config):
  torch = pytest.importorskip("torch")
  w = torch.nn.Parameter(torch.zeros(1))
  opt = torch.optim.SGD([w], lr=1.0)
  plateau = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, factor=0.5, patience=1, **config)
  want = []
  for m in metrics:
    plateau.step(m)
    want.append(opt.param_groups[0]["lr"])
  got = scales(metrics, factor=0.5, patience=1, eps=1e-8, **config)
  assert_rel(got, want, rtol=1e-7)


@pytest.mark.parametrize(
  "value",
  [
    2.5,
    3,
    np.float32(2.5),
    np.array([2.5]),
    jnp.array(2.5),
    jnp.array([2.5], jnp.bfloat16),
    np.int32(3),
  ],
  ids=["float", "int", "np_f32", "shape_1", "jax_scalar", "bf16_1", "np_i32"],
)
def test_value_accepts_a_real_scalar_or_shape_one(value):
  tx = js.reduce_on_plateau(factor=0.5, patience=0)
  state = tx.init(GRADS)
  _, state = tx.update(GRADS, state, value=value)
  _, state = tx.update(GRADS, state, value=value)  # no improvement: one reduction
  assert state.scale.shape == () and state.best.shape == () and float(state.scale) == 0.5
  assert float(state.best) == float(np.asarray(value, np.float32).reshape(()))


@pytest.mark.parametrize(
  "value, error, words",
  [
    (
      np.ones((2, 2)),
      ValueError,
      "value must be a scalar metric (shape () or (1,)), got shape (2, 2)",
    ),
    (jnp.ones(3), ValueError, "got shape (3,)"),
    (np.ones((1, 1)), ValueError, "got shape (1, 1)"),
    ("1.0", TypeError, "value must be a real scalar metric, got '1.0'"),
    (True, TypeError, "value must be a real scalar metric, got True"),
    (np.array(True), TypeError, "value must be a real scalar metric, got dtype bool"),
    (1 + 2j, TypeError, "value must be a real scalar metric, got (1+2j)"),
    (np.array(1 + 2j), TypeError, "dtype complex128"),
    ([1.0], TypeError, "value must be a real scalar metric, got list"),
  ],
  ids=["2x2", "len3", "1x1", "str", "bool", "np_bool", "complex", "np_complex", "list"],
)
def test_value_anything_else_is_an_error_naming_value(value, error, words):
  tx = js.reduce_on_plateau()
  state = tx.init(GRADS)
  with pytest.raises(error) as info:
    tx.update(GRADS, state, value=value)
  assert words in str(info.value)
  with pytest.raises(error, match="reduce_on_plateau: value"):  # also while tracing
    jax.jit(lambda s, v: tx.update(GRADS, s, value=v))(state, value) if not isinstance(
      value, str
    ) else tx.update(GRADS, state, value=value)


def test_update_without_value_applies_the_scale_and_decides_nothing():
  tx = js.reduce_on_plateau(factor=0.5, patience=0, accumulation_steps=2)
  state = tx.init(GRADS)
  for v in (1.0, 1.0, 2.0, 2.0):  # two decisions: improve, then reduce
    _, state = tx.update(GRADS, state, value=v)
  assert float(state.scale) == 0.5
  update = jax.jit(chex.assert_max_traces(tx.update, n=1))  # a retrace fails the call
  for _ in range(3):
    updates, new = update(GRADS, state)
    np.testing.assert_array_equal(updates["w"], 0.5 * np.ones(3))
    for a, b in zip(jax.tree.leaves(new), jax.tree.leaves(state), strict=True):
      np.testing.assert_array_equal(a, b)
  _, state = tx.update(GRADS, state, value=3.0)  # half an accumulation: still no decision
  assert int(state.count) == 1 and float(state.scale) == 0.5
