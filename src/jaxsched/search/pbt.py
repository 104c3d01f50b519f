"""Population-based training whose result is a schedule, as one compiled program.

Jaderberg et al.'s PBT (2017) on the search protocol of ``jaxsched.search.training``: every member
of a batch trains in one vmapped program; at every multiple of ``interval`` the bottom ``fraction``
copy the whole state (parameters and optimizer state) of a member drawn from the top ``fraction``
(*exploit*), and take that donor's schedule with its real hyperparameters multiplied by a random
factor (*explore*). The winner's history is a sequence of schedules, each used on its own range of
global steps: ``jaxsched.splice`` of them is an ordinary schedule, and training it from scratch
reproduces the winner's score.

How it stays one program. A ``lax.scan`` over the intervals, inside one ``jax.jit``, whose body
ranks the members (``jnp.lexsort``: NaN and inf last, ties to the lower index, as
``training.rank``), draws the donors and the factors from a key folded with the interval index,
gathers the donors' states and schedule leaves, perturbs, trains every member ``interval`` updates
(``vmap`` of a ``fori_loop``) and scores them. It records, per interval, each member's score, the
member it copied (its own index when it did not) and the schedule leaves it trained with; the
lineage is built from those on the host at the end. With ``checkpoint=``, the same body runs one
interval per call (the interval index is an argument: one compile for all of them), and the state
is saved after each.

Perturbing a schedule inside the program. The perturbed fields are rebuilt with
``Schedule.replace`` on traced values, so each family re-derives its per-setting constants on the
device (the values stay right) and takes the general formula for a perturbed field that had a
special value (an exponent of exactly 1): right, only slower. Fields that are not perturbed keep
their special formulas. A mixed batch's ``which`` (the group of each member) is an int32 *leaf*,
not structure, and every row carries every group's leaves, so a member that copies a member of
another family copies its family too, by the same gather.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from jaxsched import core
from jaxsched.compose import splice
from jaxsched.core import Schedule
from jaxsched.runner import Devices, Folder, feed, resolve_devices, to_host
from jaxsched.search.checkpoint import Checkpoint, digest, flatten, function_name, unflatten
from jaxsched.search.training import Rows, check_mode, check_steps, default_key, rank

__all__ = ["pbt", "PBTResult", "LineageSegment"]

BISECTIONS = 24  # halvings of the perturbation's exponent when a factor leaves a field's range
_EXPLORE_SALT = 0x5EED  # folded into the user's key: the search's own draws, apart from init's


@dataclasses.dataclass(frozen=True)
class LineageSegment:
  """One segment of the winner's lineage: from global step ``start`` on, the winner's line was
  member ``member``, training with ``schedule`` (evaluated at the global step), until the next
  segment's start.

  Attributes:
    start: the global step the segment begins at; a multiple of ``interval`` (0 for the first).
    member: the index in the batch of the member the line ran in during the segment.
    schedule: the schedule used on the segment, as an ordinary (host) ``Schedule``.

  >>> import jaxsched as js
  >>> from jaxsched.search.pbt import LineageSegment
  >>> LineageSegment(start=100, member=3, schedule=js.constant(0.1)).start
  100
  """

  start: int
  member: int
  schedule: Schedule


@dataclasses.dataclass(frozen=True)
class PBTResult:
  """What ``jaxsched.pbt`` returns.

  Attributes:
    best: the winner's lineage as one ``Schedule`` of the global step: the lineage's schedules
      ``jaxsched.splice``d at their starts (or the one schedule when the line never copied).
      ``init(best, key)`` and ``steps`` plain ``update``\\s reproduce ``best_score``.
    best_score: the winner's final score (as ``score`` gave it).
    best_member: the winner's index in the batch.
    lineage: the winner's line, oldest first: a list of ``LineageSegment`` (``start``,
      ``member``, ``schedule``).
    scores: the final score of every member, shape ``(n,)``.
    history: the score of every member after every interval, shape ``(intervals, n)``.
    donors: the member each member copied at the start of each interval (its own index where it
      did not copy; the first row copies nothing), shape ``(intervals, n)``, int.
    steps: the updates each member made.
    interval: the updates between exploit steps (the last interval may be shorter).
    compiles: how many programs were compiled (1 without a checkpoint; 2 with one).
    resumed: intervals read back from the checkpoint instead of run (0 without one).
    compile_s: seconds spent compiling.
    seconds: wall seconds of the whole call, compiles included.

  >>> import jax.numpy as jnp, jaxsched as js
  >>> init = lambda s, key: jnp.float32(1.0)
  >>> update = lambda w, s, t: w - s(t) * w               # gradient descent on w²/2
  >>> score = lambda w, s: w * w
  >>> batch = js.grid(js.constant, {"value": [0.01, 0.1, 0.3, 0.5]})
  >>> result = js.pbt(init, update, score, batch, steps=20, interval=5, progress=False)
  >>> result.history.shape, result.best_member
  ((4, 4), 2)
  """

  best: Schedule
  best_score: float
  best_member: int
  lineage: list[LineageSegment]
  scores: np.ndarray
  history: np.ndarray
  donors: np.ndarray
  steps: int
  interval: int
  compiles: int
  compile_s: float
  seconds: float
  resumed: int = 0

  def to_json(self) -> dict:
    """A JSON-safe summary: the winner (its config where it has one), the lineage, the scores and
    the history."""

    def config(s: Schedule) -> Any:
      try:
        return s.to_config()
      except (TypeError, ValueError):  # a custom family's function cannot be written as data
        return repr(s)

    return {
      "best": config(self.best),
      "best_score": float(self.best_score),
      "best_member": int(self.best_member),
      "lineage": [
        {"start": seg.start, "member": seg.member, "schedule": config(seg.schedule)}
        for seg in self.lineage
      ],
      "scores": [float(x) for x in self.scores],
      "history": np.asarray(self.history, np.float64).tolist(),
      "donors": np.asarray(self.donors).tolist(),
      "steps": self.steps,
      "interval": self.interval,
      "resumed": self.resumed,
    }


# --- arguments --------------------------------------------------------------------------------------


def _fraction(value: Any) -> float:
  if isinstance(value, bool) or not isinstance(value, numbers.Real):
    raise TypeError(f"pbt: fraction must be a number in (0, 0.5], got {value!r}")
  if not 0 < float(value) <= 0.5:
    raise ValueError(f"pbt: fraction must be in (0, 0.5], got {value}")
  return float(value)


def _perturb(value: Any) -> tuple[float, float]:
  try:
    pair = tuple(value)
  except TypeError:
    pair = None
  if (
    pair is None
    or len(pair) != 2
    or any(isinstance(x, bool) or not isinstance(x, numbers.Real) for x in pair)
  ):
    raise TypeError(f"pbt: perturb must be a pair of positive factors (down, up), got {value!r}")
  down, up = float(pair[0]), float(pair[1])
  if not all(math.isfinite(x) and x > 0 for x in (down, up)):
    raise ValueError(f"pbt: perturb's factors must be finite and > 0, got {value!r}")
  return down, up


def _reals(schedule: Schedule) -> Iterable[tuple[str, Any]]:
  """``(name, value)`` of every real field present (not None) anywhere in ``schedule``'s tree."""
  todo = [schedule]
  while todo:
    node = todo.pop()
    for name, kind in core.fields_of(type(node)):
      value = getattr(node, name)
      if value is not None and isinstance(kind, core.Real):
        yield name, value
    todo.extend(core.children_of(node))


