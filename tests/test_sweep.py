"""Sweeps (SPEC §4): stack/unstack, grid, sample, evaluate, sweep (one device here; four in a
subprocess with forced host devices)."""
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxsched as js
from jaxsched.core import evaluate_compiled as _evaluate

ROOT = Path(__file__).resolve().parents[1]

# Reference values: a loop of single schedules, each through one jitted call (eager evaluation would
# compile every primitive of every formula separately, which is slow on CI).
_single = jax.jit(lambda schedule, t: schedule(t))


def _loop(batch, t):
  return np.stack([_single(s, t) for s in js.unstack(batch)])


def _configs(batch):
  return [s.to_config() for s in js.unstack(batch)]


# --- grid, stack, unstack -------------------------------------------------------------------------


def test_grid_is_row_major_in_the_order_given():
  batch = js.grid(js.exponential, {"init_value": [0.1, 0.01], "gamma": [0.9, 0.99]})
  assert batch.batch_shape == (4,)
  expected = [js.exponential(a, g) for a in (0.1, 0.01) for g in (0.9, 0.99)]
  assert _configs(batch) == [s.to_config() for s in expected]
  t = np.arange(0, 50, 7)
  np.testing.assert_allclose(js.evaluate(batch, t), np.stack([_single(s, t) for s in expected]),
                             rtol=1e-6)


def test_grid_fixed_arguments_and_bad_axes():
  batch = js.grid(js.cosine, {"steps": [10, 20, 30]}, init_value=0.5, end_value=0.1)
  assert [c["steps"] for c in _configs(batch)] == [10, 20, 30]
  assert {c["init_value"] for c in _configs(batch)} == {0.5}
  with pytest.raises(ValueError, match="both"):
    js.grid(js.cosine, {"steps": [10]}, steps=5, init_value=0.1)
  with pytest.raises(ValueError, match="empty"):
    js.grid(js.cosine, {"steps": []}, init_value=0.1)
  with pytest.raises(ValueError, match="steps"):        # construction still validates each value
    js.grid(js.cosine, {"steps": [10, -1]}, init_value=0.1)


def test_grid_keeps_double_precision():
  batch = js.grid(js.exponential, {"gamma": [0.9999999999, 0.5]}, init_value=1.0)
  assert _configs(batch)[0]["gamma"] == 0.9999999999


def test_unstack_gives_the_inputs_back_and_stack_inverts_it():
  inputs = [js.multistep(0.1, [10, 20], 0.5), js.multistep(0.2, [5, 30], 0.1),
            js.multistep(0.3, [0, 0], 0.9)]
  batch = js.stack(inputs)
  assert batch.batch_shape == (3,)
  singles = js.unstack(batch)
  assert [s.to_config() for s in singles] == [s.to_config() for s in inputs]
  assert all(a == b for a, b in zip(singles, inputs))
  assert js.stack(singles) == batch
  assert js.unstack(inputs[0]) == [inputs[0]]


def test_unstack_of_a_two_axis_batch_is_row_major():
  rows = [js.grid(js.step, {"init_value": [0.1, 0.2, 0.3]}, step_size=10, gamma=g) for g in (0.5, 0.7)]
  batch = js.stack(rows)
  assert batch.batch_shape == (2, 3)
  assert js.evaluate(batch, np.arange(5)).shape == (2, 3, 5)
  got = [(c["gamma"], c["init_value"]) for c in _configs(batch)]
  assert got == [(g, a) for g in (0.5, 0.7) for a in (0.1, 0.2, 0.3)]


def test_composites_stack():
  inputs = [js.warmup(js.cosine(v, 100), 10) for v in (0.1, 0.2)]
  batch = js.stack(inputs)
  assert _configs(batch) == [s.to_config() for s in inputs]


