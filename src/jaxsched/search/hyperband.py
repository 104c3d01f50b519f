"""Hyperband: Li et al.'s brackets of successive halving, ``jaxsched.hyperband``.

Successive halving needs a choice of ``n`` (how many settings) against ``min_steps`` (how long each
is trained before the first cut); Hyperband runs every trade-off, from many settings cut early to a
few trained to the end, and keeps the best of all.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jax

from jaxsched.runner import Devices, Folder
from jaxsched.search.checkpoint import Checkpoint, digest, function_name
from jaxsched.search.halving import (
  HalvingResult,
  Rung,
  check_common,
  describe,
  fingerprint_of,
  plan,
  reporter,
  run_halving,
  width_cap,
)
from jaxsched.search.training import Rows, Trainer, default_key, rank

__all__ = ["hyperband", "HyperbandResult", "Bracket", "brackets"]


def brackets(max_steps: int, eta: int) -> list[tuple[int, int, int]]:
  """Li et al.'s brackets ``[(s, n, min_steps)]`` for ``R = max_steps``: ``s_max = ⌊log_eta R⌋``
  and, for ``s = s_max … 0``, ``n = ⌈(s_max + 1)·eta^s / (s + 1)⌉`` settings starting at
  ``r = R·eta^−s`` steps, taken as ``max(1, ⌊R / eta^s⌋)`` (exact when ``R`` is a power of
  ``eta``); bracket ``s`` has ``s + 1`` rungs.

  >>> brackets(81, 3)
  [(4, 81, 1), (3, 34, 3), (2, 15, 9), (1, 8, 27), (0, 5, 81)]
  """
  s_max = 0
  while eta ** (s_max + 1) <= max_steps:
    s_max += 1
  return [
    (s, -(-((s_max + 1) * eta**s) // (s + 1)), max(1, max_steps // eta**s))
    for s in range(s_max, -1, -1)
  ]


@dataclasses.dataclass(frozen=True)
class Bracket:
  """One bracket of Hyperband.

  Attributes:
    s: the bracket's index in Li et al.'s notation (``s + 1`` rungs).
    n: how many settings it drew from ``make_batch``.
    min_steps: its first rung's steps.
    result: its successive halving, a ``HalvingResult`` (its rungs carry ``bracket = s``).

  >>> import jax.numpy as jnp, jaxsched as js
  >>> make = lambda n, key: js.grid(js.constant, {"value": [0.1 * (i + 1) for i in range(n)]})
  >>> found = js.hyperband(lambda s, k: jnp.float32(0.0), lambda x, s, t: x + s(t),
  ...                      lambda x, s: (x - 1.0) ** 2, make, max_steps=3)
  >>> [(b.s, b.n, b.min_steps, len(b.result.rungs)) for b in found.brackets]
  [(1, 3, 1, 2), (0, 2, 3, 1)]
  """

  s: int
  n: int
  min_steps: int
  result: HalvingResult

  def to_json(self) -> dict[str, Any]:
    """The bracket as a JSON-able dict."""
    return {"s": self.s, "n": self.n, "min_steps": self.min_steps, "result": self.result.to_json()}


@dataclasses.dataclass(frozen=True)
class HyperbandResult:
  """What ``jaxsched.hyperband`` returns.

  Attributes:
    best: the best setting over every bracket (each bracket's winner is trained to ``max_steps``).
    best_score: its score after ``max_steps`` steps (the user's ``score``, unflipped).
    best_bracket: the ``s`` of the bracket it came from (ties: the earlier bracket).
    brackets: one ``Bracket`` per bracket, ``s = s_max`` first.
    steps: update steps spent over every bracket.
    compiles: programs this call compiled (brackets of one structure share them).
    seconds: wall seconds of this call.
    max_steps: as given.
    eta: as given.
    mode: as given.

  >>> import jax.numpy as jnp, jaxsched as js
  >>> make = lambda n, key: js.grid(js.constant, {"value": [0.1 * (i + 1) for i in range(n)]})
  >>> found = js.hyperband(lambda s, k: jnp.float32(0.0), lambda x, s, t: x + s(t),
  ...                      lambda x, s: (x - 0.3) ** 2, make, max_steps=3)
  >>> round(float(found.best.value), 3), found.best_bracket, found.steps   # 3·1 + 1·2, then 2·3
  (0.1, 0, 11)
  """

  best: Any
  best_score: float
  best_bracket: int
  brackets: list[Bracket]
  steps: int
  compiles: int
  seconds: float
  max_steps: int
  eta: int
  mode: str

  def to_json(self) -> dict[str, Any]:
    """The result as a JSON-able dict (schedules as ``to_config()``, else ``repr``)."""
    score = float(self.best_score)
    return {
      "best": describe(self.best),
      "best_score": score if math.isfinite(score) else None,
      "best_bracket": self.best_bracket,
      "brackets": [b.to_json() for b in self.brackets],
      "steps": self.steps,
      "compiles": self.compiles,
      "seconds": self.seconds,
      "max_steps": self.max_steps,
      "eta": self.eta,
      "mode": self.mode,
    }


def _li_keep(n: int, eta: int) -> Callable[[int, int], int]:
  """Li et al.'s rung sizes ``nᵢ = ⌊n·eta^−i⌋``: rung ``i + 1`` keeps ``⌊n / eta^(i+1)⌋``."""
  return lambda live, i: max(1, n // eta ** (i + 1))


def hyperband(
  init: Callable[[Any, jax.Array], Any],
  update: Callable[[Any, Any, jax.Array], Any],
  score: Callable[[Any, Any], Any],
  make_batch: Callable[[int, jax.Array], Any],
  *,
  max_steps: int,
  eta: int = 3,
  key: jax.Array | None = None,
  mode: str = "min",
  devices: Devices = None,
  checkpoint: Folder = None,
  progress: bool | Callable[[Rung], Any] | None = None,
  curve_every: int | None = None,
  chunk_size: int | None = None,
) -> HyperbandResult:
  """Hyperband (Li et al., 2018): brackets of successive halving from many short runs to few long.

  Formula: with ``R = max_steps`` and ``s_max = ⌊log_eta R⌋``, bracket ``s = s_max … 0`` draws
  ``n = ⌈(s_max + 1)·eta^s / (s + 1)⌉`` settings with ``make_batch(n, jax.random.fold_in(key,
  s))`` and runs successive halving on them from ``r = R·eta^−s`` steps (``max(1, ⌊R/eta^s⌋)``),
  with Li et al.'s rung sizes ``nᵢ = ⌊n·eta^−i⌋`` and steps ``r·etaⁱ`` (the last ``R``), ``i = 0 …
  s``. Every winner is trained to ``R``; the best of them wins (ties: the earlier bracket). ``R =
  81``, ``eta = 3``: brackets of 81, 34, 15, 8 and 5 settings. Training uses ``key`` for every
  setting, as ``jaxsched.halving`` does; the brackets share compiled programs where their
  structures match.

  Peers: Optuna's ``HyperbandPruner`` (``min_resource``, ``max_resource``, ``reduction_factor``)
  and Ray Tune's ``HyperBandScheduler``, one process and one compile per trial; here every rung is
  one vmapped program.

  Args:
    init: ``init(schedule, key) -> state``, as for ``jaxsched.halving``.
    update: ``update(state, schedule, step) -> state``, as for ``jaxsched.halving``.
    score: ``score(state, schedule) -> scalar``, lower is better (``mode="max"`` flips it).
    make_batch: ``make_batch(n, key) -> batch`` of exactly ``n`` settings (e.g. ``lambda n, key:
      jaxsched.sample(jaxsched.cosine, key, n, space, steps=R)``); called once per bracket.
    max_steps: ``R``, the steps every bracket's last rung trains to; an integer >= 1.
    eta: the reduction factor, an integer >= 2.
    key: the PRNG key of training and of the brackets' draws (``None``: ``jax.random.key(0)``).
    mode: ``"min"`` or ``"max"``.
    devices: as for ``jaxsched.sweep``.
    checkpoint: ``None``, or a directory: each bracket resumes from its own subdirectory
      (``bracket-<s>``), the state written after each complete rung; a rerun with other arguments
      is a ``ValueError``. ``make_batch`` must give the same batch for the same ``(n, key)``.
    progress: as for ``jaxsched.halving`` (each ``Rung`` carries its ``bracket``).
    curve_every: as for ``jaxsched.halving``; it must divide every bracket's rung boundaries.
    chunk_size: as for ``jaxsched.halving``.

  >>> import jax.numpy as jnp, jaxsched as js
  >>> init = lambda s, key: jnp.float32(0.0)
  >>> update = lambda x, s, t: x + s(t)
  >>> score = lambda x, s: (x - 2.0) ** 2
  >>> make = lambda n, key: js.grid(js.constant, {"value": [0.25 * (i + 1) / n for i in range(n)]})
  >>> result = js.hyperband(init, update, score, make, max_steps=9, eta=3)
  >>> [(b.s, b.n, b.min_steps) for b in result.brackets]
  [(2, 9, 1), (1, 5, 3), (0, 3, 9)]
  >>> float(result.best.value), float(result.best_score), result.best_bracket
  (0.25, 0.0625, 2)
  >>> result.steps                                   # 9·1 + 3·2 + 1·6, 5·3 + 1·6, 3·9
  69
  """
  what = "hyperband"
  began = time.perf_counter()
  if not callable(make_batch):
    raise TypeError(f"{what}: make_batch must be callable, got {type(make_batch).__name__}")
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
  key = default_key(key)
  trainer = Trainer(init, update, score, key=key, devices=devices, what=what)
  plans = []
  for s, n, min_steps in brackets(max_steps, eta):
    plans.append((s, n, min_steps, plan(n, max_steps, min_steps, eta, _li_keep(n, eta))))
  points = 0
  if curve_every is not None:
    bounds = sorted({r for *_, rungs in plans for r, _ in rungs})
    bad = [r for r in bounds if r % curve_every]
    if bad:
      raise ValueError(
        f"{what}: curve_every={curve_every} must divide every rung boundary {bounds}; "
        f"{bad[0]} is not a multiple"
      )
    points = max(
      (r - (rungs[i - 1][0] if i else 0)) // curve_every
      for *_, rungs in plans
      for i, (r, _) in enumerate(rungs)
    )
  root = None
  if checkpoint is not None:
    root = Path(checkpoint)
    top = Checkpoint(
      root,
      {
        "kind": what,
        "version": 1,
        "key": digest(key),
        "init": function_name(init),
        "update": function_name(update),
        "score": function_name(score),
        "make_batch": function_name(make_batch),
        "max_steps": max_steps,
        "eta": eta,
        "mode": mode,
        "curve_every": curve_every,
      },
    )
    if top.load() is None:
      top.save({"brackets": [s for s, *_ in plans]}, {})
  report = reporter(progress, what)
  done: list[Bracket] = []
  try:
    for s, n, min_steps, rungs in plans:
      batch = make_batch(n, jax.random.fold_in(key, s))
      rows = Rows.of(batch, f"{what}: make_batch({n}, key)")
      if rows.n != n:
        raise ValueError(f"{what}: make_batch({n}, key) returned {rows.n} settings, not {n}")
      store = None
      if root is not None:
        store = Checkpoint(
          root / f"bracket-{s}",
          fingerprint_of(
            rows,
            trainer,
            kind=f"{what} bracket",
            s=s,
            max_steps=max_steps,
            min_steps=min_steps,
            eta=eta,
            mode=mode,
            curve_every=curve_every,
          ),
        )
      result = run_halving(
        trainer,
        rows,
        rungs=rungs,
        mode=mode,
        min_steps=min_steps,
        max_steps=max_steps,
        eta=eta,
        store=store,
        report=report,
        curve_every=curve_every,
        points=points,
        cap=width_cap(trainer, [c for _, c in rungs], chunk_size),
        bracket=s,
      )
      done.append(Bracket(s, n, min_steps, result))
  finally:
    trainer.close()
  winner = int(rank([b.result.best_score for b in done], mode)[0])
  return HyperbandResult(
    best=done[winner].result.best,
    best_score=done[winner].result.best_score,
    best_bracket=done[winner].s,
    brackets=done,
    steps=sum(b.result.steps for b in done),
    compiles=trainer.compiles,
    seconds=time.perf_counter() - began,
    max_steps=max_steps,
    eta=eta,
    mode=mode,
  )
