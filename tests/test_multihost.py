"""Many hosts, for real: 2 local CPU processes with 2 devices each (``jax.distributed`` on
127.0.0.1) against 1 process with 4 devices, for the CLI main job and the library ``sweep``; a
process killed mid-run; and ``--search halving|pbt --checkpoint`` on 2 processes against 1.

The three processes of the first tests run at the same time (one worker script each,
``tests/_multihost_worker.py``).
"""

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from tests.paths import pythonpath

WORKER = Path(__file__).with_name("_multihost_worker.py")
SETTINGS, STEPS = 6, 20


def _free_port() -> int:
  with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    return s.getsockname()[1]


def _start(out: Path, devices: int, flags):
  out.mkdir()
  path = pythonpath()
  env = dict(
    os.environ,
    PYTHONPATH=path,
    JAX_PLATFORMS="cpu",
    XLA_FLAGS=f"--xla_force_host_platform_device_count={devices}",
  )
  argv = [
    sys.executable,
    str(WORKER),
    str(out),
    "--settings",
    str(SETTINGS),
    "--steps",
    str(STEPS),
    "--out",
    str(out),
    "--no-progress",
    "--top",
    "0",
    *flags,
  ]
  return subprocess.Popen(
    argv, env=env, cwd=out, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
  )


def _finish(proc, timeout=240):
  try:
    stdout, stderr = proc.communicate(timeout=timeout)
  except subprocess.TimeoutExpired:
    proc.kill()
    stdout, stderr = proc.communicate()
    pytest.fail(f"timed out; stderr: {stderr[-3000:]}")
  assert proc.returncode == 0, stderr[-3000:]
  assert "Traceback" not in stderr
  return stdout.split("--- library sweep ---")[0]  # the CLI's stdout


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
  base = tmp_path_factory.mktemp("multihost")
  port = _free_port()
  procs = [
    _start(
      base / f"p{i}",
      2,
      ["--coordinator", f"127.0.0.1:{port}", "--num-processes", "2", "--process-id", str(i)],
    )
    for i in range(2)
  ]
  single = _start(base / "single", 4, [])
  outs = [_finish(p) for p in procs]
  return base, outs, _finish(single)


def _results_of(report: dict) -> dict:
  return {r["index"]: r for r in report["results"]}


def _results(path):
  return _results_of(json.loads(path.read_text()))


def test_cli_main_job_on_two_processes_matches_one(runs):
  base, (out0, out1), single = runs
  assert "rank" in out0 and "in 2 processes" in out0
  assert out1 == ""  # only process 0 prints (Gloo's C++ chatter
  # goes to stderr) ...
  assert not (base / "p1" / "sweep.json").exists()  # ... and writes
  assert not (base / "p1" / "sweep.png").exists()
  two = json.loads((base / "p0" / "sweep.json").read_text())
  assert two["processes"] == 2 and two["devices"] == 4
  a, b = _results(base / "p0" / "sweep.json"), _results(base / "single" / "sweep.json")
  assert sorted(a) == sorted(b) == list(range(SETTINGS))
  for i in a:
    assert a[i]["config"] == b[i]["config"]
    assert a[i]["rank"] == b[i]["rank"]
    np.testing.assert_allclose(a[i]["loss_curve"], b[i]["loss_curve"], rtol=2e-6)
    np.testing.assert_allclose(a[i]["lr_curve"], b[i]["lr_curve"], rtol=2e-6)
  # the ranking printed by process 0 is the single process's ranking
  assert out0.split("\n\n")[0] == single.split("\n\n")[0]


def test_library_sweep_on_two_processes_matches_one(runs):
  base, _, _ = runs
  one = np.load(base / "single" / "lib_0.npz")
  for i in range(2):  # every process gathered the same results
    two = np.load(base / f"p{i}" / f"lib_{i}.npz")
    for devices in (None, 2):  # 2: one device of each process
      np.testing.assert_allclose(two[f"lr_{devices}"], one[f"lr_{devices}"], rtol=1e-6)
      np.testing.assert_allclose(two[f"sum_{devices}"], one[f"sum_{devices}"], rtol=1e-6)
      assert two[f"lr_{devices}"].shape == (6, 22)
  errors = {str(np.load(base / f"p{i}" / f"lib_{i}.npz")["error_3"]) for i in range(2)}
  assert len(errors) == 1  # the same clear error in every process
  message = errors.pop()
  assert "devices=3" in message and "2 processes" in message and "multiple of 2" in message
  assert str(one["error_3"]) == "no error"  # 3 of 4 devices in one process is fine