@pytest.mark.parametrize("a, b, words", [
    (js.exponential(0.1, 0.9), js.step(0.1, 10, 0.9), "family 'exponential' vs 'step'"),
    (js.exponential(0.1, 0.9), js.exponential(0.1, 0.9, staircase=True), "staircase"),
    (js.exponential(0.1, 0.9), js.exponential(0.1, 0.9, end_value=0.01), "end_value: None vs a value"),
    (js.multistep(0.1, [1, 2], 0.5), js.multistep(0.1, [1, 2, 3], 0.5), "milestones: length 2 vs 3"),
    (js.warmup(js.cosine(0.1, 10), 5), js.warmup(js.linear(0.1, 0, 10), 5), "schedule: family"),
    (js.warmup(js.cosine(0.1, 10), 5), js.warmup(js.cosine(0.1, 10), 5, shape="cosine"), "shape"),
])
def test_stacking_batches_of_different_structures_names_the_difference(a, b, words):
  assert js.unstack(js.stack([a, b])) == [a, b]           # single schedules: a mixed batch
  with pytest.raises(ValueError, match="schedule 1") as info:  # batches: no new axis across structures
    js.stack([js.stack([a, a]), js.stack([b, b])])
  assert words in str(info.value)


def test_stack_rejects_empty_and_non_schedules():
  with pytest.raises(ValueError):
    js.stack([])
  with pytest.raises(TypeError):
    js.stack([js.constant(1.0), 1.0])


# --- sample ---------------------------------------------------------------------------------------


def test_sample_ranges_and_determinism():
  space = {"init_value": js.log_uniform(1e-4, 1e-1), "gamma": js.uniform(0.5, 0.99),
           "decay_steps": js.int_uniform(1, 3), "begin": js.choice([0, 10])}
  a = js.sample(js.exponential, jax.random.key(0), 32, space)
  b = js.sample(js.exponential, jax.random.key(0), 32, space)
  c = js.sample(js.exponential, jax.random.key(1), 32, space)
  assert a.batch_shape == (32,)
  ca, cb, cc = _configs(a), _configs(b), _configs(c)
  assert ca == cb and ca != cc
  init = np.array([x["init_value"] for x in ca])
  gamma = np.array([x["gamma"] for x in ca])
  assert np.all((init >= 1e-4) & (init <= 1e-1)) and np.all((gamma >= 0.5) & (gamma < 0.99))
  assert init.min() < 1e-3 and init.max() > 1e-2          # spread over the decades, not linear
  assert {x["decay_steps"] for x in ca} == {1, 2, 3}
  assert {x["begin"] for x in ca} == {0, 10}
  assert _configs(js.sample(js.exponential, 0, 3, {"gamma": js.uniform(0.5, 0.6)}, init_value=1.0))[0][
      "init_value"] == 1.0


@pytest.mark.parametrize("make", [lambda: js.uniform(1.0, 1.0), lambda: js.uniform(2.0, 1.0),
                                  lambda: js.log_uniform(0.0, 1.0), lambda: js.log_uniform(-1.0, 1.0),
                                  lambda: js.uniform(0.0, float("inf")), lambda: js.int_uniform(3, 2),
                                  lambda: js.choice([])])
def test_bad_ranges_are_value_errors(make):
  with pytest.raises(ValueError):
    make()


def test_sample_bad_arguments():
  with pytest.raises(ValueError):
    js.sample(js.constant, 0, 0, {"value": js.uniform(0, 1)})
  with pytest.raises(TypeError):
    js.sample(js.constant, 0, 2, {"value": (0, 1)})


# --- evaluate -------------------------------------------------------------------------------------


def test_evaluate_matches_single_calls_and_compiles_once_per_structure():
  steps = jnp.arange(0, 400, 3)
  first = js.grid(js.warmup_cosine, {"peak_value": [0.1, 0.3, 1.0]}, warmup_steps=20, total_steps=300)
  second = js.grid(js.warmup_cosine, {"peak_value": [2.0, 0.5, 0.7]}, warmup_steps=50, total_steps=350)
  before = _evaluate._cache_size()
  values = js.evaluate(first, steps)
  assert _evaluate._cache_size() == before + 1
  other = js.evaluate(second, steps)
  assert _evaluate._cache_size() == before + 1           # new values, same structure: no recompile
  assert values.shape == (3,) + steps.shape
  for batch, got in ((first, values), (second, other)):
    np.testing.assert_allclose(got, _loop(batch, steps), rtol=1e-6)
  assert js.evaluate(js.constant(2.0), 5).shape == ()


