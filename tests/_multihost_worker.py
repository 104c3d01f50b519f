"""One process of tests/test_multihost.py: the CLI main job, then the library ``sweep``.

``python _multihost_worker.py OUT [CLI flags...]``: runs ``jaxsched.cli.main(["sweep", ...])`` with
the given flags (which join the multi-process run, or not), then, in the same (now distributed)
process, ``jaxsched.sweep`` over a small batch with ``devices=None`` and ``2`` and an invalid
``3``, and saves what it gathered to ``OUT/lib_<process>.npz`` (the error message of
``devices=3`` too). Nothing here compares: the test does.
"""

import sys

import numpy as np

LIBRARY = "--- library sweep ---"


def main():
  out, flags = sys.argv[1], sys.argv[2:]
  from jaxsched import cli

  status = cli.main(["sweep", *flags])
  if status != 0:
    sys.exit(status)
  print(LIBRARY, flush=True)  # what follows is not the CLI's output

  import jax
  import jax.numpy as jnp

  import jaxsched as js
  from jaxsched.runner import to_host

  batch = js.grid(js.cosine, {"init_value": [0.1, 0.2, 0.3], "end_value": [0.0, 0.01]}, steps=50)
  t = jnp.arange(0, 64, 3)
  found = {}
  for devices in (None, 2):
    result = js.sweep(
      lambda s: {"lr": s(t), "sum": jnp.sum(s(t))}, batch, devices=devices, progress=False
    )
    host = to_host(result)
    found[f"lr_{devices}"] = host["lr"]
    found[f"sum_{devices}"] = host["sum"]
  try:
    js.sweep(lambda s: s(t), batch, devices=3, progress=False)
    found["error_3"] = np.array("no error")
  except ValueError as e:
    found["error_3"] = np.array(str(e))
  np.savez(f"{out}/lib_{jax.process_index()}.npz", **found)


if __name__ == "__main__":
  main()
