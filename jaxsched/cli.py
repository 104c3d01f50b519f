"""The ``jaxsched`` command line (SPEC §8): ``sweep`` (the main job), ``plot`` and ``families``.

Bad arguments print one line, ``jaxsched: error: ...``, on stderr and exit with status 2 (no
traceback). matplotlib is needed only for PNGs (the ``plot`` extra) and is imported lazily.
"""
from __future__ import annotations

import argparse
import ast
import csv
import dataclasses
import inspect
import json
import math
import os
import sys
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

import jaxsched
from jaxsched import core
from jaxsched.parse import parse
from jaxsched.plotting import INSTALL_HINT
from jaxsched.sweeps import _resolve_devices, _sweep, evaluate, stack

DEFAULT_SETTINGS = 96
DEFAULT_STEPS = 200
LR_RANGE = (0.01, 0.3)          # peak learning rates, log-spaced (SGD with momentum 0.9)


class CliError(Exception):
  """A bad argument: reported as one line and exit status 2."""


class _Parser(argparse.ArgumentParser):
  def error(self, message):
    sys.stderr.write(f"jaxsched: error: {message} (see '{self.prog} --help')\n")
    sys.exit(2)


def _positive_int(text: str) -> int:
  try:
    value = int(text)
  except ValueError:
    raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
  if value < 1:
    raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
  return value


def _one_line(e: BaseException) -> str:
  return " ".join(str(e).split()) or type(e).__name__


# --- SPEC parsing (plot) --------------------------------------------------------------------------


def parse_spec(text: str) -> core.Schedule:
  """A schedule from a SPEC: what ``jaxsched.parse`` reads (a call such as
  ``warmup(cosine(0.1, 100), 10) * 2``, or a config JSON string), or a path to a ``.json`` config
  file. Raises ``CliError`` with a one-line reason; nothing is ever evaluated."""
  s = text.strip()
  if s and not s.startswith("{"):
    try:
      is_file = Path(s).is_file()
    except (OSError, ValueError):
      is_file = False
    if is_file or s.endswith(".json"):
      try:
        config = json.loads(Path(s).read_text())
      except OSError as e:
        raise CliError(f"cannot read SPEC file {s!r}: {e.strerror or e}") from None
      except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise CliError(f"SPEC file {s!r} is not valid JSON: {_one_line(e)}") from None
      try:
        return jaxsched.from_config(config)
      except (ValueError, TypeError) as e:
        raise CliError(f"SPEC {text!r}: {_one_line(e)}") from None
  try:
    return parse(text)
  except (ValueError, TypeError) as e:
    raise CliError(_one_line(e)) from None


# --- plot -----------------------------------------------------------------------------------------


