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

The numeric-core acceptance ratios, side by side in the same run:

5. Compile: trace + lower + compile of a jitted optax.adamw step on a small MLP with the schedule
   closed over, against the same step with optax's equivalent (a plain float32 lambda where optax
   has none), per family; and the jaxpr line count of ``schedule(t)`` against the peer's.
6. Per update inside a jitted lax.scan of 10k updates, the schedule passed as a jit argument,
   against optax's schedule closed over.
7. Tables: 512 settings x 20k steps, steady state, against optax's float32 formula vmapped over its
   hyperparameters (exponential, cosine, linear, wsd).
8. End to end: 64 settings x 10k steps, compile included, against a jit per optax closure.
9. A training sweep across families (``sweep_bench.py``).
10. The main job's program against the same program with plain float32 formulas
    (``main_job_bench.py``).
"""

from __future__ import annotations

import math
import platform
import statistics
import time

import jax
import jax.numpy as jnp
import numpy as np
import optax

import jaxsched as js


def best_of(fn, repeat=7, number=5):
  fn()  # compile / warm up
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
  rows = [
    ("constant lr", const),
    ("optax schedule", best_of(loop(theirs))),
    ("jaxsched schedule", best_of(loop(ours))),
  ]
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
  err = float(
    np.max(
      np.abs(np.asarray(f(ours, t), np.float64) - np.array(lrs)) / np.maximum(np.array(lrs), 1e-30)
    )
  )
  return torch.__version__, torch_sec, ours_sec, err


def bench_sweep(n=512, steps=4096):
  batch = js.grid(
    js.warmup_cosine,
    {
      "peak_value": list(np.geomspace(1e-4, 1e-1, n // 8)),
      "warmup_steps": [0, 16, 64, 128, 256, 512, 1024, 2048],
    },
    total_steps=steps,
    end_value=1e-6,
  )
  t = jnp.arange(steps)
  vmapped = best_of(lambda: js.evaluate(batch, t), repeat=3, number=2)
  singles = js.unstack(batch)
  f = jax.jit(lambda s, t: s(t))
  looped = best_of(lambda: [f(s, t) for s in singles], repeat=3, number=1)
  return n, steps, vmapped, looped


# --- 5-8: the numeric-core acceptance ratios -------------------------------------------------------


def _f32(x):
  return jnp.asarray(x, jnp.float32)


def peer_pairs():
  """(name, jaxsched schedule, peer schedule): optax's equivalent, or a plain float32 lambda."""
  T = 1000
  pi = math.pi

  def lam(f):
    return lambda t: f(jnp.asarray(t, jnp.float32))

  return [
    ("constant", js.constant(0.1), optax.constant_schedule(0.1)),
    ("exponential", js.exponential(0.1, 0.99), optax.exponential_decay(0.1, 1, 0.99)),
    (
      "exponential staircase",
      js.exponential(0.1, 0.9, decay_steps=30, staircase=True),
      optax.exponential_decay(0.1, 30, 0.9, staircase=True),
    ),
    ("step", js.step(0.1, 30, 0.1), lam(lambda t: 0.1 * 0.1 ** jnp.floor(t / 30))),
    (
      "multistep",
      js.multistep(0.1, [300, 600, 900], 0.1),
      optax.piecewise_constant_schedule(0.1, {300: 0.1, 600: 0.1, 900: 0.1}),
    ),
    (
      "piecewise",
      js.piecewise([300, 600], [0.1, 0.01, 0.001]),
      optax.piecewise_constant_schedule(0.1, {300: 0.1, 600: 0.1}),
    ),
    (
      "inverse_time",
      js.inverse_time(0.1, 0.5, decay_steps=10),
      lam(lambda t: 0.1 / (1 + 0.5 * t / 10)),
    ),
    (
      "inverse_sqrt",
      js.inverse_sqrt(0.1, 100.0, warmup_steps=10),
      lam(lambda t: jnp.where(t < 10, 0.1 * t / 10, 0.1 * jnp.sqrt(100 / (t - 10 + 100)))),
    ),
    ("linear", js.linear(0.1, 0.0, T), optax.linear_schedule(0.1, 0.0, T)),
    (
      "polynomial(power=2)",
      js.polynomial(0.1, 0.0, T, power=2.0),
      optax.polynomial_schedule(0.1, 0.0, 2.0, T),
    ),
    ("cosine", js.cosine(0.1, T), optax.cosine_decay_schedule(0.1, T)),
    (
      "cosine(exponent=2)",
      js.cosine(0.1, T, exponent=2.0),
      optax.cosine_decay_schedule(0.1, T, exponent=2.0),
    ),
    (
      "warmup_cosine",
      js.warmup_cosine(0.1, 100, T),
      optax.warmup_cosine_decay_schedule(0.0, 0.1, 100, T),
    ),
    (
      "cosine_restarts",
      js.cosine_restarts(0.1, 100, period_mult=2.0),
      lam(
        lambda t: (
          0.05
          * (
            1
            + jnp.cos(
              pi
              * (t + 100 - 100 * 2 ** jnp.floor(jnp.log2(t / 100 + 1)))
              / (100 * 2 ** jnp.floor(jnp.log2(t / 100 + 1)))
            )
          )
        )
      ),
    ),
    (
      "one_cycle (peer: optax onecycle, another curve)",
      js.one_cycle(0.1, T),
      optax.cosine_onecycle_schedule(T, 0.1),
    ),
    (
      "cyclic",
      js.cyclic(0.01, 0.1, 50),
      lam(
        lambda t: 0.01 + 0.09 * jnp.maximum(0, 1 - jnp.abs(t / 50 - 2 * jnp.floor(1 + t / 100) + 1))
      ),
    ),
    (
      "wsd",
      js.wsd(0.1, 100, 500, 400),
      lam(
        lambda t: jnp.where(
          t < 100, 0.1 * t / 100, jnp.where(t < 600, 0.1, 0.1 * jnp.clip(1 - (t - 600) / 400, 0, 1))
        )
      ),
    ),
    (
      "join",
      js.join([js.linear(0.0, 0.1, 100), js.cosine(0.1, 900)], [100]),
      optax.join_schedules(
        [optax.linear_schedule(0.0, 0.1, 100), optax.cosine_decay_schedule(0.1, 900)], [100]
      ),
    ),
    (
      "warmup(exponential)",
      js.warmup(js.exponential(0.1, 0.99), 100),
      optax.join_schedules(
        [optax.linear_schedule(0.0, 0.1, 100), optax.exponential_decay(0.1, 1, 0.99)], [100]
      ),
    ),
    (
      "clip",
      js.clip(js.inverse_sqrt(0.3, 100.0), min_value=1e-3, max_value=0.1),
      lam(lambda t: jnp.clip(0.3 * jnp.sqrt(100 / (t + 100)), 1e-3, 0.1)),
    ),
    (
      "per_epoch",
      js.per_epoch(js.exponential(0.1, 0.9), 100),
      lam(lambda t: 0.1 * 0.9 ** jnp.floor(t / 100)),
    ),
    (
      "product",
      js.step(0.1, 300, 0.1) * js.exponential(1.0, 0.999),
      lam(lambda t: 0.1 * 0.1 ** jnp.floor(t / 300) * 0.999**t),
    ),
    (
      "scaled",
      js.cosine(0.1, T) * 2.0,
      lam(lambda t: 2 * 0.05 * (1 + jnp.cos(pi * jnp.minimum(t, T) / T))),
    ),
  ]