def test_a_run_refused_by_one_process_stops_every_process(tmp_path):
  """Process 0 cannot write its outputs: it says why, process 1 points to it, both exit 2 before
  compiling (neither waits for the other forever)."""
  (tmp_path / "file").write_text("x")
  port = _free_port()
  path = pythonpath()
  env = dict(
    os.environ,
    PYTHONPATH=path,
    JAX_PLATFORMS="cpu",
    XLA_FLAGS="--xla_force_host_platform_device_count=1",
  )
  procs = [
    subprocess.Popen(
      [
        sys.executable,
        "-m",
        "jaxsched",
        "sweep",
        "--out",
        str(tmp_path / "file" / "sub"),
        "--coordinator",
        f"127.0.0.1:{port}",
        "--num-processes",
        "2",
        "--process-id",
        str(i),
      ],
      env=env,
      cwd=tmp_path,
      stdout=subprocess.PIPE,
      stderr=subprocess.PIPE,
      text=True,
    )
    for i in range(2)
  ]
  errors = []
  for p in procs:
    try:
      out, err = p.communicate(timeout=120)
    except subprocess.TimeoutExpired:
      p.kill()
      pytest.fail("a process kept waiting")
    assert p.returncode == 2 and out == "" and "Traceback" not in err, err[-2000:]
    errors.append([x for x in err.splitlines() if x.startswith("jaxsched: error: ")])
  assert len(errors[0]) == 1 and "cannot create" in errors[0][0]
  assert errors[1] == ["jaxsched: error: process 0 refused the run (its error says why)"]


# --- a process killed mid-run ---------------------------------------------------------------------

KILL_FLAGS = ["--settings", "16", "--steps", "1000", "--chunk-size", "4", "--no-progress"]


def _cli(out: Path, devices: int, flags):
  env = dict(
    os.environ,
    PYTHONPATH=pythonpath(),
    JAX_PLATFORMS="cpu",
    XLA_FLAGS=f"--xla_force_host_platform_device_count={devices}",
  )
  out.mkdir(parents=True, exist_ok=True)
  return subprocess.Popen(
    [sys.executable, "-m", "jaxsched", "sweep", "--out", str(out), "--top", "0", *flags],
    env=env,
    cwd=out,
    stdout=subprocess.PIPE,
    stderr=subprocess.PIPE,
    text=True,
  )


def _pair(base: Path, checkpoint: Path, flags=KILL_FLAGS):
  """Processes 0 and 1 of a run on 1 device each, writing into ``base/p0`` and ``base/p1``."""
  port = _free_port()
  return [
    _cli(
      base / f"p{i}",
      1,
      [
        *flags,
        "--checkpoint",
        str(checkpoint),
        "--coordinator",
        f"127.0.0.1:{port}",
        "--num-processes",
        "2",
        "--process-id",
        str(i),
      ],
    )
    for i in range(2)
  ]


def _own_lines(stderr: str):
  """stderr without the joining notice and Gloo's connection chatter (both printed before any
  chunk ran)."""
  return [
    x
    for x in stderr.splitlines()
    if not x.startswith(("jaxsched: joining", "[Gloo]")) and x.strip()
  ]


# The survivor's one line, whichever way JAX tells it of the death: a collective that fails in
# Python (the library's line) or JAX's own abort when the coordinator is gone (the watcher's line);
# which one comes first is a race inside JAX, so either is right for either victim.
SURVIVOR_LINES = (
  "the multi-process run failed, most likely because another process stopped",
  "JAX ended the multi-process run, most likely because process 0 (the coordinator) stopped",
)


def _kill_mid_run(base: Path, victim: int) -> Path:
  """Starts a pair with a checkpoint and kills process ``victim`` once the first chunk is saved;
  the survivor must exit with status 1 within 10 s, printing one line (one of
  ``SURVIVOR_LINES``) that says how to resume, and nothing native. Returns the checkpoint
  directory, whose long name must come through the error line uncut."""
  from jaxsched.search.checkpoint import FILE

  checkpoint = base.joinpath(*["a-checkpoint-directory-with-a-long-path"] * 8)
  procs = _pair(base / "killed", checkpoint)
  survivor = procs[1 - victim]
  try:
    deadline = time.monotonic() + 120
    while not (checkpoint / FILE).exists():  # the first chunk is saved: the run is under way
      assert procs[0].poll() is None and procs[1].poll() is None, survivor.stderr.read()
      assert time.monotonic() < deadline, "no chunk was saved"
      time.sleep(0.05)
    procs[victim].kill()
    killed = time.monotonic()
    out, err = survivor.communicate(timeout=120)
    waited = time.monotonic() - killed
  finally:
    for p in procs:
      if p.poll() is None:
        p.kill()
      p.communicate()
  assert survivor.returncode == 1, err[-3000:]
  assert waited < 10, (waited, err[-2000:])
  lines = _own_lines(err)
  heads = [f"jaxsched: error: process {1 - victim} of 2: {line}" for line in SURVIVOR_LINES]
  assert len(lines) == 1 and lines[0].startswith(tuple(heads)), err[-3000:]
  assert f"--checkpoint {checkpoint}" in lines[0] and "resume" in lines[0]
  assert "Traceback" not in err and "Check failure" not in err and out == ""
  return checkpoint


