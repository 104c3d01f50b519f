"""The ``jaxsched`` command line: ``sweep`` (the main job, or a search with ``--search``), ``lr-find``,
``plot`` and ``families``.

What a shell and a cluster can rely on (README, "Limits and guarantees"):

- Bad input prints one line, ``jaxsched: error: ...``, on stderr and exits with status 2; no input a
  user can type gives a traceback (``--debug`` or ``JAXSCHED_DEBUG=1`` shows the full one). An
  internal error is one line too, with status 1. Long SPECs are cut to an excerpt around the error.
- ``Ctrl-C`` prints ``interrupted`` and exits with status 130 (SIGTERM: ``terminated``, 143) at
  once, compiling or not, and leaves no partial file.
- Every output path is checked before anything compiles; every output is written whole (a
  temporary file beside it, renamed into place), and the outputs of one run are renamed together.
- Sizes are estimated before anything is allocated; what cannot fit is refused with the estimate.
- ``sweep`` joins a multi-process run (``--coordinator``/``--num-processes``/``--process-id``, or
  ``--distributed`` under SLURM/Open MPI); process 0 prints and writes. When a process of the run
  dies, the others say so in one line and exit with status 1 within seconds (``multihost.leave``);
  with ``--checkpoint DIR`` every complete chunk, rung or interval is kept, and restarting every
  process with the same arguments resumes.

matplotlib is needed only for images (the ``plot`` extra) and is imported lazily.

This module is argparse and the three commands. What they use lives apart, with public names: the
main job's task and grid in ``jaxsched.main_job``, the sweep itself in ``jaxsched.runner``, what the
commands write in ``jaxsched.reports``, joining several processes in ``jaxsched.multihost``, and the
one-line wording of errors (``CliError``) in ``jaxsched.messages``, and the searches
(``--search``, ``lr-find``) in ``jaxsched.search_job``.
"""

from __future__ import annotations

import argparse
import dataclasses
import inspect
import os
import sys
import time
import traceback
from pathlib import Path

import jax
import numpy as np

import jaxsched
from jaxsched import _outputs, _resources, core, main_job, multihost, reports, runner, search_job
from jaxsched._outputs import OutputError
from jaxsched.batches import evaluate, stack, unstack
from jaxsched.main_job import DEFAULT_SETTINGS, DEFAULT_STEPS
from jaxsched.messages import CliError, cut, excerpt, one_line, spec_message
from jaxsched.parse import config_from_json, parse
from jaxsched.plotting import INSTALL_HINT

MAX_STEPS = 2**31  # steps 0 .. N-1 stay in the int32 step domain [0, 2^31 - 1]


class _Parser(argparse.ArgumentParser):
  def error(self, message):
    sys.stderr.write(f"jaxsched: error: {cut(message)} (see '{self.prog} --help')\n")
    sys.exit(2)


def _int_at_least(low: int, words: str):
  """An argparse type: an integer >= ``low``, refused as ``expected <words>, got ...``."""

  def parse(text: str) -> int:
    try:
      value = int(text)
    except ValueError:
      value = None
    if value is None or value < low:
      raise argparse.ArgumentTypeError(f"expected {words}, got {cut(repr(text), 40)}") from None
    return value

  return parse


_positive_int = _int_at_least(1, "a positive integer")
_eta = _int_at_least(2, "an integer >= 2")


def _fraction(text: str) -> float:
  """An argparse type: PBT's fraction, a number in (0, 0.5]."""
  try:
    value = float(text)
  except ValueError:
    value = None
  if value is None or not 0 < value <= 0.5:
    raise argparse.ArgumentTypeError(f"expected a number in (0, 0.5], got {cut(repr(text), 40)}")
  return value


def _positive_float(text: str) -> float:
  """An argparse type: a finite number > 0."""
  try:
    value = float(text)
  except ValueError:
    value = None
  if value is None or not (value > 0 and value < float("inf")):
    raise argparse.ArgumentTypeError(f"expected a number > 0, got {cut(repr(text), 40)}")
  return value


_natural = _int_at_least(
  0, "an integer >= 0"
)  # a seed: NumPy's SeedSequence takes no negative entropy