def _step_compile_seconds(schedule, repeat=3):
  params = {"w1": jnp.zeros((16, 32)), "w2": jnp.zeros((32, 1))}
  opt = optax.adamw(schedule)

  def step(p, s, x, y):
    loss = lambda p: jnp.mean((jnp.tanh(x @ p["w1"]) @ p["w2"] - y) ** 2)
    u, s = opt.update(jax.grad(loss)(p), s, p)
    return optax.apply_updates(p, u), s

  args = (params, opt.init(params), jnp.zeros((8, 16)), jnp.zeros((8, 1)))
  best = math.inf
  for _ in range(repeat):
    jax.clear_caches()
    t0 = time.perf_counter()
    jax.jit(step).lower(*args).compile()
    best = min(best, time.perf_counter() - t0)
  return best


def _jaxpr_lines(f):
  return len(str(jax.make_jaxpr(f)(jnp.int32(7))).splitlines())


def bench_compile():
  rows = []
  for name, ours, theirs in peer_pairs():
    rows.append(
      (
        name,
        _jaxpr_lines(lambda t: ours(t)),
        _jaxpr_lines(theirs),
        _step_compile_seconds(ours),
        _step_compile_seconds(theirs),
      )
    )
  return rows


def bench_per_update(steps=10_000):
  """ns per update in a jitted scan: ours passed as a jit argument, the peer closed over."""

  def ours_loop(sched):
    def run(s):
      def body(w, t):
        return w - s(t) * w, None

      return jax.lax.scan(body, jnp.ones(8), jnp.arange(steps))[0]

    f = jax.jit(run)
    return lambda: f(sched)

  def theirs_loop(sched):
    def body(w, t):
      return w - sched(t) * w, None

    f = jax.jit(lambda: jax.lax.scan(body, jnp.ones(8), jnp.arange(steps))[0])
    return f

  const = best_of(theirs_loop(lambda t: 1e-3), repeat=5, number=3)
  rows = []
  for name, ours, theirs in peer_pairs():
    a = best_of(ours_loop(ours), repeat=5, number=3)
    b = best_of(theirs_loop(theirs), repeat=5, number=3)
    rows.append(
      (name, (a - const) / steps * 1e9, (b - const) / steps * 1e9, a / steps * 1e9, b / steps * 1e9)
    )
  return const / steps * 1e9, rows


