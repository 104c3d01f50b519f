"""The command line's searches: ``jaxsched sweep --search halving|pbt``, ``--checkpoint`` resume and
``jaxsched lr-find``; bad search flags as one line. Small sizes: the whole file runs in about a
minute on 2 cores."""

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import jaxsched as js
from jaxsched import cli, main_job
from tests.paths import pythonpath

PNG = b"\x89PNG\r\n\x1a\n"


def _one_error_line(stderr: str) -> str:
  lines = stderr.strip().splitlines()
  assert "Traceback" not in stderr
  assert len(lines) == 1 and lines[0].startswith("jaxsched: error: "), stderr
  return lines[0]


def _report(path):
  return json.loads((path / "sweep.json").read_text())


def test_protocol_is_the_main_jobs_task():
  """Trained alone for T steps, the protocol gives make_run's final loss."""
  import jax

  T, s = 30, js.cosine(0.1, 30)
  task = main_job.protocol(T)
  state = task.init(s, jax.random.key(0))
  step = jax.jit(lambda st, t: task.update(st, s, t))
  for t in range(T):
    state = step(state, t)
  expected = float(np.asarray(main_job.make_run(T)(s)["loss"])[-1])
  assert float(task.score(state, s)) == pytest.approx(expected, rel=1e-6)


def test_halving_prints_rungs_and_writes_the_rung_history(tmp_path, capsys):
  argv = ["sweep", "--search", "halving", "--settings", "9", "--steps", "27", "--eta", "3"]
  assert cli.main([*argv, "--min-steps", "3", "--out", str(tmp_path), "--no-progress"]) == 0
  out = capsys.readouterr().out
  rungs = [line for line in out.splitlines() if line.startswith("rung ")]
  assert [r.split(":")[0] for r in rungs] == ["rung 1", "rung 2", "rung 3"]
  assert "9 settings to step 3" in rungs[0] and "3 kept" in rungs[0] and " s)" in rungs[0]
  assert "63 update steps against 243 for the full grid" in out and "best:" in out
  report = _report(tmp_path)
  search = report["search"]
  assert report["command"] == "jaxsched sweep --search halving" and report["settings"] == 9
  assert search["method"] == "halving" and search["update_steps"] == 63
  assert [r["steps"] for r in search["rungs"]] == [3, 9, 27]
  assert [len(r["indices"]) for r in search["rungs"]] == [9, 3, 1]
  results = report["results"]
  assert [r["rank"] for r in results] == list(range(1, 10))
  assert results[0]["index"] == search["best_index"] and results[0]["stopped_at"] == 27
  assert js.from_config(search["best"]) == js.from_config(results[0]["config"])
  for r in results:  # each curve up to the rung where the setting stopped
    assert r["stopped_at"] in (3, 9, 27)
    assert len(r["lr_curve"]) == r["stopped_at"]
    assert r["loss_curve_steps"][-1] == r["stopped_at"]
    assert r["final_loss"] == pytest.approx(r["loss_curve"][-1], rel=1e-5)
  assert (tmp_path / "sweep.png").read_bytes()[:8] == PNG
  assert report["figure"]["file"] == "sweep.png"


def test_pbt_prints_intervals_and_the_lineage(tmp_path, capsys):
  argv = ["sweep", "--search", "pbt", "--settings", "4", "--steps", "20", "--interval", "5"]
  assert cli.main([*argv, "--fraction", "0.25", "--out", str(tmp_path), "--no-progress"]) == 0
  out = capsys.readouterr().out
  assert [x.split(":")[0] for x in out.splitlines() if x.startswith("interval ")] == [
    f"interval {k}" for k in range(1, 5)
  ]
  assert "winner: member" in out and "its lineage:" in out and "  from step 0 " in out
  search = _report(tmp_path)["search"]
  assert search["method"] == "pbt" and search["interval"] == 5 and search["intervals"] == 4
  assert search["lineage"][0]["start"] == 0
  assert [seg["start"] % 5 for seg in search["lineage"]] == [0] * len(search["lineage"])
  best = js.from_config(search["best"])  # the lineage as one schedule, saved as data
  assert isinstance(best, js.Schedule)
  assert len(search["history"]) == 4 and len(search["history"][0]) == 4
  assert (tmp_path / "sweep.png").read_bytes()[:8] == PNG


def test_halving_checkpoint_resumes_to_the_same_report(tmp_path, capsys):
  ck, a, b = tmp_path / "ck", tmp_path / "a", tmp_path / "b"
  argv = ["sweep", "--search", "halving", "--settings", "9", "--steps", "27", "--no-progress"]
  assert cli.main([*argv, "--checkpoint", str(ck), "--out", str(a)]) == 0
  assert cli.main([*argv, "--checkpoint", str(ck), "--out", str(b)]) == 0  # every rung read back
  capsys.readouterr()
  first, again = _report(a), _report(b)
  assert again["search"]["resumed_rungs"] == len(first["search"]["rungs"])
  assert again["compiled_programs"] == 0
  assert again["results"] == first["results"]
  assert cli.main([*argv, "--eta", "2", "--checkpoint", str(ck), "--out", str(b)]) == 2
  assert "different run" in _one_error_line(capsys.readouterr().err)


KILLED_RUNS = {  # long enough to be killed after the first save
  "sweep": ["--settings", "8", "--steps", "2000", "--chunk-size", "2"],
  "pbt": ["--search", "pbt", "--settings", "8", "--steps", "3000", "--interval", "100"],
}