# --- SPEC parsing (plot) --------------------------------------------------------------------------


def parse_spec(text: str) -> core.Schedule:
  """A schedule from a SPEC: what ``jaxsched.parse`` reads (a call such as
  ``warmup(cosine(0.1, 100), 10) * 2``, or a config JSON string), or a path to a ``.json`` config
  file. Raises ``CliError`` with a one-line reason; nothing is ever evaluated."""
  s = text.strip()
  try:
    if s and not s.startswith("{") and _is_spec_file(s):
      try:
        body = Path(s).read_text()
      except OSError as e:
        raise CliError(f"cannot read SPEC file {s!r}: {e.strerror or e}") from None
      except UnicodeDecodeError as e:
        raise CliError(f"SPEC file {s!r} is not valid JSON: {one_line(e)}") from None
      return config_from_json(body, f"file {s!r}")
    return parse(text)
  except (ValueError, TypeError) as e:
    raise CliError(one_line(e)) from None


def _is_spec_file(s: str) -> bool:
  """Whether a SPEC names a config file: an existing file, or any name ending in ``.json``."""
  try:
    return Path(s).is_file() or s.endswith(".json")
  except (OSError, ValueError):
    return s.endswith(".json")


# --- plot -----------------------------------------------------------------------------------------

# matplotlib's image formats, for the message when matplotlib is not installed ("pgf" needs LaTeX)
_IMAGE_FORMATS = ("eps", "jpeg", "jpg", "pdf", "png", "ps", "svg", "svgz", "tif", "tiff", "webp")


def _image_formats() -> list[str] | None:
  """The image formats matplotlib can write here, or None without matplotlib."""
  try:
    from matplotlib.backend_bases import FigureCanvasBase
  except ImportError:
    return None
  return sorted(set(FigureCanvasBase.get_supported_filetypes()) - {"pgf"})


def _output_format(path: str) -> str:
  """The format of ``-o path``, from its extension (used exactly as given, never completed)."""
  ext = Path(path).suffix.lower().lstrip(".")
  images = _image_formats()
  known = sorted({"csv", *(images or _IMAGE_FORMATS)})
  if ext not in known:
    what = f"unknown format '.{ext}'" if ext else "no extension to tell the format"
    raise CliError(f"-o {cut(path, 120)!r}: {what}; supported: {', '.join(known)}")
  if ext != "csv" and images is None:
    raise CliError(INSTALL_HINT)
  return ext


def _parse(text: str) -> core.Schedule:
  """``parse_spec(text)``, its error message with an excerpt of a long SPEC."""
  try:
    return parse_spec(text)
  except CliError as e:
    raise CliError(spec_message(str(e), text)) from None
  except RecursionError:
    raise CliError(f"SPEC {excerpt(text)!r} is nested too deeply") from None


def _cmd_plot(args) -> int:
  """Order: sizes, then output paths and formats, then SPECs, then evaluation (the first compile),
  then every output rendered into a temporary file, then all renamed into place together."""
  output = args.output
  if output is None and args.csv is None:
    output = "plot.png"
  wanted = []  # (format, path as given)
  if output is not None:
    wanted.append((_output_format(output), output))
  if args.csv is not None and args.csv != "-":
    wanted.append(("csv", args.csv))
  image = any(fmt != "csv" for fmt, _ in wanted)
  refused = _resources.refusal(
    f"plot of {len(args.spec)} schedule(s) x --steps {args.steps}",
    _resources.plot_bytes(len(args.spec), args.steps, image),
    _resources.available_bytes(),
    "lower --steps",
  )
  if refused:
    raise CliError(refused)
  if args.steps > MAX_STEPS:
    raise CliError(
      f"--steps {args.steps}: steps 0..N-1 must stay in the int32 step range, N <= {MAX_STEPS}"
    )
  outputs = _outputs.Outputs()
  targets = [(fmt, name, outputs.check(name)) for fmt, name in wanted]
  schedules = [_parse(s) for s in args.spec]
  t = np.arange(args.steps)
  try:
    values = [np.asarray(evaluate(s, t)) for s in schedules]
  except RecursionError:
    raise CliError("a SPEC is nested too deeply to evaluate") from None
  note = reports.log_note(values) if args.log and image else None
  if note:
    print(note, file=sys.stderr)
  for fmt, _name, target in targets:
    if fmt == "csv":
      outputs.render(target, lambda tmp: reports.write_csv(tmp, t, values))
    else:
      fig = reports.plot_figure(schedules, t, values, args.log)
      outputs.render(target, lambda tmp, fig=fig, fmt=fmt: fig.savefig(tmp, format=fmt, dpi=110))
  if args.csv == "-":
    reports.write_csv(sys.stdout, t, values)
  outputs.commit()
  report = sys.stderr if args.csv == "-" else sys.stdout
  for _, name, _ in targets:
    print(f"wrote {name}", file=report)
  return 0