def _optax_style_tables(n, steps):
  """(name, jaxsched batch, peer function of t vmapped over its hyperparameter arrays)."""
  rng = np.random.default_rng(0)
  init = rng.uniform(1e-3, 1e-1, n)
  gamma = rng.uniform(0.9990, 0.99999, n)
  ends = init * rng.uniform(0, 0.1, n)
  T = steps
  exp_ = lambda i, g: lambda t: i * g ** t.astype(jnp.float32)
  cos_ = lambda i, e: lambda t: (i - e) * 0.5 * (1 + jnp.cos(jnp.pi * jnp.minimum(t, T) / T)) + e
  lin_ = lambda i, e: lambda t: i + (e - i) * jnp.clip(t / T, 0, 1)
  W, S, D = T // 10, T // 2, T - T // 10 - T // 2
  wsd_ = lambda i, e: (
    lambda t: jnp.where(
      t < W, i * t / W, jnp.where(t < W + S, i, e + (i - e) * jnp.clip(1 - (t - W - S) / D, 0, 1))
    )
  )
  return [
    (
      "exponential",
      js.stack([js.exponential(a, g) for a, g in zip(init, gamma, strict=True)]),
      exp_,
      (init, gamma),
    ),
    (
      "cosine",
      js.stack([js.cosine(a, T, end_value=e) for a, e in zip(init, ends, strict=True)]),
      cos_,
      (init, ends),
    ),
    (
      "linear",
      js.stack([js.linear(a, e, T) for a, e in zip(init, ends, strict=True)]),
      lin_,
      (init, ends),
    ),
    (
      "wsd",
      js.stack([js.wsd(a, W, S, D, end_value=e) for a, e in zip(init, ends, strict=True)]),
      wsd_,
      (init, ends),
    ),
  ]


def bench_tables(n=512, steps=20_000):
  t = jnp.arange(steps, dtype=jnp.int32)
  ours_f = jax.jit(lambda s, t: s(t))
  rows = []
  for name, batch, peer, (a, b) in _optax_style_tables(n, steps):
    theirs_f = jax.jit(jax.vmap(lambda a, b, t: peer(a, b)(t), in_axes=(0, 0, None)))
    a32, b32 = _f32(a), _f32(b)
    ours = best_of(lambda: ours_f(batch, t), repeat=3, number=2)
    theirs = best_of(lambda: theirs_f(a32, b32, t), repeat=3, number=2)
    rows.append((name, ours, theirs))
  return rows


def bench_end_to_end(n=64, steps=10_000):
  t = jnp.arange(steps, dtype=jnp.int32)
  rng = np.random.default_rng(1)
  init, gamma = rng.uniform(1e-3, 1e-1, n), rng.uniform(0.999, 0.99999, n)
  jax.clear_caches()
  t0 = time.perf_counter()
  batch = js.grid(js.exponential, {"init_value": list(init[:8]), "gamma": list(gamma[:8])})
  jax.block_until_ready(js.evaluate(batch, t))
  ours = time.perf_counter() - t0
  jax.clear_caches()
  t0 = time.perf_counter()
  outs = [
    jax.jit(optax.exponential_decay(float(a), 1, float(g)))(t) for a in init[:8] for g in gamma[:8]
  ]
  jax.block_until_ready(outs)
  theirs = time.perf_counter() - t0
  return n, steps, ours, theirs