def test_a_killed_process_ends_the_other_in_one_line_and_a_rerun_resumes(tmp_path):
  """Process 1 is killed after the first chunk is in the checkpoint: process 0 says so in one line
  and exits with status 1 within seconds (not JAX's ~90 s shutdown barrier and C++ abort). Both
  restarted with the same arguments resume and write what an uninterrupted run writes."""
  from jaxsched.search.checkpoint import FILE

  checkpoint = _kill_mid_run(tmp_path, 1)
  done = np.load(checkpoint / FILE)  # complete chunks only: a whole, readable file
  assert FILE in os.listdir(checkpoint) and len(done.files) > 1

  reference = _cli(tmp_path / "whole", 2, KILL_FLAGS)  # one process, 2 devices, no checkpoint
  again = _pair(tmp_path / "resumed", checkpoint)
  outs = [_finish(p, timeout=180) for p in again]
  whole = _finish(reference, timeout=180)
  assert "rank" in outs[0] and outs[1] == "" and "rank" in whole
  a = _results(tmp_path / "resumed" / "p0" / "sweep.json")
  b = _results(tmp_path / "whole" / "sweep.json")
  assert sorted(a) == sorted(b) == list(range(16))
  for i in a:
    assert a[i]["config"] == b[i]["config"] and a[i]["rank"] == b[i]["rank"]
    curve = lambda r: np.array(r["loss_curve"], np.float64)  # null (diverged) -> NaN
    np.testing.assert_allclose(curve(a[i]), curve(b[i]), rtol=2e-6)


def test_a_killed_process_0_ends_the_others_in_one_line(tmp_path):
  """Process 0 hosts JAX's coordination service: when it dies, JAX ends the other processes from
  C++ (abort, a native stack trace), unless a collective fails in Python first. The command
  line's watcher turns the abort into one line; either way, status 1 within seconds, and the
  checkpoint keeps the completed chunks."""
  from jaxsched.search.checkpoint import FILE

  checkpoint = _kill_mid_run(tmp_path, 0)
  assert len(np.load(checkpoint / FILE).files) > 1  # a whole, readable file


# --- the searches on two processes ------------------------------------------------------------------

SEARCH_FLAGS = {
  "halving": ["--search", "halving", "--settings", "8", "--steps", "27", "--min-steps", "3"],
  "pbt": ["--search", "pbt", "--settings", "8", "--steps", "40", "--interval", "10"],
}


@pytest.mark.parametrize("method", sorted(SEARCH_FLAGS))
def test_a_search_on_two_processes_matches_one_and_a_rerun_resumes(tmp_path, method):
  """``--search`` with ``--checkpoint`` on 2 processes of 1 device each equals 1 process of 2
  devices (the same 2-device mesh): the same rungs or intervals, the same winner and scores. A
  rerun of the pair over its complete checkpoint resumes (trains nothing more) and writes the
  same result."""
  flags = [*SEARCH_FLAGS[method], "--no-progress"]

  def pair(name: str):
    outs = [_finish(p, timeout=240) for p in _pair(tmp_path / name, tmp_path / "ck", flags)]
    assert outs[1] == ""  # only process 0 prints and writes
    assert not (tmp_path / name / "p1" / "sweep.json").exists()
    return json.loads((tmp_path / name / "p0" / "sweep.json").read_text())

  two = pair("two")
  _finish(_cli(tmp_path / "one", 2, [*flags, "--checkpoint", str(tmp_path / "ck1")]))
  one = json.loads((tmp_path / "one" / "sweep.json").read_text())
  again = pair("again")
  assert two["processes"] == 2 and one["processes"] == 1 and two["devices"] == one["devices"] == 2
  for key in ("best_index", "best"):
    if key in one["search"]:
      assert two["search"][key] == one["search"][key] == again["search"][key], key
  np.testing.assert_allclose(two["search"]["best_score"], one["search"]["best_score"], rtol=2e-6)
  a, b, c = (_results_of(x) for x in (two, one, again))
  assert sorted(a) == sorted(b) == sorted(c) == list(range(8))
  for i in a:
    assert a[i]["rank"] == b[i]["rank"] == c[i]["rank"]
    np.testing.assert_allclose(a[i]["final_loss"], b[i]["final_loss"], rtol=2e-6)
    assert c[i]["final_loss"] == a[i]["final_loss"]  # resumed: the same saved numbers
  resumed = "resumed_rungs" if method == "halving" else "resumed_intervals"
  assert two["search"][resumed] == 0 and again["search"][resumed] > 0, again["search"]
