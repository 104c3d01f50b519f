"""The command line: ``sweep`` end to end, ``plot``, ``families``, bad arguments."""

import csv
import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import jaxsched as js
from jaxsched import cli, main_job, messages, reports
from tests.paths import pythonpath

PNG = b"\x89PNG\r\n\x1a\n"


def _env(**extra):
  path = pythonpath()
  return dict(os.environ, PYTHONPATH=path, JAX_PLATFORMS="cpu", **extra)


def _jaxsched(*args, cwd, env=None, timeout=300):
  return subprocess.run(
    [sys.executable, "-m", "jaxsched", *args],
    cwd=cwd,
    env=env or _env(),
    capture_output=True,
    text=True,
    timeout=timeout,
  )


def _one_error_line(stderr: str):
  lines = stderr.strip().splitlines()
  assert "Traceback" not in stderr
  assert len(lines) == 1 and lines[0].startswith("jaxsched: error: "), stderr
  return lines[0]


# --- sweep ----------------------------------------------------------------------------------------


def test_sweep_end_to_end(tmp_path):
  out = tmp_path / "out"
  started = time.perf_counter()
  done = _jaxsched(
    "sweep", "--settings", "8", "--steps", "50", "--devices", "2", "--out", str(out), cwd=tmp_path
  )  # CPU split into 2 devices, sharded
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
  assert len({r["family"] for r in results}) == 8  # one setting from each of 8 families
  finite = [r["final_loss"] for r in results if r["final_loss"] is not None]
  assert finite == sorted(finite) and finite
  for r in results:
    schedule = js.from_config(r["config"])  # every config is accepted back
    assert schedule.family == r["family"]
    assert len(r["loss_curve"]) == 50 and len(r["lr_curve"]) == 50
    if r["final_loss"] is not None:
      assert r["final_loss"] == pytest.approx(r["loss_curve"][-1], rel=1e-5)
      # the lr the optimizer used is the schedule's value at each step (curves keep 6 digits)
      np.testing.assert_allclose(r["lr_curve"], js.evaluate(schedule, np.arange(50)), rtol=1e-5)
  png = (out / "sweep.png").read_bytes()
  assert png[:8] == PNG
  assert report["figure"] == {"file": "sweep.png", "sha256": hashlib.sha256(png).hexdigest()}
  assert [p.name for p in out.iterdir() if p.name.endswith(".tmp")] == []


def test_sweep_grid_covers_many_families():
  groups = main_job.build_grid(main_job.DEFAULT_SETTINGS, main_job.DEFAULT_STEPS)
  assert sum(len(s) for _, s in groups) == main_job.DEFAULT_SETTINGS
  assert len(groups) >= 5
  for name, schedules in groups:
    assert all(s.family == name for s in schedules)
    js.stack(schedules)  # each family's settings share a structure
  assert [len(s) for _, s in main_job.build_grid(3, 10)] == [1, 1, 1]


def test_sweep_without_matplotlib_still_writes_json(tmp_path, monkeypatch, capsys):
  monkeypatch.setitem(sys.modules, "matplotlib", None)  # `import matplotlib` now fails
  (tmp_path / "sweep.png").write_bytes(PNG + b"from an earlier run")  # must not pass for this one
  status = cli.main(
    ["sweep", "--settings", "2", "--steps", "5", "--out", str(tmp_path), "--no-progress"]
  )
  out = capsys.readouterr().out
  assert status == 0
  assert 'pip install "jaxsched[plot]"' in out
  assert len(json.loads((tmp_path / "sweep.json").read_text())["results"]) == 2
  assert not (tmp_path / "sweep.png").exists()


# --- plot -----------------------------------------------------------------------------------------


def test_plot_writes_png_and_csv(tmp_path):
  config = js.exponential(0.3, 0.99, staircase=True, decay_steps=7)
  (tmp_path / "exp.json").write_text(json.dumps(config.to_config()))
  specs = [
    "cosine(init_value=0.1, steps=100)",
    "warmup(cosine(0.2, 80, end_value=0.01), warmup_steps=10)",
    json.dumps(js.step(0.5, 25, 0.5).to_config()),
    "exp.json",
  ]
  expected = [
    js.cosine(0.1, 100),
    js.warmup(js.cosine(0.2, 80, end_value=0.01), 10),
    js.step(0.5, 25, 0.5),
    config,
  ]
  done = _jaxsched(
    "plot", *specs, "--steps", "120", "-o", "lr.png", "--csv", "lr.csv", cwd=tmp_path
  )
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
  assert (
    cli.main(["plot", "linear(1.0, 0.0, 4)", "--steps", "6", "--csv", str(tmp_path / "one.csv")])
    == 0
  )
  assert (tmp_path / "one.csv").read_text().splitlines() == [
    "step,value",
    "0,1",
    "1,0.75",
    "2,0.5",
    "3,0.25",
    "4,0",
    "5,0",
  ]
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