def print_acceptance():
  print("\n### 5. Compile of a jitted optax.adamw step (schedule closed over), and program size\n")
  print("| family | jaxpr lines jaxsched / peer | step compile jaxsched / peer | ratio |")
  print("|---|---|---|---|")
  ratios = []
  for name, la, lb, ca, cb in bench_compile():
    ratios.append(ca / cb)
    print(f"| {name} | {la} / {lb} | {ca:.3f} s / {cb:.3f} s | {ca / cb:.2f}x |")
  print(
    f"\ncompile ratio: median {statistics.median(ratios):.2f}x, worst {max(ratios):.2f}x "
    f"(goal: median <= 1.2x, each <= 1.5x)"
  )
  const, rows = bench_per_update()
  print(
    "\n### 6. Per update in a jitted lax.scan of 10k updates (jaxsched as a jit argument, peer "
    "closed over)\n"
  )
  print(f"loop with a constant lr: {const:.1f} ns per update (subtracted below)\n")
  print("| family | jaxsched ns | peer ns | ratio (raw ns) |\n|---|---|---|---|")
  worst = 0.0
  for name, a, b, ra, rb in rows:
    worst = max(worst, ra / rb)
    print(f"| {name} | {a:.1f} | {b:.1f} | {ra / rb:.2f}x |")
  print(f"\nworst per-update ratio (raw, loop included): {worst:.2f}x (goal: <= 2x)")
  print(
    "\n### 7. Tables: 512 settings x 20k steps, steady state (peer: optax's float32 formula "
    "vmapped)\n"
  )
  print("| family | jaxsched | optax-style float32 | ratio |\n|---|---|---|---|")
  for name, ours, theirs in bench_tables():
    print(f"| {name} | {ours * 1e3:.1f} ms | {theirs * 1e3:.1f} ms | {ours / theirs:.2f}x |")
  n, steps, ours, theirs = bench_end_to_end()
  print(f"\n### 8. End to end: {n} exponential settings x {steps} steps, compile included\n")
  print("| what | time | ratio |\n|---|---|---|")
  print(f"| a jit per optax closure ({n} compiles) | {theirs:.2f} s | 1 |")
  print(
    f"| `jaxsched.grid` + `jaxsched.evaluate` (one compile) | {ours:.3f} s | "
    f"{theirs / ours:.1f}x faster (goal: >= 20x) |"
  )


def main():
  dev = jax.devices()[0]
  print(
    f"machine: {platform.node()} {platform.machine()}, {jax.local_device_count()} "
    f"{dev.platform} device(s) ({dev.device_kind}), {len(__import__('os').sched_getaffinity(0))} cores"
  )
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
    print("| what | time | ratio |\n|---|---|---|")
    print(
      f"| torch {version} CosineAnnealingLR, 100k x (get_last_lr + step) | {t_sec * 1e3:.1f} ms | 1 |"
    )
    print(
      f"| jaxsched cosine, one jitted call over 100k steps | {o_sec * 1e3:.2f} ms | "
      f"{t_sec / o_sec:.0f}x faster |"
    )
    print(f"\nlargest relative difference between the two sequences: {err:.2e}")
  n, steps, vm, lp = bench_sweep()
  print(f"\n### 4. Sweep: {n} warmup_cosine settings x {steps} steps\n")
  print("| what | time | ratio |\n|---|---|---|")
  print(f"| Python loop of {n} jitted calls | {lp * 1e3:.1f} ms | 1 |")
  print(f"| one vmapped call (`jaxsched.evaluate`) | {vm * 1e3:.1f} ms | {lp / vm:.1f}x faster |")
  print_acceptance()
  print("\n### 9. Training sweep across families: one `jaxsched.sweep` vs a loop of jitted runs\n")
  import sweep_bench  # benchmarks/ is on sys.path when this file runs as a script

  sweep_bench.main()
  print()
  import main_job_bench

  main_job_bench.main()


if __name__ == "__main__":
  main()