@pytest.mark.parametrize("run", sorted(KILLED_RUNS))
def test_a_run_killed_with_sigkill_resumes_to_the_same_report(tmp_path, run):
  """A plain sweep, or a PBT search, with --checkpoint is killed (SIGKILL) once its first chunk or
  interval is saved; the rerun with the same arguments resumes and writes what an uninterrupted
  run with the same arguments writes."""
  from jaxsched.search.checkpoint import FILE

  ck, killed, whole = tmp_path / "ck", tmp_path / "killed", tmp_path / "whole"
  flags = [*KILLED_RUNS[run], "--no-progress"]
  env = dict(os.environ, PYTHONPATH=pythonpath(), JAX_PLATFORMS="cpu")
  proc = subprocess.Popen(
    [
      sys.executable,
      "-m",
      "jaxsched",
      "sweep",
      *flags,
      "--checkpoint",
      str(ck),
      "--out",
      str(killed),
    ],
    env=env,
    stdout=subprocess.DEVNULL,
    stderr=subprocess.DEVNULL,
  )
  try:
    deadline = time.monotonic() + 120
    while not (ck / FILE).exists() and proc.poll() is None and time.monotonic() < deadline:
      time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
  finally:
    if proc.poll() is None:
      proc.kill()
  if proc.returncode == 0:
    pytest.skip("the run finished before it could be killed")
  record = np.load(ck / FILE)  # whole and readable, whatever the moment of the kill
  assert len(record.files) > 1
  assert not (killed / "sweep.json").exists()
  assert cli.main(["sweep", *flags, "--checkpoint", str(ck), "--out", str(killed)]) == 0
  again = ["--checkpoint", str(tmp_path / "ck-whole")] if run == "pbt" else []
  assert cli.main(["sweep", *flags, *again, "--out", str(whole)]) == 0
  resumed, uninterrupted = _report(killed), _report(whole)
  if run == "pbt":
    assert resumed["search"]["resumed_intervals"] > 0
    assert uninterrupted["search"]["resumed_intervals"] == 0
    for key in ("best", "best_member", "best_score", "lineage", "history", "donors"):
      assert resumed["search"][key] == uninterrupted["search"][key], key
  a, b = resumed["results"], uninterrupted["results"]
  assert [r["config"] for r in a] == [r["config"] for r in b]
  for x, y in zip(a, b, strict=True):
    curve = lambda r: np.array(r["loss_curve"], np.float64)  # null (diverged) -> NaN
    np.testing.assert_allclose(curve(x), curve(y), rtol=1e-6)


def test_lr_find_prints_and_plots_the_curve(tmp_path, capsys):
  png = tmp_path / "find.png"
  assert cli.main(["lr-find", "--steps", "30", "-o", str(png), "--no-progress"]) == 0
  out = capsys.readouterr().out
  assert "suggestion: lr = " in out and f"wrote {png}" in out
  assert png.read_bytes()[:8] == PNG
  csv = tmp_path / "find.csv"
  assert cli.main(["lr-find", "--parallel", "4", "--steps", "10", "-o", str(csv)]) == 0
  rows = csv.read_text().splitlines()
  assert rows[0] == "lr,loss" and len(rows) == 5


def test_sweep_help_documents_the_search_flags(capsys):
  assert cli.main(["sweep", "--help"]) == 0
  text = " ".join(capsys.readouterr().out.split())
  for flag in ("--search {halving,pbt}", "--eta", "--min-steps", "--interval", "--fraction"):
    assert flag in text
  assert "--checkpoint DIR" in text


@pytest.mark.parametrize(
  "argv, words",
  [
    (["sweep", "--eta", "3"], ["--eta applies to --search halving", "plain sweep"]),
    (["sweep", "--search", "pbt", "--min-steps", "3"], ["--min-steps applies to --search halving"]),
    (["sweep", "--search", "halving", "--interval", "3"], ["--interval applies to --search pbt"]),
    (["sweep", "--search", "halving", "--eta", "1"], ["--eta", "integer >= 2"]),
    (["sweep", "--search", "pbt", "--fraction", "0.7"], ["--fraction", "(0, 0.5]"]),
    (["sweep", "--search", "grid"], ["--search", "invalid choice"]),
    (
      ["sweep", "--search", "halving", "--steps", "10", "--min-steps", "20"],
      ["--min-steps 20 must be <= --steps 10"],
    ),
    (
      ["sweep", "--search", "pbt", "--steps", "10", "--interval", "20"],
      ["--interval 20 must be <= --steps 10"],
    ),
    (["lr-find", "--parallel", "1"], ["--parallel 1", "2 or more"]),
    (["lr-find", "--min-lr", "1", "--max-lr", "0.1"], ["--min-lr 1 must be below --max-lr 0.1"]),
    (["lr-find", "--max-lr", "-1"], ["--max-lr", "number > 0"]),
    (["lr-find", "-o", "curve.xyz"], ["unknown format '.xyz'"]),
  ],
)
def test_bad_search_flags_are_one_line(argv, words, tmp_path, monkeypatch, capsys):
  monkeypatch.chdir(tmp_path)
  assert cli.main([*argv, "--out", str(tmp_path)] if argv[0] == "sweep" else argv) == 2
  line = _one_error_line(capsys.readouterr().err)
  for w in words:
    assert w in line, line
  assert not (tmp_path / "sweep.json").exists()


def test_a_checkpoint_that_is_a_file_is_one_line(tmp_path, capsys):
  (tmp_path / "file").write_text("x")
  argv = ["sweep", "--search", "halving", "--settings", "3", "--steps", "3", "--out", str(tmp_path)]
  assert cli.main([*argv, "--checkpoint", str(tmp_path / "file")]) == 2
  assert "not a directory" in _one_error_line(capsys.readouterr().err)
