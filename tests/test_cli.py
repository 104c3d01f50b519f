"""The command line (SPEC §8): ``sweep`` end to end, ``plot``, ``families``, bad arguments."""
import csv
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import jaxsched as js
from jaxsched import cli

ROOT = Path(__file__).resolve().parents[1]
PNG = b"\x89PNG\r\n\x1a\n"


def _env(**extra):
  path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)
  return dict(os.environ, PYTHONPATH=path, JAX_PLATFORMS="cpu", **extra)


def _jaxsched(*args, cwd, env=None, timeout=300):
  return subprocess.run([sys.executable, "-m", "jaxsched", *args], cwd=cwd, env=env or _env(),
                        capture_output=True, text=True, timeout=timeout)


def _one_error_line(stderr: str):
  lines = stderr.strip().splitlines()
  assert "Traceback" not in stderr
  assert len(lines) == 1 and lines[0].startswith("jaxsched: error: "), stderr
  return lines[0]


# --- sweep ----------------------------------------------------------------------------------------


def test_sweep_end_to_end(tmp_path):
  out = tmp_path / "out"
  started = time.perf_counter()
  done = _jaxsched("sweep", "--settings", "8", "--steps", "50", "--devices", "2", "--out", str(out),
                   cwd=tmp_path)                              # CPU split into 2 devices, sharded
  elapsed = time.perf_counter() - started
  assert done.returncode == 0, done.stderr[-3000:]
  assert elapsed < 120
  assert "Traceback" not in done.stderr
  assert "rank" in done.stdout and "1 program compiled" in done.stdout
  report = json.loads((out / "sweep.json").read_text())
  results = report["results"]
  assert report["settings"] == 8 and len(results) == 8
  assert report["devices"] == 2 and report["compiled_programs"] == 1
  assert [r["rank"] for r in results] == list(range(1, 9))
  assert len({r["family"] for r in results}) == 8           # one setting from each of 8 families
  finite = [r["final_loss"] for r in results if r["final_loss"] is not None]
  assert finite == sorted(finite) and finite
  for r in results:
    schedule = js.from_config(r["config"])                    # every config is accepted back
    assert schedule.family == r["family"]
    assert len(r["loss_curve"]) == 50 and len(r["lr_curve"]) == 50
    if r["final_loss"] is not None:
      assert r["final_loss"] == pytest.approx(r["loss_curve"][-1], rel=1e-5)
      # the lr the optimizer used is the schedule's value at each step (curves keep 6 digits)
      np.testing.assert_allclose(r["lr_curve"], js.evaluate(schedule, np.arange(50)), rtol=1e-5)
  assert (out / "sweep.png").read_bytes()[:8] == PNG


def test_sweep_grid_covers_many_families():
  groups = cli.build_grid(cli.DEFAULT_SETTINGS, cli.DEFAULT_STEPS)
  assert sum(len(s) for _, s in groups) == cli.DEFAULT_SETTINGS
  assert len(groups) >= 5
  for name, schedules in groups:
    assert all(s.family == name for s in schedules)
    js.stack(schedules)                              # each family's settings share a structure
  assert [len(s) for _, s in cli.build_grid(3, 10)] == [1, 1, 1]


def test_sweep_without_matplotlib_still_writes_json(tmp_path, monkeypatch, capsys):
  monkeypatch.setitem(sys.modules, "matplotlib", None)       # `import matplotlib` now fails
  status = cli.main(["sweep", "--settings", "2", "--steps", "5", "--out", str(tmp_path),
                     "--no-progress"])
  out = capsys.readouterr().out
  assert status == 0
  assert 'pip install "jaxsched[plot]"' in out
  assert len(json.loads((tmp_path / "sweep.json").read_text())["results"]) == 2
  assert not (tmp_path / "sweep.png").exists()


# --- plot -----------------------------------------------------------------------------------------


def test_plot_writes_png_and_csv(tmp_path):
  config = js.exponential(0.3, 0.99, staircase=True, decay_steps=7)
  (tmp_path / "exp.json").write_text(json.dumps(config.to_config()))
  specs = ["cosine(init_value=0.1, steps=100)",
           "warmup(cosine(0.2, 80, end_value=0.01), warmup_steps=10)",
           json.dumps(js.step(0.5, 25, 0.5).to_config()),
           "exp.json"]
  expected = [js.cosine(0.1, 100), js.warmup(js.cosine(0.2, 80, end_value=0.01), 10),
              js.step(0.5, 25, 0.5), config]
  done = _jaxsched("plot", *specs, "--steps", "120", "-o", "lr.png", "--csv", "lr.csv",
                   cwd=tmp_path)
  assert done.returncode == 0, done.stderr[-3000:]
  assert (tmp_path / "lr.png").read_bytes()[:8] == PNG
  with open(tmp_path / "lr.csv", newline="") as f:
    rows = list(csv.reader(f))
  assert rows[0] == ["step", "value_1", "value_2", "value_3", "value_4"]
  table = np.array(rows[1:], dtype=np.float64)
  np.testing.assert_array_equal(table[:, 0], np.arange(120))
  for i, s in enumerate(expected):
    np.testing.assert_allclose(table[:, i + 1], js.evaluate(s, np.arange(120)), rtol=1e-6)


