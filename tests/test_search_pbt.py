"""js.pbt: population-based training in one program, whose result is a schedule.

A small least-squares task trained with Adam (so the optimizer state must travel with a copy) keeps
these fast. The promise tested first: training ``result.best`` from scratch in a plain loop
reproduces ``result.best_score``.
"""

import json

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import jaxsched as js
from jaxsched.search import checkpoint as checkpoint_module

X = jax.random.normal(jax.random.key(1), (256, 8))
W_TRUE = jnp.linspace(-1.0, 1.0, 8)
Y = X @ W_TRUE + 0.1 * jax.random.normal(jax.random.key(2), (256,))
ADAM = optax.scale_by_adam()


def init(schedule, key):
  w = 0.1 * jax.random.normal(key, (8,))
  return {"w": w, "adam": ADAM.init(w)}


def loss(w, x, y):
  return jnp.mean((x @ w - y) ** 2)


def update(state, schedule, step):
  i = (step * 16 + jnp.arange(16)) % 256
  g = jax.grad(loss)(state["w"], X[i], Y[i])
  d, adam = ADAM.update(g, state["adam"], state["w"])
  return {"w": state["w"] - jnp.asarray(schedule(step), jnp.float32) * d, "adam": adam}


def score(state, schedule):
  return loss(state["w"], X, Y)


def replay(schedule, steps, key=None):
  key = jax.random.key(0) if key is None else key

  @jax.jit
  def run(schedule):
    state = init(schedule, key)
    state = jax.lax.fori_loop(0, steps, lambda t, st: update(st, schedule, t), state)
    return score(state, schedule)

  return float(run(schedule))


LRS = [1e-3, 3e-3, 1e-2, 3e-2, 1e-1, 3e-1, 1.0, 3.0]


@pytest.fixture(scope="module")
def cosines():
  batch = js.grid(js.cosine, {"init_value": LRS}, steps=120)
  return js.pbt(init, update, score, batch, steps=120, interval=20, progress=False)


def test_replaying_best_reproduces_best_score(cosines):
  r = cosines
  assert len(r.lineage) > 1  # the winner's line copied at least once
  assert r.best.family == "splice"
  np.testing.assert_allclose(replay(r.best, 120), r.best_score, rtol=1e-5)


def test_lineage_is_the_winners_line_through_the_donors(cosines):
  r = cosines
  starts = [seg.start for seg in r.lineage]
  assert starts[0] == 0 and all(s % 20 == 0 for s in starts) and starts == sorted(set(starts))
  assert r.lineage[-1].member == r.best_member
  assert r.best_member == int(np.argmin(r.scores)) and r.best_score == r.scores.min()
  assert np.asarray(r.best.boundaries).tolist() == starts[1:]
  for before, seg in zip(r.lineage, r.lineage[1:], strict=False):
    k = seg.start // 20
    assert r.donors[k][seg.member] == before.member != seg.member
  t = np.arange(120)
  for i, seg in enumerate(r.lineage):
    end = r.lineage[i + 1].start if i + 1 < len(r.lineage) else 120
    inside = t[seg.start : end]
    np.testing.assert_array_equal(r.best(inside), seg.schedule(inside))


def test_bottom_fraction_copies_from_the_top_fraction(cosines):
  r = cosines
  n, m = 8, 2  # fraction 0.25 of 8
  assert r.history.shape == (6, n) and r.donors.shape == (6, n) and r.scores.shape == (n,)
  np.testing.assert_array_equal(r.donors[0], np.arange(n))
  for k in range(1, 6):
    order = js_rank(r.history[k - 1])
    copied = np.flatnonzero(r.donors[k] != np.arange(n))
    assert sorted(copied) == sorted(order[n - m :])
    assert set(r.donors[k][copied]) <= set(order[:m])


def js_rank(scores):
  from jaxsched.search.training import rank

  return rank(scores)


