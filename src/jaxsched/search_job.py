"""The searches of the command line: ``jaxsched sweep --search halving|pbt`` and ``jaxsched lr-find``.

Each runs on the main job's task in the search protocol (``jaxsched.main_job.protocol``) over the
main job's grid (``jaxsched.main_job.build_grid``), and hands what it found to ``jaxsched.reports``
for the report: the same ``sweep.json`` as a plain sweep (its ``results`` ranked by the search)
with a ``search`` section (the rung history, or the winner's lineage), and a ``sweep.png`` that
shows the search. ``jaxsched.cli`` only parses the flags and calls ``run_search`` or ``lr_find``.

Every process of a multi-process run calls the search (SPMD); only process 0 prints and writes.
"""

from __future__ import annotations

import math
import sys
import time
from typing import Any

import numpy as np

from jaxsched import _outputs, main_job, reports
from jaxsched.batches import evaluate, stack, unstack
from jaxsched.core import Schedule
from jaxsched.messages import CliError, one_line
from jaxsched.search.halving import default_min_steps, halving
from jaxsched.search.pbt import pbt
from jaxsched.search.range_test import lr_range_test

__all__ = ["run_search", "lr_find", "curve_every"]


def curve_every(min_steps: int, max_steps: int, points: int = 200) -> int:
  """The spacing of halving's recorded loss curves: a divisor of every rung boundary (``min_steps``
  and ``max_steps``), as fine as possible with at most about ``points`` points to ``max_steps``."""
  g = math.gcd(min_steps, max_steps)
  wanted = max(1, max_steps // points)
  return min((d for d in range(1, g + 1) if g % d == 0 and d >= wanted), default=g)


def _grid(args) -> tuple[Any, list[Schedule], int]:
  """``(batch, members, families)``: the main job's settings as one mixed batch."""
  try:
    groups = main_job.build_grid(args.settings, args.steps)
  except (ValueError, TypeError) as e:
    raise CliError(one_line(e)) from None
  batch = stack([s for _, schedules in groups for s in schedules])
  return batch, unstack(batch), len(groups)


def _say(lead: bool, text: str) -> None:
  if lead:
    print(text, flush=True)


def run_search(args, lead: bool, outputs, json_target, png_target, started: float) -> int:
  """``jaxsched sweep --search halving|pbt``: the search, then (process 0) its report."""
  batch, members, families = _grid(args)
  task = main_job.protocol(args.steps, seed=args.seed)
  setup_s = time.perf_counter() - started
  if lead and not args.no_progress:
    print(
      f"jaxsched sweep --search {args.search}: {len(members)} settings from {families} families "
      f"x {args.steps} steps; task: {main_job.DESCRIPTION}",
      file=sys.stderr,
    )
  if args.search == "halving":
    found = _halving(args, lead, task, batch, members)
  else:
    found = _pbt(args, lead, task, batch, members)
  if not lead:
    return 0
  lr = np.asarray(evaluate(batch, np.arange(args.steps)), np.float64)
  reports.write_search_report(
    args, outputs, json_target, png_target, members, lr, found, setup_s, started
  )
  return 0


def _halving(args, lead: bool, task, batch, members) -> dict[str, Any]:
  n, steps = len(members), args.steps
  min_steps = args.min_steps or default_min_steps(n, steps, args.eta)
  if min_steps > steps:
    raise CliError(f"--min-steps {min_steps} must be <= --steps {steps}")
  every = curve_every(min_steps, steps)

  def line(record) -> None:
    best = record.order[0]
    value = record.scores[record.indices.index(best)]
    _say(
      lead,
      f"rung {record.rung + 1}: {len(record.indices):>3} settings to step {record.steps:<6} "
      f"best {value:.5g}  {reports.compact(members[best].to_config())}; "
      f"{len(record.kept)} kept ({record.seconds:.2f} s)",
    )

  began = time.perf_counter()
  result = halving(
    task.init,
    task.update,
    task.score,
    batch,
    max_steps=steps,
    min_steps=min_steps,
    eta=args.eta,
    devices=args.devices,
    checkpoint=args.checkpoint,
    progress=line,
    curve_every=every,
  )
  seconds = time.perf_counter() - began
  stopped = {i: t for i, (_, _, t) in zip(result.order, result.ranking, strict=True)}
  final = {i: float(v) for i, (_, v, _) in zip(result.order, result.ranking, strict=True)}
  curves: dict[int, list[float]] = {i: [] for i in range(n)}
  for record in result.rungs:
    if record.curve is not None:
      for i, row in zip(record.indices, record.curve, strict=True):
        curves[i].extend(row)
  return {
    "method": "halving",
    "result": result,
    "order": list(result.order),
    "final": final,
    "stopped": stopped,
    "curves": curves,
    "curve_every": every,
    "seconds": seconds,
    "search": {
      "method": "halving",
      "eta": result.eta,
      "min_steps": result.min_steps,
      "max_steps": result.max_steps,
      "curve_every": every,
      "update_steps": result.steps,
      "grid_update_steps": n * steps,
      "compiles": result.compiles,
      "resumed_rungs": result.resumed,
      "best": reports.config_of(result.best),
      "best_index": result.best_index,
      "best_score": reports.finite_or_none(result.best_score),
      "rungs": [
        {
          "rung": r.rung,
          "steps": r.steps,
          "indices": list(r.indices),
          "scores": [reports.finite_or_none(x) for x in r.scores],
          "kept": list(r.kept),
          "seconds": round(r.seconds, 3),
        }
        for r in result.rungs
      ],
    },
  }


def _pbt(args, lead: bool, task, batch, members) -> dict[str, Any]:
  n, steps = len(members), args.steps
  interval = args.interval or max(1, steps // 10)
  if interval > steps:
    raise CliError(f"--interval {interval} must be <= --steps {steps}")
  began = time.perf_counter()
  result = pbt(
    task.init,
    task.update,
    task.score,
    batch,
    steps=steps,
    interval=interval,
    fraction=args.fraction,
    devices=args.devices,
    checkpoint=args.checkpoint,
    progress=lead and not args.no_progress,
  )
  seconds = time.perf_counter() - began
  history = np.asarray(result.history, np.float64)
  donors = np.asarray(result.donors, np.int64)
  copied = donors != np.arange(n)[None, :]
  for k in range(history.shape[0]):
    row = history[k]
    best = (
      int(np.nanargmin(np.where(np.isfinite(row), row, np.nan))) if np.isfinite(row).any() else 0
    )
    _say(
      lead,
      f"interval {k + 1}: steps {k * interval}-{min((k + 1) * interval, steps)}, "
      f"{int(copied[k].sum())} members copied a donor; best {row[best]:.5g} (member {best})",
    )
  _say(lead, f"winner: member {result.best_member}, score {result.best_score:.5g}; its lineage:")
  for seg in result.lineage:
    _say(
      lead, f"  from step {seg.start:<6} member {seg.member:>3}  {reports.compact_of(seg.schedule)}"
    )
  final = {i: float(result.scores[i]) for i in range(n)}
  order = sorted(range(n), key=lambda i: (not math.isfinite(final[i]), final[i], i))
  return {
    "method": "pbt",
    "result": result,
    "order": order,
    "final": final,
    "stopped": {i: steps for i in range(n)},
    "curves": {i: history[:, i].tolist() for i in range(n)},
    "curve_every": interval,
    "seconds": seconds,
    "search": {
      "method": "pbt",
      "interval": interval,
      "fraction": args.fraction,
      "intervals": int(history.shape[0]),
      "compiles": result.compiles,
      "resumed_intervals": result.resumed,
      "best": reports.config_of(result.best),
      "best_member": result.best_member,
      "best_score": reports.finite_or_none(result.best_score),
      "lineage": [
        {"start": seg.start, "member": seg.member, "schedule": reports.config_of(seg.schedule)}
        for seg in result.lineage
      ],
      "history": [[reports.finite_or_none(x) for x in row] for row in history],
      "donors": donors.tolist(),
    },
  }


# --- lr-find --------------------------------------------------------------------------------------


def lr_find(args, target, fmt: str, outputs: _outputs.Outputs, started: float) -> int:
  """``jaxsched lr-find``: the LR range test on the main job's task, printed and plotted."""
  task = main_job.protocol(args.steps, seed=args.seed)
  if not args.no_progress:
    how = (
      f"{args.parallel} constant-lr runs in one program"
      if args.parallel
      else "one run with an exponential lr ramp"
    )
    print(
      f"jaxsched lr-find: {how}, lr {args.min_lr:g} to {args.max_lr:g} over {args.steps} steps; "
      f"task: {main_job.DESCRIPTION}",
      file=sys.stderr,
    )
  result = lr_range_test(
    task.init,
    task.update,
    task.score,
    min_value=args.min_lr,
    max_value=args.max_lr,
    steps=args.steps,
    parallel=args.parallel,
  )
  lrs = np.asarray(result.lrs, np.float64).reshape(-1)
  losses = np.asarray(result.losses, np.float64).reshape(-1)
  reports.print_lr_find(lrs, losses, result.diverged_at, result.suggestion)
  if fmt == "csv":
    outputs.render(target, lambda tmp: reports.write_lr_csv(tmp, lrs, losses))
  else:
    fig = reports.lr_find_figure(lrs, losses, result.diverged_at, result.suggestion)
    outputs.render(target, lambda tmp: fig.savefig(tmp, format=fmt, dpi=110))
  outputs.commit()
  print(f"\ntotal {time.perf_counter() - started:.1f} s; wrote {args.output}")
  return 0
