"""The multi-process bootstrap of ``jaxsched sweep``: joining a ``jax.distributed`` run (``join``,
with ``address`` and ``reach`` catching a bad or absent coordinator as one line instead of XLA's
abort), splitting a CPU-only machine into devices before JAX starts (``split_cpu``), making every
process start the run or none (``agree``), and keeping Gloo's native chatter off stdout
(``native_stdout_to_stderr``), and leaving a run that lost a process (``lost``, ``leave``).
Failures are ``jaxsched.messages.CliError``s.

When a process dies mid-run, JAX's collectives in the others fail at their next gather (every
chunk, rung or interval gathers its results into every process), and the CLI reports that as one
line. It then leaves with ``os._exit``: a normal exit would run ``jax.distributed.shutdown``, whose
barrier waits for the dead process until the heartbeat times out and then aborts in C++ with a
stack trace. The heartbeat timeout is lowered (``HEARTBEAT_S``) so that a process stuck outside a
collective learns of a dead peer within that time too (JAX then ends it itself). Process 0 hosts
the coordination service, so when process 0 dies JAX ends the others at once from C++ (no Python
handler runs); the console script's watcher (``jaxsched_launcher``) reports that end as one line
and status 1.
"""

from __future__ import annotations

import contextlib
import os
import socket
import sys
import time

import jax
import numpy as np

from jaxsched.messages import CliError, cut, one_line

__all__ = [
  "join",
  "joined",
  "address",
  "reach",
  "agree",
  "split_cpu",
  "native_stdout_to_stderr",
  "lost",
  "leave",
  "HEARTBEAT_S",
  "SHUTDOWN_S",
]

HEARTBEAT_S = 30  # jax.distributed's heartbeat_timeout_seconds (JAX's default: 100)
SHUTDOWN_S = 30  # shutdown_timeout_seconds: how long the last barrier waits (JAX's: 300)
_joined = False
# what the runtime's errors say when a peer is gone (some reach Python wrapped in a ValueError)
_LOST_WORDS = (
  "Gloo",
  "Connection closed by peer",
  "heartbeat",
  "coordination service",
  "UNAVAILABLE",
)


def joined() -> bool:
  """Whether this process joined a multi-process run (``join``)."""
  return _joined


def join(args):
  """Joins a multi-process run when asked (``jax.distributed.initialize``, before the backends
  start), and on a CPU-only machine splits the CPU for ``--devices`` (per process: the devices are
  spread over the processes). ``args``: the parsed ``jaxsched sweep`` flags (``coordinator``,
  ``num_processes``, ``process_id``, ``distributed``, ``devices``, ``init_timeout``)."""
  given = {
    k: v
    for k, v in (
      ("coordinator_address", args.coordinator),
      ("num_processes", args.num_processes),
      ("process_id", args.process_id),
    )
    if v is not None
  }
  if args.devices:
    split_cpu(-(-args.devices // (args.num_processes or 1)))
  if not given and not args.distributed:
    return
  if (
    args.num_processes is not None
    and args.process_id is not None
    and args.process_id >= args.num_processes
  ):
    raise CliError(
      f"--process-id {args.process_id} must be < --num-processes "
      f"{args.num_processes} (processes count from 0)"
    )
  if args.coordinator is not None:
    host, port = address(args.coordinator)
    who = "" if args.process_id is None else f" as process {args.process_id}"
    of = "" if args.num_processes is None else f" of {args.num_processes}"
    sys.stderr.write(
      f"jaxsched: joining a multi-process run via {args.coordinator}{who}{of} "
      f"(waiting up to {args.init_timeout} s for the others)\n"
    )
    if args.process_id:
      reach(host, port, args.init_timeout, args.coordinator)
  global _joined
  try:
    jax.config.update("jax_enable_preemption_service", False)  # not used; noisy when a peer dies
    jax.distributed.initialize(
      **given,
      initialization_timeout=args.init_timeout,
      heartbeat_timeout_seconds=HEARTBEAT_S,
      shutdown_timeout_seconds=SHUTDOWN_S,
    )
    _joined = True
  except Exception as e:  # ValueError (nothing to detect), runtime errors (unreachable)
    hint = (
      ""
      if given
      else (
        " (outside SLURM/Open MPI, give --coordinator HOST:PORT --num-processes N --process-id I)"
      )
    )
    raise CliError(f"cannot join the multi-process run: {cut(one_line(e), 200)}{hint}") from None


def address(text: str) -> tuple[str, int]:
  """``(host, port)`` of a ``--coordinator HOST:PORT`` (an IPv6 host may be in brackets)."""
  host, sep, port = text.rpartition(":")
  if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
    raise CliError(f"--coordinator {cut(text, 80)!r}: expected HOST:PORT, e.g. node0:8476")
  return host.strip("[]"), int(port)


def reach(host: str, port: int, timeout: int, text: str):
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
        raise CliError(
          f"--coordinator {text}: nothing answered within {timeout} s (is process 0 "
          "running, with the same --coordinator?)"
        ) from None
      time.sleep(0.5)


def agree(problem: str | None):
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


def split_cpu(n: int):
  """Before JAX starts its backends: ask for ``n`` CPU devices (``jax_num_cpu_devices``), so that
  ``--devices n`` can shard on a CPU-only machine (other platforms are unaffected). A no-op when
  the user already chose (``XLA_FLAGS=--xla_force_host_platform_device_count``, the config) or the
  backends are already running."""
  if "xla_force_host_platform_device_count" in os.environ.get("XLA_FLAGS", ""):
    return
  if jax.config.jax_num_cpu_devices not in (-1, None):  # pyright: ignore[reportAttributeAccessIssue]
    return
  try:
    jax.config.update("jax_num_cpu_devices", n)
  except RuntimeError:  # backends already initialized: jax.devices() is what it is
    pass


@contextlib.contextmanager
def native_stdout_to_stderr(active: bool):
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


def lost(e: BaseException, checkpoint: str | None) -> str | None:
  """The one-line report of a runtime error in a multi-process run (a collective that failed because
  another process died, most often), with what a rerun does; None outside such a run."""
  if not _joined:
    return None
  text = str(e)
  if not isinstance(e, jax.errors.JaxRuntimeError) and not any(w in text for w in _LOST_WORDS):
    return None
  resume = (  # printed whole (see cli._error): a cut path could not be pasted into the rerun
    f"the completed chunks, rungs or intervals are in --checkpoint {checkpoint}: restart every "
    "process with the same arguments to resume"
    if checkpoint
    else "nothing was kept (run with --checkpoint DIR to make a rerun resume)"
  )
  return (
    f"process {jax.process_index()} of {jax.process_count()}: the multi-process run failed, most "
    f"likely because another process stopped ({cut(one_line(e), 160)}); {resume}"
  )


def leave(status: int):
  """Ends this process of a failed multi-process run at once with ``status``, after flushing:
  ``os._exit`` skips ``jax.distributed.shutdown``'s barrier, which would wait for the dead process
  and then abort in C++."""
  for stream in (sys.stdout, sys.stderr):
    try:
      stream.flush()
    except Exception:  # a closed or broken stream: exit anyway
      pass
  os._exit(status)
