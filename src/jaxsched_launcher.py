"""The ``jaxsched`` console script (and ``python -m jaxsched``). It lives outside the package on
purpose: importing ``jaxsched`` imports JAX (a second or two), and a Ctrl-C in that window must
also end with one line and status 130, not a traceback, so the handler goes in before any import
(the CLI then installs its own).

A multi-process run (``--coordinator``, ``--num-processes``, ``--process-id`` or
``--distributed``) runs the CLI in a child process watched by this one. Process 0 hosts JAX's
coordination service; when it dies, JAX ends every other process at once from C++ (``abort``,
status 134, a stack trace of native frames), which no Python handler can catch. The watcher
passes the child's output through, holds back what follows a native fatal-error line, and turns
such an end into one line and status 1 (what the CLI prints when a peer other than process 0
dies).
"""

import os
import re
import signal
import subprocess
import sys
import threading

_WATCHED = "JAXSCHED_WATCHED"  # set in the child, so that it runs the CLI itself
_MULTI_PROCESS_FLAGS = ("--coordinator", "--num-processes", "--process-id", "--distributed")
# absl's fatal log line ("F1207 02:55:00.123456  1234 file.cc:12] message") and its companions
_FATAL = re.compile(rb"^F\d{4} \d\d:\d\d:\d\d\.\d+ +\d+ [^\]]+\] ?(.*)$")
_LOG = re.compile(rb"^[EW]\d{4} \d\d:\d\d:\d\d\.\d+ +\d+ [^\]]+\]")
_NATIVE_END = (b"*** Check failure stack trace", b"Fatal Python error", b"*** SIG")


def _interrupted(signum, frame):
  sys.stderr.write("\ninterrupted\n")
  sys.stderr.flush()
  os._exit(130)


def _flag(argv, name):
  """The value of ``--name VALUE`` or ``--name=VALUE`` in ``argv`` (None when absent)."""
  for i, arg in enumerate(argv):
    if arg == name and i + 1 < len(argv):
      return argv[i + 1]
    if arg.startswith(name + "="):
      return arg.split("=", 1)[1]
  return None


def _multi_process(argv) -> bool:
  return (
    bool(argv)
    and argv[0] == "sweep"
    and any(a == f or a.startswith(f + "=") for a in argv for f in _MULTI_PROCESS_FLAGS)
  )


def _pass_through(source, sink, fatal):
  """Copies the child's stderr to ours line by line until a native fatal error begins; keeps its
  first message in ``fatal``. The runtime's own log lines (absl's ``E…``/``W…``) are held until a
  line of another kind follows, and dropped when they turn out to lead into the fatal error."""
  held, pending = False, []
  for line in iter(source.readline, b""):
    if held:
      continue
    found = _FATAL.match(line.rstrip(b"\n"))
    if found or line.startswith(_NATIVE_END):
      held = True
      fatal.append((found.group(1) if found else line).decode(errors="replace").strip())
      continue
    if _LOG.match(line):
      pending.append(line)
      continue
    sink.writelines([*pending, line])
    pending.clear()
    sink.flush()
  if not held:
    sink.writelines(pending)
    sink.flush()


def _die_with_parent():
  """In the child, before it runs: killed with its watcher (Linux's PR_SET_PDEATHSIG), so that
  ``kill -9`` of a process of the run ends its JAX process too, as it did without a watcher."""
  try:
    import ctypes

    ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGKILL))  # 1: PR_SET_PDEATHSIG
  except (OSError, AttributeError):  # not Linux: the child polls its parent (main)
    pass


def _orphaned_exit(parent: int):
  """Ends this child when its watcher is gone (where PR_SET_PDEATHSIG does not exist)."""
  while os.getppid() == parent:
    threading.Event().wait(0.2)
  os._exit(1)


def _watch(argv) -> int:
  child = subprocess.Popen(
    [sys.executable, "-m", "jaxsched", *argv],
    stderr=subprocess.PIPE,
    env=dict(os.environ, **{_WATCHED: str(os.getpid())}),
    preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,
  )
  # Ctrl-C reaches the child through the terminal's process group; a signal sent to this
  # process alone is passed on, and the child's own handler answers it
  for sig in (signal.SIGINT, signal.SIGTERM):
    signal.signal(sig, lambda signum, frame: child.send_signal(signum))
  fatal: list[str] = []
  assert child.stderr is not None
  reader = threading.Thread(
    target=_pass_through, args=(child.stderr, sys.stderr.buffer, fatal), daemon=True
  )
  reader.start()
  status = child.wait()
  reader.join(timeout=5)
  if status >= 0 and not fatal:
    return status
  who = _flag(argv, "--process-id")
  count = _flag(argv, "--num-processes")
  where = f"process {who} of {count}" if who is not None and count is not None else "this process"
  checkpoint = _flag(argv, "--checkpoint")
  resume = (
    f"the completed chunks, rungs or intervals are in --checkpoint {checkpoint}: restart every "
    "process with the same arguments to resume"
    if checkpoint
    else "nothing was kept (run with --checkpoint DIR to make a rerun resume)"
  )
  reason = fatal[0][:160] if fatal else f"signal {-status}"
  sys.stderr.write(
    f"jaxsched: error: {where}: JAX ended the multi-process run, most likely because process 0 "
    f"(the coordinator) stopped ({reason}); {resume}\n"
  )
  sys.stderr.flush()
  return 1


def main():
  signal.signal(signal.SIGINT, _interrupted)
  argv = sys.argv[1:]
  watcher = os.environ.get(_WATCHED)
  if _multi_process(argv) and not watcher:
    sys.exit(_watch(argv))
  if watcher and not sys.platform.startswith("linux"):
    threading.Thread(target=_orphaned_exit, args=(int(watcher),), daemon=True).start()
  from jaxsched.cli import main as run

  sys.exit(run())


if __name__ == "__main__":
  main()
