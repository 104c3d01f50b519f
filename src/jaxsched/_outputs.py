"""Whole-file outputs and clean interruption for the command line.

Every file the CLI writes goes through ``Outputs``:

1. ``check(path)`` before any compile: the target must be a regular file or absent, writable, in a
   directory where a file can be created (a temporary file is created there and removed).
2. ``render(path, write)`` writes the new content into a temporary file beside the target
   (``.NAME.XXXX.tmp``, same directory, so the rename below stays on one file system), flushed
   to disk.
3. ``commit()`` renames every rendered file onto its target (``os.replace``, atomic on POSIX) in one
   critical section that an interrupt waits for. A reader sees each file either old and whole or
   new and whole, and ``Ctrl-C`` cannot stop between the renames of a set (``sweep.json`` next to
   ``sweep.png``), so a set is never half new.

``interruptible(fn)`` runs ``fn`` in a worker thread while the main thread waits for signals: on
SIGINT (SIGTERM) it removes the temporary files, prints ``interrupted`` (``terminated``) and exits
with status 130 (143) at once, even while XLA compiles in C++ (where a Python ``KeyboardInterrupt``
would wait, and an interpreter shutting down under running compiler threads can crash).
``os._exit`` is used because nothing can swallow it.
"""

from __future__ import annotations

import faulthandler
import os
import signal
import stat
import sys
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path


class OutputError(Exception):
  """An output path that cannot be written (reported as one line, status 2)."""


_TEMPS: set[str] = set()  # temporary files to remove if the process is interrupted
_COMMIT = threading.Lock()  # held while renaming a set of outputs into place
_MESSAGES = {signal.SIGINT: "interrupted", signal.SIGTERM: "terminated"}
debug = False  # set by the CLI: an interrupt also dumps every thread's stack


def _mode_for(target: Path) -> int:
  """The permission bits the new file gets: the old file's, else 0o666 minus the umask."""
  try:
    return stat.S_IMODE(os.stat(target).st_mode)
  except OSError:
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


class Outputs:
  """A set of output files, checked first, rendered into temporary files, renamed at the end."""

  def __init__(self):
    self._checked: dict[Path, str] = {}  # resolved target -> the name the user gave
    self._rendered: list[tuple[str, Path]] = []
    self._remove: list[Path] = []

  def check(self, path) -> Path:
    """Resolves ``path`` (a symlink stays a symlink: its target is replaced) and checks that it can
    be written whole. Returns the resolved path; raises ``OutputError``."""
    name = os.fspath(path)
    if not name:
      raise OutputError("an output path is empty")
    target = Path(os.path.realpath(name))
    if target in self._checked:
      raise OutputError(f"{name} is given as two outputs ({self._checked[target]} and {name})")
    try:
      info = os.stat(target)
    except FileNotFoundError:
      info = None
    except OSError as e:
      raise OutputError(f"cannot write {name}: {e.strerror or e}") from None
    if info is not None:
      if stat.S_ISDIR(info.st_mode):
        raise OutputError(f"cannot write {name}: it is a directory")
      if not stat.S_ISREG(info.st_mode):
        raise OutputError(
          f"cannot write {name}: not a regular file (outputs are written whole, "
          "to a temporary file that is then renamed into place)"
        )
      if not os.access(target, os.W_OK):
        raise OutputError(f"cannot write {name}: permission denied")
    if not target.parent.is_dir():
      raise OutputError(f"cannot write {name}: no such directory {target.parent}")
    try:
      fd, probe = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
      os.close(fd)
      os.unlink(probe)
    except OSError as e:
      raise OutputError(f"cannot write {name}: {e.strerror or e} (in {target.parent})") from None
    self._checked[target] = name
    return target

  def free_bytes(self, target: Path) -> int | None:
    """Free space for an unprivileged writer in ``target``'s directory, or None if unknown."""
    try:
      st = os.statvfs(target.parent)
    except (OSError, AttributeError):
      return None
    return st.f_bavail * st.f_frsize

  def render(self, target: Path, write: Callable[[str], None]) -> str:
    """Calls ``write(tmp)`` to fill a temporary file beside ``target`` (a checked path) and
    flushes it to disk; returns the temporary path. The target is untouched until ``commit``."""
    name = self._checked.get(target, os.fspath(target))
    try:
      fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
      os.close(fd)
    except OSError as e:
      raise OutputError(f"cannot write {name}: {e.strerror or e}") from None
    _TEMPS.add(tmp)
    try:
      write(tmp)
      with open(tmp, "rb+") as f:
        os.fsync(f.fileno())
      os.chmod(tmp, _mode_for(target))
    except OSError as e:
      self._drop(tmp)
      raise OutputError(f"cannot write {name}: {e.strerror or e}") from None
    except BaseException:
      self._drop(tmp)
      raise
    self._rendered.append((tmp, target))
    return tmp

  def remove_on_commit(self, target: Path):
    """``commit`` also deletes ``target`` (a stale file that must not be paired with new ones)."""
    self._remove.append(target)

  def commit(self):
    """Renames every rendered file into place (and deletes the stale ones) in one critical
    section: an interrupt arriving meanwhile waits until the set is complete."""
    with _COMMIT:
      try:
        for target in self._remove:
          try:
            os.unlink(target)
          except FileNotFoundError:
            pass
        for tmp, target in self._rendered:
          os.replace(tmp, target)
          _TEMPS.discard(tmp)
      except OSError as e:
        raise OutputError(f"cannot write {e.filename or ''}: {e.strerror or e}") from None
      finally:
        self.discard()

  def discard(self):
    """Removes the temporary files not yet renamed (after an error)."""
    for tmp, _ in self._rendered:
      self._drop(tmp)
    self._rendered.clear()

  @staticmethod
  def _drop(tmp: str):
    try:
      os.unlink(tmp)
    except OSError:
      pass
    _TEMPS.discard(tmp)


def _on_signal(signum, frame):
  _COMMIT.acquire()  # a set being renamed into place is finished first; never released
  for tmp in list(_TEMPS):
    try:
      os.unlink(tmp)
    except OSError:
      pass
  if debug:
    faulthandler.dump_traceback(all_threads=True)
  for stream in (sys.stdout, sys.stderr):
    try:
      stream.flush()
    except Exception:  # a closed or broken stream: the message below still goes out
      pass
  try:
    fresh_line = "\n" if os.isatty(2) else ""  # after a progress bar drawn with \r
    os.write(2, f"{fresh_line}{_MESSAGES.get(signum, 'interrupted')}\n".encode())
  finally:
    os._exit(128 + signum)


def interruptible(fn: Callable[[], int]) -> int:
  """``fn()``, run in a worker thread while the main thread handles SIGINT and SIGTERM (see the
  module docstring). Outside the main thread (signals cannot be handled there) it just calls
  ``fn``. The previous handlers are restored afterwards; ``fn``'s exception is re-raised here."""
  if threading.current_thread() is not threading.main_thread():
    return fn()
  previous = {s: signal.signal(s, _on_signal) for s in _MESSAGES}
  try:
    box: dict = {}

    def target():
      try:
        box["value"] = fn()
      except BaseException as e:  # re-raised in the main thread, with its traceback
        box["error"] = e

    worker = threading.Thread(target=target, name="jaxsched", daemon=True)
    worker.start()
    while worker.is_alive():
      worker.join(0.1)  # short waits: the main thread runs signal handlers promptly
    if "error" in box:
      raise box["error"]
    return box["value"]
  finally:
    for s, handler in previous.items():
      signal.signal(s, handler)