# --- families -------------------------------------------------------------------------------------


def _summary(cls) -> str:
  """The family's formula: its docstring's first paragraph, on one line."""
  doc = inspect.getdoc(cls) or ""
  first = doc.split("\n\n")[0]
  return " ".join(first.replace("``", "").split())


def _signature(cls) -> str:
  """``(a, b, *, c=1)``: the factory's parameters, without annotations."""
  parts, star = [], False
  for p in inspect.signature(cls).parameters.values():
    if p.kind is p.KEYWORD_ONLY and not star:
      parts.append("*")
      star = True
    parts.append(p.name if p.default is p.empty else f"{p.name}={p.default!r}")
  return f"({', '.join(parts)})"


is_composite = core.is_composite  # a schedule built from schedules: composition, not a family


def _cmd_families(args) -> int:
  """The families with their formulas, then, apart, the composition of schedules (``join``,
  ``warmup``, ``product``, the ``scaled`` node that ``s * c`` makes, ...)."""
  families = [cls for cls in core.FAMILIES.values() if not is_composite(cls)]
  composites = [cls for cls in core.FAMILIES.values() if is_composite(cls)]
  print("families:")
  for cls in families:
    print(f"{cls.family}{_signature(cls)}")
    print(f"    {_summary(cls)}")
  print("\ncomposition (schedules made of schedules; also what s * c, s1 * s2 build):")
  for cls in composites:
    print(f"{cls.family}{_signature(cls)}")
    print(f"    {_summary(cls)}")
  return 0


# --- sweep (the main job) -------------------------------------------------------------------------


def _sweep_problem(args, outputs: _outputs.Outputs | None):
  """Everything that can refuse the run before it compiles, as one message (or None): the memory
  estimate, the int32 step range, and (``outputs``: the process that writes) the output paths,
  ``--out`` created if missing, and the free space for ``sweep.json``. Returns ``(problem,
  json_target, png_target or None)``."""
  refused = _resources.refusal(
    f"--settings {args.settings} x --steps {args.steps}",
    _resources.sweep_bytes(args.settings, args.steps),
    _resources.available_bytes(),
    "lower --settings or --steps",
  )
  if refused:
    return refused, None, None
  if args.steps > MAX_STEPS:
    return (
      (f"--steps {args.steps}: steps 0..N-1 must stay in the int32 step range, N <= {MAX_STEPS}"),
      None,
      None,
    )
  if outputs is None:
    return None, None, None
  out = Path(args.out)
  try:
    out.mkdir(parents=True, exist_ok=True)
  except OSError as e:
    return f"cannot create {args.out}: {e.strerror or e}", None, None
  try:
    json_target = outputs.check(out / "sweep.json")
    png_target = outputs.check(out / "sweep.png")
  except OutputError as e:
    return str(e), None, None
  free = outputs.free_bytes(json_target)
  need = _resources.sweep_json_bytes(args.settings, args.steps)
  if free is not None and need > free:
    return (
      (
        f"sweep.json needs about {_resources.human(need)} of disk, more than the "
        f"{_resources.human(free)} free in {args.out}"
      ),
      None,
      None,
    )
  return None, json_target, png_target