# --- sweep (one device) ---------------------------------------------------------------------------


def _run(s):
  t = jnp.arange(12)
  return {"lr": s(t), "total": jnp.sum(s(t))}


def test_sweep_equals_a_loop_and_keeps_the_batch_shape():
  batch = js.grid(js.cosine, {"init_value": [0.1, 0.2, 0.3, 0.4, 0.5]}, steps=10)
  expected = _loop(batch, jnp.arange(12))
  out = js.sweep(_run, batch, progress=False)
  np.testing.assert_allclose(out["lr"], expected, rtol=1e-6)
  assert out["total"].shape == (5,)
  chunked = js.sweep(_run, js.unstack(batch), chunk_size=2, progress=False)   # a list is stacked
  np.testing.assert_allclose(chunked["lr"], expected, rtol=1e-6)
  two_axes = js.stack([batch, batch])
  assert js.sweep(_run, two_axes, progress=False)["lr"].shape == (2, 5, 12)


def test_sweep_of_a_dict_of_batches():
  batches = {"cos": js.grid(js.cosine, {"init_value": [0.1, 0.2]}, steps=10),
             "exp": js.grid(js.exponential, {"gamma": [0.9, 0.8]}, init_value=1.0)}
  out = js.sweep(lambda d: {k: s(3) for k, s in d.items()}, batches, progress=False)
  np.testing.assert_allclose(out["exp"], [0.9**3, 0.8**3], rtol=1e-6)
  assert out["cos"].shape == (2,)


def test_sweep_progress_on_a_terminal_without_tqdm(monkeypatch, capsys):
  monkeypatch.setitem(sys.modules, "tqdm", None)
  monkeypatch.setitem(sys.modules, "tqdm.auto", None)
  monkeypatch.setattr(sys.stderr, "isatty", lambda: True, raising=False)
  batch = js.grid(js.constant, {"value": [1.0, 2.0, 3.0]})
  js.sweep(_run, batch, chunk_size=1)                 # default: shown, stderr is a terminal
  err = capsys.readouterr().err
  assert "\rsweep: 3/3 settings" in err and err.endswith("\n")
  js.sweep(_run, batch, progress=False)
  assert capsys.readouterr().err == ""


def test_sweep_progress_in_a_log_is_lines_without_carriage_returns(capsys):
  batch = js.grid(js.constant, {"value": [1.0, 2.0, 3.0]})
  js.sweep(_run, batch, chunk_size=1)                 # default, not a terminal: a library is quiet
  assert capsys.readouterr().err == ""
  js.sweep(_run, batch, chunk_size=1, progress=True)  # asked for: start, one per chunk, end
  lines = capsys.readouterr().err.split("\n")
  assert "\r" not in "\n".join(lines) and lines[-1] == ""
  assert len(lines[:-1]) == 5, lines
  assert "3 settings in 3 chunks" in lines[0]
  assert [l.split(" settings")[0] for l in lines[1:4]] == ["sweep: 1/3", "sweep: 2/3", "sweep: 3/3"]
  assert "3/3 settings done" in lines[4]
  js.sweep(_run, batch, progress=True)                # one chunk: no per-chunk line
  lines = capsys.readouterr().err.splitlines()
  assert len(lines) == 2 and "done" in lines[1]
  with pytest.raises(TypeError, match="progress"):
    js.sweep(_run, batch, progress="yes")


def test_sweep_bad_arguments():
  batch = js.grid(js.constant, {"value": [1.0, 2.0]})
  with pytest.raises(ValueError, match="single schedule"):
    js.sweep(_run, js.constant(1.0), progress=False)
  with pytest.raises(ValueError, match="devices"):
    js.sweep(_run, batch, devices=len(jax.devices()) + 1, progress=False)
  with pytest.raises(ValueError, match="chunk_size"):
    js.sweep(_run, batch, chunk_size=0, progress=False)
  with pytest.raises(ValueError, match="leading batch axis"):
    js.sweep(lambda x: x, {"a": jnp.zeros(2), "b": jnp.zeros(3)}, progress=False)


