"""The sweep runner: ``sweep`` runs a training function over every setting of a batch in one
compiled program, chunked, padded, sharded over the devices (of every process) and reported on a
progress bar.

``run_sweep`` is the same run, also returning its figures (compile and run times, chunks, devices,
padding) as a ``SweepResult`` for reports such as the command line's; ``resolve_devices`` is how a
sweep picks its devices, and ``to_host`` gathers its results into every process. Batches come from
``jaxsched.batches`` (``stack``) and ``jaxsched.spaces`` (``grid``, ``sample``).
"""

from __future__ import annotations

import dataclasses
import numbers
import os
import re
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any, TypeAlias

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from jaxsched import core
from jaxsched.batches import host_rows, stack
from jaxsched.core import Schedule

__all__ = [
  "sweep",
  "run_sweep",
  "SweepResult",
  "resolve_devices",
  "to_host",
  "rows_of",
  "feed",
  "progress_mode",
  "Devices",
  "Folder",
]

# jax.Device is a variable to a type checker (jax assigns it from jaxlib), so the devices of a list
# are Any; see resolve_devices for what is accepted.
Devices: TypeAlias = int | Sequence[Any] | None
Folder: TypeAlias = str | os.PathLike[str] | None  # a checkpoint directory, or none


def resolve_devices(devices: Devices) -> list[Any]:
  """The devices of a sweep's 1-D mesh, the same list in every process.

  ``None``: every device of every process (``jax.devices()``). An int ``n``: with one process, the
  first ``n`` devices; with ``P`` processes (``jax.distributed``), the first ``n / P`` local devices
  of each process, so that every process owns part of the mesh and feeds it (``n`` must be a
  multiple of ``P`` and at most ``P`` times the smallest local device count). A list of devices is
  used as given; with several processes it must hold a device of every process. A bad request is a
  ``ValueError`` computed from global facts only, so every process raises the same one instead of
  some of them running on alone.
  """
  available = jax.devices()
  procs = sorted({d.process_index for d in available})
  if devices is None:
    return list(available)
  if isinstance(devices, numbers.Integral) and not isinstance(devices, bool):
    devices = int(devices)
    where = f"{len(available)} devices ({available[0].platform})"
    if len(procs) > 1:
      where = f"{len(available)} devices ({available[0].platform}) in {len(procs)} processes"
    if not 1 <= devices <= len(available):
      raise ValueError(f"sweep: devices={devices}, but there are {where}")
    if len(procs) == 1:
      return list(available[:devices])
    local = {p: [d for d in available if d.process_index == p] for p in procs}
    fewest = min(len(v) for v in local.values())
    if devices % len(procs) or devices // len(procs) > fewest:
      raise ValueError(
        f"sweep: devices={devices} cannot be split evenly over the {len(procs)} processes (each "
        f"process must own devices/{len(procs)} of them, at most {fewest}); there are {where}. "
        f"Use a multiple of {len(procs)} up to {fewest * len(procs)}, or None for all"
      )
    k = devices // len(procs)
    return [d for p in procs for d in local[p][:k]]
  given: Any = [devices] if isinstance(devices, jax.Device) else devices
  try:
    chosen: list = list(given)
  except TypeError:
    chosen = []
  if not chosen or not all(isinstance(d, jax.Device) for d in chosen):
    raise TypeError("sweep: devices must be None, a number of devices, or a list of jax.Device")
  if len(set(chosen)) != len(chosen):
    raise ValueError("sweep: devices lists a device twice")
  if len(procs) > 1:
    missing = sorted(set(procs) - {d.process_index for d in chosen})
    if missing:
      raise ValueError(
        f"sweep: devices holds no device of process(es) {missing}; with several "
        "processes every process must own part of the mesh (or pass an int)"
      )
  return chosen