@pytest.mark.parametrize(
  "schedule",
  [
    js.cosine(0.1, 1000),
    js.exponential(0.1, 0.9999999999, staircase=True, end_value=1e-5),
    js.multistep(0.1, [30, 60, 60], 0.1),
    js.piecewise([10, 20], [1.0, 0.5, 0.25]),
    js.warmup(js.cosine(0.1, 100), 10, shape="cosine"),
    js.join([js.linear(0.0, 0.1, 10), js.cosine(0.1, 90)], [10]),
    js.product(js.constant(2.0), js.exponential(0.1, 0.99)),
    js.constant(0.5) * 3.0,
    js.clip(js.inverse_sqrt(1.0, 100.0), min_value=1e-3),
  ],
)
def test_repr_is_a_spec(schedule):
  parsed = cli.parse_spec(repr(schedule))
  assert parsed == schedule
  assert cli.parse_spec(json.dumps(schedule.to_config())) == schedule
  assert cli.parse_spec(reports.compact(schedule.to_config(), short=False)) == schedule


def test_spec_positional_arguments_and_product_sugar():
  assert cli.parse_spec("cosine(0.1, 1000, end_value=0.01)") == js.cosine(0.1, 1000, end_value=0.01)
  assert cli.parse_spec("product(constant(2.0), step(1.0, 10, 0.5))") == js.product(
    js.constant(2.0), js.step(1.0, 10, 0.5)
  )


@pytest.mark.parametrize(
  "spec",
  [
    "__import__('os').system('true')",
    "os.system('true')",
    "cosine(init_value=x, steps=1)",
    "cosine(*[0.1, 10])",
    "cosine(**{'init_value': 0.1})",
    "cosine(0.1, 10) ** 2",
    "lambda: 0",
    "cosine(init_value=(lambda: 0.1)(), steps=10)",
    "cosine(0.1, steps=[].__class__)",
  ],
)
def test_spec_is_never_evaluated(spec):
  with pytest.raises(cli.CliError):
    cli.parse_spec(spec)


# --- families and bad arguments -------------------------------------------------------------------


def test_families_lists_every_family_with_its_formula(capsys):
  assert cli.main(["families"]) == 0
  out = capsys.readouterr().out
  families, composition = out.split("\ncomposition")
  composites = {"product", "scaled", "join", "warmup", "clip", "per_epoch"}
  lines = families.splitlines()
  for name in js.FAMILIES:
    assert f"\n{name}(" in "\n" + out
    # composites (``scaled`` is what ``s * c`` builds) are listed apart, as composition
    assert (f"\n{name}(" in "\n" + composition) == (
      name in composites or cli.is_composite(js.FAMILIES[name])
    ), name
  assert "cosine(init_value, steps, *, end_value=0.0, exponent=1.0, begin=0)" in out
  assert "init_value · gamma^⌊t / step_size⌋" in out
  formulas = dict(zip([x.split("(")[0] for x in lines[1::2]], lines[2::2], strict=True))
  assert set(formulas) == {n for n, c in js.FAMILIES.items() if not cli.is_composite(c)}
  for name, formula in formulas.items():  # a formula, not only words, for every family
    assert formula.startswith("    ") and (
      any(c in formula for c in "·/^=→+−") or name == "constant"
    ), (name, formula)
  assert "½(1 + cos(π·(t − S_i)/T_i))" in formulas["cosine_restarts"]
  assert "pct_start·T − 1" in formulas["one_cycle"] and "cos π·pct" in formulas["one_cycle"]
  assert "t mod L" in formulas["cyclic"] and "1/2^⌊t/L⌋" in formulas["cyclic"]


@pytest.mark.parametrize(
  "argv, words",
  [
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
  ],
)
def test_bad_arguments_are_one_line_and_status_2(argv, words, capsys):
  assert cli.main(argv) == 2
  captured = capsys.readouterr()
  assert words in _one_error_line(captured.err)


def test_bad_arguments_in_a_real_process(tmp_path):
  for argv in (
    ["plot", "exponential(0.1, gamma=0.0)"],  # construction error
    ["sweep", "--devices", "0"],
  ):  # argparse error
    done = _jaxsched(*argv, cwd=tmp_path)
    assert done.returncode == 2, (argv, done.stderr)
    _one_error_line(done.stderr)