def _cmd_plot(args) -> int:
  schedules = [parse_spec(s) for s in args.spec]
  png = args.output
  if png is None and args.csv is None:
    png = "plot.png"
  if png is not None:
    try:
      import matplotlib  # noqa: F401  (the plot extra)
    except ImportError:
      raise CliError(INSTALL_HINT) from None
  t = np.arange(args.steps)
  values = [np.asarray(evaluate(s, t)) for s in schedules]
  if args.csv is not None:
    header = ["step"] + (["value"] if len(values) == 1 else
                         [f"value_{i}" for i in range(1, len(values) + 1)])
    try:
      with open(args.csv, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        for i, step in enumerate(t):
          w.writerow([int(step)] + [f"{float(v[i]):.9g}" for v in values])
    except OSError as e:
      raise CliError(f"cannot write {args.csv}: {e.strerror or e}") from None
    print(f"wrote {args.csv}")
  if png is not None:
    from matplotlib.figure import Figure
    fig = Figure(figsize=(8, 4.5), layout="constrained")
    ax = fig.subplots()
    for s, v in zip(schedules, values):
      ax.plot(t, v, label=compact(s.to_config(), short=False))
    ax.set(xlabel="step", ylabel="learning rate")
    if args.log:
      ax.set_yscale("log")
    ax.legend(fontsize="small")
    ax.grid(alpha=0.3)
    _save(fig, png)
    print(f"wrote {png}")
  return 0


def _save(fig, path):
  try:
    fig.savefig(path, dpi=110)
  except OSError as e:
    raise CliError(f"cannot write {path}: {e.strerror or e}") from None


# --- families -------------------------------------------------------------------------------------


def _summary(cls) -> str:
  """The first paragraph of a family's docstring (its formula), on one line, without markup."""
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


def _cmd_families(args) -> int:
  for name, cls in core.FAMILIES.items():
    print(f"{name}{_signature(cls)}")
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


def _mux_inputs(groups):
  """One batch for every setting of every family: ``(family index, (batch of family 0, …))``.

  Setting ``i`` of family ``g`` carries its own hyperparameters in slot ``g`` and a filler (the
  family's first setting) in the other slots; ``run`` picks slot ``g``. So one vmapped program covers
  all families, whatever their structures.
  """
  which = np.concatenate([np.full(len(s), g, np.int32) for g, (_, s) in enumerate(groups)])
  slots = []
  for g, (_, schedules) in enumerate(groups):
    own = stack(schedules)
    index = np.zeros(len(which), np.int64)
    index[which == g] = np.arange(len(schedules))
    slots.append(jax.tree.map(lambda x: jnp.asarray(np.asarray(x)[index]), own))
  return jnp.asarray(which), tuple(slots)


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


def _cmd_sweep(args) -> int:
  """The main job. Every setting of every family runs in ONE compiled XLA program: the input is
  one batch of ``(family index, one slot per family)`` (``_mux_inputs``), and ``run`` trains the
  built-in model with the learning rate of its own family's slot. The batch is vmapped, sharded
  over the devices and fed in chunks by ``jaxsched.sweep`` (the chunks reuse the program). Besides
  it, only a handful of tiny eager operations compile (schedule validation, transfers)."""
  started = time.perf_counter()
  from jaxsched import _demo
  try:
    _resolve_devices(args.devices)
    groups = build_grid(args.settings, args.steps)
  except (ValueError, TypeError) as e:
    raise CliError(_one_line(e)) from None
  settings = [(family, s) for family, schedules in groups for s in schedules]
  n = len(settings)
  which, slots = _mux_inputs(groups)
  train = _demo.make_run(args.steps, seed=args.seed)

  def run(setting):
    family, schedules = setting
    return train(lambda count: jnp.stack([s(count) for s in schedules])[family])

  out = Path(args.out)
  try:
    out.mkdir(parents=True, exist_ok=True)
  except OSError as e:
    raise CliError(f"cannot create {out}: {e.strerror or e}") from None
  setup_s = time.perf_counter() - started
  progress = not args.no_progress
  if progress:
    print(f"jaxsched sweep: {n} settings from {len(groups)} families x {args.steps} steps; "
          f"task: {_demo.DESCRIPTION}", file=sys.stderr)
  chunk = args.chunk_size or max(1, -(-n // 8))
  result, stats = _sweep(run, (which, slots), devices=args.devices, chunk_size=chunk,
                         progress=progress, desc="training")
  loss = np.asarray(result["loss"], np.float64)
  lr = np.asarray(result["lr"], np.float64)

  records = [{"index": i, "family": family, "config": s.to_config(), "final_loss": float(loss[i, -1])}
             for i, (family, s) in enumerate(settings)]
  order = sorted(range(n), key=lambda j: (not math.isfinite(records[j]["final_loss"]),
                                          records[j]["final_loss"]))
  for rank, j in enumerate(order, start=1):
    records[j]["rank"] = rank

  timing = {"setup_s": round(setup_s, 3), "compile_s": round(stats["compile_s"], 3),
            "trace_and_lower_s": round(stats["lower_s"], 3),
            "xla_compile_s": round(stats["xla_compile_s"], 3), "run_s": round(stats["run_s"], 3)}
  _print_table(records, order, args.top)
  report = {
      "command": "jaxsched sweep",
      "task": _demo.DESCRIPTION,
      "steps": args.steps, "seed": args.seed, "settings": n,
      "families": [name for name, _ in groups],
      "devices": stats["devices"], "platform": stats["platform"],
      "compiled_programs": 1, "chunks": stats["chunks"],
      "timing": timing,
      "results": [dict(records[j], final_loss=_finite_or_none(records[j]["final_loss"]),
                       loss_curve=[_finite_or_none(x, 6) for x in loss[j]],
                       lr_curve=[_finite_or_none(x, 6) for x in lr[j]]) for j in order],
  }
  path = out / "sweep.json"
  try:
    path.write_text(_json_text(report))
  except OSError as e:
    raise CliError(f"cannot write {path}: {e.strerror or e}") from None
  written = [str(path)]
  try:
    import matplotlib  # noqa: F401  (the plot extra)
  except ImportError:
    print(f"note: sweep.png not drawn: {INSTALL_HINT}")
  else:
    png = out / "sweep.png"
    _sweep_figure(records, order, loss, lr, args.steps, png)
    written.append(str(png))
  total_s = time.perf_counter() - started
  print(f"\n{n} settings x {args.steps} steps on {stats['devices']} {stats['platform']} device(s): "
        f"1 program compiled in {stats['compile_s']:.1f} s, ran in {stats['run_s']:.1f} s "
        f"({stats['chunks']} chunks); total {total_s:.1f} s")
  print("wrote " + ", ".join(written))
  return 0


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


def _sweep_figure(records, order, loss, lr, steps, path):
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
  _save(fig, path)


# --- entry point ----------------------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
  parser = _Parser(prog="jaxsched", description="Learning-rate schedules as JAX pytrees.")
  parser.add_argument("--version", action="version", version=f"jaxsched {jaxsched.__version__}")
  sub = parser.add_subparsers(dest="command", metavar="COMMAND")

  p = sub.add_parser("sweep", help="train the built-in model under a grid of schedules (main job)",
                     description="Trains a small built-in MLP on synthetic data under a grid of "
                     "schedules from several families, all settings in one compiled program "
                     "(vmapped, sharded over --devices); prints the ranking and writes sweep.json "
                     "and sweep.png.")
  p.add_argument("--settings", type=_positive_int, metavar="N", default=DEFAULT_SETTINGS,
                 help=f"total number of settings, spread over the families (default "
                 f"{DEFAULT_SETTINGS})")
  p.add_argument("--steps", type=_positive_int, default=DEFAULT_STEPS, metavar="N",
                 help=f"training steps per setting (default {DEFAULT_STEPS})")
  p.add_argument("--seed", type=int, default=0, metavar="N",
                 help="seed of the synthetic task (default 0)")
  p.add_argument("--devices", type=_positive_int, default=None, metavar="N",
                 help="shard over this many devices (default: all); on a CPU-only machine, the "
                 "CPU is split into this many XLA devices")
  p.add_argument("--chunk-size", type=_positive_int, default=None, metavar="N",
                 help="settings per chunk (bounds memory; default: an eighth of the settings)")
  p.add_argument("--out", default=".", metavar="DIR",
                 help="folder for sweep.json and sweep.png (default: .)")
  p.add_argument("--top", type=int, default=20, metavar="N",
                 help="rows of the ranking to print (0: all)")
  p.add_argument("--no-progress", action="store_true", help="no progress bar")
  p.set_defaults(func=_cmd_sweep)

  p = sub.add_parser("plot", help="plot schedules (PNG needs the plot extra) or write them as CSV",
                     description="Overlays schedules. SPEC is a config JSON, a .json config file, "
                     "or a call like 'cosine(init_value=0.1, steps=1000)' (parsed as literals, "
                     "never evaluated).")
  p.add_argument("spec", nargs="+", metavar="SPEC")
  p.add_argument("--steps", type=_positive_int, default=1000, metavar="N",
                 help="steps 0..N-1 (default 1000)")
  p.add_argument("-o", "--output", metavar="FILE.png",
                 help="PNG to write (default plot.png unless only --csv is given)")
  p.add_argument("--csv", metavar="FILE", help="also write step,value columns as CSV")
  p.add_argument("--log", action="store_true", help="logarithmic y axis")
  p.set_defaults(func=_cmd_plot)

  p = sub.add_parser("families", help="list the families and their formulas")
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


def main(argv=None) -> int:
  """Runs the command line; returns the exit status (0, or 2 for bad arguments)."""
  parser = _parser()
  try:
    args = parser.parse_args(argv)
  except SystemExit as e:
    return e.code if isinstance(e.code, int) else 2
  if args.command is None:
    sys.stderr.write("jaxsched: error: choose a command: sweep, plot or families "
                     "(see 'jaxsched --help')\n")
    return 2
  if getattr(args, "devices", None):
    _split_cpu(args.devices)
  try:
    return args.func(args)
  except CliError as e:
    sys.stderr.write(f"jaxsched: error: {e}\n")
    return 2
  except BrokenPipeError:         # ``jaxsched families | head``: the reader left, which is fine
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 0
