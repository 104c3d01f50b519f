"""The ``jaxsched`` command line (SPEC §8): ``sweep`` (the main job), ``plot`` and ``families``.

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
  ``--distributed`` under SLURM/Open MPI); process 0 prints and writes.

matplotlib is needed only for images (the ``plot`` extra) and is imported lazily.
"""
from __future__ import annotations

import argparse
import ast
import contextlib
import csv
import dataclasses
import hashlib
import inspect
import json
import math
import os
import re
import socket
import sys
import time
import traceback
from pathlib import Path

import jax
import numpy as np

import jaxsched
from jaxsched import _outputs, _resources, core
from jaxsched._outputs import OutputError
from jaxsched.parse import config_from_json, parse
from jaxsched.plotting import INSTALL_HINT
from jaxsched.sweeps import _resolve_devices, _sweep, _to_host, evaluate, stack, unstack

DEFAULT_SETTINGS = 96
DEFAULT_STEPS = 200
LR_RANGE = (0.01, 0.3)          # peak learning rates, log-spaced (SGD with momentum 0.9)
MAX_STEPS = 2**31               # steps 0 .. N-1 stay in the int32 step domain [0, 2^31 - 1]
MESSAGE_LIMIT = 400             # characters of an error line; longer ones are cut in the middle
SPEC_EXCERPT = 80               # characters of a long SPEC quoted in an error


class CliError(Exception):
  """A bad argument: reported as one line and exit status 2."""


class _Parser(argparse.ArgumentParser):
  def error(self, message):
    sys.stderr.write(f"jaxsched: error: {_cut(message)} (see '{self.prog} --help')\n")
    sys.exit(2)


def _int_at_least(low: int, words: str):
  """An argparse type: an integer >= ``low``, refused as ``expected <words>, got ...``."""
  def parse(text: str) -> int:
    try:
      value = int(text)
    except ValueError:
      value = None
    if value is None or value < low:
      raise argparse.ArgumentTypeError(f"expected {words}, got {_cut(repr(text), 40)}") from None
    return value
  return parse


_positive_int = _int_at_least(1, "a positive integer")
_natural = _int_at_least(0, "an integer >= 0")   # a seed: NumPy's SeedSequence takes no negative entropy


def _one_line(e: BaseException) -> str:
  return " ".join(str(e).split()) or type(e).__name__


def _cut(text: str, limit: int = MESSAGE_LIMIT) -> str:
  """``text`` on one line, at most ``limit`` characters: a longer one keeps its start and end."""
  text = " ".join(text.split())
  if len(text) <= limit:
    return text
  keep = limit - 5
  return f"{text[:keep * 2 // 3]} ... {text[len(text) - keep // 3:]}"


