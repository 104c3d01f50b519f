"""The search engine (``jaxsched.search.training``): ``rank``'s NaN/inf and tie rules, the
argument checks, and ``Trainer``: chunked calls equal one call, a state holding a PRNG key, one
program for segments of any length, and halving sharded over four devices with padding (a
subprocess with forced host devices) equal to one device."""

import json
import os
import subprocess
import sys
import textwrap

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxsched as js
from jaxsched.search.training import (
  Rows,
  Trainer,
  check_mode,
  check_steps,
  default_key,
  rank,
  take_states,
)
from tests.paths import pythonpath

nan, inf = float("nan"), float("inf")


def test_rank_puts_nan_and_inf_last_and_ties_to_the_lower_index():
  assert rank([3.0, nan, 1.0, 1.0]).tolist() == [2, 3, 0, 1]
  assert rank([inf, 2.0, -inf, nan, 2.0]).tolist() == [1, 4, 0, 2, 3]
  assert rank([1.0, 3.0, nan, 3.0], mode="max").tolist() == [1, 3, 0, 2]
  assert rank([nan, nan]).tolist() == [0, 1]
  with pytest.raises(ValueError, match="mode must be 'min' or 'max'"):
    rank([1.0], mode="lowest")


def test_checks():
  assert check_mode("max", "x") == -1.0
  assert check_steps(np.int64(5), "n", "x") == 5
  with pytest.raises(TypeError, match="x: n must be an integer"):
    check_steps(True, "n", "x")
  with pytest.raises(ValueError, match=r"x: n must be in \[1, 2\*\*31 - 1\], got 0"):
    check_steps(0, "n", "x")
  assert jax.random.key_data(default_key(None)).tolist() == [0, 0]
  with pytest.raises(TypeError, match="key must be"):
    default_key("seed")


def init(schedule, key):
  return {"w": jax.random.normal(key, (3,)), "key": key, "t": jnp.int32(0)}


def update(state, schedule, step):
  key, sub = jax.random.split(state["key"])
  noise = 0.01 * jax.random.normal(sub, (3,))
  return {"w": state["w"] * (1 - schedule(step)) + noise, "key": key, "t": state["t"] + 1}


def score(state, schedule):
  return jnp.sum(state["w"] ** 2)


def test_trainer_chunks_keys_and_one_program():
  rows = Rows.of(js.grid(js.constant, {"value": [0.1, 0.2, 0.3, 0.4, 0.5]}))
  trainer = Trainer(init, update, score, key=jax.random.key(7))
  whole = trainer.advance(rows, None, 0, 4)
  chunked = trainer.advance(rows, None, 0, 4, width=2)
  np.testing.assert_allclose(chunked.scores, whole.scores, rtol=1e-6)
  # resuming from the host states equals training straight through
  first = trainer.advance(rows, None, 0, 3, width=2)
  rest = trainer.advance(rows, first.states, 3, 1, width=2)
  np.testing.assert_allclose(rest.scores, whole.scores, rtol=1e-6)
  assert rest.states["t"].tolist() == [4] * 5
  assert rest.states["key"].dtype == np.uint32  # a key leaf is held as its key data
  picked = take_states(rest.states, [4, 0])
  assert picked["t"].shape == (2,)
  assert trainer.compiles == 2  # widths 5 and 2; lengths and starts are arguments
  # a curve every 2 steps
  curved = trainer.advance(rows, None, 0, 4, every=2)
  assert curved.curve is not None and curved.curve.shape == (5, 2)
  np.testing.assert_allclose(curved.curve[:, -1], whole.scores, rtol=1e-6)
  with pytest.raises(ValueError, match="every=3 must divide the segment length 4"):
    trainer.advance(rows, None, 0, 4, every=3)
  trainer.close()


SHARDED = textwrap.dedent(
  """
  import json, jax, jax.numpy as jnp, jaxsched as js
  assert len(jax.devices()) == 4
  init = lambda s, key: jnp.float32(0.0)
  update = lambda x, s, t: x + s(t)
  score = lambda x, s: (x - 2.0) ** 2
  batch = js.stack([js.constant(0.1 * (i + 1)) for i in range(5)] + [js.cosine(0.4, 9)])
  out = {}
  for devices in (4, 1):
    r = js.halving(init, update, score, batch, max_steps=9, min_steps=1, eta=3, devices=devices)
    out[devices] = [r.best_index, [list(x.kept) for x in r.rungs], [list(x.scores) for x in r.rungs]]
  print(json.dumps(out))
  """
)


def test_halving_sharded_over_four_devices_with_padding(tmp_path):
  script = tmp_path / "sharded.py"
  script.write_text(SHARDED)
  env = dict(
    os.environ,
    XLA_FLAGS="--xla_force_host_platform_device_count=4",
    JAX_PLATFORMS="cpu",
    PYTHONPATH=pythonpath(),
  )
  done = subprocess.run(
    [sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=300
  )
  assert done.returncode == 0, done.stderr[-3000:]
  out = json.loads(done.stdout.strip().splitlines()[-1])
  assert out["4"][:2] == out["1"][:2]
  np.testing.assert_allclose(sum(out["4"][2], []), sum(out["1"][2], []), rtol=1e-6)