SHARDED = textwrap.dedent("""
    import jax, jax.numpy as jnp, numpy as np, optax
    import jaxsched as js
    assert len(jax.devices()) == 4, jax.devices()

    def run(schedule):            # a real (tiny) training run: SGD on a quadratic
      opt = optax.inject_hyperparams(optax.sgd)(learning_rate=schedule)
      target = jnp.array([1.0, -2.0, 3.0])
      def step(carry, _):
        w, state = carry
        g = 2 * (w - target)
        u, state = opt.update(g, state, w)
        w = optax.apply_updates(w, u)
        return (w, state), jnp.sum((w - target) ** 2)
      (w, _), loss = jax.lax.scan(step, (jnp.zeros(3), opt.init(jnp.zeros(3))), None, length=30)
      return {"w": w, "loss": loss, "lr": schedule(jnp.arange(30))}

    batch = js.grid(js.exponential, {"init_value": [0.2, 0.1, 0.05, 0.01], "gamma": [0.9, 0.99]})
    singles = [jax.jit(run)(s) for s in js.unstack(batch)]
    expected = {k: np.stack([np.asarray(x[k]) for x in singles]) for k in singles[0]}

    out = js.sweep(run, batch, progress=False)
    for k in expected:
      np.testing.assert_allclose(out[k], expected[k], rtol=1e-6, err_msg=k)
    sharding = out["loss"].sharding
    assert len(sharding.device_set) == 4, sharding
    assert sorted(s.data.shape for s in out["loss"].addressable_shards) == [(2, 30)] * 4
    assert {s.device for s in out["loss"].addressable_shards} == set(jax.devices())

    six = js.stack(js.unstack(batch)[:6])          # not a multiple of 4: padded, then sliced
    out6 = js.sweep(run, six, progress=False)
    assert out6["loss"].shape == (6, 30)
    for k in expected:
      np.testing.assert_allclose(out6[k], expected[k][:6], rtol=1e-6, err_msg=k)

    chunked = js.sweep(run, six, chunk_size=4, progress=False)      # 2 chunks of 4, one program
    np.testing.assert_allclose(chunked["loss"], expected["loss"][:6], rtol=1e-6)

    two = js.sweep(run, batch, devices=2, progress=False)            # the first two
    assert two["loss"].sharding.device_set == set(jax.devices()[:2])
    np.testing.assert_allclose(two["loss"], expected["loss"], rtol=1e-6)
    last = js.sweep(run, batch, devices=jax.devices()[2:], progress=False)   # a list: those
    assert last["loss"].sharding.device_set == set(jax.devices()[2:])
    np.testing.assert_allclose(last["loss"], expected["loss"], rtol=1e-6)

    # a mixed batch (three families, two decay shapes) sharded over the 4 devices, padded, chunked
    members = [js.linear(0.3, 0.0, 30), js.wsd(0.2, 3, 10, 15), js.exponential(0.25, 0.95),
               js.wsd(0.1, 0, 20, 8, decay_shape="cosine"), js.linear(0.1, 0.01, 20),
               js.exponential(0.05, 0.9, decay_steps=2, staircase=True)]
    mixed = js.stack(members)
    assert type(mixed).__name__ == "Mixed" and len(mixed) == 6
    loop = [jax.jit(run)(s) for s in members]                # one run per member
    want = {k: np.stack([np.asarray(x[k]) for x in loop]) for k in loop[0]}
    got = js.sweep(run, mixed, chunk_size=4, progress=False)  # padded to 8: 2 chunks over 4 devices
    assert len(got["loss"].sharding.device_set) == 4 and got["loss"].shape == (6, 30)
    for k in want:
      np.testing.assert_allclose(got[k], want[k], rtol=2e-6, err_msg=k)
    print("sharded sweep ok")
""")


def test_sweep_shards_over_four_devices(tmp_path):
  script = tmp_path / "sharded.py"
  script.write_text(SHARDED)
  env = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=4", JAX_PLATFORMS="cpu",
             PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
  done = subprocess.run([sys.executable, str(script)], env=env, capture_output=True, text=True,
                        timeout=300)
  assert done.returncode == 0, done.stderr[-3000:]
  assert "sharded sweep ok" in done.stdout