def to_host(tree):
  """``tree``'s arrays as NumPy arrays holding their global values, in every process.

  One process: a plain device-to-host copy. Several (``jax.distributed``): a sweep's results span
  the devices of every process, which ``np.asarray`` cannot read, so they are gathered with
  ``jax.experimental.multihost_utils.process_allgather(tiled=True)`` (a collective: every process
  must call it).
  """
  if jax.process_count() == 1:
    return jax.tree.map(np.asarray, jax.device_get(tree))
  from jax.experimental import multihost_utils

  return jax.tree.map(np.asarray, multihost_utils.process_allgather(tree, tiled=True))


def feed(tree, sharding):
  """``tree``'s host arrays (the same global values in every process) as global ``jax.Array``s laid
  out by ``sharding``; each process builds only the shards of its own devices."""
  return jax.tree.map(
    lambda x: jax.make_array_from_callback(np.shape(x), sharding, lambda index: x[index]), tree
  )


def rows_of(schedules, what: str = "sweep"):
  """``(n, batch_shape, flat host leaves, treedef)`` of a batch as ``sweep`` takes it: a batched
  ``Schedule`` (mixed included), a list of schedules, or a pytree of arrays with one leading batch
  axis. The host leaves have their batch axes flattened into one of length ``n``. A bad batch is a
  ``ValueError`` (or ``TypeError``) naming what is wrong, prefixed by ``what`` (the caller)."""
  if (
    isinstance(schedules, (list, tuple))
    and schedules
    and all(isinstance(s, Schedule) for s in schedules)
  ):
    schedules = stack(schedules)
  leaves, treedef = jax.tree.flatten(schedules)
  if not leaves:
    raise ValueError(f"{what}: schedules holds no arrays")
  if core.is_traced(leaves):
    raise ValueError(
      f"{what}: schedules must be concrete ({what} compiles its own program; call it outside jit)"
    )
  if isinstance(schedules, Schedule):
    batch = schedules.batch_shape
    if not batch:
      raise ValueError(
        f"{what}: {schedules.family} is a single schedule, not a batch; make one with "
        "jaxsched.stack, grid or sample"
      )
  else:
    batch = tuple(np.shape(leaves[0])[:1])
    if not batch or any(np.ndim(x) < 1 or np.shape(x)[0] != batch[0] for x in leaves):
      raise ValueError(
        f"{what}: every array in schedules needs the same leading batch axis; got shapes "
        f"{sorted({tuple(np.shape(x)) for x in leaves})}"
      )
  n, host = host_rows(leaves, batch)
  if n == 0:
    raise ValueError(f"{what}: the batch is empty")
  return n, batch, host, treedef


def _stderr_is_terminal() -> bool:
  try:
    return bool(sys.stderr.isatty())
  except (AttributeError, ValueError):  # replaced or closed streams
    return False


def progress_mode(progress, what: str = "sweep") -> str:
  """``"live"`` (redrawn in place), ``"lines"`` (plain lines, for logs) or ``"off"``: ``None`` is
  live on a terminal and off elsewhere, ``True`` live on a terminal and lines elsewhere, ``False``
  off (``sweep``'s rule, which the searches share)."""
  if progress is not None and not isinstance(progress, (bool, np.bool_)):
    raise TypeError(f"{what}: progress must be None (auto), True or False, got {progress!r}")
  if progress is None:
    return "live" if _stderr_is_terminal() else "off"
  if progress:
    return "live" if _stderr_is_terminal() else "lines"
  return "off"