def _real_fields(schedule: Schedule) -> set[str]:
  """The names of every real field, present (not None) anywhere in ``schedule``'s tree."""
  return {name for name, _ in _reals(schedule)}


def _fields(fields: Any, template: Schedule) -> frozenset[str] | None:
  if fields is None:
    return None
  if isinstance(fields, str):
    fields = [fields]
  try:
    names = list(fields)
  except TypeError:
    names = None
  if names is None or not all(isinstance(x, str) for x in names):
    raise TypeError(f"pbt: fields must be None or a list of field names, got {fields!r}")
  have = _real_fields(template)
  missing = sorted(set(names) - have)
  if missing:
    raise ValueError(
      f"pbt: fields names {missing}, which no member has as a real field; the members' real "
      f"fields are {sorted(have)}"
    )
  return frozenset(names)


# --- explore: a donor's schedule, perturbed, inside the program --------------------------------------


def _valid(family: str, name: str, kind: core.Real, x: jax.Array) -> jax.Array:
  """Where ``x`` satisfies the field's range checks (finiteness included), elementwise."""
  ok = jnp.ones(jnp.shape(x), bool)
  for test, _, _ in kind.range_checks(family, name, x):
    test = jnp.asarray(test)
    ok = ok & (test if test.shape == ok.shape else jnp.all(test))
  return ok


