"""The training protocol, compiled over a batch: what every search shares.

The user gives three pure functions of one setting::

    init(schedule, key) -> state            # params, optimizer state, ...
    update(state, schedule, step) -> state  # one optimizer update; step: the int32 global index
    score(state, schedule) -> scalar        # e.g. a validation loss; lower is better

A ``Trainer`` runs them for many settings at once: a *segment* trains every row of a batch for
``length`` updates from global step ``start`` (from ``init`` when the rows have no state yet) and
scores them, as one ``jax.jit(jax.vmap(...))`` program sharded over a 1-D mesh exactly as
``jaxsched.sweep`` shards (padding the rows to a multiple of the devices). ``start`` is an argument
of the program, not a constant, so segments of equal length and row count share one compile (the
intervals of population-based training); the program cache counts them in ``compiles``.

States come back to the host as NumPy (gathered in every process), so a search selects, copies
and checkpoints them with NumPy, and feeds the chosen rows into the next segment. Every setting
gets the same ``key``: settings are compared on equal footing, and any one of them can be replayed
alone with ``init(schedule, key)`` and a plain loop of ``update``.
"""

from __future__ import annotations

import dataclasses
import numbers
import time
from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from jaxsched.batches import unstack
from jaxsched.core import Schedule
from jaxsched.runner import feed, resolve_devices, rows_of, to_host

__all__ = [
  "Rows",
  "Segment",
  "Trainer",
  "rank",
  "take_states",
  "default_key",
  "check_mode",
  "check_steps",
]

MODES = {"min": 1.0, "max": -1.0}


def check_mode(mode: str, what: str) -> float:
  """The sign that turns ``mode``'s scores into losses (lower is better)."""
  if mode not in MODES:
    raise ValueError(f"{what}: mode must be 'min' or 'max', got {mode!r}")
  return MODES[mode]


def check_steps(value: Any, name: str, what: str, *, minimum: int = 1) -> int:
  """``value`` as a Python int ``>= minimum`` that fits the int32 step range, or a clear error."""
  if isinstance(value, bool) or not isinstance(value, numbers.Integral):
    raise TypeError(f"{what}: {name} must be an integer, got {value!r}")
  if not minimum <= int(value) <= 2**31 - 1:
    raise ValueError(f"{what}: {name} must be in [{minimum}, 2**31 - 1], got {value}")
  return int(value)


def default_key(key: Any) -> jax.Array:
  """The key every setting starts from: ``key``, or ``jax.random.key(0)``."""
  return jax.random.key(0) if key is None else key


def rank(scores: Any, mode: str = "min") -> np.ndarray:
  """Batch indices from best to worst: NaN and inf scores last, ties to the lower index.

  >>> rank([3.0, float("nan"), 1.0, 1.0]).tolist()
  [2, 3, 0, 1]
  """
  values = np.asarray(scores, np.float64).reshape(-1) * check_mode(mode, "rank")
  bad = ~np.isfinite(values)
  index = np.arange(values.size)
  return np.lexsort((index, np.where(bad, 0.0, values), bad))


@dataclasses.dataclass(frozen=True)
class Rows:
  """A batch of settings as host rows: ``n`` settings, flat leaves with one leading axis of ``n``,
  and the treedef that makes them a (batched) ``Schedule`` again."""

  n: int
  leaves: tuple[np.ndarray, ...]
  treedef: Any

  @classmethod
  def of(cls, batch: Any) -> Rows:
    n, _, host, treedef = rows_of(batch)
    return cls(n, tuple(host), treedef)

  def take(self, indices: Sequence[int] | np.ndarray) -> Rows:
    """The rows at ``indices`` (in that order), as a new ``Rows``."""
    index = np.asarray(indices, np.int64)
    return Rows(int(index.size), tuple(leaf[index] for leaf in self.leaves), self.treedef)

  def batch(self) -> Any:
    """The rows as one batched ``Schedule`` (or the pytree they came from)."""
    return jax.tree.unflatten(self.treedef, [jnp.asarray(x) for x in self.leaves])

  def schedule(self, i: int) -> Schedule:
    """Row ``i`` as a single ``Schedule`` of its own family (a mixed batch's member restored)."""
    return unstack(self.take([i]).batch())[0]


@dataclasses.dataclass(frozen=True)
class Segment:
  """What one segment returns: the rows' states (host NumPy pytree, one leading axis of ``n``),
  their scores after the segment (float64, as the user's ``score`` gave them), the scores every
  ``every`` updates when asked (``(n, length // every)``, else None), and its seconds."""

  states: Any
  scores: np.ndarray
  curve: np.ndarray | None
  seconds: float


