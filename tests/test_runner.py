"""The sweep runner (``jaxsched.runner``; README, "Sweeps"): ``sweep`` and ``run_sweep`` equal a
loop of single runs, chunked, padded and sharded (one device here; four in a subprocess with forced
host devices), with their progress display and figures; ``resolve_devices``."""

import dataclasses
import os
import subprocess
import sys
import textwrap

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxsched as js
from jaxsched import runner
from tests.paths import pythonpath

# Reference values: a loop of single schedules, each through one jitted call (eager evaluation would
# compile every primitive of every formula separately, which is slow on CI).
_single = jax.jit(lambda schedule, t: schedule(t))


def _loop(batch, t):
  return np.stack([_single(s, t) for s in js.unstack(batch)])


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
  chunked = js.sweep(_run, js.unstack(batch), chunk_size=2, progress=False)  # a list is stacked
  np.testing.assert_allclose(chunked["lr"], expected, rtol=1e-6)
  two_axes = js.stack([batch, batch])
  assert js.sweep(_run, two_axes, progress=False)["lr"].shape == (2, 5, 12)


def test_sweep_of_a_dict_of_batches():
  batches = {
    "cos": js.grid(js.cosine, {"init_value": [0.1, 0.2]}, steps=10),
    "exp": js.grid(js.exponential, {"gamma": [0.9, 0.8]}, init_value=1.0),
  }
  out = js.sweep(lambda d: {k: s(3) for k, s in d.items()}, batches, progress=False)
  np.testing.assert_allclose(out["exp"], [0.9**3, 0.8**3], rtol=1e-6)
  assert out["cos"].shape == (2,)


def test_sweep_progress_on_a_terminal_without_tqdm(monkeypatch, capsys):
  monkeypatch.setitem(sys.modules, "tqdm", None)
  monkeypatch.setitem(sys.modules, "tqdm.auto", None)
  monkeypatch.setattr(sys.stderr, "isatty", lambda: True, raising=False)
  batch = js.grid(js.constant, {"value": [1.0, 2.0, 3.0]})
  js.sweep(_run, batch, chunk_size=1)  # default: shown, stderr is a terminal
  err = capsys.readouterr().err
  assert "\rsweep: 3/3 settings" in err and err.endswith("\n")
  js.sweep(_run, batch, progress=False)
  assert capsys.readouterr().err == ""


def test_sweep_progress_in_a_log_is_lines_without_carriage_returns(capsys):
  batch = js.grid(js.constant, {"value": [1.0, 2.0, 3.0]})
  js.sweep(_run, batch, chunk_size=1)  # default, not a terminal: a library is quiet
  assert capsys.readouterr().err == ""
  js.sweep(_run, batch, chunk_size=1, progress=True)  # asked for: start, one per chunk, end
  lines = capsys.readouterr().err.split("\n")
  assert "\r" not in "\n".join(lines) and lines[-1] == ""
  assert len(lines[:-1]) == 5, lines
  assert "3 settings in 3 chunks" in lines[0]
  assert [l.split(" settings")[0] for l in lines[1:4]] == ["sweep: 1/3", "sweep: 2/3", "sweep: 3/3"]
  assert "3/3 settings done" in lines[4]
  js.sweep(_run, batch, progress=True)  # one chunk: no per-chunk line
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


def test_run_sweep_returns_the_outputs_and_the_figures():
  batch = js.grid(js.cosine, {"init_value": [0.1, 0.2, 0.3, 0.4, 0.5]}, steps=10)
  result = runner.run_sweep(_run, batch, devices=1, chunk_size=2, progress=False)
  assert isinstance(result, runner.SweepResult)
  np.testing.assert_allclose(result.outputs["lr"], _loop(batch, jnp.arange(12)), rtol=1e-6)
  assert (result.chunks, result.chunk_size, result.devices, result.padded) == (3, 2, 1, 1)
  assert result.platform == jax.devices()[0].platform
  assert result.compile_s == pytest.approx(result.lower_s + result.xla_compile_s)
  assert min(result.lower_s, result.xla_compile_s, result.run_s) >= 0
  with pytest.raises(dataclasses.FrozenInstanceError):
    result.chunks = 1
  host = runner.to_host(result.outputs)  # one process: a plain copy, as NumPy
  assert isinstance(host["lr"], np.ndarray) and host["lr"].shape == (5, 12)


def test_resolve_devices_single_process():
  assert runner.resolve_devices(1) == jax.devices()[:1]
  assert runner.resolve_devices(None) == jax.devices()
  with pytest.raises(ValueError, match="devices=99"):
    runner.resolve_devices(99)
  with pytest.raises(TypeError, match="devices must be"):
    runner.resolve_devices(["cpu"])
  with pytest.raises(TypeError, match="devices must be"):
    runner.resolve_devices(3.5)


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
  assert "sharded sweep ok" in done.stdout