def _clipped(family: str, name: str, kind: core.Real, value: jax.Array, factor: jax.Array):
  """``value · factor``, or where that leaves the field's range, the value nearest it along
  ``value · factor^λ`` (λ in [0, 1], bisected) that is inside: the clip into the range, for any
  field check (an open bound included), since ``value`` itself is inside."""
  target = value * factor
  if not kind.checks:  # any finite value is in range: no search, and nothing more to compile
    return jnp.where(jnp.isfinite(target), target, value)
  log_factor = jnp.log(factor)

  def halve(_, carry):
    low, high, best = carry
    mid = 0.5 * (low + high)
    x = value * jnp.exp(mid * log_factor)
    good = _valid(family, name, kind, x)
    return jnp.where(good, mid, low), jnp.where(good, high, mid), jnp.where(good, x, best)

  zeros = jnp.zeros_like(value)
  _, _, best = jax.lax.fori_loop(0, BISECTIONS, halve, (zeros, zeros + 1, value))
  return jnp.where(_valid(family, name, kind, target), target, best)


def _rules_hold(node: Schedule) -> jax.Array:
  ok = jnp.asarray(True)
  for rule in type(node).rules:
    ok = ok & jnp.all(jnp.asarray(rule.test(node)))
  return ok


def _coin_count(batch: Schedule, names: frozenset[str] | None) -> int:
  """How many coins ``explore`` takes per member of ``batch`` (leaves with a leading batch axis):
  one per element of each chosen real field."""
  return sum(math.prod(np.shape(v)[1:]) for n, v in _reals(batch) if names is None or n in names)


def _explorer(names: frozenset[str] | None, down: float, up: float) -> Callable[..., Schedule]:
  """``explore(schedule, coins)``: one member's schedule (traced, unbatched) with each chosen real
  field multiplied, elementwise, by ``down`` or ``up`` (a fair coin each, taken in order from the
  bool vector ``coins``; ``_coin_count`` says how many), clipped into its range. A family whose
  cross-field rules the new values break keeps its own old values."""

  def explore(schedule: Schedule, coins: jax.Array) -> Schedule:
    used = [0]  # coins taken so far, in the walk's order

    def walk(node: Schedule) -> Schedule:
      updates: dict[str, Any] = {}
      own: list[str] = []
      for name, kind in core.fields_of(type(node)):
        value = getattr(node, name)
        if value is None:
          continue
        if isinstance(kind, core.Child):
          new = walk(value)
          if new is not value:
            updates[name] = new
        elif isinstance(kind, core.Children):
          kids = tuple(walk(c) for c in value)
          if any(a is not b for a, b in zip(kids, value, strict=True)):
            updates[name] = kids
        elif isinstance(kind, core.Real) and (names is None or name in names):
          size = math.prod(value.shape)
          draw = coins[used[0] : used[0] + size].reshape(value.shape)
          used[0] += size
          factor = jnp.where(draw, up, down).astype(value.dtype)
          updates[name] = _clipped(node.family, name, kind, value, factor)
          own.append(name)
      if not updates:
        return node
      new = node.replace(**updates)
      if own and type(node).rules:
        ok = _rules_hold(new)
        kept = {
          n: core.Real.given(
            core.Real(), jnp.where(ok, updates[n], getattr(node, n)), _old_lo(node, n, ok)
          )
          for n in own
        }
        new = node.replace(**{**updates, **kept})
      return new

    return walk(schedule)

  return explore