def test_perturbed_fields_are_the_donors_times_a_factor(cosines):
  for before, seg in zip(cosines.lineage, cosines.lineage[1:], strict=False):
    old, new = before.schedule, seg.schedule
    for name in ("init_value", "exponent"):
      ratio = float(getattr(new, name)) / float(getattr(old, name))
      assert min(abs(ratio - 0.8), abs(ratio - 1.25)) < 1e-6, (name, ratio)
    assert float(new.end_value) == 0.0  # 0 · f
    assert int(new.steps) == 120 and int(new.begin) == 0  # step counts stay


def test_result_best_is_data(cosines):
  best = cosines.best
  assert js.from_config(json.loads(json.dumps(best.to_config()))) == best
  assert js.parse(repr(best)) == best
  t = np.arange(120)
  np.testing.assert_array_equal(js.parse(repr(best))(t), best(t))
  opt = optax.adam(best)
  params = jnp.zeros(3)
  state = opt.init(params)
  updates, state = opt.update(jnp.ones(3), state, params)
  assert np.all(np.isfinite(updates))
  assert json.dumps(cosines.to_json())


def test_fields_selects_what_is_perturbed_and_a_short_last_interval():
  batch = js.grid(js.cosine, {"init_value": LRS}, steps=100, end_value=1e-4)
  for seed in range(8):  # the first key whose winner copied: the lineage is what this test reads
    key = jax.random.key(seed)
    r = js.pbt(
      init,
      update,
      score,
      batch,
      steps=110,
      interval=25,
      fields=["init_value"],
      key=key,
      progress=False,
    )
    if len(r.lineage) > 1:
      break
  assert len(r.lineage) > 1, "no winner copied under 8 keys"
  assert r.history.shape == (5, 8)  # 25, 25, 25, 25 and a last interval of 10
  for before, seg in zip(r.lineage, r.lineage[1:], strict=False):
    assert seg.schedule.end_value == before.schedule.end_value
    assert seg.schedule.exponent == before.schedule.exponent
    assert seg.schedule.init_value != before.schedule.init_value
  np.testing.assert_allclose(replay(r.best, 110, key), r.best_score, rtol=1e-5)


def test_mixed_batch_members_copy_other_families_and_replay():
  members = [js.constant(v) for v in (1e-3, 3e-3, 1e-2, 3e-3)] + [
    js.exponential(v, 0.99) for v in (0.03, 0.1, 0.3, 1.0)
  ]
  r = js.pbt(init, update, score, js.stack(members), steps=100, interval=20, progress=False)
  families = {seg.schedule.family for seg in r.lineage}
  copied_across = any(
    members[int(r.donors[k][i])].family != members[i].family
    for k in range(1, 5)
    for i in range(8)
    if r.donors[k][i] != i
  )
  assert copied_across  # some constant member took an exponential member's state and family
  assert families <= {"constant", "exponential"}
  np.testing.assert_allclose(replay(r.best, 100), r.best_score, rtol=1e-3)


def test_values_are_clipped_into_each_fields_range():
  # cyclic's gamma must be in (0, 1]; one_cycle's pct_start in (0, 1): 0.95 · 1.25 is not
  members = [js.cyclic(v, 10 * v, 10, mode="exp_range", gamma=0.99) for v in (1e-3, 1e-2)] + [
    js.one_cycle(v, 60, pct_start=0.95) for v in (3e-2, 3e-1)
  ]
  r = js.pbt(
    init,
    update,
    score,
    js.stack(members),
    steps=60,
    interval=5,
    fraction=0.5,
    perturb=(1.25, 1.25),
    progress=False,
  )
  seen = [seg.schedule for seg in r.lineage]
  assert len(seen) > 1
  for s in seen:  # each was rebuilt through its constructor, so it is in range
    if s.family == "cyclic":
      assert 0 < float(s.gamma) <= 1
    else:
      assert 0 < float(s.pct_start) < 1
  assert any(s.family == "one_cycle" and float(s.pct_start) > 0.99 for s in seen) or any(
    s.family == "cyclic" and float(s.gamma) > 0.999 for s in seen
  )


