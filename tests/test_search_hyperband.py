"""Hyperband (``jaxsched.hyperband``; docs/search.md, "Hyperband"): Li et al.'s bracket sizes from
their formula, the ``make_batch`` calls, the best over brackets, resume and the argument checks."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxsched as js
from jaxsched.search.hyperband import brackets


def init(schedule, key):
  del schedule, key
  return jnp.float32(0.0)


def update(x, schedule, step):
  return x + jnp.asarray(schedule(step), jnp.float32)


def score(x, schedule):
  del schedule
  return (x - 2.0) ** 2


def li(R, eta):
  """Li et al. (2018), Algorithm 1, in floats: [(s, n, r, [(nᵢ, rᵢ)])]."""
  s_max = int(math.floor(math.log(R) / math.log(eta) + 1e-9))
  B = (s_max + 1) * R
  out = []
  for s in range(s_max, -1, -1):
    n = int(math.ceil(B / R * eta**s / (s + 1)))
    r = R * eta ** (-s)
    out.append((s, n, r, [(int(math.floor(n * eta ** (-i))), r * eta**i) for i in range(s + 1)]))
  return out


@pytest.mark.parametrize(("R", "eta"), [(81, 3), (27, 3), (16, 2), (100, 3), (64, 4), (1, 3)])
def test_bracket_sizes_follow_li_et_al(R, eta):
  ours = brackets(R, eta)
  theirs = li(R, eta)
  assert [(s, n) for s, n, _ in ours] == [(s, n) for s, n, _, _ in theirs]
  for (_, _, min_steps), (_, _, r, _) in zip(ours, theirs, strict=True):
    assert min_steps == max(1, math.floor(r + 1e-9))


def test_hyperband_runs_li_et_als_rungs_and_calls_make_batch_once_per_bracket():
  calls = []

  def make(n, key):
    calls.append((n, np.asarray(jax.random.key_data(key)).tolist()))
    return js.grid(js.constant, {"value": [0.3 * (i + 1) / n for i in range(n)]})

  seen = []
  result = js.hyperband(init, update, score, make, max_steps=27, eta=3, progress=seen.append)
  theirs = li(27, 3)
  assert [n for n, _ in calls] == [n for _, n, _, _ in theirs] == [27, 12, 6, 4]
  assert len({tuple(k) for _, k in calls}) == 4  # a different key per bracket
  assert [b.s for b in result.brackets] == [3, 2, 1, 0]
  for bracket, (_, _, _, rungs) in zip(result.brackets, theirs, strict=True):
    got = [(len(r.indices), r.steps) for r in bracket.result.rungs]
    assert got == [(n_i, round(r_i)) for n_i, r_i in rungs]
    assert all(r.bracket == bracket.s for r in bracket.result.rungs)
  assert seen == [r for b in result.brackets for r in b.result.rungs]
  assert result.steps == sum(b.result.steps for b in result.brackets)
  finals = [b.result.best_score for b in result.brackets]
  assert result.best_score == min(finals)
  assert result.best_bracket == result.brackets[int(np.argmin(finals))].s
  assert result.compiles <= len(result.brackets)
  assert result.to_json()["brackets"][0]["n"] == 27


def test_hyperband_resumes_from_its_checkpoint(tmp_path):
  def make(n, key):
    return js.sample(js.constant, key, n, {"value": js.log_uniform(0.01, 0.5)})

  reference = js.hyperband(init, update, score, make, max_steps=9, eta=3)

  class Stop(Exception):
    pass

  def stop(record):
    if record.bracket == 1:
      raise Stop

  with pytest.raises(Stop):
    js.hyperband(init, update, score, make, max_steps=9, eta=3, checkpoint=tmp_path, progress=stop)
  resumed = js.hyperband(init, update, score, make, max_steps=9, eta=3, checkpoint=tmp_path)
  assert [b.result.resumed for b in resumed.brackets] == [3, 1, 0]
  assert resumed.best_score == reference.best_score and resumed.best == reference.best
  with pytest.raises(ValueError, match="differs in: eta"):
    js.hyperband(init, update, score, make, max_steps=9, eta=2, checkpoint=tmp_path)


def test_hyperband_bad_arguments():
  make = lambda n, key: js.grid(js.constant, {"value": [0.1] * n})
  with pytest.raises(TypeError, match="make_batch must be callable"):
    js.hyperband(init, update, score, None, max_steps=9)
  with pytest.raises(ValueError, match=r"max_steps must be in \[1"):
    js.hyperband(init, update, score, make, max_steps=0)
  with pytest.raises(ValueError, match="eta must be an integer >= 2"):
    js.hyperband(init, update, score, make, max_steps=9, eta=1)
  with pytest.raises(ValueError, match=r"make_batch\(9, key\) returned 3 settings, not 9"):
    js.hyperband(
      init,
      update,
      score,
      lambda n, key: js.grid(js.constant, {"value": [0.1] * 3}),
      max_steps=9,
    )