# --- hardening: interrupts, whole files, paths first, sizes, no tracebacks ------------------------


def test_ctrl_c_while_jax_is_imported_prints_one_line_and_exits_130(tmp_path):
  """The console script handles Ctrl-C before it imports jaxsched (and so JAX, a second or two)."""
  script = Path(sys.executable).with_name("jaxsched")
  if "jaxsched_launcher" not in script.read_text(errors="replace") if script.exists() else True:
    pytest.skip("the jaxsched console script of this install is not the launcher")
  proc = subprocess.Popen(
    [str(script), "families"],
    cwd=tmp_path,
    stdout=subprocess.PIPE,
    stderr=subprocess.PIPE,
    text=True,
  )
  time.sleep(0.3)  # python is up, JAX's import has begun
  proc.send_signal(signal.SIGINT)
  out, err = proc.communicate(timeout=60)
  assert proc.returncode == 130, (proc.returncode, err)
  assert err.strip() == "interrupted" and "Traceback" not in err, err


def test_ctrl_c_while_compiling_prints_one_line_exits_130_and_leaves_old_files(tmp_path):
  old_json, old_png = b'{"old": true}\n', PNG + b"old"
  (tmp_path / "sweep.json").write_bytes(old_json)
  (tmp_path / "sweep.png").write_bytes(old_png)
  proc = subprocess.Popen(
    [
      sys.executable,
      "-m",
      "jaxsched",
      "sweep",
      "--settings",
      "96",
      "--steps",
      "3000",
      "--out",
      str(tmp_path),
    ],
    cwd=tmp_path,
    env=_env(),
    stdout=subprocess.PIPE,
    stderr=subprocess.PIPE,
  )
  seen = b""
  try:
    while b"task:" not in seen or not seen.endswith(b"\n"):  # the header, just before tracing
      byte = proc.stderr.read(1)
      assert byte, seen.decode(errors="replace")
      seen += byte
    time.sleep(2.0)  # tracing or compiling (~5 s of it) by now
    sent = time.perf_counter()
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=60)
  finally:
    if proc.poll() is None:
      proc.kill()
  waited = time.perf_counter() - sent
  stderr = (seen + stderr).decode()
  assert proc.returncode == 130, stderr[-2000:]
  assert stderr.splitlines()[-1].split("\r")[-1].endswith("interrupted")
  assert stderr.count("interrupted") == 1 and "Traceback" not in stderr
  assert waited < 10  # at once, not after the compile
  assert stdout == b""
  assert (tmp_path / "sweep.json").read_bytes() == old_json
  assert (tmp_path / "sweep.png").read_bytes() == old_png
  assert sorted(p.name for p in tmp_path.iterdir()) == ["sweep.json", "sweep.png"]


def test_ctrl_c_while_writing_keeps_the_old_file_and_removes_the_temporary(tmp_path):
  target = tmp_path / "out.csv"
  target.write_text("old\n")
  script = (
    "import sys, time\n"
    "from jaxsched import _outputs\n"
    "def job():\n"
    "  o = _outputs.Outputs()\n"
    "  t = o.check(sys.argv[1])\n"
    "  def slow(tmp):\n"
    "    with open(tmp, 'w') as f:\n"
    "      f.write('half')\n"
    "      f.flush()\n"
    "      print('writing', flush=True)\n"
    "      time.sleep(60)\n"
    "  o.render(t, slow)\n"
    "  o.commit()\n"
    "  return 0\n"
    "sys.exit(_outputs.interruptible(job))\n"
  )
  proc = subprocess.Popen(
    [sys.executable, "-c", script, str(target)],
    env=_env(),
    stdout=subprocess.PIPE,
    stderr=subprocess.PIPE,
    text=True,
  )
  try:
    assert proc.stdout.readline() == "writing\n"
    assert len(list(tmp_path.iterdir())) == 2  # the old file and the half-written temporary
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=30)
  finally:
    if proc.poll() is None:
      proc.kill()
  assert proc.returncode == 130 and stderr == "interrupted\n"
  assert target.read_text() == "old\n"
  assert list(tmp_path.iterdir()) == [target]