class _Progress:
  """A sweep's progress on stderr, fitted to where stderr goes.

  - ``"live"`` (a terminal): tqdm when it is installed, else a one-line counter redrawn with ``\r``.
  - ``"lines"`` (a log file, a pipe, CI): plain lines and never ``\r``: one at the start, one per
    finished chunk when there is more than one chunk, one at the end.
  - ``"off"``: silent.
  """

  def __init__(
    self,
    total: int,
    mode: str,
    desc: str = "sweep",
    *,
    chunks: int = 1,
    chunk_size: int = 0,
    devices: int = 1,
    platform: str = "cpu",
  ):
    self.total, self.done, self.mode, self.desc = total, 0, mode, desc
    self.chunks, self.chunk_index = chunks, 0
    self.bar = None
    self.started = time.perf_counter()
    self.summary = ""
    if mode == "live":
      try:
        from tqdm.auto import tqdm
      except ImportError:
        self._write()
      else:
        self.bar = tqdm(total=total, desc=desc, unit="setting", file=sys.stderr, leave=True)
    elif mode == "lines":
      layout = f"{chunks} chunks of {chunk_size}" if chunks > 1 else "one chunk"
      self._line(
        f"{total} settings in {layout} on {devices} {platform} device(s); compiling one program"
      )

  def _write(self, note: str = ""):
    sys.stderr.write(f"\r{self.desc}: {self.done}/{self.total} settings{note}")
    sys.stderr.flush()

  def _line(self, text: str):
    sys.stderr.write(f"{self.desc}: {text}\n")
    sys.stderr.flush()

  def note(self, text: str):
    """A remark after the count, e.g. "compiling" while the program compiles ("" clears it); only
    a live display shows it."""
    if self.bar is not None:
      self.bar.set_postfix_str(text)
    elif self.mode == "live":
      self._write(f" ({text})" if text else " " * 12)

  def restart_clock(self):
    """After compiling: rates and ETA count from here."""
    if self.bar is not None:
      self.bar.reset(total=self.total)

  def update(self, k: int):
    k = min(k, self.total - self.done)
    self.done += k
    self.chunk_index += 1
    if self.bar is not None:
      self.bar.update(k)
    elif self.mode == "live":
      self._write()
    elif self.mode == "lines" and self.chunks > 1:
      self._line(
        f"{self.done}/{self.total} settings (chunk {self.chunk_index}/{self.chunks}, "
        f"{time.perf_counter() - self.started:.1f} s)"
      )

  def close(self):
    if self.bar is not None:
      self.bar.close()
    elif self.mode == "live":
      sys.stderr.write("\n")
      sys.stderr.flush()
    elif self.mode == "lines":
      elapsed = time.perf_counter() - self.started
      if self.done == self.total:
        self._line(f"{self.total}/{self.total} settings done in {elapsed:.1f} s{self.summary}")
      else:
        self._line(f"stopped after {self.done}/{self.total} settings ({elapsed:.1f} s)")


