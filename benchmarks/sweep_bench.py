"""A training sweep across families as ONE ``jaxsched.sweep`` vs the usual loop of jitted runs.

  python benchmarks/sweep_bench.py            # prints a Markdown section for RESULTS.md

The task is the main job's (``jaxsched.main_job``): a small MLP regression trained with SGD + momentum
through ``optax.inject_hyperparams`` for ``STEPS`` updates. ``N`` settings are drawn by
``jaxsched.sample`` across four families and both decay shapes (linear and cosine), so the batch
is a mixed batch of several structures:

- ``wsd(lr, W, S, D, decay_shape=linear|cosine)``
- ``one_cycle(lr, T, anneal=linear|cos)``
- ``warmup(linear(lr, 0, T − W), W)`` or ``warmup(cosine(lr, T − W), W)``
- ``exponential(lr, gamma)``

The alternative is what a user writes without jaxsched's sweep: for each setting, close over its
schedule, ``jax.jit`` the training run and call it (one closure and one compile per setting; the
optimizer is the same ``optax`` chain). Both are timed in the same process, compile and run apart:
compile = tracing + lowering + XLA, run = executing until the results are ready. The final losses
are compared setting by setting.
"""

from __future__ import annotations

import os
import platform
import time

import jax
import numpy as np
import optax

import jaxsched as js
from jaxsched import main_job, runner

N = 64
STEPS = 200


def settings(n: int = N, steps: int = STEPS, seed: int = 0) -> js.Schedule:
  """``n`` settings drawn across four families and both decay shapes, as one (mixed) batch."""
  T = steps

  def make(family, shape, lr, warm, gamma):
    if family == "wsd":
      decay = T // 4
      return js.wsd(lr, warm, T - warm - decay, decay, decay_shape=shape)
    if family == "one_cycle":
      return js.one_cycle(lr, T, anneal={"linear": "linear", "cosine": "cos"}[shape])
    if family == "warmup":
      body = js.linear(lr, 0.0, T - warm) if shape == "linear" else js.cosine(lr, T - warm)
      return js.warmup(body, warm)
    return js.exponential(lr, gamma)

  space = {
    "family": js.choice(["wsd", "one_cycle", "warmup", "exponential"]),
    "shape": js.choice(["linear", "cosine"]),
    "lr": js.log_uniform(0.002, 0.03),  # stable training: no chaotic blow-up to compare
    "warm": js.int_uniform(0, T // 10),
    "gamma": js.uniform(0.98, 0.999),
  }
  return js.sample(make, jax.random.key(seed), n, space)


def run_sweep(batch, run):
  result = runner.run_sweep(run, batch, progress=False)
  out = result.outputs
  return np.asarray(out["loss"]), np.asarray(out["lr"]), result.compile_s, result.run_s


def run_loop(members, run):
  """The common alternative: one closure, one ``jax.jit`` and one compile per setting."""
  compile_s = run_s = 0.0
  losses, lrs = [], []
  for s in members:
    started = time.perf_counter()
    compiled = jax.jit(lambda: run(s)).lower().compile()
    compile_s += time.perf_counter() - started
    started = time.perf_counter()
    out = jax.block_until_ready(compiled())
    run_s += time.perf_counter() - started
    losses.append(np.asarray(out["loss"]))
    lrs.append(np.asarray(out["lr"]))
  return np.stack(losses), np.stack(lrs), compile_s, run_s


def main(n: int = N, steps: int = STEPS) -> dict:
  """Runs both, prints a Markdown section, returns the numbers."""
  run = main_job.make_run(steps)
  batch = settings(n, steps)
  members = js.unstack(batch)
  structures = len(batch.groups) if hasattr(batch, "groups") else 1
  s_loss, s_lr, s_compile, s_run = run_sweep(batch, run)
  l_loss, l_lr, l_compile, l_run = run_loop(members, run)
  s_final, l_final = s_loss[:, -1], l_loss[:, -1]
  rel = np.abs(s_final - l_final) / np.abs(l_final)
  lr_rel = np.max(np.abs(s_lr - l_lr) / np.maximum(np.abs(l_lr), 1e-30))
  stable = np.max(l_loss, axis=1) <= 2 * l_loss[:, 0]
  s_total, l_total = s_compile + s_run, l_compile + l_run
  families = sorted({m.family for m in members})
  dev = jax.devices()[0]
  print(
    f"machine: {platform.machine()}, {len(os.sched_getaffinity(0))} cores, "
    f"{jax.local_device_count()} {dev.platform} device(s); jax {jax.__version__}, "
    f"optax {optax.__version__}\n"
  )
  print(
    f"{n} settings x {steps} steps of {main_job.DESCRIPTION}; families {', '.join(families)}; "
    f"{structures} distinct structures in the batch\n"
  )
  print("| what | compile | run | total | ratio |\n|---|---|---|---|---|")
  print(
    f"| loop: {n} closures, {n} x jax.jit | {l_compile:.1f} s | {l_run:.2f} s | "
    f"{l_total:.1f} s | 1 |"
  )
  print(
    f"| one jaxsched.sweep (mixed batch, 1 program) | {s_compile:.1f} s | {s_run:.2f} s | "
    f"{s_total:.1f} s | {l_total / s_total:.1f}x faster |"
  )
  print(
    f"\nfinal losses: largest relative difference sweep vs loop {rel.max():.2e} "
    f"(median {np.median(rel):.2e}); {int(np.sum(np.isfinite(s_final)))}/{n} finite, "
    f"{int(stable.sum())}/{n} never above twice their first loss; learning rates used by "
    f"every update: largest relative difference {lr_rel:.2e}"
  )
  return {
    "n": n,
    "steps": steps,
    "structures": structures,
    "sweep_compile_s": s_compile,
    "sweep_run_s": s_run,
    "loop_compile_s": l_compile,
    "loop_run_s": l_run,
    "speedup": l_total / s_total,
    "max_rel_loss_diff": float(rel.max()),
    "max_rel_lr_diff": float(lr_rel),
  }


if __name__ == "__main__":
  main()