def test_outputs_are_replaced_together_or_not_at_all(tmp_path):
  from jaxsched import _outputs

  a, b = tmp_path / "a.json", tmp_path / "b.png"
  a.write_text("old a")
  b.write_text("old b")
  os.chmod(a, 0o640)
  o = _outputs.Outputs()
  ta, tb = o.check(a), o.check(b)
  o.render(ta, lambda tmp: Path(tmp).write_text("new a"))
  with pytest.raises(RuntimeError):  # the second render fails: nothing is replaced
    o.render(tb, lambda tmp: (_ for _ in ()).throw(RuntimeError("boom")))
  o.discard()
  assert a.read_text() == "old a" and b.read_text() == "old b"
  assert sorted(p.name for p in tmp_path.iterdir()) == ["a.json", "b.png"]
  o = _outputs.Outputs()
  ta, tb = o.check(a), o.check(b)
  o.render(ta, lambda tmp: Path(tmp).write_text("new a"))
  o.render(tb, lambda tmp: Path(tmp).write_text("new b"))
  assert a.read_text() == "old a"  # nothing visible before the commit
  o.commit()
  assert a.read_text() == "new a" and b.read_text() == "new b"
  assert os.stat(a).st_mode & 0o777 == 0o640  # the old file's permissions are kept
  assert sorted(p.name for p in tmp_path.iterdir()) == ["a.json", "b.png"]
  link = tmp_path / "link.json"
  link.symlink_to(a)
  o = _outputs.Outputs()
  o.render(o.check(link), lambda tmp: Path(tmp).write_text("via link"))
  o.commit()
  assert link.is_symlink() and a.read_text() == "via link"


@pytest.fixture
def memory(monkeypatch):
  """16 GiB available, whatever this machine has."""
  from jaxsched import _resources

  monkeypatch.setattr(_resources, "available_bytes", lambda: 16 * 2**30)


@pytest.mark.parametrize(
  "argv, words",
  [
    (
      ["sweep", "--settings", "1000000000"],
      ["--settings 1000000000", "needs about", "TiB", "16.0 GiB available"],
    ),
    (["sweep", "--steps", "1000000000"], ["--steps 1000000000", "needs about", "TiB"]),
    (["sweep", "--steps", "3000000000"], ["needs about"]),
    (["plot", "cosine(0.1, 10)", "--steps", "99999999999"], ["--steps 99999999999", "TiB"]),
    (["sweep", "--seed", "-1"], ["--seed", ">= 0", "'-1'"]),
    (["sweep", "--process-id", "2", "--num-processes", "2"], ["--process-id 2 must be <"]),
    (
      ["plot", "cosine(0.1, 10)", "-o", "noext"],
      ["no extension", "supported:", "png", "csv", "pdf", "svg"],
    ),
    (["plot", "cosine(0.1, 10)", "-o", "x.xyz"], ["unknown format '.xyz'", "supported:", "png"]),
    (["plot", "cosine(0.1, 10)", "-o", "/dev/full"], ["no extension", "supported:"]),
    (["plot", "cosine(0.1, 10)", "--csv", "/dev/full"], ["/dev/full", "not a regular file"]),
    (["plot", "cosine(0.1, 10)", "-o", "same.csv", "--csv", "same.csv"], ["two outputs"]),
  ],
)
def test_refused_before_anything_runs(argv, words, memory, tmp_path, monkeypatch, capsys):
  monkeypatch.chdir(tmp_path)
  started = time.perf_counter()
  assert cli.main(argv) == 2
  assert time.perf_counter() - started < 5  # refused up front: nothing built or compiled
  line = _one_error_line(capsys.readouterr().err)
  for w in words:
    assert w in line, line
  assert list(tmp_path.iterdir()) == []  # nothing written (-o noext: no noext.png)


def test_sweep_output_paths_are_checked_before_compiling(tmp_path, capsys):
  (tmp_path / "sweep.json").mkdir()
  assert cli.main(["sweep", "--settings", "2", "--steps", "5", "--out", str(tmp_path)]) == 2
  captured = capsys.readouterr()
  assert "sweep.json: it is a directory" in _one_error_line(captured.err)
  assert captured.out == "" and "compiling" not in captured.err  # no ranking, no compile
  (tmp_path / "file").write_text("x")
  assert cli.main(["sweep", "--out", str(tmp_path / "file" / "sub")]) == 2
  assert "cannot create" in _one_error_line(capsys.readouterr().err)