def sweep(
  run: Callable[[Any], Any],
  schedules: Schedule | Sequence[Schedule] | Any,
  *,
  devices: Devices = None,
  chunk_size: int | None = None,
  progress: bool | None = None,
  checkpoint: Folder = None,
) -> Any:
  """Runs the pure ``run(schedule) -> pytree`` for every setting of a batch in one compiled program.

  ``schedules`` is a batched ``Schedule`` (from ``stack``, ``grid``, ``sample``, mixed batches of
  several families included; a multi-axis ``batch_shape`` is flattened row-major and restored in the
  results), a list of schedules (``stack``ed for you, whatever their families), or any pytree whose
  arrays share one leading batch axis.

  ``jax.vmap(run)`` is compiled once (ahead of time: ``jit(...).lower(...).compile()``) with the
  batch axis sharded over a 1-D ``jax.sharding.Mesh`` named ``"batch"`` (``NamedSharding(mesh,
  PartitionSpec("batch"))``). The batch is padded, by repeating the last setting, to a multiple of
  the number of devices (and of the chunk); the padding is sliced off the results.

  - ``devices``: ``None`` for all of ``jax.devices()``; an int ``n`` for the first ``n`` (with
    several processes, ``n / process_count`` from each); or a list of devices. On a CPU-only machine, JAX has one CPU device unless asked for more
    (``jax.config.update("jax_num_cpu_devices", n)`` or
    ``XLA_FLAGS=--xla_force_host_platform_device_count=n`` before JAX starts).
  - ``chunk_size``: at most this many settings run at once (rounded down to a multiple of the
    number of devices, at least one per device), bounding the memory of ``run``'s intermediates; the
    chunks reuse the one compiled program and the results are concatenated (the outputs themselves
    are all kept).
  - ``progress``: ``None`` (the default) shows a live progress bar only when stderr is a terminal
    (tqdm if installed, else a one-line counter), and is silent otherwise, so a library call in a
    script whose output goes to a log prints nothing. ``True`` always reports: live on a terminal,
    and on anything else (a log, CI) plain lines without ``\r``: one at the start, one per
    finished chunk when there are several chunks, one at the end. ``False`` is silent. Only
    process 0 reports. (tqdm's ``disable=None`` is the same rule.)
  - ``checkpoint``: a directory. After each complete chunk, the outputs of every chunk done so far
    are written there atomically (``checkpoint.npz``; a temporary file, fsync, rename: ``kill -9``
    loses at most the chunk in progress and never leaves an unreadable file). A rerun with the same
    ``run`` (by name), batch and chunk layout skips the chunks done and returns what an
    uninterrupted run returns; a rerun with other arguments is a ``ValueError`` naming what
    differs. The outputs' structure comes from ``jax.eval_shape``. With several processes, process
    0 writes the gathered outputs and every process reads them on resume (a shared file system).

  Returns ``run``'s output pytree with a leading batch axis (``batch_shape`` first), as
  ``jax.Array``s: sharded over the devices on the batch axis, as computed (when padding had to be
  sliced off, XLA chooses the layout of the slice).

  Multi-host: after ``jax.distributed.initialize()``, ``jax.devices()`` lists every process's
  devices; every process must call ``sweep`` with the same ``run``, ``schedules`` and ``devices``
  (SPMD). ``devices=n`` takes ``n / process_count`` local devices from every process (see
  ``resolve_devices``), so no process is left out. Each process feeds only the shards of its own
  devices (``jax.make_array_from_callback``), and the results are global arrays: gather them with
  ``jax.experimental.multihost_utils.process_allgather(results, tiled=True)``. Only JAX's own
  runtime is used. Tested with 2 local CPU processes of 2 devices each against 1 process of 4
  (``tests/test_multihost.py``): the same numbers.

  Formula: ``sweep(run, b)[i] == run(unstack(b)[i])`` for every setting ``i``, computed as
  ``jax.jit(jax.vmap(run))(b)`` (one compile) with the batch axis sharded over ``devices``.

  Peer: W&B, Optuna or Ray Tune sweeps, and loops over torch/optax schedulers, run one trial
  (and one compile) per setting; here the whole sweep is one program, as ``jax.vmap`` over the
  hyperparameters allows.

  Args:
    run: a pure function ``schedule -> pytree of arrays`` (a training run under one setting); it
      is traced once, with a single (unbatched) schedule.
    schedules: the settings: a batched ``Schedule``, a list of schedules, or a pytree whose arrays
      share a leading batch axis.
    devices: ``None`` (all devices), an int (how many), or a list of ``jax.Device``; see above.
    chunk_size: at most this many settings at once (``None``: all at once); see above.
    progress: ``None`` (a bar on a terminal only), ``True`` or ``False``; see above.
    checkpoint: ``None``, or a directory to resume from and save each complete chunk to; see above.

  >>> import jax.numpy as jnp, numpy as np, jaxsched
  >>> batch = jaxsched.grid(jaxsched.exponential, {"init_value": [0.1, 0.2]}, gamma=0.5)
  >>> total = jaxsched.sweep(lambda s: s(jnp.arange(3)).sum(), batch)   # lr summed over 3 steps
  >>> total.shape
  (2,)
  >>> np.asarray(total, np.float64).round(6).tolist()                 # 0.1·(1 + 0.5 + 0.25), ...
  [0.175, 0.35]
  """
  return run_sweep(
    run, schedules, devices=devices, chunk_size=chunk_size, progress=progress, checkpoint=checkpoint
  ).outputs