class Trainer:
  """``init``, ``update`` and ``score`` compiled over the rows of a batch (see the module).

  Args:
    init, update, score: the protocol's three pure functions.
    key: the PRNG key every setting starts from (``None``: ``jax.random.key(0)``).
    devices: as for ``jaxsched.sweep``: ``None`` (all), an int, or a list of devices.
    what: the caller's name, for error messages.
  """

  def __init__(
    self,
    init: Callable[..., Any],
    update: Callable[..., Any],
    score: Callable[..., Any],
    *,
    key: Any = None,
    devices: Any = None,
    what: str = "search",
  ):
    for name, fn in (("init", init), ("update", update), ("score", score)):
      if not callable(fn):
        raise TypeError(f"{what}: {name} must be callable, got {type(fn).__name__}")
    self.init, self.update, self.score, self.what = init, update, score, what
    self.key = default_key(key)
    self.devices = resolve_devices(devices)
    mesh = Mesh(np.array(self.devices), ("batch",))
    self.sharding = NamedSharding(mesh, PartitionSpec("batch"))
    self.replicated = NamedSharding(mesh, PartitionSpec())
    self._programs: dict[tuple, Any] = {}
    self.compiles = 0
    self.compile_s = 0.0

  def _body(self, fresh: bool, length: int, every: int | None) -> Callable[..., Any]:
    init, update, score, key = self.init, self.update, self.score, self.key
    what = self.what

    def train(state, schedule, start, count):
      def one(i, st):
        return update(st, schedule, (start + i).astype(jnp.int32))

      return jax.lax.fori_loop(0, count, one, state)

    def row(state, schedule, start):
      if fresh:
        state = init(schedule, key)
      curve = None
      if every:

        def chunk(st, j):
          st = train(st, schedule, start + j * every, every)
          return st, jnp.asarray(score(st, schedule), jnp.float32)

        state, curve = jax.lax.scan(chunk, state, jnp.arange(length // every, dtype=jnp.int32))
      else:
        state = train(state, schedule, start, length)
      value = jnp.asarray(score(state, schedule))
      if value.shape != ():
        raise TypeError(f"{what}: score must return a scalar, got shape {value.shape}")
      return state, value, curve

    return row

  def _program(self, rows: Rows, states: Any, fresh: bool, length: int, every: int | None):
    d = len(self.devices)
    padded = -(-rows.n // d) * d
    shapes = tuple((x.shape[1:], x.dtype) for x in rows.leaves)
    state_shapes = None
    if not fresh:
      flat, state_def = jax.tree.flatten(states)
      state_shapes = (state_def, tuple((np.shape(x)[1:], np.asarray(x).dtype) for x in flat))
    signature = (padded, rows.treedef, shapes, state_shapes, fresh, length, every)
    if signature not in self._programs:
      body = self._body(fresh, length, every)
      if fresh:
        fn = jax.vmap(lambda s, start: body(None, s, start), in_axes=(0, None))
      else:
        fn = jax.vmap(body, in_axes=(0, 0, None))
      shard = self.sharding
      program = jax.jit(
        fn,
        in_shardings=(shard, self.replicated) if fresh else (shard, shard, self.replicated),
        out_shardings=shard,
      )
      schedules = jax.tree.unflatten(
        rows.treedef,
        [jax.ShapeDtypeStruct((padded,) + s, t, sharding=shard) for s, t in shapes],
      )
      start = jax.ShapeDtypeStruct((), jnp.int32, sharding=self.replicated)
      if fresh:
        args = (schedules, start)
      else:
        abstract_states = jax.tree.map(
          lambda x: jax.ShapeDtypeStruct(
            (padded,) + np.shape(x)[1:], np.asarray(x).dtype, sharding=shard
          ),
          states,
        )
        args = (abstract_states, schedules, start)
      began = time.perf_counter()
      self._programs[signature] = program.lower(*args).compile()
      self.compile_s += time.perf_counter() - began
      self.compiles += 1
    return self._programs[signature], padded

  def run(
    self, rows: Rows, states: Any, start: int, length: int, *, every: int | None = None
  ) -> Segment:
    """Trains ``rows`` for ``length`` updates from global step ``start`` and scores them.

    ``states`` is ``None`` for rows that start from ``init``, else the host pytree of their states
    (one leading axis of ``rows.n``, as an earlier segment returned it). With ``every``, the rows
    are also scored every ``every`` updates (``length`` must be a multiple of it).
    """
    if every is not None and (every < 1 or length % every):
      raise ValueError(f"{self.what}: every={every} must divide the segment length {length}")
    fresh = states is None
    began = time.perf_counter()
    program, padded = self._program(rows, states, fresh, length, every)
    index = np.minimum(np.arange(padded), rows.n - 1)  # pad by repeating the last row
    schedules = feed(
      jax.tree.unflatten(rows.treedef, [x[index] for x in rows.leaves]), self.sharding
    )
    start_arg = jax.device_put(jnp.int32(start), self.replicated)
    if fresh:
      out = program(schedules, start_arg)
    else:
      padded_states = jax.tree.map(lambda x: np.asarray(x)[index], states)
      out = program(feed(padded_states, self.sharding), schedules, start_arg)
    new_states, scores, curve = to_host(out)
    cut = slice(0, rows.n)
    return Segment(
      states=jax.tree.map(lambda x: x[cut], new_states),
      scores=np.asarray(scores[cut], np.float64),
      curve=None if curve is None else np.asarray(curve[cut], np.float64),
      seconds=time.perf_counter() - began,
    )


def take_states(states: Any, indices: Sequence[int] | np.ndarray) -> Any:
  """The host states of the rows at ``indices``, in that order."""
  index = np.asarray(indices, np.int64)
  return jax.tree.map(lambda x: np.asarray(x)[index], states)
