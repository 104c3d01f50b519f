"""Successive halving (``jaxsched.halving``; docs/search.md, "Successive halving"): the exact rungs
of a toy trainer whose scores are computed by hand, ties, NaN scores, ``mode="max"``, the step
count, one compile, curves, mixed batches, the digits MLP against each setting trained alone, and
the argument checks."""

import json
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxsched as js

# The toy trainer: the state is the distance walked, one update walks lr(t), and the score is the
# squared distance to a target. After r steps a setting has walked Σ_{t<r} lr(t).
TARGET = 2.0


def init(schedule, key):
  del schedule, key
  return jnp.float32(0.0)


def update(x, schedule, step):
  return x + jnp.asarray(schedule(step), jnp.float32)


def score(x, schedule):
  del schedule
  return (x - TARGET) ** 2


def walked(schedule, r):
  return float(np.sum(np.asarray(js.evaluate(schedule, jnp.arange(r)), np.float64)))


def by_hand(schedules, rungs, eta, mode="min"):
  """The rung records computed from the formula: [(steps, live indices, scores, kept)]."""
  live, out, sign = list(range(len(schedules))), [], 1.0 if mode == "min" else -1.0
  for k, steps in enumerate(rungs):
    scores = [(walked(schedules[i], steps) - TARGET) ** 2 for i in live]
    keyed = sorted(
      range(len(live)),
      key=lambda p: (not math.isfinite(scores[p]), sign * scores[p], live[p]),
    )
    going = 1 if k == len(rungs) - 1 else -(-len(live) // eta)
    kept = [live[p] for p in keyed[:going]]
    out.append((steps, list(live), scores, kept))
    live = sorted(kept)
  return out


VALUES = [0.02 * (i + 1) for i in range(27)]  # constant lrs 0.02 … 0.54


def test_exact_rungs_and_the_step_count():
  batch = js.grid(js.constant, {"value": VALUES})
  result = js.halving(init, update, score, batch, max_steps=27, min_steps=1, eta=3)
  expected = by_hand(js.unstack(batch), [1, 3, 9, 27], 3)
  assert [r.steps for r in result.rungs] == [1, 3, 9, 27]
  for record, (_, live, scores, kept) in zip(result.rungs, expected, strict=True):
    assert list(record.indices) == live
    np.testing.assert_allclose(record.scores, scores, rtol=1e-5, atol=1e-6)
    assert list(record.kept) == kept
  assert result.steps == 81  # 27·1 + 9·2 + 3·6 + 1·18, against 27·27 = 729 for the grid
  assert result.compiles == 1  # one program for every rung on a CPU
  winner = expected[-1][3][0]
  assert result.best_index == winner and result.best == js.unstack(batch)[winner]
  assert result.best_score == pytest.approx((walked(result.best, 27) - TARGET) ** 2, abs=1e-5)
  # the ranking: every setting once, best first, with the steps where it stopped
  assert sorted(result.order) == list(range(27))
  assert [t for _, _, t in result.ranking[:3]] == [27, 9, 9]
  assert [t for _, _, t in result.ranking[-18:]] == [1] * 18
  assert result.ranking[0][1] == result.best_score
  json.dumps(result.to_json(), allow_nan=False)


def poisoned(x, schedule):
  """The toy score, NaN for an lr above 0.3 and inf for one above 0.5."""
  lr = schedule(0)
  return jnp.where(lr > 0.5, jnp.inf, jnp.where(lr > 0.3, jnp.nan, (x - TARGET) ** 2))


def test_ties_go_to_the_lower_index_and_nan_ranks_last():
  # settings 1..8 identical: the kept ones are the lowest indices; setting 0's score is NaN
  values = [0.4] + [0.1] * 8
  batch = js.grid(js.constant, {"value": values})
  result = js.halving(init, update, poisoned, batch, max_steps=9, min_steps=1, eta=3)
  first = result.rungs[0]
  assert math.isnan(first.scores[0])
  assert list(first.kept) == [1, 2, 3]
  assert first.order[-1] == 0
  assert list(result.rungs[1].kept) == [1]
  assert result.best_index == 1
  assert result.order[-1] == 0 and math.isnan(result.ranking[-1][1])
  assert json.loads(json.dumps(result.to_json(), allow_nan=False))["rungs"][0]["scores"][0] is None


def test_all_nan_and_inf_scores_still_give_a_winner():
  batch = js.grid(js.constant, {"value": [0.6, 0.4, 0.6]})  # inf, NaN, inf
  result = js.halving(init, update, poisoned, batch, max_steps=3, min_steps=1, eta=3)
  assert result.best_index == 0 and not math.isfinite(result.best_score)
  assert list(result.rungs[0].order) == [0, 1, 2]


def test_mode_max_keeps_the_highest_scores():
  batch = js.grid(js.constant, {"value": VALUES[:9]})
  result = js.halving(init, update, score, batch, max_steps=9, min_steps=1, eta=3, mode="max")
  expected = by_hand(js.unstack(batch), [1, 3, 9], 3, mode="max")
  assert [list(r.kept) for r in result.rungs] == [e[3] for e in expected]
  assert result.best_index == 0  # the farthest from the target (the smallest lr) when maximising
  assert result.best_score == pytest.approx(max(expected[-1][2]), rel=1e-5)


def test_a_mixed_batch_and_a_last_rung_at_max_steps():
  schedules = [
    js.constant(0.1),
    js.cosine(0.3, 20),
    js.exponential(0.25, 0.95),
    js.wsd(0.2, 2, 10, 8),
    js.constant(0.05),
  ]
  batch = js.stack(schedules)
  # ⌊log2(20/3)⌋ + 1 = 3 rungs: 3, 6, and the last at 20 (not 12)
  result = js.halving(init, update, score, batch, max_steps=20, min_steps=3, eta=2)
  expected = by_hand(schedules, [3, 6, 20], 2)
  assert [r.steps for r in result.rungs] == [3, 6, 20]
  for record, (_, live, scores, kept) in zip(result.rungs, expected, strict=True):
    assert list(record.indices) == live and list(record.kept) == kept
    np.testing.assert_allclose(record.scores, scores, rtol=1e-5, atol=1e-6)
  assert type(result.best) is type(schedules[result.best_index])
  assert result.steps == 5 * 3 + 3 * 3 + 2 * 14


def test_curves_progress_and_default_min_steps(capsys):
  batch = js.grid(js.constant, {"value": VALUES[:9]})
  seen = []
  result = js.halving(
    init, update, score, batch, max_steps=18, eta=3, curve_every=2, progress=seen.append
  )
  assert result.min_steps == 2  # ⌊18 / 3^⌊log3 9⌋⌋: three rungs, one survivor
  assert [r.steps for r in result.rungs] == [2, 6, 18]
  assert seen == result.rungs
  second = result.rungs[1]
  assert second.curve_steps == (4, 6)
  for i, row in zip(second.indices, second.curve, strict=True):
    want = [(walked(js.unstack(batch)[i], t) - TARGET) ** 2 for t in (4, 6)]
    np.testing.assert_allclose(row, want, rtol=1e-5, atol=1e-6)
  js.halving(init, update, score, batch, max_steps=18, eta=3, progress=True)
  err = capsys.readouterr().err
  assert err.count("halving: rung") == 3 and "\r" not in err
  with pytest.raises(ValueError, match="curve_every=4 must divide"):
    js.halving(init, update, score, batch, max_steps=18, eta=3, curve_every=4)


def test_to_json_falls_back_to_repr_for_custom_schedules():
  def inverse(t, base):
    return base / (1.0 + t)

  batch = js.stack([js.custom(inverse, base=0.5), js.custom(inverse, base=1.0)])
  result = js.halving(init, update, score, batch, max_steps=4, min_steps=2, eta=2)
  data = json.loads(json.dumps(result.to_json(), allow_nan=False))
  assert data["best"].startswith("custom(") and "inverse" in data["best"]


def test_digits_winner_equals_its_setting_trained_alone():
  digits = pytest.importorskip("jaxsched.tasks.digits")
  task = digits.task(hidden=16, batch_size=32)
  key = jax.random.key(3)
  batch = js.grid(js.constant, {"value": [1e-3, 3e-3, 1e-2, 3e-2, 0.1, 0.3]})
  result = js.halving(
    task.init, task.update, task.score, batch, max_steps=24, min_steps=6, eta=2, key=key
  )
  assert [len(r.indices) for r in result.rungs] == [6, 3, 2]

  @jax.jit
  def alone(schedule, steps):
    state = task.init(schedule, key)
    state = jax.lax.fori_loop(0, steps, lambda i, s: task.update(s, schedule, i), state)
    return task.score(state, schedule)

  assert float(alone(result.best, 24)) == pytest.approx(result.best_score, rel=1e-5)
  for schedule, value, steps in result.ranking[::2]:  # each at the rung where it stopped
    assert float(alone(schedule, steps)) == pytest.approx(value, rel=1e-5)


@pytest.mark.parametrize(
  ("kwargs", "error", "match"),
  [
    ({"max_steps": 0}, ValueError, r"max_steps must be in \[1"),
    ({"max_steps": 2.5}, TypeError, "max_steps must be an integer"),
    ({"max_steps": 9, "min_steps": 10}, ValueError, r"min_steps must be in \[1, max_steps=9\]"),
    ({"max_steps": 9, "min_steps": 0}, ValueError, "min_steps must be in"),
    ({"max_steps": 9, "eta": 1}, ValueError, "eta must be an integer >= 2"),
    ({"max_steps": 9, "eta": 2.0}, TypeError, "eta must be an integer >= 2"),
    ({"max_steps": 9, "mode": "best"}, ValueError, "mode must be 'min' or 'max'"),
    ({"max_steps": 9, "progress": "yes"}, TypeError, "progress must be"),
    ({"max_steps": 9, "checkpoint": 3}, TypeError, "checkpoint must be"),
    ({"max_steps": 9, "key": 3}, TypeError, "key must be"),
    ({"max_steps": 9, "chunk_size": 0}, ValueError, "chunk_size must be"),
  ],
)
def test_bad_arguments_name_the_parameter(kwargs, error, match):
  batch = js.grid(js.constant, {"value": [0.1, 0.2]})
  with pytest.raises(error, match=match):
    js.halving(init, update, score, batch, **kwargs)


def test_bad_batches_and_functions():
  with pytest.raises(ValueError, match="halving: constant is a single schedule"):
    js.halving(init, update, score, js.constant(0.1), max_steps=3)
  with pytest.raises(ValueError, match="halving: the batch is empty"):
    js.halving(init, update, score, {"lr": np.zeros((0,))}, max_steps=3)
  with pytest.raises(TypeError, match="score must be callable"):
    js.halving(init, update, None, js.grid(js.constant, {"value": [0.1]}), max_steps=3)
  with pytest.raises(TypeError, match="score must return a scalar"):
    js.halving(
      init,
      update,
      lambda x, s: jnp.stack([x, x]),
      js.grid(js.constant, {"value": [0.1, 0.2]}),
      max_steps=3,
    )