def _device_problem(args):
  """The results stay on the devices until gathered: refuse what exceeds an accelerator's memory."""
  devices = jax.devices()
  stats = getattr(devices[0], "memory_stats", lambda: None)
  try:
    limit = (stats() or {}).get("bytes_limit")
  except Exception:  # backends without memory statistics (CPU)
    limit = None
  if not limit:
    return None
  d = args.devices or len(devices)
  need = 2 * -(-args.settings // d) * args.steps * 8  # loss and lr, float32, plus the concatenation
  return _resources.refusal(
    f"--settings {args.settings} x --steps {args.steps} per device",
    need,
    limit,
    "lower --settings or --steps, or add --devices",
  )


def _cmd_sweep(args) -> int:
  """The main job. Every setting of every family runs in ONE compiled XLA program: the settings
  are one mixed batch (``jaxsched.stack`` of schedules of several families), and the built-in
  model trains under each setting's own schedule. The batch is vmapped, sharded over the devices
  and fed in chunks by ``jaxsched.sweep`` (the chunks reuse the program). Besides it, only a
  handful of tiny eager operations compile (schedule validation, transfers).

  Order: join the processes; refuse (steps, memory, output paths) before building or compiling
  anything, all processes agreeing; train; gather the results into every process; process 0
  prints the ranking, renders ``sweep.png`` and ``sweep.json`` into temporary files and renames
  both into place together."""
  started = time.perf_counter()
  _search_flags(args)
  multihost.join(args)
  lead = jax.process_index() == 0
  outputs = _outputs.Outputs() if lead else None
  problem, json_target, png_target = _sweep_problem(args, outputs)
  with multihost.native_stdout_to_stderr(jax.process_count() > 1):
    multihost.agree(problem or _device_problem(args))
    if args.search:
      return search_job.run_search(args, lead, outputs, json_target, png_target, started)
    swept, members, setup_s = _train(args, lead, started)
  if not lead:
    return 0
  loss = np.asarray(swept.outputs["loss"], np.float64)
  lr = np.asarray(swept.outputs["lr"], np.float64)
  reports.write_sweep_report(
    args, outputs, json_target, png_target, members, loss, lr, swept, setup_s, started
  )
  return 0


def _train(args, lead, started):
  """Builds the settings and runs them: ``(the runner.SweepResult with its outputs gathered to the
  host, members, setup_s)`` in every process."""
  try:
    runner.resolve_devices(args.devices)
    groups = main_job.build_grid(args.settings, args.steps)
  except (ValueError, TypeError) as e:
    raise CliError(one_line(e)) from None
  batch = stack([s for _, schedules in groups for s in schedules])  # one mixed batch
  members = unstack(batch)  # the settings, as stacked: family and config
  n = len(members)
  train = main_job.make_run(args.steps, seed=args.seed)

  setup_s = time.perf_counter() - started
  progress = not args.no_progress
  if progress and lead:
    print(
      f"jaxsched sweep: {n} settings from {len(groups)} families x {args.steps} steps; "
      f"task: {main_job.DESCRIPTION}",
      file=sys.stderr,
    )
  chunk = args.chunk_size or max(1, -(-n // 8))
  swept = runner.run_sweep(
    train,
    batch,
    devices=args.devices,
    chunk_size=chunk,
    progress=progress,
    desc="training",
    checkpoint=args.checkpoint,
  )
  host = runner.to_host({"loss": swept.outputs["loss"], "lr": swept.outputs["lr"]})  # every process
  return dataclasses.replace(swept, outputs=host), members, setup_s  # takes part


_SEARCH_FLAGS = {"eta": "halving", "min_steps": "halving", "interval": "pbt", "fraction": "pbt"}


def _search_flags(args) -> None:
  """A search's flags given without that search are refused (they would be ignored), and what
  contradicts ``--steps`` or cannot be a checkpoint directory, before anything is built."""
  for name, search in _SEARCH_FLAGS.items():
    if getattr(args, name) is not None and args.search != search:
      flag = "--" + name.replace("_", "-")
      raise CliError(f"{flag} applies to --search {search}, not to {_what(args)}")
  if args.min_steps is not None and args.min_steps > args.steps:
    raise CliError(f"--min-steps {args.min_steps} must be <= --steps {args.steps}")
  if args.interval is not None and args.interval > args.steps:
    raise CliError(f"--interval {args.interval} must be <= --steps {args.steps}")
  if args.checkpoint is not None and os.path.exists(args.checkpoint):
    if not os.path.isdir(args.checkpoint):
      raise CliError(f"--checkpoint {cut(args.checkpoint, 120)!r} exists and is not a directory")
  if args.eta is None:
    args.eta = 3
  if args.fraction is None:
    args.fraction = 0.25


def _what(args) -> str:
  return f"--search {args.search}" if args.search else "a plain sweep (no --search)"


# --- lr-find --------------------------------------------------------------------------------------


def _cmd_lr_find(args) -> int:
  """The LR range test on the main job's task. Order: sizes and the output path (before any
  compile), then the test, then the figure (or CSV) renamed into place."""
  started = time.perf_counter()
  if args.min_lr >= args.max_lr:
    raise CliError(f"--min-lr {args.min_lr:g} must be below --max-lr {args.max_lr:g}")
  if args.steps > MAX_STEPS:
    raise CliError(
      f"--steps {args.steps}: steps 0..N-1 must stay in the int32 step range, N <= {MAX_STEPS}"
    )
  if args.parallel is not None and args.parallel < 2:
    raise CliError(f"--parallel {args.parallel}: expected 2 or more constant-lr runs")
  fmt = _output_format(args.output)
  outputs = _outputs.Outputs()
  target = outputs.check(args.output)
  if args.devices:
    multihost.split_cpu(args.devices)
  return search_job.lr_find(args, target, fmt, outputs, started)


# --- entry point ----------------------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
  common = _Parser(add_help=False)
  common.add_argument(
    "--debug",
    action="store_true",
    default=argparse.SUPPRESS,
    help="on an error, print the full traceback (also: JAXSCHED_DEBUG=1)",
  )
  parser = _Parser(prog="jaxsched", description="Learning-rate schedules as JAX pytrees.")
  parser.add_argument("--version", action="version", version=f"jaxsched {jaxsched.__version__}")
  parser.add_argument(
    "--debug",
    action="store_true",
    help="on an error, print the full traceback (also: JAXSCHED_DEBUG=1)",
  )
  sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

  p = sub.add_parser(
    "sweep",
    parents=[common],
    help="train the built-in model under a grid of schedules (main job)",
    description="Trains a small built-in MLP on synthetic data under a grid of "
    "schedules from several families, all settings in one compiled program "
    "(vmapped, sharded over --devices); prints the ranking and writes sweep.json "
    "and sweep.png. --search halving|pbt finds a schedule instead of training them all "
    "(successive halving, population-based training); --checkpoint DIR makes a run resumable. "
    "On N hosts, start it once per host with --coordinator, "
    "--num-processes and --process-id (or --distributed under SLURM/Open MPI).",
  )
  p.add_argument(
    "--settings",
    type=_positive_int,
    metavar="N",
    default=DEFAULT_SETTINGS,
    help=f"total number of settings, spread over the families (default {DEFAULT_SETTINGS})",
  )
  p.add_argument(
    "--steps",
    type=_positive_int,
    default=DEFAULT_STEPS,
    metavar="N",
    help=f"training steps per setting (default {DEFAULT_STEPS})",
  )
  p.add_argument(
    "--seed",
    type=_natural,
    default=0,
    metavar="N",
    help="seed of the synthetic task, >= 0 (default 0)",
  )
  p.add_argument(
    "--devices",
    type=_positive_int,
    default=None,
    metavar="N",
    help="shard over this many devices (default: all); on a CPU-only machine, the "
    "CPU is split into this many XLA devices; with several processes, N in total, "
    "N/processes from each",
  )
  p.add_argument(
    "--chunk-size",
    type=_positive_int,
    default=None,
    metavar="N",
    help="settings per chunk (bounds memory; default: an eighth of the settings)",
  )
  p.add_argument(
    "--out", default=".", metavar="DIR", help="folder for sweep.json and sweep.png (default: .)"
  )
  p.add_argument(
    "--top", type=int, default=20, metavar="N", help="rows of the ranking to print (0: all)"
  )
  p.add_argument("--no-progress", action="store_true", help="no progress bar")
  p.add_argument(
    "--checkpoint",
    metavar="DIR",
    default=None,
    help="resume files: after each complete chunk (rung with --search halving, interval with "
    "--search pbt) the state is written to DIR/checkpoint.npz; rerun with the same arguments to "
    "resume (other arguments are refused); kill -9 loses at most the part in progress",
  )
  s = p.add_argument_group(
    "search (instead of training every setting to the end)",
    "--search halving trains every setting a little, keeps the best 1/eta, trains those further "
    "(successive halving); --search pbt trains the settings as a population that copies and "
    "perturbs its best members every --interval steps (population-based training). Both rank on "
    "the task's training loss and write the same sweep.json (plus the rung history or the "
    "winner's lineage) and a sweep.png of the search.",
  )
  s.add_argument(
    "--search",
    choices=("halving", "pbt"),
    default=None,
    help="find a schedule by successive halving or population-based training",
  )
  s.add_argument(
    "--eta",
    type=_eta,
    default=None,
    metavar="N",
    help="halving: keep the best 1/N at each rung, rungs N times longer (default 3)",
  )
  s.add_argument(
    "--min-steps",
    type=_positive_int,
    default=None,
    metavar="N",
    help="halving: steps of the first rung (default: --steps / eta^k, ending with one survivor)",
  )
  s.add_argument(
    "--interval",
    type=_positive_int,
    default=None,
    metavar="N",
    help="pbt: steps between exploit/explore steps (default: --steps / 10)",
  )
  s.add_argument(
    "--fraction",
    type=_fraction,
    default=None,
    metavar="F",
    help="pbt: the bottom fraction of the population that copies a top member, in (0, 0.5] "
    "(default 0.25)",
  )
  g = p.add_argument_group("several processes (jax.distributed.initialize)")
  g.add_argument(
    "--coordinator",
    metavar="HOST:PORT",
    default=None,
    help="address of process 0's coordinator (coordinator_address)",
  )
  g.add_argument(
    "--num-processes",
    type=_positive_int,
    metavar="N",
    default=None,
    help="number of processes (num_processes)",
  )
  g.add_argument(
    "--process-id",
    type=_natural,
    metavar="I",
    default=None,
    help="this process's index, 0..N-1 (process_id); process 0 prints and writes",
  )
  g.add_argument(
    "--distributed",
    action="store_true",
    help="join a multi-process run detected from the environment (SLURM, Open MPI)",
  )
  g.add_argument(
    "--init-timeout",
    type=_positive_int,
    metavar="S",
    default=300,
    help="seconds to wait for every process to join (initialization_timeout; default 300)",
  )
  p.set_defaults(func=_cmd_sweep)

  p = sub.add_parser(
    "lr-find",
    parents=[common],
    help="the LR range test on the built-in task, printed and plotted",
    description="The learning-rate range test on the main job's task (the built-in MLP): one run "
    "whose lr rises exponentially from --min-lr to --max-lr over --steps updates, or with "
    "--parallel K, K constant-lr runs log-spaced over that range in one compiled program. Prints "
    "the loss against the lr, where it diverged and a suggested lr; plots the curve.",
  )
  p.add_argument(
    "--parallel",
    type=_positive_int,
    default=None,
    metavar="K",
    help="K constant-lr runs in one program instead of one ramp (K >= 2)",
  )
  p.add_argument(
    "--steps", type=_positive_int, default=100, metavar="N", help="updates (default 100)"
  )
  p.add_argument(
    "--min-lr", type=_positive_float, default=1e-7, metavar="LR", help="lowest lr (default 1e-7)"
  )
  p.add_argument(
    "--max-lr", type=_positive_float, default=10.0, metavar="LR", help="highest lr (default 10)"
  )
  p.add_argument(
    "--seed", type=_natural, default=0, metavar="N", help="seed of the synthetic task (default 0)"
  )
  p.add_argument(
    "--devices",
    type=_positive_int,
    default=None,
    metavar="N",
    help="with --parallel: on a CPU-only machine, split the CPU into N XLA devices",
  )
  p.add_argument(
    "-o",
    "--output",
    metavar="FILE",
    default="lr-find.png",
    help="the figure (png, pdf, svg, ...) or csv of lr,loss (default lr-find.png)",
  )
  p.add_argument("--no-progress", action="store_true", help="no header line on stderr")
  p.set_defaults(func=_cmd_lr_find)

  p = sub.add_parser(
    "plot",
    parents=[common],
    help="plot schedules (images need the plot extra) or write them as CSV",
    description="Overlays schedules. SPEC is a config JSON, a .json config file, "
    "or a call like 'cosine(init_value=0.1, steps=1000)' (parsed as literals, "
    "never evaluated).",
  )
  p.add_argument("spec", nargs="+", metavar="SPEC")
  p.add_argument(
    "--steps", type=_positive_int, default=1000, metavar="N", help="steps 0..N-1 (default 1000)"
  )
  p.add_argument(
    "-o",
    "--output",
    metavar="FILE",
    help="file to write, its format from its extension: png, pdf, svg, ... or csv "
    "(default plot.png unless only --csv is given)",
  )
  p.add_argument("--csv", metavar="FILE", help="also write step,value columns as CSV ('-': stdout)")
  p.add_argument("--log", action="store_true", help="logarithmic y axis")
  p.set_defaults(func=_cmd_plot)

  p = sub.add_parser(
    "families", parents=[common], help="list the families and their formulas, and the composition"
  )
  p.set_defaults(func=_cmd_families)
  return parser


def _error(message: str, whole: bool = False) -> None:
  """Writes the one error line; ``whole`` keeps a message whose parts are bounded already but which
  names a path the user gave, which the rerun advice must show uncut."""
  sys.stderr.write(f"jaxsched: error: {message if whole else cut(message)}\n")
  sys.stderr.flush()


def main(argv=None) -> int:
  """Runs the command line; returns the exit status: 0; 2 for bad input (one line on stderr);
  1 for an internal error (one line; ``--debug`` or ``JAXSCHED_DEBUG=1`` prints the traceback);
  130 after Ctrl-C (143 after SIGTERM), which exits the process at once."""
  debug = os.environ.get("JAXSCHED_DEBUG", "").strip().lower() not in ("", "0", "false", "no")
  parser = _parser()
  try:
    args = parser.parse_args(argv)
  except SystemExit as e:
    return e.code if isinstance(e.code, int) else 2
  debug = debug or getattr(args, "debug", False)
  if args.command is None:
    sys.stderr.write(
      "jaxsched: error: choose a command: sweep, lr-find, plot or families (see 'jaxsched --help')\n"
    )
    return 2
  _outputs.debug = debug
  status = _run(args, debug)
  if status and multihost.joined():  # a failed multi-process run: skip JAX's shutdown barrier
    multihost.leave(status)
  return status


def _run(args, debug: bool) -> int:
  """``args.func(args)`` with every error turned into one line and an exit status."""
  try:
    return _outputs.interruptible(lambda: args.func(args))
  except BrokenPipeError:  # ``jaxsched families | head``: the reader left, which is fine
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 0
  except KeyboardInterrupt:  # only where signals could not be handled (not the main thread)
    sys.stderr.write("interrupted\n")
    return 130
  except Exception as e:
    if debug:
      traceback.print_exception(e)
    if isinstance(e, (CliError, OutputError)):
      _error(str(e))
    elif isinstance(e, RecursionError):
      _error("the input is nested too deeply (Python's recursion limit)")
    elif isinstance(e, MemoryError):
      _error("out of memory")
    elif report := multihost.lost(e, getattr(args, "checkpoint", None)):
      _error(report, whole=True)
      return 1
    elif isinstance(e, (ValueError, TypeError)):
      _error(one_line(e))
    else:
      _error(
        f"internal error: {type(e).__name__}: {one_line(e)}"
        + ("" if debug else " (run with --debug for the traceback)")
      )
      return 1
    return 2
