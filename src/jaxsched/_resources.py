"""Memory guard for the command line: estimate before allocating, refuse what cannot fit.

The estimates are deliberately simple, per unit of work, measured on the CPU backend (RSS growth of
the real code paths) and rounded up; they only have to tell a run that fits from one that is off by
orders of magnitude (``--settings 1000000000``), before anything is allocated.
"""

from __future__ import annotations

import os

# main job (``jaxsched sweep``)
SWEEP_PER_SETTING = 32 * 1024  # the setting's schedule, its slots in the batch, config, record
SWEEP_PER_VALUE = 160  # per setting and step: device result (8), host copies (24), report
# lists of Python floats (64) and JSON text (~60)
SWEEP_PER_STEP = 64  # the task's mini-batch indices (host and device)
JSON_PER_VALUE = 30  # bytes of sweep.json per setting and step (two curves)
JSON_PER_SETTING = 600
# ``jaxsched plot``
PLOT_PER_STEP = 24  # the step array (host int64, device int32) and the CSV row buffer
PLOT_PER_VALUE = 64  # per schedule and step: evaluation and host copy
PNG_PER_VALUE = 160  # per schedule and step drawn: matplotlib's float64 copies and paths


def available_bytes() -> int | None:
  """Memory this process may still use: ``MemAvailable``, lowered to the cgroup limit when there
  is one. None when unknown (then nothing is refused)."""
  found = []
  try:
    with open("/proc/meminfo") as f:
      for line in f:
        if line.startswith("MemAvailable:"):
          found.append(int(line.split()[1]) * 1024)
  except (OSError, ValueError, IndexError):
    pass
  for limit, usage in (
    ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"),
    ("/sys/fs/cgroup/memory/memory.limit_in_bytes", "/sys/fs/cgroup/memory/memory.usage_in_bytes"),
  ):
    try:
      with open(limit) as f:
        text = f.read().strip()
      if text != "max" and int(text) < 2**60:
        with open(usage) as f:
          found.append(max(int(text) - int(f.read().strip()), 0))
      break
    except (OSError, ValueError):
      continue
  if not found:
    try:
      found.append(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):
      return None
  return min(found)


def human(n: float) -> str:
  """``1.5 GiB``-style sizes."""
  for unit in ("bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"):
    if abs(n) < 1024 or unit == "EiB":
      return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
    n /= 1024
  return f"{n:.1f} EiB"


def sweep_bytes(settings: int, steps: int) -> int:
  """Host memory of ``jaxsched sweep`` (on CPU the device results live there too)."""
  return settings * SWEEP_PER_SETTING + settings * steps * SWEEP_PER_VALUE + steps * SWEEP_PER_STEP


def sweep_json_bytes(settings: int, steps: int) -> int:
  return settings * (steps * JSON_PER_VALUE + JSON_PER_SETTING)


def plot_bytes(schedules: int, steps: int, png: bool) -> int:
  return steps * (PLOT_PER_STEP + schedules * (PLOT_PER_VALUE + (PNG_PER_VALUE if png else 0)))


def refusal(what: str, needed: int, available: int | None, advice: str) -> str | None:
  """The one-line refusal when ``needed`` exceeds ``available``, else None."""
  if available is None or needed <= available:
    return None
  return (
    f"{what} needs about {human(needed)} of memory, more than the {human(available)} "
    f"available; {advice}"
  )
