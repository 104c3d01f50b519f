"""Resume files (``jaxsched.search.checkpoint``; docs/search.md, "Resuming"): the atomic write,
refusal of another run's file, no pickle; ``halving`` killed with ``kill -9`` mid-run in a
subprocess and rerun (the same result, no temporary files left); ``sweep(checkpoint=...)``
interrupted after a chunk and rerun; refusal on different arguments.

Run as a script (``python tests/test_checkpoint.py DIR [stall]``) this file is the subprocess: a
halving run of the toy trainer with ``checkpoint=DIR`` that prints its result as JSON; with
``stall`` it sleeps after its second rung (its checkpoint written), waiting to be killed.
"""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import jax.numpy as jnp
import numpy as np
import pytest

import jaxsched as js
from jaxsched import runner
from jaxsched.search import checkpoint as ckpt

VALUES = [0.01 * (i + 1) for i in range(27)]


def init(schedule, key):
  del key
  return {"x": jnp.float32(0.0), "lr0": jnp.asarray(schedule(0), jnp.float32)}


def update(state, schedule, step):
  return {"x": state["x"] + jnp.asarray(schedule(step), jnp.float32), "lr0": state["lr0"]}


def score(state, schedule):
  del schedule
  return (state["x"] - 2.0) ** 2


def search(directory, progress=None, **kwargs):
  batch = js.grid(js.constant, {"value": VALUES})
  arguments = {"max_steps": 27, "min_steps": 1, "eta": 3, **kwargs}
  return js.halving(
    init, update, score, batch, checkpoint=directory, progress=progress, **arguments
  )


def comparable(result) -> dict:
  """The result's JSON without what describes the call rather than the search."""
  data = result.to_json()
  for k in ("seconds", "compiles", "resumed"):
    data.pop(k)
  for r in data["rungs"]:
    r.pop("seconds")
  return data


# --- the Checkpoint class -------------------------------------------------------------------------


def test_save_load_round_trip_and_refusal(tmp_path):
  store = ckpt.Checkpoint(tmp_path / "run", {"kind": "test", "n": 3})
  assert store.load() is None
  store.save({"done": 2}, {"a/0": np.arange(3.0), "a/1": np.ones((2, 2), np.int32)})
  progress, arrays = ckpt.Checkpoint(tmp_path / "run", {"n": 3, "kind": "test"}).load()
  assert progress == {"done": 2}
  np.testing.assert_array_equal(arrays["a/0"], np.arange(3.0))
  like = [np.zeros((1,), np.float64), np.zeros((1, 2), np.int32)]
  assert [x.shape for x in ckpt.unflatten("a", arrays, like)] == [(3,), (2, 2)]
  with pytest.raises(ValueError, match="checkpoint: a/1 is int32"):
    ckpt.unflatten("a", arrays, [like[0], np.zeros((1, 3), np.int32)])
  with pytest.raises(ValueError, match=r"belongs to a different run \(it differs in: n\)"):
    ckpt.Checkpoint(tmp_path / "run", {"kind": "test", "n": 4}).load()
  assert sorted(p.name for p in (tmp_path / "run").iterdir()) == ["checkpoint.npz"]


def test_a_failed_write_keeps_the_last_checkpoint_and_leftovers_are_swept(tmp_path, monkeypatch):
  store = ckpt.Checkpoint(tmp_path, {"kind": "test"})
  store.save({"done": 1}, {"a/0": np.arange(3.0)})

  def torn(f, **arrays):
    f.write(b"PK\x03\x04 half a zip")
    raise OSError("disk full")

  monkeypatch.setattr(np, "savez", torn)
  with pytest.raises(OSError, match="disk full"):
    store.save({"done": 2}, {"a/0": np.arange(4.0)})
  monkeypatch.undo()
  assert [p.name for p in tmp_path.iterdir()] == ["checkpoint.npz"]  # the temporary is gone
  (tmp_path / ".checkpoint.npz.99999.tmp").write_bytes(b"left by kill -9")  # mid-write
  progress, _ = store.load()
  assert progress == {"done": 1}
  assert [p.name for p in tmp_path.iterdir()] == ["checkpoint.npz"]


def test_no_pickle_and_unreadable_files_are_clear_errors(tmp_path):
  (tmp_path / "checkpoint.npz").write_bytes(b"not a zip at all")
  with pytest.raises(ValueError, match="checkpoint: cannot read"):
    ckpt.Checkpoint(tmp_path, {}).load()
  np.savez(tmp_path / "checkpoint.npz", obj=np.array([{"a": 1}], dtype=object))
  with pytest.raises(ValueError, match="checkpoint: cannot read"):
    ckpt.Checkpoint(tmp_path, {}).load()  # an object array would need pickle: refused
  with pytest.raises(ValueError, match="is not a directory"):
    ckpt.Checkpoint(tmp_path / "checkpoint.npz", {})


# --- halving --------------------------------------------------------------------------------------