def _old_lo(node: Schedule, name: str, ok: jax.Array) -> jax.Array:
  lo = node.lo(name)
  return jnp.where(ok, jnp.zeros_like(lo), lo)


# --- the program --------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class _Plan:
  n: int  # members
  padded: int  # rows, a multiple of the devices
  copies: int  # members exploited per interval
  steps: int
  interval: int
  intervals: int
  sign: float


class _Engine:
  """The protocol's pieces over the padded population, and the programs made of them: ``whole``
  (init, then a scan over every interval: one program) or ``begin`` and ``advance`` (init; one
  interval, the interval index an argument: one program for every interval)."""

  def __init__(
    self, init, update, score, key, plan: _Plan, explore, coins, shard, replicated, what
  ):
    self.init, self.update, self.score, self.key = init, update, score, key
    self.plan, self.explore, self.coins, self.what = plan, explore, coins, what
    self.shard, self.replicated = shard, replicated
    self.salt = jax.random.fold_in(key, _EXPLORE_SALT)
    self.compiles, self.compile_s = 0, 0.0

  def member_score(self, state, schedule):
    value = jnp.asarray(self.score(state, schedule))
    if value.shape != ():
      raise TypeError(f"{self.what}: score must return a scalar, got shape {value.shape}")
    return value.astype(jnp.result_type(value.dtype, jnp.float32))

  def start(self, schedules):
    """Every member's state from ``init`` and zero scores of the score's dtype."""
    states = jax.vmap(lambda s: self.init(s, self.key))(schedules)
    dtype = jax.eval_shape(jax.vmap(self.member_score), states, schedules).dtype
    return states, jnp.zeros(self.plan.padded, dtype)

  def sources(self, last, k, picks):
    """Which row each row copies at the start of interval ``k`` (its own index if none); copier
    ``i`` takes the donor ranked ``picks[i]`` (in [0, copies)) from the top."""
    n, m, p = self.plan.n, self.plan.copies, self.plan.padded
    loss = last[:n] * self.plan.sign
    bad = ~jnp.isfinite(loss)
    order = jnp.lexsort((jnp.arange(n), jnp.where(bad, 0, loss), bad))
    donors = order[:m][picks]
    src = jnp.arange(p).at[order[n - m :]].set(donors)
    return jnp.where(k > 0, src, jnp.arange(p)).astype(jnp.int32)

  def body(self, carry, k):
    """One interval: exploit and explore (from the second interval on), train, score."""
    plan, p = self.plan, self.plan.padded
    states, schedules, last = carry
    # Every draw of the interval from one call of the generator (each call is a hash to compile):
    # the donors' ranks (2^32 mod copies is a bias below 1e-8) and the explore coins (top bits).
    m, c = plan.copies, self.coins
    bits = jax.random.bits(jax.random.fold_in(self.salt, k), (m + p * c,), jnp.uint32)
    src = self.sources(last, k, (bits[:m] % m).astype(jnp.int32))
    coins = (bits[m:] >> 31).astype(bool).reshape(p, c)
    take = lambda x: x[src]
    states = jax.tree.map(take, states)
    donor = jax.tree.map(take, schedules)
    explored = jax.vmap(self.explore)(donor, coins)
    copied = src != jnp.arange(p)
    pick = lambda a, b: jnp.where(copied.reshape((p,) + (1,) * (jnp.ndim(a) - 1)), a, b)
    schedules = jax.tree.map(pick, explored, donor)
    begin = (k * plan.interval).astype(jnp.int32)
    # A trip count known when compiling where every interval is whole (a little less to compile).
    whole = plan.steps % plan.interval == 0
    count = plan.interval if whole else jnp.minimum(plan.interval, plan.steps - begin)

    def train(state, schedule):
      one = lambda i, st: self.update(st, schedule, (begin + i).astype(jnp.int32))
      return jax.lax.fori_loop(0, count, one, state)

    states = jax.vmap(train)(states, schedules)
    scores = jax.vmap(self.member_score)(states, schedules)
    return (states, schedules, scores), (scores, src, jax.tree.leaves(schedules))

  def compiled(self, fn, *args, shardings, out=None):
    began = time.perf_counter()
    program = jax.jit(fn, in_shardings=shardings, out_shardings=out or self.shard)
    out = program.lower(*args).compile()
    self.compile_s += time.perf_counter() - began
    self.compiles += 1
    return out

  def whole(self, schedules):
    """Every interval in one program; returns the record (host NumPy)."""

    def run(schedules):
      states, last = self.start(schedules)
      ks = jnp.arange(self.plan.intervals, dtype=jnp.int32)
      return jax.lax.scan(self.body, (states, schedules, last), ks)[1]

    spec = _abstract(schedules, self.shard)
    program = self.compiled(run, spec, shardings=(self.shard,), out=self.replicated)
    return to_host(program(feed(schedules, self.shard)))

  def resumable(self, schedules, directory, fingerprint: dict, report):
    """One interval per program call, saved after each to ``directory``; resumes from it. Returns
    the record and how many intervals were read back."""
    plan = self.plan
    ck = Checkpoint(directory, fingerprint)
    spec = _abstract(schedules, self.shard)
    state_spec, last_spec = jax.eval_shape(self.start, spec)
    like = jax.tree.map(lambda x: np.zeros(x.shape, x.dtype), state_spec)
    trail_like = [
      np.zeros((0,) + np.shape(x), np.asarray(x).dtype) for x in jax.tree.leaves(schedules)
    ]
    loaded = ck.load()
    if loaded is None:
      begin = self.compiled(self.start, spec, shardings=(self.shard,))
      states, last = to_host(begin(feed(schedules, self.shard)))
      done, scores, sources, trail = 0, [], [], [[] for _ in trail_like]
    else:
      progress, arrays = loaded
      done = int(progress["intervals"])
      states = unflatten("states", arrays, like)
      schedules = unflatten("schedules", arrays, schedules)
      last = arrays["last"]
      scores, sources = list(arrays["scores"]), list(arrays["sources"])
      trail = [list(x) for x in unflatten("trail", arrays, trail_like)]
      report(f"resuming after interval {done}/{plan.intervals}")
    step_spec = jax.ShapeDtypeStruct((), jnp.int32, sharding=self.replicated)
    one = lambda st, s, last, k: self.body((st, s, last), k)
    advance = self.compiled(
      one,
      _abstract(states, self.shard),
      spec,
      jax.ShapeDtypeStruct(last_spec.shape, last_spec.dtype, sharding=self.shard),
      step_spec,
      shardings=(self.shard, self.shard, self.shard, self.replicated),
    )
    for k in range(done, plan.intervals):
      began = time.perf_counter()
      args = feed((states, schedules, last), self.shard)
      (states, schedules, last), (s, src, leaves) = to_host(
        advance(*args, jax.device_put(jnp.int32(k), self.replicated))
      )
      scores.append(s)
      sources.append(src)
      for acc, x in zip(trail, leaves, strict=True):
        acc.append(x)
      stacked = [np.stack(x) for x in trail]
      ck.save(
        {"intervals": k + 1},
        {
          **flatten("states", states),
          **flatten("schedules", schedules),
          **flatten("trail", stacked),
          "last": np.asarray(last),
          "scores": np.stack(scores),
          "sources": np.stack(sources),
        },
      )
      report(f"interval {k + 1}/{plan.intervals} ({time.perf_counter() - began:.1f} s)")
    return (np.stack(scores), np.stack(sources), [np.stack(x) for x in trail]), done