def excerpt(text: str, at: int | None = None, width: int = SPEC_EXCERPT) -> str:
  """At most ``width`` characters of ``text`` around index ``at`` (the start when None), with
  ``...`` where cut: ``...ne(0.1, 10), 5)...``."""
  if len(text) <= width:
    return text
  at = 0 if at is None else min(max(at, 0), len(text) - 1)
  start = max(0, min(at - width // 2, len(text) - width))
  end = start + width
  return ("..." if start else "") + text[start:end] + ("..." if end < len(text) else "")


def _error_position(message: str, text: str) -> int | None:
  """Where in the SPEC ``text`` the error is: the JSON or syntax error's offset, else the first
  place a fragment quoted in ``message`` occurs (the longest such fragment)."""
  body = text.strip()
  lead = len(text) - len(text.lstrip())
  try:
    if body.startswith("{"):
      json.loads(body)
    else:
      ast.parse(body, mode="eval")
  except json.JSONDecodeError as e:
    return lead + e.pos
  except SyntaxError as e:
    if e.lineno and e.offset:
      lines = body.splitlines(keepends=True)
      return lead + sum(len(x) for x in lines[:e.lineno - 1]) + e.offset - 1
  except (ValueError, MemoryError, RecursionError):
    pass
  rest = message.replace(repr(text), "").replace(text, "")
  for fragment in sorted(set(re.findall(r"'([^']{2,})'", rest)), key=len, reverse=True):
    found = text.find(fragment)
    if found >= 0:
      return found
  return None


def _spec_message(message: str, text: str) -> str:
  """``message`` with a long SPEC replaced by an excerpt around the error and its position."""
  if len(text) <= SPEC_EXCERPT:
    return message
  at = _error_position(message, text)
  short = f"{excerpt(text, at)!r} ({len(text)} characters" + \
      ("" if at is None else f", error near character {at + 1}") + ")"
  for form in (repr(text), repr(text.strip()), text, text.strip()):
    if form in message:
      return message.replace(form, short)
  return message


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
        raise CliError(f"SPEC file {s!r} is not valid JSON: {_one_line(e)}") from None
      return config_from_json(body, f"file {s!r}")
    return parse(text)
  except (ValueError, TypeError) as e:
    raise CliError(_one_line(e)) from None


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
    raise CliError(f"-o {_cut(path, 120)!r}: {what}; supported: {', '.join(known)}")
  if ext != "csv" and images is None:
    raise CliError(INSTALL_HINT)
  return ext


def _parse(text: str) -> core.Schedule:
  """``parse_spec(text)``, its error message with an excerpt of a long SPEC."""
  try:
    return parse_spec(text)
  except CliError as e:
    raise CliError(_spec_message(str(e), text)) from None
  except RecursionError:
    raise CliError(f"SPEC {excerpt(text)!r} is nested too deeply") from None


def _write_csv(path_or_file, t, values):
  header = ["step"] + (["value"] if len(values) == 1 else
                       [f"value_{i}" for i in range(1, len(values) + 1)])

  def write(f):
    w = csv.writer(f)
    w.writerow(header)
    for i, step in enumerate(t):
      w.writerow([int(step)] + [f"{float(v[i]):.9g}" for v in values])

  if isinstance(path_or_file, str):
    with open(path_or_file, "w", newline="") as f:
      write(f)
  else:
    write(path_or_file)


def _cmd_plot(args) -> int:
  """Order: sizes, then output paths and formats, then SPECs, then evaluation (the first compile),
  then every output rendered into a temporary file, then all renamed into place together."""
  output = args.output
  if output is None and args.csv is None:
    output = "plot.png"
  wanted = []                                     # (format, path as given)
  if output is not None:
    wanted.append((_output_format(output), output))
  if args.csv is not None and args.csv != "-":
    wanted.append(("csv", args.csv))
  image = any(fmt != "csv" for fmt, _ in wanted)
  refused = _resources.refusal(
      f"plot of {len(args.spec)} schedule(s) x --steps {args.steps}",
      _resources.plot_bytes(len(args.spec), args.steps, image), _resources.available_bytes(),
      "lower --steps")
  if refused:
    raise CliError(refused)
  if args.steps > MAX_STEPS:
    raise CliError(f"--steps {args.steps}: steps 0..N-1 must stay in the int32 step range, "
                   f"N <= {MAX_STEPS}")
  outputs = _outputs.Outputs()
  targets = [(fmt, name, outputs.check(name)) for fmt, name in wanted]
  schedules = [_parse(s) for s in args.spec]
  t = np.arange(args.steps)
  try:
    values = [np.asarray(evaluate(s, t)) for s in schedules]
  except RecursionError:
    raise CliError("a SPEC is nested too deeply to evaluate") from None
  note = _log_note(values) if args.log and image else None
  if note:
    print(note, file=sys.stderr)
  for fmt, name, target in targets:
    if fmt == "csv":
      outputs.render(target, lambda tmp: _write_csv(tmp, t, values))
    else:
      fig = _plot_figure(schedules, t, values, args.log)
      outputs.render(target, lambda tmp, fig=fig, fmt=fmt: fig.savefig(tmp, format=fmt, dpi=110))
  if args.csv == "-":
    _write_csv(sys.stdout, t, values)
  outputs.commit()
  report = sys.stderr if args.csv == "-" else sys.stdout
  for _, name, _ in targets:
    print(f"wrote {name}", file=report)
  return 0


def _log_note(values) -> str | None:
  """What a logarithmic axis leaves out, in one line (matplotlib's own warning takes two)."""
  hidden = sum(int(np.sum(~(v > 0))) for v in values)
  if not hidden:
    return None
  total = sum(v.size for v in values)
  return (f"note: --log shows positive values only; {hidden} of {total} values are <= 0 and are "
          "left out")


def _plot_figure(schedules, t, values, log):
  from matplotlib.figure import Figure
  fig = Figure(figsize=(8, 4.5), layout="constrained")
  ax = fig.subplots()
  for s, v in zip(schedules, values):
    shown = np.where(v > 0, v, np.nan) if log else v   # a log axis shows what is positive
    ax.plot(t, shown, label=_cut(compact(s.to_config(), short=False), 120))
  ax.set(xlabel="step", ylabel="learning rate")
  if log and any(np.any(v > 0) for v in values):      # no positive value: keep a linear axis
    ax.set_yscale("log")
  ax.legend(fontsize="small")
  ax.grid(alpha=0.3)
  return fig


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


def _is_composite(cls) -> bool:
  """A schedule built from schedules (a ``child``/``children`` field): composition, not a family."""
  return any(spec.kind in ("child", "children") for _, spec in core.fields_of(cls))


def _cmd_families(args) -> int:
  """The families with their formulas, then, apart, the composition of schedules (``join``,
  ``warmup``, ``product``, the ``scaled`` node that ``s * c`` makes, ...)."""
  families = [cls for cls in core.FAMILIES.values() if not _is_composite(cls)]
  composites = [cls for cls in core.FAMILIES.values() if _is_composite(cls)]
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


def _plan(steps: int):
  """(family, [variant(lr) -> Schedule]) for the main job: each family's shape hyperparameters,
  tied to the run length ``steps``; the peak learning rate is the swept axis."""
  T = steps
  q = max(T // 20, 1)              # a short warmup (one step at least; never longer than the run)
  q2 = min(2 * q, T)
  js = jaxsched
  plan = [
      ("constant", [lambda lr: js.constant(lr)]),
      ("step", [lambda lr: js.step(lr, max(T // 4, 1), 0.5),
                lambda lr: js.step(lr, max(T // 10, 1), 0.7)]),
      ("exponential", [lambda lr: js.exponential(lr, 0.01 ** (1 / T)),
                       lambda lr: js.exponential(lr, 0.1 ** (1 / T))]),
      ("inverse_time", [lambda lr: js.inverse_time(lr, 10 / T),
                        lambda lr: js.inverse_time(lr, 100 / T)]),
      ("inverse_sqrt", [lambda lr: js.inverse_sqrt(lr, T / 20, warmup_steps=q),
                        lambda lr: js.inverse_sqrt(lr, T / 5, warmup_steps=q)]),
      ("linear", [lambda lr: js.linear(lr, 0.0, T),
                  lambda lr: js.linear(lr, lr / 10, T)]),
      ("polynomial", [lambda lr: js.polynomial(lr, 0.0, T, 2.0),
                      lambda lr: js.polynomial(lr, 0.0, T, 0.5)]),
      ("cosine", [lambda lr: js.cosine(lr, T),
                  lambda lr: js.cosine(lr, T, end_value=lr / 10)]),
      ("warmup_cosine", [lambda lr: js.warmup_cosine(lr, q, T),
                         lambda lr: js.warmup_cosine(lr, q2, T, end_value=lr / 10)]),
  ]
  w, d = q, max(T // 5, 1)
  plan.append(("wsd", [lambda lr: js.wsd(lr, w, max(T - w - d, 0), d),
                       lambda lr: js.wsd(lr, w, max(T - w - 2 * d, 0), min(2 * d, T - w))]))
  if T >= 4:                  # pct_start·T − 1 must leave the warmup phase a step or more
    plan.append(("one_cycle", [lambda lr: js.one_cycle(lr, T),
                               lambda lr: js.one_cycle(lr, T, pct_start=0.1)]))
  return plan


def _learning_rates(n: int) -> list[float]:
  lo, hi = LR_RANGE
  if n == 0:
    return []
  if n == 1:
    return [math.sqrt(lo * hi)]
  return np.geomspace(lo, hi, n).tolist()


def build_grid(settings: int, steps: int):
  """The main job's settings: ``settings`` spread as evenly as possible over the families (earlier
  families get the remainder), and within a family over its shape variants; each variant gets
  log-spaced peak learning rates in ``LR_RANGE``. Returns ``[(family, [schedules])]``, empty
  families left out."""
  plan = _plan(steps)
  groups = []
  for i, (name, variants) in enumerate(plan):
    k = _share(settings, len(plan), i)
    schedules = [variant(lr) for j, variant in enumerate(variants)
                 for lr in _learning_rates(_share(k, len(variants), j))]
    if schedules:
      groups.append((name, schedules))
  return groups


def _share(total: int, parts: int, i: int) -> int:
  """Part ``i`` of ``total`` split into ``parts`` near-equal whole parts, larger ones first."""
  return total // parts + (i < total % parts)


def _finite_or_none(x: float, digits: int = 7):
  return float(f"{x:.{digits}g}") if math.isfinite(x) else None


def _fmt(v, short: bool) -> str:
  if isinstance(v, float):
    return f"{v:.4g}" if short else repr(v)
  if isinstance(v, dict):
    return compact(v, short)
  if isinstance(v, list) and v and all(isinstance(x, dict) for x in v):
    return "[" + ", ".join(compact(x, short) for x in v) + "]"
  return repr(v)


def compact(config: dict, short: bool = True) -> str:
  """``family(k=v, …)`` from a config, without the fields left at their defaults; ``short`` rounds
  numbers to 4 significant digits. (Still a valid ``plot`` SPEC when not ``short``.)"""
  cls = core.FAMILIES[config["family"]]
  defaults = {f.name: f.default for f in dataclasses.fields(cls)}
  parts = [f"{key}={_fmt(value, short)}" for key, value in config.items()
           if key != "family" and not (key in defaults and value == defaults[key])]
  return f"{config['family']}({', '.join(parts)})"




def _join(args):
  """Joins a multi-process run when asked (``jax.distributed.initialize``, before the backends
  start), and on a CPU-only machine splits the CPU for ``--devices`` (per process: the devices are
  spread over the processes)."""
  given = {k: v for k, v in (("coordinator_address", args.coordinator),
                             ("num_processes", args.num_processes),
                             ("process_id", args.process_id)) if v is not None}
  if args.devices:
    _split_cpu(-(-args.devices // (args.num_processes or 1)))
  if not given and not args.distributed:
    return
  if args.num_processes is not None and args.process_id is not None \
      and args.process_id >= args.num_processes:
    raise CliError(f"--process-id {args.process_id} must be < --num-processes "
                   f"{args.num_processes} (processes count from 0)")
  if args.coordinator is not None:
    host, port = _address(args.coordinator)
    who = "" if args.process_id is None else f" as process {args.process_id}"
    of = "" if args.num_processes is None else f" of {args.num_processes}"
    sys.stderr.write(f"jaxsched: joining a multi-process run via {args.coordinator}{who}{of} "
                     f"(waiting up to {args.init_timeout} s for the others)\n")
    if args.process_id:
      _reach(host, port, args.init_timeout, args.coordinator)
  try:
    jax.distributed.initialize(**given, initialization_timeout=args.init_timeout)
  except Exception as e:          # ValueError (nothing to detect), runtime errors (unreachable)
    hint = "" if given else (" (outside SLURM/Open MPI, give --coordinator HOST:PORT "
                             "--num-processes N --process-id I)")
    raise CliError(f"cannot join the multi-process run: {_cut(_one_line(e), 200)}{hint}") from None


def _address(text: str) -> tuple[str, int]:
  host, sep, port = text.rpartition(":")
  if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
    raise CliError(f"--coordinator {_cut(text, 80)!r}: expected HOST:PORT, e.g. node0:8476")
  return host.strip("[]"), int(port)


def _reach(host: str, port: int, timeout: int, text: str):
  """Waits until process 0's coordinator accepts connections. XLA ends a process that cannot
  register in time with a C++ abort, so an absent or misspelled coordinator is caught here first,
  as one line."""
  deadline = time.monotonic() + timeout
  while True:
    try:
      socket.create_connection((host, port), timeout=2).close()
      return
    except socket.gaierror as e:
      raise CliError(f"--coordinator {text}: cannot resolve {host!r} ({e.strerror or e})") from None
    except OSError:
      if time.monotonic() >= deadline:
        raise CliError(f"--coordinator {text}: nothing answered within {timeout} s (is process 0 "
                       "running, with the same --coordinator?)") from None
      time.sleep(0.5)


def _agree(problem: str | None):
  """Raises ``problem`` here, and a pointer to it in every other process, so that a run either
  starts in every process or in none (a process that stops alone leaves the others waiting)."""
  if jax.process_count() == 1:
    if problem:
      raise CliError(problem)
    return
  from jax.experimental import multihost_utils
  flags = np.asarray(multihost_utils.process_allgather(np.int32(problem is not None)))
  if problem:
    raise CliError(problem)
  if flags.any():
    raise CliError(f"process {int(np.flatnonzero(flags)[0])} refused the run (its error says why)")


def _sweep_problem(args, outputs: _outputs.Outputs | None):
  """Everything that can refuse the run before it compiles, as one message (or None): the memory
  estimate, the int32 step range, and (``outputs``: the process that writes) the output paths,
  ``--out`` created if missing, and the free space for ``sweep.json``. Returns ``(problem,
  json_target, png_target or None)``."""
  refused = _resources.refusal(
      f"--settings {args.settings} x --steps {args.steps}",
      _resources.sweep_bytes(args.settings, args.steps), _resources.available_bytes(),
      "lower --settings or --steps")
  if refused:
    return refused, None, None
  if args.steps > MAX_STEPS:
    return (f"--steps {args.steps}: steps 0..N-1 must stay in the int32 step range, "
            f"N <= {MAX_STEPS}"), None, None
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
    return (f"sweep.json needs about {_resources.human(need)} of disk, more than the "
            f"{_resources.human(free)} free in {args.out}"), None, None
  return None, json_target, png_target


def _device_problem(args):
  """The results stay on the devices until gathered: refuse what exceeds an accelerator's memory."""
  devices = jax.devices()
  stats = getattr(devices[0], "memory_stats", lambda: None)
  try:
    limit = (stats() or {}).get("bytes_limit")
  except Exception:               # backends without memory statistics (CPU)
    limit = None
  if not limit:
    return None
  d = args.devices or len(devices)
  need = 2 * -(-args.settings // d) * args.steps * 8      # loss and lr, float32, plus the concatenation
  return _resources.refusal(f"--settings {args.settings} x --steps {args.steps} per device",
                            need, limit, "lower --settings or --steps, or add --devices")


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
  _join(args)
  lead = jax.process_index() == 0
  outputs = _outputs.Outputs() if lead else None
  problem, json_target, png_target = _sweep_problem(args, outputs)
  with _native_stdout_to_stderr(jax.process_count() > 1):
    _agree(problem or _device_problem(args))
    result, stats, groups, members, setup_s = _train(args, lead, started)
  if not lead:
    return 0
  loss = np.asarray(result["loss"], np.float64)
  lr = np.asarray(result["lr"], np.float64)
  _report(args, outputs, json_target, png_target, groups, members, loss, lr, stats, setup_s,
          started)
  return 0


def _train(args, lead, started):
  """Builds the settings and runs them: ``(results on the host, stats, groups, members, setup_s)``
  in every process."""
  from jaxsched import _demo
  try:
    _resolve_devices(args.devices)
    groups = build_grid(args.settings, args.steps)
  except (ValueError, TypeError) as e:
    raise CliError(_one_line(e)) from None
  batch = stack([s for _, schedules in groups for s in schedules])    # one mixed batch
  members = unstack(batch)                       # the settings, as stacked: family and config
  n = len(members)
  train = _demo.make_run(args.steps, seed=args.seed)

  setup_s = time.perf_counter() - started
  progress = not args.no_progress
  if progress and lead:
    print(f"jaxsched sweep: {n} settings from {len(groups)} families x {args.steps} steps; "
          f"task: {_demo.DESCRIPTION}", file=sys.stderr)
  chunk = args.chunk_size or max(1, -(-n // 8))
  result, stats = _sweep(train, batch, devices=args.devices, chunk_size=chunk,
                         progress=progress, desc="training")
  result = _to_host({"loss": result["loss"], "lr": result["lr"]})    # every process takes part
  return result, stats, groups, members, setup_s


def _report(args, outputs, json_target, png_target, groups, members, loss, lr, stats, setup_s,
            started):
  """Process 0: the ranking on stdout, then ``sweep.png`` and ``sweep.json`` rendered into
  temporary files and renamed into place together."""
  from jaxsched import _demo
  n = len(members)
  try:
    import matplotlib  # noqa: F401  (the plot extra)
    draw = True
  except ImportError:
    draw = False
  records = [{"index": i, "family": s.family, "config": s.to_config(),
              "final_loss": float(loss[i, -1])} for i, s in enumerate(members)]
  order = sorted(range(n), key=lambda j: (not math.isfinite(records[j]["final_loss"]),
                                          records[j]["final_loss"]))
  for rank, j in enumerate(order, start=1):
    records[j]["rank"] = rank

  timing = {"setup_s": round(setup_s, 3), "compile_s": round(stats["compile_s"], 3),
            "trace_and_lower_s": round(stats["lower_s"], 3),
            "xla_compile_s": round(stats["xla_compile_s"], 3), "run_s": round(stats["run_s"], 3)}
  _print_table(records, order, args.top)
  figure = None
  if draw:
    fig = _sweep_figure(records, order, loss, lr, args.steps)
    tmp = outputs.render(png_target, lambda tmp: fig.savefig(tmp, format="png", dpi=110))
    figure = {"file": png_target.name, "sha256": _sha256(tmp)}
  else:
    print(f"note: sweep.png not drawn: {INSTALL_HINT}")
    outputs.remove_on_commit(png_target)        # an old sweep.png must not pass for this run's
  report = {
      "command": "jaxsched sweep",
      "task": _demo.DESCRIPTION,
      "steps": args.steps, "seed": args.seed, "settings": n,
      "families": list(dict.fromkeys(s.family for s in members)),
      "devices": stats["devices"], "processes": jax.process_count(), "platform": stats["platform"],
      "compiled_programs": 1, "chunks": stats["chunks"],
      "timing": timing,
      "figure": figure,
      "results": [dict(records[j], final_loss=_finite_or_none(records[j]["final_loss"]),
                       loss_curve=[_finite_or_none(x, 6) for x in loss[j]],
                       lr_curve=[_finite_or_none(x, 6) for x in lr[j]]) for j in order],
  }
  text = _json_text(report)
  outputs.render(json_target, lambda tmp: Path(tmp).write_text(text))
  outputs.commit()                              # sweep.png and sweep.json replaced together
  written = [str(Path(args.out) / "sweep.json")] + ([str(Path(args.out) / "sweep.png")] if draw else [])
  total_s = time.perf_counter() - started
  procs = f" in {jax.process_count()} processes" if jax.process_count() > 1 else ""
  print(f"\n{n} settings x {args.steps} steps on {stats['devices']} {stats['platform']} "
        f"device(s){procs}: 1 program compiled in {stats['compile_s']:.1f} s, ran in "
        f"{stats['run_s']:.1f} s ({stats['chunks']} chunks); total {total_s:.1f} s")
  print("wrote " + ", ".join(written))
  return 0


@contextlib.contextmanager
def _native_stdout_to_stderr(active: bool):
  """Points file descriptor 1 at stderr meanwhile: Gloo (JAX's CPU collectives) announces each
  connection on stdout from C++, which in a multi-process run would mix with the ranking."""
  if not active:
    yield
    return
  sys.stdout.flush()
  saved = os.dup(1)
  os.dup2(2, 1)
  try:
    yield
  finally:
    sys.stdout.flush()
    os.dup2(saved, 1)
    os.close(saved)


def _sha256(path: str) -> str:
  with open(path, "rb") as f:
    return hashlib.sha256(f.read()).hexdigest()


def _json_text(report: dict) -> str:
  """JSON with one line per result (readable, and a tenth of the size of fully indented JSON)."""
  head = {k: v for k, v in report.items() if k != "results"}
  lines = json.dumps(head, indent=1).rstrip("}").rstrip()
  body = ",\n".join("  " + json.dumps(r) for r in report["results"])
  return f'{lines},\n "results": [\n{body}\n ]\n}}\n'


def _print_table(records, order, top):
  shown = order if top <= 0 else order[:top]
  print(f"{'rank':>4}  {'family':<14} {'final loss':>10}  hyperparameters")
  for j in shown:
    r = records[j]
    loss = r["final_loss"]
    text = f"{loss:10.5f}" if math.isfinite(loss) else f"{'diverged':>10}"
    print(f"{r['rank']:>4}  {r['family']:<14} {text}  {compact(r['config'])}")
  if len(shown) < len(order):
    print(f"      ... {len(order) - len(shown)} more in sweep.json")




def _sweep_figure(records, order, loss, lr, steps):
  """Left: the learning rate of each family's best setting; right: their loss curves."""
  from matplotlib import colormaps
  from matplotlib.figure import Figure
  best = {}
  for j in order:
    if math.isfinite(records[j]["final_loss"]):
      best.setdefault(records[j]["family"], j)
  fig = Figure(figsize=(12, 4.5 + 0.2 * len(best)), layout="constrained")
  ax_lr, ax_loss = fig.subplots(1, 2)
  palette = colormaps["tab20"]
  for i, j in enumerate(best.values()):
    color = palette((2 * i) % 20 + (2 * i) // 20)       # the dark shades first, then the light ones
    r = records[j]
    ax_lr.plot(np.arange(steps), lr[j], color=color,
               label=f"#{r['rank']}  loss {r['final_loss']:.4g}  {compact(r['config'])}")
    ax_loss.plot(np.arange(1, steps + 1), loss[j], color=color, linewidth=1)
  ax_lr.set(xlabel="step", ylabel="learning rate", title="best setting of each family")
  ax_loss.set(xlabel="step", ylabel="training loss (MSE)", yscale="log",
              title="training loss after each update")
  for ax in (ax_lr, ax_loss):
    ax.grid(alpha=0.3)
  fig.legend(loc="outside lower center", fontsize="small", frameon=False)
  return fig



# --- entry point ----------------------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
  common = argparse.ArgumentParser(add_help=False)
  common.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                      help="on an error, print the full traceback (also: JAXSCHED_DEBUG=1)")
  parser = _Parser(prog="jaxsched", description="Learning-rate schedules as JAX pytrees.")
  parser.add_argument("--version", action="version", version=f"jaxsched {jaxsched.__version__}")
  parser.add_argument("--debug", action="store_true",
                      help="on an error, print the full traceback (also: JAXSCHED_DEBUG=1)")
  sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

  p = sub.add_parser("sweep", parents=[common],
                     help="train the built-in model under a grid of schedules (main job)",
                     description="Trains a small built-in MLP on synthetic data under a grid of "
                     "schedules from several families, all settings in one compiled program "
                     "(vmapped, sharded over --devices); prints the ranking and writes sweep.json "
                     "and sweep.png. On N hosts, start it once per host with --coordinator, "
                     "--num-processes and --process-id (or --distributed under SLURM/Open MPI).")
  p.add_argument("--settings", type=_positive_int, metavar="N", default=DEFAULT_SETTINGS,
                 help=f"total number of settings, spread over the families (default "
                 f"{DEFAULT_SETTINGS})")
  p.add_argument("--steps", type=_positive_int, default=DEFAULT_STEPS, metavar="N",
                 help=f"training steps per setting (default {DEFAULT_STEPS})")
  p.add_argument("--seed", type=_natural, default=0, metavar="N",
                 help="seed of the synthetic task, >= 0 (default 0)")
  p.add_argument("--devices", type=_positive_int, default=None, metavar="N",
                 help="shard over this many devices (default: all); on a CPU-only machine, the "
                 "CPU is split into this many XLA devices; with several processes, N in total, "
                 "N/processes from each")
  p.add_argument("--chunk-size", type=_positive_int, default=None, metavar="N",
                 help="settings per chunk (bounds memory; default: an eighth of the settings)")
  p.add_argument("--out", default=".", metavar="DIR",
                 help="folder for sweep.json and sweep.png (default: .)")
  p.add_argument("--top", type=int, default=20, metavar="N",
                 help="rows of the ranking to print (0: all)")
  p.add_argument("--no-progress", action="store_true", help="no progress bar")
  g = p.add_argument_group("several processes (jax.distributed.initialize)")
  g.add_argument("--coordinator", metavar="HOST:PORT", default=None,
                 help="address of process 0's coordinator (coordinator_address)")
  g.add_argument("--num-processes", type=_positive_int, metavar="N", default=None,
                 help="number of processes (num_processes)")
  g.add_argument("--process-id", type=_natural, metavar="I", default=None,
                 help="this process's index, 0..N-1 (process_id); process 0 prints and writes")
  g.add_argument("--distributed", action="store_true",
                 help="join a multi-process run detected from the environment (SLURM, Open MPI)")
  g.add_argument("--init-timeout", type=_positive_int, metavar="S", default=300,
                 help="seconds to wait for every process to join (initialization_timeout; "
                 "default 300)")
  p.set_defaults(func=_cmd_sweep)

  p = sub.add_parser("plot", parents=[common],
                     help="plot schedules (images need the plot extra) or write them as CSV",
                     description="Overlays schedules. SPEC is a config JSON, a .json config file, "
                     "or a call like 'cosine(init_value=0.1, steps=1000)' (parsed as literals, "
                     "never evaluated).")
  p.add_argument("spec", nargs="+", metavar="SPEC")
  p.add_argument("--steps", type=_positive_int, default=1000, metavar="N",
                 help="steps 0..N-1 (default 1000)")
  p.add_argument("-o", "--output", metavar="FILE",
                 help="file to write, its format from its extension: png, pdf, svg, ... or csv "
                 "(default plot.png unless only --csv is given)")
  p.add_argument("--csv", metavar="FILE", help="also write step,value columns as CSV ('-': stdout)")
  p.add_argument("--log", action="store_true", help="logarithmic y axis")
  p.set_defaults(func=_cmd_plot)

  p = sub.add_parser("families", parents=[common],
                     help="list the families and their formulas, and the composition")
  p.set_defaults(func=_cmd_families)
  return parser


def _split_cpu(n: int):
  """Before JAX starts its backends: ask for ``n`` CPU devices (``jax_num_cpu_devices``), so that
  ``--devices n`` can shard on a CPU-only machine (other platforms are unaffected). A no-op when
  the user already chose (``XLA_FLAGS=--xla_force_host_platform_device_count``, the config) or the
  backends are already running."""
  if "xla_force_host_platform_device_count" in os.environ.get("XLA_FLAGS", ""):
    return
  if jax.config.jax_num_cpu_devices not in (-1, None):
    return
  try:
    jax.config.update("jax_num_cpu_devices", n)
  except RuntimeError:            # backends already initialized: jax.devices() is what it is
    pass


def _error(message: str) -> None:
  sys.stderr.write(f"jaxsched: error: {_cut(message)}\n")
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
    sys.stderr.write("jaxsched: error: choose a command: sweep, plot or families "
                     "(see 'jaxsched --help')\n")
    return 2
  _outputs.debug = debug
  try:
    return _outputs.interruptible(lambda: args.func(args))
  except BrokenPipeError:         # ``jaxsched families | head``: the reader left, which is fine
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 0
  except KeyboardInterrupt:       # only where signals could not be handled (not the main thread)
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
    elif isinstance(e, (ValueError, TypeError)):
      _error(_one_line(e))
    else:
      _error(f"internal error: {type(e).__name__}: {_one_line(e)}"
             + ("" if debug else " (run with --debug for the traceback)"))
      return 1
    return 2