def test_halving_killed_mid_run_resumes_to_the_same_result(tmp_path):
  reference = search(None)
  directory = tmp_path / "run"
  env = dict(os.environ, JAX_PLATFORMS="cpu", PYTHONPATH=_pythonpath())
  me = str(Path(__file__).resolve())
  killed = subprocess.Popen(
    [sys.executable, me, str(directory), "stall"],
    env=env,
    stdout=subprocess.PIPE,
    stderr=subprocess.PIPE,
    text=True,
  )
  marker = directory / "rung-1"
  try:
    deadline = time.monotonic() + 120
    while not marker.exists():
      assert killed.poll() is None, killed.stderr.read() if killed.stderr else ""
      assert time.monotonic() < deadline, "the subprocess never finished its second rung"
      time.sleep(0.05)
    killed.send_signal(signal.SIGKILL)
  finally:
    killed.wait(timeout=60)
  assert killed.returncode == -signal.SIGKILL
  progress, _ = _lenient(directory).load()
  assert len(progress["rungs"]) == 2  # rungs 0 and 1 complete, rung 2 lost
  done = subprocess.run(
    [sys.executable, me, str(directory)], env=env, capture_output=True, text=True, timeout=300
  )
  assert done.returncode == 0, done.stderr[-3000:]
  resumed = json.loads(done.stdout.strip().splitlines()[-1])
  assert resumed.pop("resumed") == 2
  assert resumed == json.loads(json.dumps(comparable(reference)))
  assert sorted(p.name for p in directory.iterdir()) == ["checkpoint.npz", "rung-1"]


def _lenient(directory):
  """A Checkpoint that accepts any fingerprint (to read a file written by another process)."""
  store = ckpt.Checkpoint(directory, {})
  with np.load(store.path, allow_pickle=False) as data:
    record = json.loads(bytes(data[ckpt.RECORD]).decode())
  store.fingerprint = record["fingerprint"]
  return store


def _pythonpath():
  from tests.paths import pythonpath

  return pythonpath()


def test_halving_resume_in_process_and_refusal(tmp_path):
  reference = search(None, curve_every=1)

  class Stop(Exception):
    pass

  def stop_after_first(record):
    if record.rung == 0:
      raise Stop

  with pytest.raises(Stop):
    search(tmp_path, progress=stop_after_first, curve_every=1)
  resumed = search(tmp_path, curve_every=1)
  assert resumed.resumed == 1 and resumed.compiles == 1
  assert comparable(resumed) == comparable(reference)
  again = search(tmp_path, curve_every=1)  # complete: nothing trains, nothing compiles
  assert again.resumed == 4 and again.compiles == 0
  assert comparable(again) == comparable(reference)
  with pytest.raises(ValueError, match=r"different run \(it differs in: eta, min_steps\)"):
    search(tmp_path, curve_every=1, eta=2, min_steps=3)
  with pytest.raises(ValueError, match="differs in: batch"):
    js.halving(
      init,
      update,
      score,
      js.grid(js.constant, {"value": VALUES[::-1]}),
      max_steps=27,
      min_steps=1,
      eta=3,
      curve_every=1,
      checkpoint=tmp_path,
    )


# --- sweep ----------------------------------------------------------------------------------------


def _run(schedule):
  return {"lr": schedule(jnp.arange(4)), "sum": jnp.sum(schedule(jnp.arange(4)))}


def test_sweep_resumes_after_an_interrupted_chunk(tmp_path, monkeypatch):
  batch = js.grid(js.exponential, {"init_value": [0.1, 0.2, 0.3, 0.4, 0.5]}, gamma=0.5)
  reference = js.sweep(_run, batch, chunk_size=2, progress=False)
  calls = {"n": 0}
  real_feed = runner.feed

  def failing_feed(tree, sharding):
    calls["n"] += 1
    if calls["n"] == 3:
      raise KeyboardInterrupt
    return real_feed(tree, sharding)

  monkeypatch.setattr(runner, "feed", failing_feed)
  with pytest.raises(KeyboardInterrupt):
    runner.run_sweep(_run, batch, chunk_size=2, progress=False, checkpoint=tmp_path)
  monkeypatch.undo()
  result = runner.run_sweep(_run, batch, chunk_size=2, progress=False, checkpoint=tmp_path)
  assert result.resumed == 2 and result.chunks == 3
  for k in ("lr", "sum"):
    np.testing.assert_array_equal(np.asarray(result.outputs[k]), np.asarray(reference[k]))
  done = js.sweep(_run, batch, chunk_size=2, progress=False, checkpoint=tmp_path)
  np.testing.assert_array_equal(np.asarray(done["lr"]), np.asarray(reference["lr"]))
  assert [p.name for p in tmp_path.iterdir()] == ["checkpoint.npz"]
  with pytest.raises(ValueError, match="differs in: chunk_size"):
    js.sweep(_run, batch, chunk_size=4, progress=False, checkpoint=tmp_path)
  with pytest.raises(ValueError, match="differs in: outputs, run"):
    js.sweep(lambda s: s(0), batch, chunk_size=2, progress=False, checkpoint=tmp_path)


if __name__ == "__main__":
  directory = Path(sys.argv[1])
  stall = len(sys.argv) > 2 and sys.argv[2] == "stall"

  def report(record):
    if stall and record.rung == 1:
      (directory / "rung-1").touch()
      time.sleep(600)  # killed here, after rung 1's checkpoint

  result = search(directory, progress=report)
  data = comparable(result)
  data["resumed"] = result.resumed
  print(json.dumps(data))