@dataclasses.dataclass(frozen=True)
class SweepResult:
  """What ``run_sweep`` returns: ``sweep``'s results and the figures a report needs.

  Attributes:
    outputs: ``run``'s output pytree with a leading batch axis, exactly what ``sweep`` returns.
    compile_s: seconds to compile the one program: ``lower_s`` + ``xla_compile_s``.
    lower_s: seconds tracing ``run`` under ``vmap`` and lowering it to StableHLO.
    xla_compile_s: seconds XLA compiled.
    run_s: seconds feeding the chunks, running them and waiting for the results.
    chunks: how many chunks ran (each through the same compiled program).
    chunk_size: settings per chunk (a multiple of ``devices``).
    devices: how many devices the batch axis was sharded over.
    padded: settings added (copies of the last one) to fill the chunks, sliced off ``outputs``.
    platform: the devices' platform (``"cpu"``, ``"gpu"``, ``"tpu"``).
    resumed: chunks read back from ``checkpoint`` instead of run (0 without one).
  """

  outputs: Any
  compile_s: float
  lower_s: float
  xla_compile_s: float
  run_s: float
  chunks: int
  chunk_size: int
  devices: int
  padded: int
  platform: str
  resumed: int = 0


def run_sweep(
  run: Callable[[Any], Any],
  schedules: Schedule | Sequence[Schedule] | Any,
  *,
  devices: Devices = None,
  chunk_size: int | None = None,
  progress: bool | None = None,
  desc: str = "sweep",
  checkpoint: Folder = None,
) -> SweepResult:
  """``sweep(run, schedules, ...)``, returning a ``SweepResult``: the same outputs and the figures
  of the run (compile and run times, chunks, devices, padding) for a report.

  Args:
    run: as for ``sweep``.
    schedules: as for ``sweep``.
    devices: as for ``sweep``.
    chunk_size: as for ``sweep``.
    progress: as for ``sweep``.
    desc: the progress display's label (``"sweep: 3/8 settings"``).
    checkpoint: as for ``sweep``.

  >>> import numpy as np, jaxsched
  >>> from jaxsched.runner import run_sweep
  >>> batch = jaxsched.grid(jaxsched.constant, {"value": [1.0, 2.0, 3.0]})
  >>> result = run_sweep(lambda s: s(0), batch, devices=1, chunk_size=2, progress=False)
  >>> np.asarray(result.outputs).tolist(), result.chunks, result.chunk_size, result.padded
  ([1.0, 2.0, 3.0], 2, 2, 1)
  """
  if not callable(run):
    raise TypeError(f"sweep: run must be callable, got {type(run).__name__}")
  n, batch, host, treedef = rows_of(schedules)
  devs = resolve_devices(devices)
  d = len(devs)
  if chunk_size is None or chunk_size >= n:
    chunk = -(-n // d) * d
  else:
    if (
      isinstance(chunk_size, bool) or not isinstance(chunk_size, numbers.Integral) or chunk_size < 1
    ):
      raise ValueError(f"sweep: chunk_size must be a positive integer, got {chunk_size!r}")
    chunk = max(d, chunk_size // d * d)
  n_chunks = -(-n // chunk)
  padded = n_chunks * chunk
  if padded > n:  # repeat the last setting
    index = np.minimum(np.arange(padded), n - 1)
    host = [h[index] for h in host]

  mesh = Mesh(np.array(devs), ("batch",))
  sharding = NamedSharding(mesh, PartitionSpec("batch"))
  fn = jax.jit(jax.vmap(run), in_shardings=sharding, out_shardings=sharding)
  abstract = jax.tree.unflatten(
    treedef,
    [jax.ShapeDtypeStruct((chunk,) + h.shape[1:], h.dtype, sharding=sharding) for h in host],
  )
  store, done, saved = None, 0, []
  if checkpoint is not None:
    store, done, saved = _sweep_checkpoint(
      checkpoint, run, fn, abstract, treedef, host, n, chunk, n_chunks
    )
  mode = progress_mode(progress) if jax.process_index() == 0 else "off"
  bar = _Progress(
    n, mode, desc, chunks=n_chunks, chunk_size=chunk, devices=d, platform=devs[0].platform
  )
  compile_s = lower_s = 0.0
  compiled: Any = None
  try:
    if done:
      bar.update(min(n, done * chunk))
    if done < n_chunks:
      bar.note("compiling")
      started = time.perf_counter()
      lowered = fn.lower(abstract)  # tracing run under vmap, lowering to StableHLO
      lowered_at = time.perf_counter()
      compiled = lowered.compile()  # XLA
      compile_s = time.perf_counter() - started
      lower_s = lowered_at - started
      bar.note("")
      bar.summary = f" (compiling {compile_s:.1f} s)"
      bar.restart_clock()
    outs = []
    started = time.perf_counter()
    for c in range(done, n_chunks):
      part = [h[c * chunk : (c + 1) * chunk] for h in host]
      args = feed(jax.tree.unflatten(treedef, part), sharding)
      out = compiled(args)
      if mode != "off" or n_chunks > 1:  # one chunk in flight at a time: that is what bounds memory
        jax.block_until_ready(out)
      if store is not None:
        saved.append(to_host(out))
        _save_chunks(store, saved)
      outs.append(out)
      bar.update(chunk)
  finally:
    bar.close()
  if store is not None:  # every chunk's outputs are on the host: one global array of them
    padded_out = jax.tree.map(lambda *xs: np.concatenate(xs), *saved)
    result = feed(padded_out, sharding)
  else:
    result = outs[0] if n_chunks == 1 else jax.tree.map(lambda *xs: jnp.concatenate(xs), *outs)
  if padded > n:
    result = jax.tree.map(lambda x: x[:n], result)
  if len(batch) > 1:
    result = jax.tree.map(lambda x: x.reshape(batch + x.shape[1:]), result)
  jax.block_until_ready(result)
  run_s = time.perf_counter() - started
  return SweepResult(
    outputs=result,
    compile_s=compile_s,
    lower_s=lower_s,
    xla_compile_s=compile_s - lower_s,
    run_s=run_s,
    chunks=n_chunks,
    chunk_size=chunk,
    devices=d,
    padded=padded - n,
    platform=devs[0].platform,
    resumed=done,
  )


def _sweep_checkpoint(directory, run, fn, abstract, treedef, host, n, chunk, n_chunks):
  """``(store, chunks done, their host outputs)`` of a sweep's checkpoint in ``directory``: the
  chunks a complete earlier run of the same sweep saved, split back into one pytree per chunk."""
  from jaxsched.search.checkpoint import Checkpoint, digest, function_name, unflatten

  shapes = jax.eval_shape(fn, abstract)
  fingerprint = {
    "kind": "sweep",
    "run": function_name(run),
    "batch": digest((re.sub(r" at 0x[0-9a-fA-F]+", "", str(treedef)), [h[:n] for h in host])),
    "settings": n,
    "chunk_size": chunk,
    "outputs": digest(jax.tree.map(lambda s: np.zeros((0,) + s.shape[1:], s.dtype), shapes)),
  }
  store = Checkpoint(directory, fingerprint)
  loaded = store.load()
  if loaded is None:
    return store, 0, []
  progress, arrays = loaded
  done = int(progress["chunks"])
  if not 0 <= done <= n_chunks:
    raise ValueError(f"checkpoint: {store.path} records {done} chunks of {n_chunks}")
  outputs = unflatten("out", arrays, shapes)
  saved = [
    jax.tree.map(lambda x, c=c: x[c * chunk : (c + 1) * chunk], outputs) for c in range(done)
  ]
  return store, done, saved


def _save_chunks(store, saved) -> None:
  from jaxsched.search.checkpoint import flatten

  outputs = jax.tree.map(lambda *xs: np.concatenate(xs), *saved)
  store.save({"chunks": len(saved)}, flatten("out", outputs))
