"""What the commands write: ``jaxsched sweep``'s report (the ranking on stdout, ``sweep.json`` and
``sweep.png``) and ``jaxsched plot``'s outputs (the figure, the CSV, the note about a log axis),
with the one-line form of a config (``compact``) that both show.

Files are rendered through ``jaxsched._outputs`` (a temporary file beside the target, renamed into
place on commit); matplotlib is imported only when a figure is drawn.
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import json
import math
import time
from pathlib import Path

import jax
import numpy as np

from jaxsched import core
from jaxsched.batches import evaluate
from jaxsched.main_job import DESCRIPTION
from jaxsched.messages import cut
from jaxsched.plotting import INSTALL_HINT

__all__ = [
  "write_sweep_report",
  "print_table",
  "json_text",
  "sweep_figure",
  "plot_figure",
  "write_csv",
  "log_note",
  "compact",
  "finite_or_none",
  "sha256",
  "write_search_report",
  "search_figure",
  "config_of",
  "compact_of",
  "print_lr_find",
  "lr_find_figure",
  "write_lr_csv",
]


# --- the sweep's report ---------------------------------------------------------------------------


def write_sweep_report(
  args, outputs, json_target, png_target, members, loss, lr, figures, setup_s, started
):
  """Process 0: the ranking on stdout, then ``sweep.png`` and ``sweep.json`` rendered into
  temporary files and renamed into place together, then the summary lines.

  ``args``: the parsed flags (``steps``, ``seed``, ``top``, ``out``); ``outputs`` and the targets:
  the ``jaxsched._outputs.Outputs`` that checked them; ``members``: the settings, as stacked;
  ``loss``, ``lr``: float64 ``[settings, steps]`` on the host; ``figures``: the run's
  ``jaxsched.runner.SweepResult``; ``setup_s``, ``started``: timings of the whole command."""
  n = len(members)
  try:
    import matplotlib  # noqa: F401  (the plot extra)

    draw = True
  except ImportError:
    draw = False
  records = [
    {"index": i, "family": s.family, "config": s.to_config(), "final_loss": float(loss[i, -1])}
    for i, s in enumerate(members)
  ]
  order = sorted(
    range(n), key=lambda j: (not math.isfinite(records[j]["final_loss"]), records[j]["final_loss"])
  )
  for rank, j in enumerate(order, start=1):
    records[j]["rank"] = rank

  timing = {
    "setup_s": round(setup_s, 3),
    "compile_s": round(figures.compile_s, 3),
    "trace_and_lower_s": round(figures.lower_s, 3),
    "xla_compile_s": round(figures.xla_compile_s, 3),
    "run_s": round(figures.run_s, 3),
  }
  print_table(records, order, args.top)
  figure = None
  if draw:
    fig = sweep_figure(records, order, loss, lr, args.steps)
    tmp = outputs.render(png_target, lambda tmp: fig.savefig(tmp, format="png", dpi=110))
    figure = {"file": png_target.name, "sha256": sha256(tmp)}
  else:
    print(f"note: sweep.png not drawn: {INSTALL_HINT}")
    outputs.remove_on_commit(png_target)  # an old sweep.png must not pass for this run's
  report = {
    "command": "jaxsched sweep",
    "task": DESCRIPTION,
    "steps": args.steps,
    "seed": args.seed,
    "settings": n,
    "families": list(dict.fromkeys(s.family for s in members)),
    "devices": figures.devices,
    "processes": jax.process_count(),
    "platform": figures.platform,
    "compiled_programs": 1,
    "chunks": figures.chunks,
    "timing": timing,
    "figure": figure,
    "results": [
      dict(
        records[j],
        final_loss=finite_or_none(records[j]["final_loss"]),
        loss_curve=[finite_or_none(x, 6) for x in loss[j]],
        lr_curve=[finite_or_none(x, 6) for x in lr[j]],
      )
      for j in order
    ],
  }
  text = json_text(report)
  outputs.render(json_target, lambda tmp: Path(tmp).write_text(text))
  outputs.commit()  # sweep.png and sweep.json replaced together
  written = [str(Path(args.out) / "sweep.json")] + (
    [str(Path(args.out) / "sweep.png")] if draw else []
  )
  total_s = time.perf_counter() - started
  procs = f" in {jax.process_count()} processes" if jax.process_count() > 1 else ""
  print(
    f"\n{n} settings x {args.steps} steps on {figures.devices} {figures.platform} "
    f"device(s){procs}: 1 program compiled in {figures.compile_s:.1f} s, ran in "
    f"{figures.run_s:.1f} s ({figures.chunks} chunks); total {total_s:.1f} s"
  )
  print("wrote " + ", ".join(written))
  return 0


def print_table(records, order, top):
  """The ranking: the ``top`` best settings (all when ``top <= 0``), one line each."""
  shown = order if top <= 0 else order[:top]
  print(f"{'rank':>4}  {'family':<14} {'final loss':>10}  hyperparameters")
  for j in shown:
    r = records[j]
    loss = r["final_loss"]
    text = f"{loss:10.5f}" if math.isfinite(loss) else f"{'diverged':>10}"
    print(f"{r['rank']:>4}  {r['family']:<14} {text}  {compact(r['config'])}")
  if len(shown) < len(order):
    print(f"      ... {len(order) - len(shown)} more in sweep.json")


def json_text(report: dict) -> str:
  """JSON with one line per result (readable, and a tenth of the size of fully indented JSON)."""
  head = {k: v for k, v in report.items() if k != "results"}
  lines = json.dumps(head, indent=1).rstrip("}").rstrip()
  body = ",\n".join("  " + json.dumps(r) for r in report["results"])
  return f'{lines},\n "results": [\n{body}\n ]\n}}\n'


def sweep_figure(records, order, loss, lr, steps):
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
    color = palette((2 * i) % 20 + (2 * i) // 20)  # the dark shades first, then the light ones
    r = records[j]
    ax_lr.plot(
      np.arange(steps),
      lr[j],
      color=color,
      label=f"#{r['rank']}  loss {r['final_loss']:.4g}  {compact(r['config'])}",
    )
    ax_loss.plot(np.arange(1, steps + 1), loss[j], color=color, linewidth=1)
  ax_lr.set(xlabel="step", ylabel="learning rate", title="best setting of each family")
  ax_loss.set(
    xlabel="step",
    ylabel="training loss (MSE)",
    yscale="log",
    title="training loss after each update",
  )
  for ax in (ax_lr, ax_loss):
    ax.grid(alpha=0.3)
  fig.legend(loc="outside lower center", fontsize="small", frameon=False)
  return fig


def sha256(path: str) -> str:
  """The SHA-256 of a file's bytes, in hex (``sweep.json`` records the figure's)."""
  with open(path, "rb") as f:
    return hashlib.sha256(f.read()).hexdigest()


def finite_or_none(x: float, digits: int = 7):
  """``x`` rounded to ``digits`` significant digits, or None (JSON's null) when not finite."""
  return float(f"{x:.{digits}g}") if math.isfinite(x) else None


# --- the searches' report (jaxsched sweep --search) ----------------------------------------------


def config_of(schedule) -> dict | str:
  """A schedule's config, or its ``repr`` when it has none (``jaxsched.custom``)."""
  try:
    return schedule.to_config()
  except (TypeError, ValueError, AttributeError):
    return repr(schedule)


def compact_of(schedule) -> str:
  """``compact`` of a schedule's config (its ``repr`` when it has none)."""
  config = config_of(schedule)
  return compact(config) if isinstance(config, dict) else cut(config, 160)


def write_search_report(
  args, outputs, json_target, png_target, members, lr, found, setup_s, started
):
  """Process 0, after ``jaxsched sweep --search``: the ranking on stdout, then ``sweep.png`` (the
  rungs, or the lineage over the population) and ``sweep.json`` (a plain sweep's fields, the
  results ranked by the search, and a ``search`` section), renamed into place together.

  ``found``: what ``jaxsched.search_job`` gathered: ``method``, ``order`` (indices best first),
  ``final`` (index -> score where it stopped), ``stopped`` (index -> steps trained), ``curves``
  (index -> scores every ``curve_every`` steps), ``search`` (the JSON section), ``seconds`` and the
  library's ``result``; ``lr``: float64 ``[settings, steps]``, each setting's schedule."""
  try:
    import matplotlib  # noqa: F401  (the plot extra)

    draw = True
  except ImportError:
    draw = False
  order, final, stopped = found["order"], found["final"], found["stopped"]
  records = [
    {
      "index": i,
      "family": s.family,
      "config": s.to_config(),
      "final_loss": final[i],
      "stopped_at": stopped[i],
    }
    for i, s in enumerate(members)
  ]
  for rank, j in enumerate(order, start=1):
    records[j]["rank"] = rank
  print()
  print_table(records, order, args.top)
  figure = None
  if draw:
    fig = search_figure(found, records, lr, args.steps)
    tmp = outputs.render(png_target, lambda tmp: fig.savefig(tmp, format="png", dpi=110))
    figure = {"file": png_target.name, "sha256": sha256(tmp)}
  else:
    print(f"note: sweep.png not drawn: {INSTALL_HINT}")
    outputs.remove_on_commit(png_target)
  result = found["result"]
  every = found["curve_every"]
  report = {
    "command": f"jaxsched sweep --search {found['method']}",
    "task": DESCRIPTION,
    "steps": args.steps,
    "seed": args.seed,
    "settings": len(members),
    "families": list(dict.fromkeys(s.family for s in members)),
    "devices": len(jax.devices()) if args.devices is None else args.devices,
    "processes": jax.process_count(),
    "platform": jax.devices()[0].platform,
    "compiled_programs": result.compiles,
    "timing": {"setup_s": round(setup_s, 3), "search_s": round(found["seconds"], 3)},
    "figure": figure,
    "search": found["search"],
    "results": [
      dict(
        records[j],
        final_loss=finite_or_none(records[j]["final_loss"]),
        loss_curve=[finite_or_none(x, 6) for x in found["curves"][j]],
        loss_curve_steps=[every * (k + 1) for k in range(len(found["curves"][j]))],
        lr_curve=[finite_or_none(x, 6) for x in lr[j, : stopped[j]]],
      )
      for j in order
    ],
  }
  text = json_text(report)
  outputs.render(json_target, lambda tmp: Path(tmp).write_text(text))
  outputs.commit()
  written = [str(Path(args.out) / "sweep.json")] + (
    [str(Path(args.out) / "sweep.png")] if draw else []
  )
  search = found["search"]
  total_s = time.perf_counter() - started
  procs = f" in {jax.process_count()} processes" if jax.process_count() > 1 else ""
  if found["method"] == "halving":
    print(
      f"\nhalving: {len(members)} settings, {len(search['rungs'])} rungs (eta {search['eta']}, "
      f"min steps {search['min_steps']}): {search['update_steps']:,} update steps against "
      f"{search['grid_update_steps']:,} for the full grid{procs}; {result.compiles} program(s) "
      f"compiled; search {found['seconds']:.1f} s, total {total_s:.1f} s"
    )
  else:
    print(
      f"\npbt: {len(members)} members x {args.steps} steps, {search['intervals']} intervals of "
      f"{search['interval']}{procs}; {result.compiles} program(s) compiled; search "
      f"{found['seconds']:.1f} s, total {total_s:.1f} s"
    )
  best = search["best"]
  shown = compact(best) if isinstance(best, dict) else best
  print(f"best: {shown}  (score {result.best_score:.6g})")
  print("wrote " + ", ".join(written))
  return 0


def search_figure(found, records, lr, steps):
  """Halving: each setting's lr and loss curve up to the rung where it stopped, coloured by that
  rung, with the rung boundaries. PBT: the population's starting lr curves and score histories,
  with the winner's lineage drawn over them."""
  from matplotlib import colormaps
  from matplotlib.figure import Figure

  fig = Figure(figsize=(12, 5), layout="constrained")
  ax_lr, ax_loss = fig.subplots(1, 2)
  result = found["result"]
  every = found["curve_every"]
  if found["method"] == "halving":
    bounds = [r.steps for r in result.rungs]
    palette = colormaps["viridis"]
    for j in reversed(found["order"]):  # the best drawn last, on top
      t_stop = found["stopped"][j]
      level = bounds.index(t_stop) if t_stop in bounds else 0
      color = palette(level / max(1, len(bounds) - 1))
      curve = found["curves"][j]
      width = 2.5 if j == result.best_index else 0.8
      ax_lr.plot(np.arange(t_stop), lr[j, :t_stop], color=color, linewidth=width, alpha=0.8)
      ax_loss.plot(
        every * np.arange(1, len(curve) + 1), curve, color=color, linewidth=width, alpha=0.8
      )
    for b in bounds:
      for ax in (ax_lr, ax_loss):
        ax.axvline(b, color="grey", linewidth=0.6, linestyle=":")
    best = records[result.best_index]
    ax_lr.set_title(
      f"settings up to the rung where they stopped (winner thick)\n{compact(best['config'])}"
    )
    ax_loss.set_title("loss curves; rungs at " + ", ".join(str(b) for b in bounds))
  else:
    for j in range(lr.shape[0]):
      ax_lr.plot(np.arange(steps), lr[j], color="0.75", linewidth=0.7)
      ax_loss.plot(
        every * np.arange(1, len(found["curves"][j]) + 1),
        found["curves"][j],
        color="0.75",
        linewidth=0.7,
      )
    lineage = np.asarray(evaluate(result.best, np.arange(steps)), np.float64)
    ax_lr.plot(np.arange(steps), lineage, color="tab:red", linewidth=2.2, label="winner's lineage")
    history = np.asarray(result.history, np.float64)
    starts = [seg.start for seg in result.lineage]
    line = []
    for k in range(history.shape[0]):
      seg = max(i for i, s in enumerate(starts) if s <= k * every)
      line.append(history[k, result.lineage[seg].member])
    ax_loss.plot(
      every * np.arange(1, len(line) + 1), line, color="tab:red", linewidth=2.2, marker="o"
    )
    for s in starts[1:]:
      for ax in (ax_lr, ax_loss):
        ax.axvline(s, color="tab:red", linewidth=0.6, linestyle=":")
    ax_lr.set_title("population's starting schedules (grey), the winner's lineage (red)")
    ax_loss.set_title(f"every member's score after each interval of {every} steps")
    ax_lr.legend(fontsize="small")
  ax_lr.set(xlabel="step", ylabel="learning rate")
  ax_loss.set(xlabel="step", ylabel="training loss (MSE)", yscale="log")
  for ax in (ax_lr, ax_loss):
    ax.grid(alpha=0.3)
  return fig


# --- lr-find --------------------------------------------------------------------------------------


def print_lr_find(lrs, losses, diverged_at, suggestion, rows: int = 12) -> None:
  """A dozen (lr, loss) rows of the range test's curve, where it diverged, and the suggestion."""
  n = len(lrs)
  shown = sorted(set(np.linspace(0, n - 1, min(rows, n)).round().astype(int).tolist()))
  print(f"{'lr':>12}  {'loss':>12}")
  for i in shown:
    loss = losses[i]
    text = f"{loss:12.5g}" if math.isfinite(loss) else f"{'diverged':>12}"
    print(f"{lrs[i]:12.4g}  {text}")
  where = "did not diverge" if diverged_at is None else f"diverged at lr {float(diverged_at):.4g}"
  said = "none (the loss never fell)" if suggestion is None else f"lr = {float(suggestion):.4g}"
  print(f"\n{where}; suggestion: {said}")


def lr_find_figure(lrs, losses, diverged_at, suggestion):
  """The range test's loss against the learning rate (log axis), the suggestion marked."""
  from matplotlib.figure import Figure

  fig = Figure(figsize=(8, 4.5), layout="constrained")
  ax = fig.subplots()
  ax.plot(lrs, np.where(np.isfinite(losses), losses, np.nan), marker=".", linewidth=1)
  if suggestion is not None:
    ax.axvline(float(suggestion), color="tab:green", label=f"suggestion {float(suggestion):.3g}")
  if diverged_at is not None:
    ax.axvline(float(diverged_at), color="tab:red", linestyle="--", label="diverged")
  ax.set(xscale="log", xlabel="learning rate", ylabel="training loss (MSE)", title="LR range test")
  finite = losses[np.isfinite(losses)]
  if finite.size and finite.min() > 0:
    ax.set_yscale("log")
  ax.legend(fontsize="small")
  ax.grid(alpha=0.3)
  return fig


def write_lr_csv(path: str, lrs, losses) -> None:
  """``lr,loss`` columns."""
  with open(path, "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["lr", "loss"])
    for a, b in zip(lrs, losses, strict=True):
      w.writerow([f"{float(a):.9g}", f"{float(b):.9g}"])


# --- plot ---------------------------------------------------------------------------------------


def plot_figure(schedules, t, values, log):
  """``jaxsched plot``'s figure: one line per schedule, labelled with its config (``log``: a
  logarithmic axis, showing the positive values)."""
  from matplotlib.figure import Figure

  fig = Figure(figsize=(8, 4.5), layout="constrained")
  ax = fig.subplots()
  for s, v in zip(schedules, values, strict=True):
    shown = np.where(v > 0, v, np.nan) if log else v  # a log axis shows what is positive
    ax.plot(t, shown, label=cut(compact(s.to_config(), short=False), 120))
  ax.set(xlabel="step", ylabel="learning rate")
  if log and any(np.any(v > 0) for v in values):  # no positive value: keep a linear axis
    ax.set_yscale("log")
  ax.legend(fontsize="small")
  ax.grid(alpha=0.3)
  return fig


def write_csv(path_or_file, t, values):
  """``step,value`` columns (``value_1``, ... for several schedules), to a path or an open file."""
  header = ["step"] + (
    ["value"] if len(values) == 1 else [f"value_{i}" for i in range(1, len(values) + 1)]
  )

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


def log_note(values) -> str | None:
  """What a logarithmic axis leaves out, in one line (matplotlib's own warning takes two)."""
  hidden = sum(int(np.sum(~(v > 0))) for v in values)
  if not hidden:
    return None
  total = sum(v.size for v in values)
  return (
    f"note: --log shows positive values only; {hidden} of {total} values are <= 0 and are left out"
  )


# --- configs on one line -------------------------------------------------------------------------


def compact(config: dict, short: bool = True) -> str:
  """``family(k=v, …)`` from a config, without the fields left at their defaults; ``short`` rounds
  numbers to 4 significant digits. (Still a valid ``plot`` SPEC when not ``short``.)"""
  cls = core.FAMILIES[config["family"]]
  defaults = {f.name: f.default for f in dataclasses.fields(cls)}
  parts = [
    f"{key}={_fmt(value, short)}"
    for key, value in config.items()
    if key != "family" and not (key in defaults and value == defaults[key])
  ]
  return f"{config['family']}({', '.join(parts)})"


def _fmt(v, short: bool) -> str:
  if isinstance(v, float):
    return f"{v:.4g}" if short else repr(v)
  if isinstance(v, dict):
    return compact(v, short)
  if isinstance(v, list) and v and all(isinstance(x, dict) for x in v):
    return "[" + ", ".join(compact(x, short) for x in v) + "]"
  return repr(v)