def test_plot_csv_of_one_schedule(tmp_path, capsys):
  assert cli.main(["plot", "linear(1.0, 0.0, 4)", "--steps", "6", "--csv",
                   str(tmp_path / "one.csv")]) == 0
  assert (tmp_path / "one.csv").read_text().splitlines() == [
      "step,value", "0,1", "1,0.75", "2,0.5", "3,0.25", "4,0", "5,0"]
  assert not (tmp_path / "plot.png").exists()


def test_plot_without_matplotlib_says_how_to_install(tmp_path):
  blocker = tmp_path / "blocker" / "matplotlib"
  blocker.mkdir(parents=True)
  (blocker / "__init__.py").write_text("raise ImportError('matplotlib is blocked for this test')\n")
  env = _env()
  env["PYTHONPATH"] = str(blocker.parent) + os.pathsep + env["PYTHONPATH"]
  done = _jaxsched("plot", "cosine(0.1, 10)", "-o", "x.png", cwd=tmp_path, env=env)
  assert done.returncode == 2
  assert 'pip install "jaxsched[plot]"' in _one_error_line(done.stderr)
  assert not (tmp_path / "x.png").exists()


# --- SPEC parsing ---------------------------------------------------------------------------------


@pytest.mark.parametrize("schedule", [
    js.cosine(0.1, 1000),
    js.exponential(0.1, 0.9999999999, staircase=True, end_value=1e-5),
    js.multistep(0.1, [30, 60, 60], 0.1),
    js.piecewise([10, 20], [1.0, 0.5, 0.25]),
    js.warmup(js.cosine(0.1, 100), 10, shape="cosine"),
    js.join([js.linear(0.0, 0.1, 10), js.cosine(0.1, 90)], [10]),
    js.product(js.constant(2.0), js.exponential(0.1, 0.99)),
    js.constant(0.5) * 3.0,
    js.clip(js.inverse_sqrt(1.0, 100.0), min_value=1e-3),
])
def test_repr_is_a_spec(schedule):
  parsed = cli.parse_spec(repr(schedule))
  assert parsed == schedule
  assert cli.parse_spec(json.dumps(schedule.to_config())) == schedule
  assert cli.parse_spec(cli.compact(schedule.to_config(), short=False)) == schedule


def test_spec_positional_arguments_and_product_sugar():
  assert cli.parse_spec("cosine(0.1, 1000, end_value=0.01)") == js.cosine(0.1, 1000, end_value=0.01)
  assert cli.parse_spec("product(constant(2.0), step(1.0, 10, 0.5))") == js.product(
      js.constant(2.0), js.step(1.0, 10, 0.5))


@pytest.mark.parametrize("spec", [
    "__import__('os').system('true')", "os.system('true')", "cosine(init_value=x, steps=1)",
    "cosine(*[0.1, 10])", "cosine(**{'init_value': 0.1})", "cosine(0.1, 10) ** 2", "lambda: 0",
    "cosine(init_value=(lambda: 0.1)(), steps=10)", "cosine(0.1, steps=[].__class__)",
])
def test_spec_is_never_evaluated(spec):
  with pytest.raises(cli.CliError):
    cli.parse_spec(spec)


# --- families and bad arguments -------------------------------------------------------------------


def test_families_lists_every_family_with_its_formula(capsys):
  assert cli.main(["families"]) == 0
  out = capsys.readouterr().out
  for name in js.FAMILIES:
    assert f"\n{name}(" in "\n" + out
  assert "cosine(init_value, steps, *, end_value=0.0, exponent=1.0, begin=0)" in out
  assert "init_value · gamma^⌊t / step_size⌋" in out


@pytest.mark.parametrize("argv, words", [
    (["plot", "nosuch(1)"], "unknown family 'nosuch'"),
    (["plot", "cosine(init_value=0.1, steps=-5)"], "steps"),
    (["plot", "cosine(0.1"], "cannot parse"),
    (["plot", "cosine(0.1)"], "missing"),
    (["plot", '{"family": "cosine", "init_value": 0.1}'], "steps"),
    (["plot", '{"family": "cosine", '], "not valid JSON"),
    (["plot", "no/such/file.json"], "cannot read"),
    (["plot", "cosine(0.1, 10)", "--steps", "0"], "--steps"),
    (["plot", "cosine(0.1, 10)", "--csv", "/no/such/dir/x.csv"], "cannot write"),
    (["sweep", "--settings", "many"], "--settings"),
    (["sweep", "--bogus"], "unrecognized"),
    (["bogus"], "invalid choice"),
    ([], "choose a command"),
])
def test_bad_arguments_are_one_line_and_status_2(argv, words, capsys):
  assert cli.main(argv) == 2
  captured = capsys.readouterr()
  assert words in _one_error_line(captured.err)


def test_bad_arguments_in_a_real_process(tmp_path):
  for argv in (["plot", "exponential(0.1, gamma=0.0)"],      # construction error
               ["sweep", "--devices", "0"]):                  # argparse error
    done = _jaxsched(*argv, cwd=tmp_path)
    assert done.returncode == 2, (argv, done.stderr)
    _one_error_line(done.stderr)