def _abstract(tree, sharding):
  return jax.tree.map(
    lambda x: jax.ShapeDtypeStruct(np.shape(x), np.asarray(x).dtype, sharding=sharding), tree
  )


def _on_host(schedule: Schedule) -> Schedule:
  """``schedule`` rebuilt through its constructor from its concrete values (children first), so
  that its constants are the host's float64 derivation: the schedule a user would build."""
  kids = {}
  for name, kind in core.fields_of(type(schedule)):
    value = getattr(schedule, name)
    if value is not None and kind.holds_schedules:
      kids[name] = kind.map_children(value, _on_host)
  return schedule.replace(**kids)


def _lineage(winner, donors, trail, treedef, padded, interval) -> list[LineageSegment]:
  """The winner's line, walked back through ``donors``, as segments that start where it copied."""
  intervals = donors.shape[0]
  members, m = [0] * intervals, winner
  for k in range(intervals - 1, -1, -1):
    members[k] = m
    m = int(donors[k][m])
  out = []
  for k, m in enumerate(members):
    if k == 0 or int(donors[k][m]) != m:
      rows = Rows(padded, tuple(np.asarray(x[k]) for x in trail), treedef)
      out.append(LineageSegment(k * interval, int(m), _on_host(rows.schedule(m))))
  return out


