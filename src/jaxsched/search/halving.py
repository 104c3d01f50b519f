"""Successive halving over a batch of schedules: ``jaxsched.halving``.

Rung ``i`` trains the live settings up to ``rᵢ = min_steps·etaⁱ`` steps (the last rung to
``max_steps``), scores them, and keeps the best ``⌈nᵢ/eta⌉``; the survivors resume from their
states and never retrain. Every rung runs through one compiled program of a fixed width (see
``jaxsched.search.training``), so a whole search compiles once on a CPU.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
import os
import re
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

import jax
import numpy as np

from jaxsched.core import Schedule
from jaxsched.runner import Devices, Folder, progress_mode
from jaxsched.search.checkpoint import Checkpoint, digest, flatten, function_name, unflatten
from jaxsched.search.training import (
  Rows,
  Trainer,
  check_mode,
  check_steps,
  default_key,
  rank,
  take_states,
)

__all__ = ["halving", "HalvingResult", "Rung", "plan", "default_min_steps"]

VERSION = 1  # of the checkpoint layout


# --- records ----------------------------------------------------------------------------------------


def _number(x: float) -> float | None:
  """A float for strict JSON: NaN and ±inf become None."""
  x = float(x)
  return x if math.isfinite(x) else None


def describe(schedule: Any) -> Any:
  """A schedule as JSON-able data: its ``to_config()``; its ``repr`` when it cannot be saved as data
  (``jaxsched.custom``); a pytree of arrays as nested lists."""
  if isinstance(schedule, Schedule):
    try:
      return schedule.to_config()
    except (TypeError, ValueError):
      return repr(schedule)
  return jax.tree.map(lambda x: np.asarray(x).tolist(), schedule)


@dataclasses.dataclass(frozen=True)
class Rung:
  """One rung of successive halving, as ``HalvingResult.rungs`` and ``progress(record)`` give it.

  Attributes:
    rung: its index, 0 first.
    steps: the global step every live setting was trained to (``rᵢ``).
    indices: the live settings' batch indices, ascending.
    scores: their scores after the rung (the user's ``score``, unflipped), aligned with
      ``indices``.
    kept: the batch indices that go on to the next rung, best first; at the last rung, the winner
      alone.
    order: every live setting's batch index, best first (NaN/inf last, ties to the lower index).
    seconds: wall seconds of the rung (waiting for its program, training, scoring, reading back).
    curve: with ``curve_every``, each live setting's score every ``curve_every`` steps within the
      rung (rows aligned with ``indices``, columns at ``curve_steps``); else None.
    curve_steps: the global steps of the curve's columns, or None.
    bracket: the Hyperband bracket ``s`` the rung belongs to; None for ``halving``.

  >>> from jaxsched.search.halving import Rung
  >>> r = Rung(rung=0, steps=9, indices=(0, 1, 2), scores=(0.5, 0.25, 1.0), kept=(1,),
  ...          order=(1, 0, 2), seconds=0.1)
  >>> r.to_json()["kept"], r.to_json()["scores"]
  ([1], [0.5, 0.25, 1.0])
  """

  rung: int
  steps: int
  indices: tuple[int, ...]
  scores: tuple[float, ...]
  kept: tuple[int, ...]
  order: tuple[int, ...]
  seconds: float
  curve: tuple[tuple[float, ...], ...] | None = None
  curve_steps: tuple[int, ...] | None = None
  bracket: int | None = None

  def to_json(self) -> dict[str, Any]:
    """The record as a JSON-able dict (non-finite scores as None)."""
    return {
      "rung": self.rung,
      "steps": self.steps,
      "indices": list(self.indices),
      "scores": [_number(x) for x in self.scores],
      "kept": list(self.kept),
      "order": list(self.order),
      "seconds": self.seconds,
      "curve": None if self.curve is None else [[_number(x) for x in r] for r in self.curve],
      "curve_steps": None if self.curve_steps is None else list(self.curve_steps),
      "bracket": self.bracket,
    }


@dataclasses.dataclass(frozen=True)
class HalvingResult:
  """What ``jaxsched.halving`` returns.

  Attributes:
    best: the winner (the best setting of the last rung), a single ``Schedule``.
    best_index: its index in the batch (flattened row-major).
    best_score: its score after ``max_steps`` steps (the user's ``score``, unflipped).
    ranking: every setting as ``(schedule, score, steps trained)``, best first: the last rung's
      settings in its order, then those dropped at the rung before in that rung's order, and so on;
      ``score`` is the setting's score at the rung where it stopped.
    order: the batch indices of ``ranking``, in its order.
    rungs: one ``Rung`` record per rung.
    steps: update steps spent by the search, ``Σ nᵢ·(rᵢ − rᵢ₋₁)`` (padding not counted; rungs read
      from a checkpoint included, so it equals an uninterrupted run's).
    compiles: programs this call compiled (0 when a checkpoint held every rung).
    seconds: wall seconds of this call, compiles included.
    max_steps: as given.
    min_steps: as given, or the default chosen.
    eta: as given.
    mode: as given.
    resumed: rungs read back from the checkpoint instead of run (0 without one).

  >>> import jax.numpy as jnp, jaxsched as js
  >>> walk = (lambda s, key: jnp.float32(0.0)), (lambda x, s, t: x + s(t))
  >>> batch = js.grid(js.constant, {"value": [0.1, 0.2, 0.3]})
  >>> result = js.halving(*walk, lambda x, s: (x - 1.2) ** 2, batch, max_steps=4, min_steps=2, eta=2)
  >>> [(round(float(s.value), 3), t) for s, _, t in result.ranking], result.order
  ([(0.3, 4), (0.2, 4), (0.1, 2)], (2, 1, 0))
  >>> sorted(result.to_json())[:4]
  ['best', 'best_index', 'best_score', 'compiles']
  """

  best: Any
  best_index: int
  best_score: float
  ranking: list[tuple[Any, float, int]]
  order: tuple[int, ...]
  rungs: list[Rung]
  steps: int
  compiles: int
  seconds: float
  max_steps: int
  min_steps: int
  eta: int
  mode: str
  resumed: int = 0

  def to_json(self) -> dict[str, Any]:
    """The result as a JSON-able dict: schedules as their ``to_config()`` (``repr`` for one that
    cannot be saved as data), non-finite scores as None."""
    return {
      "best": describe(self.best),
      "best_index": self.best_index,
      "best_score": _number(self.best_score),
      "ranking": [
        {"index": i, "schedule": describe(s), "score": _number(v), "steps": t}
        for i, (s, v, t) in zip(self.order, self.ranking, strict=True)
      ],
      "rungs": [r.to_json() for r in self.rungs],
      "steps": self.steps,
      "compiles": self.compiles,
      "seconds": self.seconds,
      "max_steps": self.max_steps,
      "min_steps": self.min_steps,
      "eta": self.eta,
      "mode": self.mode,
      "resumed": self.resumed,
    }


# --- the plan -----------------------------------------------------------------------------------


def _ceil_keep(live: int, rung: int, eta: int) -> int:
  del rung
  return -(-live // eta)


def plan(
  n: int,
  max_steps: int,
  min_steps: int,
  eta: int,
  keep: Callable[[int, int], int] | None = None,
) -> list[tuple[int, int]]:
  """``[(rᵢ, nᵢ)]``: each rung's step and live count. ``rᵢ = min_steps·etaⁱ`` for ``i < k`` and
  ``r_k = max_steps``, with ``k = ⌊log_eta(max_steps/min_steps)⌋`` (computed in integers);
  ``n₀ = n`` and ``nᵢ₊₁ = keep(nᵢ, i)``, by default ``⌈nᵢ/eta⌉``.

  >>> plan(27, 27, 1, 3)
  [(1, 27), (3, 9), (9, 3), (27, 1)]
  >>> plan(10, 100, 10, 3)        # 10·3² = 90 <= 100 < 270: the last rung trains to 100
  [(10, 10), (30, 4), (100, 2)]
  """
  k = 0
  while min_steps * eta ** (k + 1) <= max_steps:
    k += 1
  out, live = [], n
  for i in range(k + 1):
    out.append((max_steps if i == k else min_steps * eta**i, live))
    live = max(1, (keep or (lambda m, j: _ceil_keep(m, j, eta)))(live, i))
  return out


def default_min_steps(n: int, max_steps: int, eta: int) -> int:
  """``max(1, ⌊max_steps / eta^k⌋)`` with ``k = ⌊log_eta n⌋``: ``k + 1`` rungs, so ``n`` settings
  end with one survivor (as Li et al.'s single bracket does), unless ``max_steps < eta^k`` leaves
  room for fewer.

  >>> default_min_steps(81, 729, 3)
  9
  """
  k = 0
  while eta ** (k + 1) <= n:
    k += 1
  return max(1, max_steps // eta**k)


def _check_eta(eta: Any, what: str) -> int:
  if isinstance(eta, (bool, np.bool_)) or not isinstance(eta, numbers.Integral):
    raise TypeError(f"{what}: eta must be an integer >= 2, got {eta!r}")
  if eta < 2:
    raise ValueError(f"{what}: eta must be an integer >= 2, got {eta}")
  return int(eta)


def _check_optional_count(value: Any, name: str, what: str) -> int | None:
  if value is None:
    return None
  return check_steps(value, name, what)


def _check_curve(curve_every: int | None, rungs: Sequence[tuple[int, int]], what: str) -> int:
  """The curve length of the program (0 without a curve); ``curve_every`` must divide every rung
  boundary."""
  if curve_every is None:
    return 0
  bad = [r for r, _ in rungs if r % curve_every]
  if bad:
    raise ValueError(
      f"{what}: curve_every={curve_every} must divide every rung boundary "
      f"{[r for r, _ in rungs]} (so min_steps and max_steps); {bad[0]} is not a multiple"
    )
  lengths = [r - (rungs[i - 1][0] if i else 0) for i, (r, _) in enumerate(rungs)]
  return max(length // curve_every for length in lengths)


def _check_chunk(chunk_size: Any, what: str) -> int | None:
  return _check_optional_count(chunk_size, "chunk_size", what)


def width_cap(trainer: Trainer, counts: Sequence[int], chunk_size: int | None) -> int:
  """The most rows one call runs: ``chunk_size`` (rounded down to a multiple of the devices, at
  least one per device) when given; else, on a CPU, the last rung's live count rounded up to the
  devices (a CPU's time is linear in the rows, so padding is the only waste and one width means one
  compile); on an accelerator, every rung at its own width (a wide batch costs about what a narrow
  one does there)."""
  d = len(trainer.devices)
  if chunk_size is not None:
    return max(d, chunk_size // d * d)
  if trainer.platform == "cpu":
    return trainer.pad(min(counts))
  return trainer.pad(max(counts))


def _structure(rows: Rows) -> str:
  """The batch's treedef as text, without the memory addresses of functions (``js.custom``)."""
  return re.sub(r" at 0x[0-9a-fA-F]+", "", str(rows.treedef))


def fingerprint_of(rows: Rows, trainer: Trainer, **arguments: Any) -> dict[str, Any]:
  """What identifies a search's run for its checkpoint: the batch (structure and every value), the
  key, the user's function names and the arguments."""
  return {
    "version": VERSION,
    "batch": digest((_structure(rows), list(rows.leaves))),
    "settings": rows.n,
    "key": digest(trainer.key),
    "init": function_name(trainer.init),
    "update": function_name(trainer.update),
    "score": function_name(trainer.score),
    **arguments,
  }


# --- progress -----------------------------------------------------------------------------------


def reporter(progress: Any, what: str, total: int | None = None) -> Callable[[Rung], Any] | None:
  """The per-rung report of ``progress``: a callable is called with each ``Rung``; ``None``,
  ``True`` or ``False`` follow ``sweep``'s rule (lines on stderr, process 0 only)."""
  if callable(progress) and not isinstance(progress, (bool, np.bool_)):
    return progress
  mode = progress_mode(progress, what)
  if mode == "off" or jax.process_index() != 0:
    return None

  def line(record: Rung) -> None:
    where = f" (bracket {record.bracket})" if record.bracket is not None else ""
    of = f"/{total}" if total is not None and record.bracket is None else ""
    best = record.order[0]
    value = record.scores[record.indices.index(best)]
    sys.stderr.write(
      f"{what}: rung {record.rung + 1}{of}{where}: {len(record.indices)} settings to step "
      f"{record.steps}, best {value:.6g} (setting {best}), {len(record.kept)} kept, "
      f"{record.seconds:.2f} s\n"
    )
    sys.stderr.flush()

  return line


# --- the search ---------------------------------------------------------------------------------


def run_halving(
  trainer: Trainer,
  rows: Rows,
  *,
  rungs: Sequence[tuple[int, int]],
  mode: str,
  min_steps: int,
  max_steps: int,
  eta: int,
  store: Checkpoint | None,
  report: Callable[[Rung], Any] | None,
  curve_every: int | None,
  points: int,
  cap: int,
  bracket: int | None = None,
  schedules: list[Any] | None = None,
) -> HalvingResult:
  """Successive halving of ``rows`` by the ``rungs`` plan with ``trainer`` (the engine of
  ``halving`` and of each ``hyperband`` bracket)."""
  began = time.perf_counter()
  compiles_before = trainer.compiles
  raw_like = jax.tree.map(
    lambda s: jax.ShapeDtypeStruct((1,) + s.shape, s.dtype), trainer.raw_shapes(rows)
  )
  records: list[Rung] = []
  live = np.arange(rows.n)
  states = None
  if store is not None:
    loaded = store.load()
    if loaded is not None:
      progress, arrays = loaded
      for saved in progress["rungs"]:
        i = saved["rung"]
        curve = arrays.get(f"curve/{i}")
        records.append(
          Rung(
            rung=i,
            steps=saved["steps"],
            indices=tuple(saved["indices"]),
            scores=tuple(float(x) for x in arrays[f"scores/{i}"]),
            kept=tuple(saved["kept"]),
            order=tuple(saved["order"]),
            seconds=saved["seconds"],
            curve=None if curve is None else tuple(tuple(float(x) for x in r) for r in curve),
            curve_steps=None if saved["curve_steps"] is None else tuple(saved["curve_steps"]),
            bracket=bracket,
          )
        )
      if len(records) < len(rungs):
        live = np.asarray(progress["live"], np.int64)
        if records:
          states = unflatten("state", arrays, raw_like)
  resumed = len(records)
  widths = [min(trainer.pad(count), cap) for _, count in rungs]
  trainer.prepare(rows, list(dict.fromkeys(widths[resumed:])), every=curve_every, points=points)
  for i in range(resumed, len(rungs)):
    steps, count = rungs[i]
    before = rungs[i - 1][0] if i else 0
    rung_began = time.perf_counter()
    segment = trainer.advance(
      rows.take(live),
      states,
      before,
      steps - before,
      width=widths[i],
      every=curve_every,
      points=points if curve_every else None,
    )
    positions = rank(segment.scores, mode)
    order = live[positions]
    last = i == len(rungs) - 1
    going = 1 if last else rungs[i + 1][1]
    curve = curve_steps = None
    if curve_every is not None and segment.curve is not None:
      curve = tuple(tuple(float(x) for x in r) for r in segment.curve)
      curve_steps = tuple(range(before + curve_every, steps + 1, curve_every))
    record = Rung(
      rung=i,
      steps=steps,
      indices=tuple(int(x) for x in live),
      scores=tuple(float(x) for x in segment.scores),
      kept=tuple(int(x) for x in order[:going]),
      order=tuple(int(x) for x in order),
      seconds=time.perf_counter() - rung_began,
      curve=curve,
      curve_steps=curve_steps,
      bracket=bracket,
    )
    records.append(record)
    if not last:
      stay = np.sort(positions[:going])
      live, states = live[stay], take_states(segment.states, stay)
    if store is not None:
      _save(store, records, live, None if last else states)
    if report is not None:
      report(record)

  # the ranking: the last rung's order, then each earlier rung's dropped settings in its order
  seen: set[int] = set()
  ranked: list[tuple[int, float, int]] = []
  for record in reversed(records):
    score_of = dict(zip(record.indices, record.scores, strict=True))
    for b in record.order:
      if b not in seen:
        seen.add(b)
        ranked.append((b, score_of[b], record.steps))
  if schedules is None:
    schedules = rows.schedules()
  spent = sum(count * (r - (rungs[i - 1][0] if i else 0)) for i, (r, count) in enumerate(rungs))
  last_record = records[-1]
  best = last_record.order[0]
  return HalvingResult(
    best=schedules[best],
    best_index=best,
    best_score=last_record.scores[last_record.indices.index(best)],
    ranking=[(schedules[b], v, t) for b, v, t in ranked],
    order=tuple(b for b, _, _ in ranked),
    rungs=records,
    steps=spent,
    compiles=trainer.compiles - compiles_before,
    seconds=time.perf_counter() - began,
    max_steps=max_steps,
    min_steps=min_steps,
    eta=eta,
    mode=mode,
    resumed=resumed,
  )


def _save(store: Checkpoint, records: Sequence[Rung], live: np.ndarray, states: Any) -> None:
  arrays: dict[str, np.ndarray] = {}
  saved = []
  for r in records:
    arrays[f"scores/{r.rung}"] = np.asarray(r.scores, np.float64)
    if r.curve is not None:
      arrays[f"curve/{r.rung}"] = np.asarray(r.curve, np.float64).reshape(len(r.indices), -1)
    entry = r.to_json()
    del entry["scores"], entry["curve"]
    saved.append(entry)
  if states is not None:
    arrays.update(flatten("state", states))
  store.save({"rungs": saved, "live": [int(x) for x in live]}, arrays)


def check_common(
  init: Any,
  update: Any,
  score: Any,
  *,
  max_steps: Any,
  eta: Any,
  mode: Any,
  checkpoint: Any,
  progress: Any,
  curve_every: Any,
  chunk_size: Any,
  what: str,
) -> tuple[int, int, int | None, int | None]:
  """The checks ``halving`` and ``hyperband`` share: ``(max_steps, eta, curve_every, chunk_size)``."""
  for name, fn in (("init", init), ("update", update), ("score", score)):
    if not callable(fn):
      raise TypeError(f"{what}: {name} must be callable, got {type(fn).__name__}")
  max_steps = check_steps(max_steps, "max_steps", what)
  eta = _check_eta(eta, what)
  check_mode(mode, what)
  if checkpoint is not None and not isinstance(checkpoint, (str, os.PathLike)):
    raise TypeError(f"{what}: checkpoint must be None or a directory path, got {checkpoint!r}")
  if not (callable(progress) or progress is None or isinstance(progress, (bool, np.bool_))):
    raise TypeError(
      f"{what}: progress must be None (auto), True, False or a callable(record), got {progress!r}"
    )
  curve_every = _check_optional_count(curve_every, "curve_every", what)
  chunk_size = _check_chunk(chunk_size, what)
  return max_steps, eta, curve_every, chunk_size


def halving(
  init: Callable[[Any, jax.Array], Any],
  update: Callable[[Any, Any, jax.Array], Any],
  score: Callable[[Any, Any], Any],
  batch: Any,
  *,
  max_steps: int,
  min_steps: int | None = None,
  eta: int = 3,
  key: jax.Array | None = None,
  mode: str = "min",
  devices: Devices = None,
  checkpoint: Folder = None,
  progress: bool | Callable[[Rung], Any] | None = None,
  curve_every: int | None = None,
  chunk_size: int | None = None,
) -> HalvingResult:
  """Successive halving: train every setting a little, keep the best third, train those further.

  Formula: rung ``i = 0 … k`` trains the live settings up to ``rᵢ = min_steps·etaⁱ`` steps, and
  the last (``k = ⌊log_eta(max_steps/min_steps)⌋``) up to ``max_steps``: ``k + 1`` rungs. After
  each rung every live setting is scored and the best ``⌈nᵢ/eta⌉`` are kept (``n₀`` = the batch);
  ties go to the lower batch index and NaN or inf scores rank last; the last rung ranks its
  settings. Survivors resume from their states, never retrain: the update steps spent are
  ``Σ nᵢ·(rᵢ − rᵢ₋₁)`` (27 settings, ``min_steps=1``, ``max_steps=27``, ``eta=3``: 81, against 729
  for the full grid). Every setting starts from ``init(schedule, key)`` with the same ``key``, so
  the winner's ``best_score`` is what that setting trained alone for ``max_steps`` gives (up to
  ``vmap``'s rounding).

  Compiles: one program serves every rung (``start``, the number of steps and whether the rows
  start from ``init`` are its arguments), run ``width`` rows per call; on a CPU the width is the last
  rung's live count, so the whole search compiles once. On an accelerator each rung runs at its own
  width (at most one program per rung), every program compiled ahead of time in threads while the
  first rungs run. Each call is sharded over ``devices`` (and hosts) like ``jaxsched.sweep``, with
  padding. Any batch works, mixed batches of several families included.

  What it judges: a setting is compared at ``rᵢ``, before its horizon. A cosine to step 729 looks
  worse at step 81 than a constant of the same peak (it is still high-lr), so halving favours
  schedules that are good early; WSD-style schedules (``jaxsched.wsd``), whose stable phase can be
  cut at any rung, suffer least.

  Peers: Optuna's ``SuccessiveHalvingPruner`` (``min_resource``, ``reduction_factor``) and Ray
  Tune's ASHA (``grace_period``, ``reduction_factor``) do the same per trial, one process and one
  compile per trial, asynchronously; here a rung is one vmapped program over every live setting.

  Args:
    init: ``init(schedule, key) -> state``, a pure function of one setting.
    update: ``update(state, schedule, step) -> state``: one optimizer update; ``step`` is the int32
      global update index.
    score: ``score(state, schedule) -> scalar``: lower is better (``mode="max"`` flips it).
    batch: the settings: a batched ``Schedule`` (``jaxsched.grid``, ``sample``, ``stack``, mixed
      included), a list of schedules, or a pytree of arrays with one leading batch axis; indices
      into it are row-major over its ``batch_shape``.
    max_steps: the steps the last rung trains to; an integer >= 1.
    min_steps: the first rung's steps, ``1 <= min_steps <= max_steps``. ``None``:
      ``max(1, ⌊max_steps / eta^⌊log_eta n⌋⌋)`` for ``n`` settings, so the rungs end with one
      survivor as Li et al.'s single bracket does (81 settings, 729 steps, eta 3: 9).
    eta: the reduction factor, an integer >= 2.
    key: the PRNG key every setting's ``init`` gets (``None``: ``jax.random.key(0)``).
    mode: ``"min"`` (lower scores are better) or ``"max"``.
    devices: as for ``jaxsched.sweep``: ``None`` (all), an int, or a list of ``jax.Device``.
    checkpoint: ``None``, or a directory: the state after each complete rung is written there
      atomically; a rerun with the same arguments continues from the last complete rung and gives
      an uninterrupted run's result (``compiles``, ``seconds`` and ``resumed`` describe the call);
      a rerun with other arguments is a ``ValueError`` naming what differs. The device count is
      not part of the arguments: a run may resume on another machine.
    progress: ``None`` (a line per rung on a terminal's stderr), ``True`` (always), ``False``
      (never), or a callable called with each ``Rung`` record after its rung (process 0 only for
      the lines; a callable runs in every process).
    curve_every: ``None``, or record every live setting's score every ``curve_every`` steps into
      the rung records (``Rung.curve``); it must divide every rung boundary, i.e. ``min_steps`` and
      ``max_steps``.
    chunk_size: at most this many settings per call (rounded down to a multiple of the devices);
      ``None``: the platform's default described above.

  Returns:
    A ``HalvingResult``: ``best``, ``best_score``, ``ranking``, ``rungs``, ``steps``,
    ``compiles``, ``to_json()``.

  >>> import jax.numpy as jnp, jaxsched as js
  >>> init = lambda s, key: jnp.float32(0.0)                  # the state: a distance walked
  >>> update = lambda x, s, t: x + s(t)                       # one step of length lr(t)
  >>> score = lambda x, s: (x - 2.0) ** 2                     # best: exactly 2 after max_steps
  >>> batch = js.grid(js.constant, {"value": [0.05, 0.1, 0.25, 0.5, 1.0]})
  >>> result = js.halving(init, update, score, batch, max_steps=8, min_steps=2, eta=2)
  >>> [(r.steps, len(r.indices)) for r in result.rungs]
  [(2, 5), (4, 3), (8, 2)]
  >>> result.best_index, float(result.best_score), result.steps      # 0.25 · 8 = 2
  (2, 0.0, 24)
  """
  what = "halving"
  max_steps, eta, curve_every, chunk_size = check_common(
    init,
    update,
    score,
    max_steps=max_steps,
    eta=eta,
    mode=mode,
    checkpoint=checkpoint,
    progress=progress,
    curve_every=curve_every,
    chunk_size=chunk_size,
    what=what,
  )
  rows = Rows.of(batch, what)
  if min_steps is None:
    min_steps = default_min_steps(rows.n, max_steps, eta)
  else:
    min_steps = check_steps(min_steps, "min_steps", what)
    if min_steps > max_steps:
      raise ValueError(f"{what}: min_steps must be in [1, max_steps={max_steps}], got {min_steps}")
  rungs = plan(rows.n, max_steps, min_steps, eta)
  points = _check_curve(curve_every, rungs, what)
  trainer = Trainer(init, update, score, key=default_key(key), devices=devices, what=what)
  try:
    store = None
    if checkpoint is not None:
      store = Checkpoint(
        checkpoint,
        fingerprint_of(
          rows,
          trainer,
          kind=what,
          max_steps=max_steps,
          min_steps=min_steps,
          eta=eta,
          mode=mode,
          curve_every=curve_every,
        ),
      )
    return run_halving(
      trainer,
      rows,
      rungs=rungs,
      mode=mode,
      min_steps=min_steps,
      max_steps=max_steps,
      eta=eta,
      store=store,
      report=reporter(progress, what, len(rungs)),
      curve_every=curve_every,
      points=points,
      cap=width_cap(trainer, [c for _, c in rungs], chunk_size),
    )
  finally:
    trainer.close()