def test_diverging_members_are_replaced():
  batch = js.grid(js.constant, {"value": [1e-2, 3e-2, 1e25, 1e30]})
  r = js.pbt(init, update, score, batch, steps=40, interval=10, fraction=0.5, progress=False)
  assert not np.all(np.isfinite(r.history[0]))
  assert np.all(np.isfinite(r.scores))  # the NaN members copied finite ones
  assert r.best_member in (0, 1, 2, 3) and np.isfinite(r.best_score)


def test_mode_max_ranks_the_other_way():
  batch = js.grid(js.constant, {"value": [1e-3, 1e-2, 1e-1, 3e-1]})
  neg = lambda st, s: -score(st, s)
  r = js.pbt(init, update, neg, batch, steps=40, interval=10, mode="max", progress=False)
  assert r.best_score == r.scores.max()
  np.testing.assert_allclose(-replay(r.best, 40), r.best_score, rtol=1e-5)


def test_checkpoint_resumes_to_the_uninterrupted_result(tmp_path, monkeypatch):
  batch = js.grid(js.cosine, {"init_value": LRS[:4]}, steps=60)
  kwargs = dict(steps=60, interval=10, progress=False)
  plain = js.pbt(init, update, score, batch, **kwargs)
  saves = {"n": 0}
  real_save = checkpoint_module.Checkpoint.save

  def dying_save(self, progress, arrays):
    real_save(self, progress, arrays)
    saves["n"] += 1
    if saves["n"] == 3:
      raise KeyboardInterrupt  # killed after the third complete interval

  monkeypatch.setattr(checkpoint_module.Checkpoint, "save", dying_save)
  with pytest.raises(KeyboardInterrupt):
    js.pbt(init, update, score, batch, checkpoint=tmp_path, **kwargs)
  monkeypatch.setattr(checkpoint_module.Checkpoint, "save", real_save)
  resumed = js.pbt(init, update, score, batch, checkpoint=tmp_path, **kwargs)
  np.testing.assert_allclose(resumed.history, plain.history, rtol=1e-6)
  np.testing.assert_array_equal(resumed.donors, plain.donors)
  assert resumed.best == plain.best
  with pytest.raises(ValueError, match="different run.*fraction"):
    js.pbt(init, update, score, batch, checkpoint=tmp_path, fraction=0.5, **kwargs)


BATCH = js.grid(js.constant, {"value": [0.1, 0.2]})


@pytest.mark.parametrize(
  "kwargs,error,match",
  [
    (dict(fraction=0.0), ValueError, r"fraction must be in \(0, 0.5\]"),
    (dict(fraction=0.75), ValueError, "fraction"),
    (dict(fraction="a"), TypeError, "fraction"),
    (dict(perturb=(0.0, 1.2)), ValueError, "perturb"),
    (dict(perturb=(1.2,)), TypeError, "perturb"),
    (dict(perturb=3), TypeError, "perturb"),
    (dict(fields=["nosuch"]), ValueError, "nosuch"),
    (dict(fields=[1]), TypeError, "fields"),
    (dict(interval=11), ValueError, "interval"),
    (dict(interval=0), ValueError, "interval"),
    (dict(steps=2.0), TypeError, "steps"),
    (dict(mode="best"), ValueError, "mode"),
    (dict(progress="yes"), TypeError, "progress"),
  ],
)
def test_bad_arguments_name_the_parameter(kwargs, error, match):
  args = dict(steps=10, interval=5, progress=False)
  args.update(kwargs)
  with pytest.raises(error, match=match):
    js.pbt(init, update, score, BATCH, **args)


def test_a_population_of_one_is_refused():
  with pytest.raises(ValueError, match="at least 2"):
    js.pbt(init, update, score, [js.constant(0.1)], steps=10, interval=5)
  with pytest.raises(ValueError, match="single schedule"):
    js.pbt(init, update, score, js.constant(0.1), steps=10, interval=5)
