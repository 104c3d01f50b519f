"""The training protocol, compiled over a batch: what every search shares.

The user gives three pure functions of one setting::

    init(schedule, key) -> state            # params, optimizer state, ...
    update(state, schedule, step) -> state  # one optimizer update; step: the int32 global index
    score(state, schedule) -> scalar        # e.g. a validation loss; lower is better

A ``Trainer`` runs them for many settings at once. A *segment* trains every row of a batch for
``count`` updates from global step ``start`` (from ``init`` when the rows have no state yet) and
scores them. The rows go through one ``jax.jit(jax.vmap(...))`` program of a fixed *width* (rows per
call), sharded over a 1-D mesh exactly as ``jaxsched.sweep`` shards; a segment of more rows than the
width runs in chunks of that width, and the last chunk is padded by repeating its last row. The
program takes ``start``, ``count`` and whether the rows start fresh as arguments (``init`` is behind
a ``lax.cond``, the update loop is a ``fori_loop`` of a traced trip count), so every segment of one
width shares one compile, whatever its length: that is what makes a search cost one or a few
compiles instead of one per rung. ``compiles`` counts them. ``prepare`` compiles programs ahead of
time in a thread pool (XLA releases the GIL while it compiles), so several widths build at once and
while earlier segments run.

States live on the host between segments as NumPy arrays (gathered in every process), in their
*raw* form: a PRNG key leaf of the state is held as its ``jax.random.key_data`` and rewrapped inside
the program. A search selects, copies and checkpoints them with NumPy indexing, never through
Python lists of schedules. Every setting gets the same ``key``: settings are compared on equal
footing, and any one of them can be replayed alone with ``init(schedule, key)`` and a plain loop of
``update``.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import numbers
import os
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from jaxsched.batches import unstack
from jaxsched.core import Schedule
from jaxsched.runner import Devices, feed, resolve_devices, rows_of, to_host

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
  """The sign that turns ``mode``'s scores into losses (lower is better): 1 for ``"min"``, -1 for
  ``"max"``; anything else is a ``ValueError`` naming ``what``."""
  if not isinstance(mode, str) or mode not in MODES:
    raise ValueError(f"{what}: mode must be 'min' or 'max', got {mode!r}")
  return MODES[mode]


def check_steps(value: Any, name: str, what: str, *, minimum: int = 1) -> int:
  """``value`` as a Python int ``>= minimum`` that fits the int32 step range, or a clear error."""
  if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
    raise TypeError(f"{what}: {name} must be an integer, got {value!r}")
  if not minimum <= int(value) <= 2**31 - 1:
    raise ValueError(f"{what}: {name} must be in [{minimum}, 2**31 - 1], got {value}")
  return int(value)


def default_key(key: Any) -> jax.Array:
  """The key every setting starts from: ``key``, or ``jax.random.key(0)``; anything that is not a
  JAX key (typed, or raw ``uint32[2]``) is a ``TypeError``."""
  if key is None:
    return jax.random.key(0)
  if isinstance(key, (jax.Array, np.ndarray)):
    if jnp.issubdtype(key.dtype, jax.dtypes.prng_key) or (
      key.dtype == np.uint32 and key.shape == (2,)
    ):
      return jnp.asarray(key)
  raise TypeError(f"key must be None or a JAX PRNG key (jax.random.key(seed)), got {key!r}")


def rank(scores: Any, mode: str = "min") -> np.ndarray:
  """Positions from best to worst: NaN and inf scores last, ties to the lower position.

  ``mode="max"`` ranks the highest first. ``-inf`` is not a winning loss either: every non-finite
  score ranks after every finite one (in position order among themselves).

  >>> rank([3.0, float("nan"), 1.0, 1.0]).tolist()
  [2, 3, 0, 1]
  >>> rank([3.0, float("inf"), 1.0], mode="max").tolist()
  [0, 2, 1]
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
  treedef: Any  # a jax.tree_util.PyTreeDef (a variable to a type checker, like jax.Device)

  @classmethod
  def of(cls, batch: Any, what: str = "search") -> Rows:
    """The rows of a batch as ``sweep`` takes it (a batched or mixed ``Schedule``, a list of
    schedules, a pytree of arrays with one leading axis); a multi-axis batch is flattened
    row-major."""
    n, _, host, treedef = rows_of(batch, what)
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

  def schedules(self) -> list[Any]:
    """Every row as a single ``Schedule`` (one ``unstack``), or the rows of a plain pytree."""
    batch = self.batch()
    if isinstance(batch, Schedule):
      return unstack(batch)
    return [jax.tree.map(lambda x, i=i: x[i], batch) for i in range(self.n)]

  def signature(self) -> tuple:
    """What a compiled program depends on: the treedef and every leaf's row shape and dtype."""
    return (self.treedef, tuple((x.shape[1:], x.dtype.str) for x in self.leaves))