class _Report:
  """Progress lines on stderr (``None``: only on a terminal; ``True``: always; ``False``: never)."""

  def __init__(self, progress: Any):
    if progress is not None and not isinstance(progress, (bool, np.bool_)):
      raise TypeError(f"pbt: progress must be None (auto), True or False, got {progress!r}")
    if progress is None:
      try:
        progress = bool(sys.stderr.isatty())
      except (AttributeError, ValueError):
        progress = False
    self.on = bool(progress) and jax.process_index() == 0

  def __call__(self, text: str) -> None:
    if self.on:
      sys.stderr.write(f"pbt: {text}\n")
      sys.stderr.flush()


def pbt(
  init: Callable[..., Any],
  update: Callable[..., Any],
  score: Callable[..., Any],
  batch: Any,
  *,
  steps: int,
  interval: int,
  fraction: float = 0.25,
  perturb: Sequence[float] = (0.8, 1.25),
  fields: Iterable[str] | str | None = None,
  key: jax.Array | None = None,
  mode: str = "min",
  devices: Devices = None,
  checkpoint: Folder = None,
  progress: bool | None = None,
) -> PBTResult:
  """Population-based training of the settings of ``batch``; the result is a schedule.

  Every member trains from ``init(schedule, key)`` (the same ``key`` for all) with ``update``, all
  in one vmapped program. At every multiple of ``interval`` below ``steps``:

  - *exploit*: the members are ranked by their score (``mode="min"``: lower is better; NaN and inf
    last; ties to the lower index); each of the bottom ``m = max(1, ⌊fraction·n⌋)`` copies the whole
    state, optimizer state included, of a member drawn uniformly from the top ``m``;
  - *explore*: each copier takes the donor's schedule with every chosen real field ``x`` replaced
    by ``x·f``, ``f`` one of the two ``perturb`` factors, drawn with a fair coin (the classic PBT
    explore) per field and element. A value that leaves the field's range is clipped into it (the
    nearest valid value on ``x·f^λ``); a perturbation that breaks one of a family's cross-field
    rules is not applied to that family's own fields. Step counts and static fields never change.

  The last interval is shorter when ``interval`` does not divide ``steps``; there is no exploit
  after it. The draws come from ``key`` folded with a constant and the interval index, so a run
  is reproducible and a resumed one equals the uninterrupted one.

  Formula: the winner's lineage ``(start₀ = 0, s₀), (start₁, s₁), …`` gives
  ``best = splice([s₀, s₁, …], [start₁, …])``: ``best(t) = sᵢ(t)`` on ``[startᵢ, startᵢ₊₁)``, and
  ``score(update^steps(init(best, key)), best) == best_score`` up to vmap's rounding (a one-family
  batch replays to ~1e-6 relative; a mixed batch's rows differ from their members alone by ~2e-7,
  which training amplifies). Replay holds when ``init`` and ``score`` read the schedule only as a
  function of the step (or not at all).

  Peer: Jaderberg et al. 2017; Ray Tune's ``PopulationBasedTraining`` (``perturbation_interval``,
  ``quantile_fraction=0.25``, ``resample_probability=0`` and factors 0.8/1.2), which runs each trial
  as its own process and returns the last hyperparameters, not the schedule they made.

  Args:
    init: ``init(schedule, key) -> state``, pure.
    update: ``update(state, schedule, step) -> state``, one optimizer update at the int32 global
      ``step``; pure.
    score: ``score(state, schedule) -> scalar``; lower is better (``mode="max"`` flips it).
    batch: the population: a batched ``Schedule`` (``stack``, ``grid``, ``sample``; mixed batches
      of several families included) or a list of schedules; at least 2 members.
    steps: the updates every member makes; an integer in [1, 2**31 - 1].
    interval: the updates between exploit steps; an integer in [1, steps].
    fraction: the share of the population that is replaced (and that donates) at each exploit;
      a number in (0, 0.5]. Default 0.25.
    perturb: the pair of positive factors ``(down, up)``; default ``(0.8, 1.25)``.
    fields: the names of the real fields to perturb, wherever they occur in a member's schedule
      (``"init_value"`` perturbs every ``init_value``); None (the default) perturbs every real
      field. A name no member has is a ``ValueError``.
    key: the PRNG key every member starts from (``None``: ``jax.random.key(0)``); the search's
      own draws are derived from it.
    mode: ``"min"`` (the default) or ``"max"``.
    devices: as for ``jaxsched.sweep``: ``None`` (all), an int, or a list of devices; the batch
      axis is sharded over them.
    checkpoint: a directory: the state is saved after every interval (atomically), and a rerun
      with the same arguments resumes at the last complete interval; one with other arguments is
      refused (``ValueError``). None (the default): no files, one program call.
    progress: ``None`` (lines on stderr only when it is a terminal), ``True`` or ``False``.
      Without a checkpoint the whole search is one program call, so the lines say when it starts
      and ends; with ``checkpoint=`` there is a line per interval.

  Returns:
    A ``PBTResult``: ``best``, ``best_score``, ``best_member``, ``lineage``, ``scores``,
    ``history``, ``donors`` and timings.

  >>> import jax.numpy as jnp, jaxsched as js
  >>> init = lambda s, key: jnp.float32(1.0)
  >>> update = lambda w, s, t: w - s(t) * w               # gradient descent on w²/2
  >>> score = lambda w, s: w * w
  >>> batch = js.grid(js.constant, {"value": [0.01, 0.02, 0.05, 0.1]})
  >>> result = js.pbt(init, update, score, batch, steps=30, interval=10, progress=False)
  >>> [(seg.start, seg.member, seg.schedule) for seg in result.lineage]  # copied once, at 10
  [(0, 3, constant(value=0.1)), (10, 0, constant(value=0.125))]
  >>> w = init(result.best, None)
  >>> for t in range(30):
  ...   w = update(w, result.best, t)
  >>> bool(jnp.isclose(score(w, result.best), result.best_score, rtol=1e-5))
  True
  """
  began = time.perf_counter()
  what = "pbt"
  for name, fn in (("init", init), ("update", update), ("score", score)):
    if not callable(fn):
      raise TypeError(f"{what}: {name} must be callable, got {type(fn).__name__}")
  steps = check_steps(steps, "steps", what)
  interval = check_steps(interval, "interval", what)
  if interval > steps:
    raise ValueError(f"{what}: interval must be in [1, steps={steps}], got {interval}")
  fraction = _fraction(fraction)
  down, up = _perturb(perturb)
  sign = check_mode(mode, what)
  report = _Report(progress)
  if isinstance(batch, Schedule) and not batch.batch_shape:
    raise ValueError(f"{what}: batch is a single schedule; make a population with stack or grid")
  rows = Rows.of(batch)
  template = Rows(1, tuple(x[:1] for x in rows.leaves), rows.treedef).batch()
  if not isinstance(template, Schedule):
    raise TypeError(f"{what}: batch must be a batched jaxsched.Schedule or a list of schedules")
  if rows.n < 2:
    raise ValueError(f"{what}: the population needs at least 2 members, got {rows.n}")
  names = _fields(fields, template)
  key = default_key(key)
  devs = resolve_devices(devices)
  padded = -(-rows.n // len(devs)) * len(devs)
  plan = _Plan(
    n=rows.n,
    padded=padded,
    copies=max(1, int(fraction * rows.n)),
    steps=steps,
    interval=interval,
    intervals=-(-steps // interval),
    sign=sign,
  )
  mesh = Mesh(np.array(devs), ("batch",))
  shard = NamedSharding(mesh, PartitionSpec("batch"))
  replicated = NamedSharding(mesh, PartitionSpec())

  # The schedules as the program carries them: the batch's own leaves (padded by repeating the
  # last member) in the structure that explore gives (a perturbed field's special formula dropped).
  index = np.minimum(np.arange(padded), rows.n - 1)
  host = [x[index] for x in rows.leaves]
  explore = _explorer(names, down, up)
  probe = jax.tree.unflatten(rows.treedef, [jax.ShapeDtypeStruct(x.shape, x.dtype) for x in host])
  coins = _coin_count(probe, names)
  flips = jax.ShapeDtypeStruct((padded, coins), bool)
  carried = jax.tree.structure(jax.eval_shape(jax.vmap(explore), probe, flips))
  schedules = jax.tree.unflatten(carried, host)

  engine = _Engine(init, update, score, key, plan, explore, coins, shard, replicated, what)
  report(
    f"{rows.n} members, {plan.intervals} intervals of {interval} steps on {len(devs)} device(s)"
  )
  if checkpoint is None:
    (scores, sources, trail), resumed = engine.whole(schedules), 0
  else:
    fingerprint = {
      "kind": "pbt",
      "steps": steps,
      "interval": interval,
      "fraction": fraction,
      "perturb": [down, up],
      "fields": None if names is None else sorted(names),
      "mode": mode,
      "members": rows.n,
      "devices": len(devs),
      "batch": digest(list(rows.leaves)) + str(rows.treedef),
      "key": digest(key),
      "init": function_name(init),
      "update": function_name(update),
      "score": function_name(score),
    }
    (scores, sources, trail), resumed = engine.resumable(schedules, checkpoint, fingerprint, report)

  history = np.asarray(scores, np.float64)[:, : rows.n]
  donors = np.asarray(sources, np.int64)[:, : rows.n]
  final = history[-1]
  winner = int(rank(final, mode)[0])
  lineage = _lineage(winner, donors, trail, carried, padded, interval)
  best = (
    lineage[0].schedule
    if len(lineage) == 1
    else splice([seg.schedule for seg in lineage], [seg.start for seg in lineage[1:]])
  )
  seconds = time.perf_counter() - began
  report(f"done in {seconds:.1f} s (compiling {engine.compile_s:.1f} s); best {final[winner]:.6g}")
  return PBTResult(
    best=best,
    best_score=float(final[winner]),
    best_member=winner,
    lineage=lineage,
    scores=final.copy(),
    history=history,
    donors=donors,
    steps=steps,
    interval=interval,
    compiles=engine.compiles,
    compile_s=engine.compile_s,
    seconds=seconds,
    resumed=resumed,
  )