def test_plot_output_is_used_exactly_as_given(tmp_path, capsys):
  assert (
    cli.main(
      [
        "plot",
        "cosine(0.1, 10)",
        "--steps",
        "5",
        "-o",
        str(tmp_path / "x.pdf"),
        "--csv",
        str(tmp_path / "x.data"),
      ]
    )
    == 0
  )
  assert (tmp_path / "x.pdf").read_bytes()[:5] == b"%PDF-"
  assert (tmp_path / "x.data").read_text().splitlines()[:2] == ["step,value", "0,0.100000001"]
  assert (
    cli.main(["plot", "linear(1.0, 0.0, 2)", "--steps", "3", "-o", str(tmp_path / "only.csv")]) == 0
  )
  assert (tmp_path / "only.csv").read_text().splitlines() == ["step,value", "0,1", "1,0.5", "2,0"]
  assert sorted(p.name for p in tmp_path.iterdir()) == ["only.csv", "x.data", "x.pdf"]
  assert cli.main(["plot", "linear(1.0, 0.0, 2)", "--steps", "2", "--csv", "-"]) == 0
  assert capsys.readouterr().out.splitlines()[-3:] == ["step,value", "0,1", "1,0.5"]


def test_long_spec_errors_show_an_excerpt_around_the_error(capsys):
  inner = ", ".join(["constant(0.1)"] * 3000)
  spec = f"join([{inner}, nosuch(1)], [{', '.join(map(str, range(1, 3001)))}])"
  assert cli.main(["plot", spec]) == 2
  line = _one_error_line(capsys.readouterr().err)
  assert len(line) < messages.MESSAGE_LIMIT + 40
  assert "unknown family 'nosuch'" in line and "nosuch(1)]" in line  # the excerpt holds it
  assert f"{len(spec)} characters" in line
  broken = '{"family": "constant", "value": 0.1' + " " * 100_000 + ', "x": }'
  assert cli.main(["plot", broken]) == 2
  line = _one_error_line(capsys.readouterr().err)
  assert "not valid JSON" in line and '"x": }' in line and len(line) < messages.MESSAGE_LIMIT + 40


def test_deep_nesting_is_one_line(capsys):
  spec = "clip(" * 100 + "constant(0.1)" + ", 0.0)" * 100
  status = cli.main(["plot", spec, "--steps", "3", "--csv", "-"])
  captured = capsys.readouterr()
  if status == 0:  # a depth limit may refuse it; a crash may not
    assert captured.out.splitlines()[-1] == "2,0.100000001"
  else:
    assert status == 2 and "nested" in _one_error_line(captured.err)


def test_debug_shows_the_traceback_and_internal_errors_are_one_line(monkeypatch, capsys):
  def broken(args):
    raise RuntimeError("a bug")

  monkeypatch.setattr(cli, "_cmd_families", broken)
  assert cli.main(["families"]) == 1
  line = _one_error_line(capsys.readouterr().err)
  assert "internal error: RuntimeError: a bug" in line and "--debug" in line
  assert cli.main(["families", "--debug"]) == 1
  err = capsys.readouterr().err
  assert "Traceback" in err and "a bug" in err
  monkeypatch.setenv("JAXSCHED_DEBUG", "1")
  assert cli.main(["plot", "cosine(0.1"]) == 2
  err = capsys.readouterr().err
  assert "Traceback" in err and err.splitlines()[-1].startswith("jaxsched: error: cannot parse")


def test_bare_distributed_outside_a_cluster_is_one_line(monkeypatch, capsys):
  for var in ("SLURM_JOB_ID", "OMPI_COMM_WORLD_SIZE", "OMPI_MCA_orte_hnp_uri", "PMI_RANK"):
    monkeypatch.delenv(var, raising=False)
  import jax

  monkeypatch.setattr(
    jax.distributed,
    "initialize",
    lambda **kw: (_ for _ in ()).throw(ValueError("coordinator_address should be defined.")),
  )
  assert cli.main(["sweep", "--distributed"]) == 2
  line = _one_error_line(capsys.readouterr().err)
  assert "cannot join the multi-process run" in line and "--coordinator HOST:PORT" in line


def test_an_absent_coordinator_is_one_line_not_an_abort(capsys):
  import socket

  with socket.socket() as s:  # a port nothing listens on
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
  assert (
    cli.main(
      [
        "sweep",
        "--coordinator",
        f"127.0.0.1:{port}",
        "--num-processes",
        "2",
        "--process-id",
        "1",
        "--init-timeout",
        "1",
      ]
    )
    == 2
  )
  err = capsys.readouterr().err
  assert "waiting up to 1 s" in err
  assert "nothing answered within 1 s" in err.splitlines()[-1]
  assert (
    cli.main(["sweep", "--coordinator", "node0", "--num-processes", "2", "--process-id", "1"]) == 2
  )
  assert "expected HOST:PORT" in _one_error_line(capsys.readouterr().err)