@dataclasses.dataclass(frozen=True)
class Segment:
  """What one segment returns: the rows' states (host NumPy pytree in raw form, one leading axis
  of ``n``), their scores after the segment (float64, as the user's ``score`` gave them), the scores
  every ``every`` updates when asked (``(n, count // every)``, else None), and its seconds."""

  states: Any
  scores: np.ndarray
  curve: np.ndarray | None
  seconds: float


def _is_key(dtype: Any) -> bool:
  return jnp.issubdtype(dtype, jax.dtypes.prng_key)


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
    key: jax.Array | None = None,
    devices: Devices = None,
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
    self.platform = self.devices[0].platform
    self._programs: dict[tuple, concurrent.futures.Future] = {}
    self._states: dict[tuple, Any] = {}
    self._zeros: dict[tuple, Any] = {}
    self._lock = threading.Lock()
    self._pool: concurrent.futures.ThreadPoolExecutor | None = None
    self.compiles = 0
    self.compile_s = 0.0  # seconds in the compile threads (tracing, lowering and XLA), summed
    self.lower_s = 0.0  # of which tracing and lowering

  # --- shapes -------------------------------------------------------------------------------------

  def pad(self, n: int) -> int:
    """``n`` rounded up to a multiple of the number of devices."""
    d = len(self.devices)
    return -(-n // d) * d

  def state_shapes(self, rows: Rows) -> Any:
    """One row's state as a pytree of ``jax.ShapeDtypeStruct`` (``jax.eval_shape`` of ``init``)."""
    signature = rows.signature()
    if signature not in self._states:
      one = jax.tree.unflatten(
        rows.treedef, [jax.ShapeDtypeStruct(x.shape[1:], x.dtype) for x in rows.leaves]
      )
      self._states[signature] = jax.eval_shape(self.init, one, self.key)
    return self._states[signature]

  def raw_shapes(self, rows: Rows) -> Any:
    """The state's raw form (PRNG keys as their key data), one row, as ``ShapeDtypeStruct``s."""

    def raw(x):
      if _is_key(x.dtype):
        return jax.eval_shape(jax.random.key_data, x)
      return jax.ShapeDtypeStruct(x.shape, x.dtype)

    return jax.tree.map(raw, self.state_shapes(rows))

  # --- the program --------------------------------------------------------------------------------

  def _row(self, rows: Rows, every: int | None, points: int) -> Callable[..., Any]:
    init, update, score, key, what = self.init, self.update, self.score, self.key, self.what
    shapes = self.state_shapes(rows)
    flat_shapes, state_def = jax.tree.flatten(shapes)

    def decode(raw, schedule):
      leaves = jax.tree.leaves(raw)
      if not any(_is_key(s.dtype) for s in flat_shapes):
        return jax.tree.unflatten(state_def, leaves)
      # The key implementation is static; an unused trace of init gives it (XLA drops the rest).
      impls = [
        jax.random.key_impl(x) if _is_key(x.dtype) else None
        for x in jax.tree.leaves(init(schedule, key))
      ]
      out = [
        jax.random.wrap_key_data(x, impl=impl) if impl is not None else x
        for x, impl in zip(leaves, impls, strict=True)
      ]
      return jax.tree.unflatten(state_def, out)

    def encode(state):
      leaves, got_def = jax.tree.flatten(state)
      if got_def != state_def:
        raise TypeError(
          f"{what}: update must return a state of init's structure; init gives {state_def}, "
          f"update gave {got_def}"
        )
      return [jax.random.key_data(x) if _is_key(x.dtype) else x for x in leaves]

    def fresh_state(schedule):
      state = init(schedule, key)
      return jax.tree.map(lambda x, s: jnp.asarray(x, s.dtype), state, shapes)

    def train(state, schedule, start, count):
      def one(i, st):
        return update(st, schedule, (start + i).astype(jnp.int32))

      return jax.lax.fori_loop(0, count, one, state)

    def value_of(state, schedule):
      value = jnp.asarray(score(state, schedule))
      if value.shape != ():
        raise TypeError(f"{what}: score must return a scalar, got shape {value.shape}")
      return value

    def row(raw, schedule, fresh, start, count):
      state = jax.lax.cond(fresh, lambda: fresh_state(schedule), lambda: decode(raw, schedule))
      curve = None
      if every:

        def chunk(j, carry):
          st, points_so_far = carry
          st = train(st, schedule, start + j * every, every)
          value = value_of(st, schedule).astype(jnp.float32)
          return st, points_so_far.at[j].set(value)

        blank = jnp.full((points,), jnp.nan, jnp.float32)
        state, curve = jax.lax.fori_loop(0, count // every, chunk, (state, blank))
      else:
        state = train(state, schedule, start, count)
      return encode(state), value_of(state, schedule), curve

    return row

  def _signature(self, rows: Rows, width: int, every: int | None, points: int) -> tuple:
    return (rows.signature(), width, every or None, points if every else 0)

  def _compile(self, rows: Rows, width: int, every: int | None, points: int):
    began = time.perf_counter()
    shard, repl = self.sharding, self.replicated
    program = jax.jit(
      jax.vmap(self._row(rows, every, points), in_axes=(0, 0, None, None, None)),
      in_shardings=(shard, shard, repl, repl, repl),
      out_shardings=shard,
    )
    schedules = jax.tree.unflatten(
      rows.treedef,
      [jax.ShapeDtypeStruct((width,) + x.shape[1:], x.dtype, sharding=shard) for x in rows.leaves],
    )
    raw = [
      jax.ShapeDtypeStruct((width,) + s.shape, s.dtype, sharding=shard)
      for s in jax.tree.leaves(self.raw_shapes(rows))
    ]
    flag = jax.ShapeDtypeStruct((), jnp.bool_, sharding=repl)
    step = jax.ShapeDtypeStruct((), jnp.int32, sharding=repl)
    lowered = program.lower(raw, schedules, flag, step, step)
    lowered_at = time.perf_counter()
    compiled = lowered.compile()
    with self._lock:
      self.lower_s += lowered_at - began
      self.compile_s += time.perf_counter() - began
    return compiled

  def prepare(
    self, rows: Rows, widths: Sequence[int], *, every: int | None = None, points: int = 0
  ) -> None:
    """Starts compiling the programs of these widths (rows per call, multiples of the devices) for
    ``rows``' structure in background threads; ``advance`` waits for the one it needs. Programs
    already built or under way are not compiled again."""
    self.state_shapes(rows)  # trace init once, here, before any thread does
    for width in widths:
      signature = self._signature(rows, width, every, points)
      with self._lock:
        if signature in self._programs:
          continue
        if self._pool is None:
          self._pool = concurrent.futures.ThreadPoolExecutor(
            max_workers=max(1, min(4, os.cpu_count() or 1)), thread_name_prefix="jaxsched-compile"
          )
        self._programs[signature] = self._pool.submit(self._compile, rows, width, every, points)
        self.compiles += 1

  def program(self, rows: Rows, width: int, *, every: int | None = None, points: int = 0):
    """The compiled program of ``width`` rows per call (compiling it now if it is not yet)."""
    self.prepare(rows, [width], every=every, points=points)
    return self._programs[self._signature(rows, width, every, points)].result()

  def close(self) -> None:
    """Stops the compile threads (programs already built stay usable)."""
    if self._pool is not None:
      self._pool.shutdown(wait=False, cancel_futures=True)
      self._pool = None

  def _blank(self, rows: Rows, width: int) -> list:
    """Zeros in the raw state's shape on the devices: the state argument of a fresh call."""
    signature = (rows.signature(), width)
    if signature not in self._zeros:
      self._zeros[signature] = feed(
        [np.zeros((width,) + s.shape, s.dtype) for s in jax.tree.leaves(self.raw_shapes(rows))],
        self.sharding,
      )
    return self._zeros[signature]

  # --- running ------------------------------------------------------------------------------------

  def advance(
    self,
    rows: Rows,
    states: Any,
    start: int,
    count: int,
    *,
    width: int | None = None,
    every: int | None = None,
    points: int | None = None,
  ) -> Segment:
    """Trains ``rows`` for ``count`` updates from global step ``start`` and scores them.

    ``states`` is ``None`` for rows that start from ``init``, else the host raw states of the rows
    (one leading axis of ``rows.n``, as an earlier segment returned them). The rows run ``width``
    at a time (``None``: all at once; rounded up to a multiple of the devices), every chunk
    dispatched before any result is read back. With ``every``, the rows are also scored every
    ``every`` updates (``count`` must be a multiple of it); ``points`` (at least ``count //
    every``) is the curve length the program is built for, so segments of different lengths can
    share it.
    """
    if count < 0 or start < 0:
      raise ValueError(f"{self.what}: start={start} and count={count} must be >= 0")
    if every is not None and (every < 1 or count % every):
      raise ValueError(f"{self.what}: every={every} must divide the segment length {count}")
    points = (count // every if points is None else points) if every else 0
    if every and points < count // every:
      raise ValueError(f"{self.what}: points={points} < count // every = {count // every}")
    began = time.perf_counter()
    n = rows.n
    width = self.pad(n if width is None else min(width, n))
    program = self.program(rows, width, every=every, points=points)
    fresh = states is None
    raw_leaves = None if fresh else [np.asarray(x) for x in jax.tree.leaves(states)]
    flag = jax.device_put(jnp.bool_(fresh), self.replicated)
    start_arg = jax.device_put(jnp.int32(start), self.replicated)
    count_arg = jax.device_put(jnp.int32(count), self.replicated)
    outs = []
    for c in range(-(-n // width)):
      index = np.minimum(np.arange(c * width, (c + 1) * width), n - 1)
      schedules = feed(
        jax.tree.unflatten(rows.treedef, [x[index] for x in rows.leaves]), self.sharding
      )
      if raw_leaves is None:
        raw = self._blank(rows, width)
      else:
        raw = feed([x[index] for x in raw_leaves], self.sharding)
      outs.append(program(raw, schedules, flag, start_arg, count_arg))
    parts = [to_host(out) for out in outs]
    new_raw = [np.concatenate([p[0][k] for p in parts])[:n] for k in range(len(parts[0][0]))]
    scores = np.concatenate([p[1] for p in parts])[:n]
    curve = None
    if every:
      curve = np.concatenate([p[2] for p in parts])[:n, : count // every]
    state_def = jax.tree.structure(self.state_shapes(rows))
    return Segment(
      states=jax.tree.unflatten(state_def, new_raw),
      scores=np.asarray(scores, np.float64),
      curve=None if curve is None else np.asarray(curve, np.float64),
      seconds=time.perf_counter() - began,
    )

  def run(
    self, rows: Rows, states: Any, start: int, length: int, *, every: int | None = None
  ) -> Segment:
    """``advance`` with every row in one call: trains ``rows`` for ``length`` updates from global
    step ``start`` (see ``advance``)."""
    return self.advance(rows, states, start, length, every=every)


def take_states(states: Any, indices: Sequence[int] | np.ndarray) -> Any:
  """The host states of the rows at ``indices``, in that order."""
  index = np.asarray(indices, np.int64)
  return jax.tree.map(lambda x: np.asarray(x)[index], states)
