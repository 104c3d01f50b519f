"""Side-by-side benchmarks; every number is a ratio measured in the same run on the same machine.

  python benchmarks/bench.py            # prints a Markdown table; paste it into RESULTS.md

1. Evaluating 2^20 steps at once: jaxsched vs optax vs a plain array fill (the machine's limit for
   writing that many floats).
2. One scalar lr per step inside a jitted step (what a train step pays): jaxsched vs optax vs a
   constant.
3. Stepping a torch scheduler (CosineAnnealingLR, its usual loop: optimizer.step + scheduler.step)
   vs the same lrs from one jaxsched call. Skipped if torch is not installed (it is not a dependency).
4. A sweep of 512 warmup_cosine settings x 4096 steps: one vmapped call vs a Python loop of
   512 jitted calls.
"""
from __future__ import annotations

import platform
import time

import jax
import jax.numpy as jnp
import numpy as np
import optax

import jaxsched as js


def best_of(fn, repeat=7, number=5):
  fn()                                        # compile / warm up
  times = []
  for _ in range(repeat):
    t0 = time.perf_counter()
    for _ in range(number):
      out = fn()
    jax.block_until_ready(out)
    times.append((time.perf_counter() - t0) / number)
  return min(times)


def bench_array_eval(n=2**20):
  t = jnp.arange(n, dtype=jnp.int32)
  ours = js.warmup_cosine(1e-3, 1000, n, end_value=1e-5)
  theirs = optax.warmup_cosine_decay_schedule(0.0, 1e-3, 1000, n, 1e-5)
  f_ours = jax.jit(lambda s, t: s(t))
  f_theirs = jax.jit(theirs)
  f_fill = jax.jit(lambda t: jnp.full(t.shape, 1e-3, jnp.float32) + 0 * t.astype(jnp.float32))
  f_exp = jax.jit(lambda s, t: s(t))
  exp_ours = js.exponential(1.0, 0.999999, decay_steps=3, staircase=True)
  exp_theirs = jax.jit(optax.exponential_decay(1.0, 3, 0.999999, staircase=True))
  fill = best_of(lambda: f_fill(t))
  rows = [
      ("array fill (machine limit)", fill, fill),
      ("optax warmup_cosine_decay_schedule", best_of(lambda: f_theirs(t)), fill),
      ("jaxsched warmup_cosine", best_of(lambda: f_ours(ours, t)), fill),
      ("optax exponential_decay staircase", best_of(lambda: exp_theirs(t)), fill),
      ("jaxsched exponential staircase", best_of(lambda: f_exp(exp_ours, t)), fill),
  ]
  return [(name, sec, sec / base) for name, sec, base in rows]


def bench_in_step(steps=10_000):
  """A scan of `steps` updates of a tiny parameter, lr from each schedule: the per-step overhead."""
  ours = js.warmup_cosine(1e-3, 1000, steps, end_value=1e-5)
  theirs = optax.warmup_cosine_decay_schedule(0.0, 1e-3, 1000, steps, 1e-5)

  def loop(sched):
    def body(w, t):
      return w - sched(t) * w, None
    return jax.jit(lambda: jax.lax.scan(body, jnp.ones(8), jnp.arange(steps))[0])

  const = best_of(loop(lambda t: 1e-3))
  rows = [("constant lr", const), ("optax schedule", best_of(loop(theirs))),
          ("jaxsched schedule", best_of(loop(ours)))]
  return [(name, sec / steps * 1e9, sec / const) for name, sec in rows]


def bench_torch(steps=100_000):
  try:
    import torch
  except ImportError:
    return None
  p = torch.nn.Parameter(torch.zeros(1))
  opt = torch.optim.SGD([p], lr=0.1)
  sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=steps)
  t0 = time.perf_counter()
  lrs = []
  for _ in range(steps):
    lrs.append(sched.get_last_lr()[0])
    sched.step()
  torch_sec = time.perf_counter() - t0
  ours = js.cosine(0.1, steps)
  f = jax.jit(lambda s, t: s(t))
  t = jnp.arange(steps)
  ours_sec = best_of(lambda: f(ours, t), repeat=5, number=3)
  err = float(np.max(np.abs(np.asarray(f(ours, t), np.float64) - np.array(lrs))
                     / np.maximum(np.array(lrs), 1e-30)))
  return torch.__version__, torch_sec, ours_sec, err


def bench_sweep(n=512, steps=4096):
  batch = js.grid(js.warmup_cosine, {"peak_value": list(np.geomspace(1e-4, 1e-1, n // 8)),
                                     "warmup_steps": [0, 16, 64, 128, 256, 512, 1024, 2048]},
                  total_steps=steps, end_value=1e-6)
  t = jnp.arange(steps)
  vmapped = best_of(lambda: js.evaluate(batch, t), repeat=3, number=2)
  singles = js.unstack(batch)
  f = jax.jit(lambda s, t: s(t))
  looped = best_of(lambda: [f(s, t) for s in singles], repeat=3, number=1)
  return n, steps, vmapped, looped


def main():
  dev = jax.devices()[0]
  print(f"machine: {platform.node()} {platform.machine()}, {jax.local_device_count()} "
        f"{dev.platform} device(s) ({dev.device_kind}), {len(__import__('os').sched_getaffinity(0))} cores")
  print(f"jax {jax.__version__}, optax {optax.__version__}, python {platform.python_version()}\n")
  print("### 1. Evaluating 2^20 steps in one call\n")
  print("| what | time | vs array fill |\n|---|---|---|")
  for name, sec, ratio in bench_array_eval():
    print(f"| {name} | {sec * 1e3:.2f} ms | {ratio:.1f}x |")
  print("\n### 2. One lr per update inside a jitted lax.scan of 10k updates\n")
  print("| what | ns per update | vs constant lr |\n|---|---|---|")
  for name, ns, ratio in bench_in_step():
    print(f"| {name} | {ns:.1f} | {ratio:.2f}x |")
  torch_row = bench_torch()
  print("\n### 3. 100k steps of lrs: torch scheduler loop vs one jaxsched call\n")
  if torch_row is None:
    print("torch not installed: skipped")
  else:
    version, t_sec, o_sec, err = torch_row
    print(f"| what | time | ratio |\n|---|---|---|")
    print(f"| torch {version} CosineAnnealingLR, 100k x (get_last_lr + step) | {t_sec * 1e3:.1f} ms | 1 |")
    print(f"| jaxsched cosine, one jitted call over 100k steps | {o_sec * 1e3:.2f} ms | "
          f"{t_sec / o_sec:.0f}x faster |")
    print(f"\nlargest relative difference between the two sequences: {err:.2e}")
  n, steps, vm, lp = bench_sweep()
  print(f"\n### 4. Sweep: {n} warmup_cosine settings x {steps} steps\n")
  print("| what | time | ratio |\n|---|---|---|")
  print(f"| Python loop of {n} jitted calls | {lp * 1e3:.1f} ms | 1 |")
  print(f"| one vmapped call (`jaxsched.evaluate`) | {vm * 1e3:.1f} ms | {lp / vm:.1f}x faster |")


if __name__ == "__main__":
  main()
