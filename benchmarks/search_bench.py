"""Search on the digits task: ``js.halving``, ``js.pbt`` and ``js.lr_range_test`` against the full
grid, Optuna 5 and hand-written Python loops, side by side in one run.

  python benchmarks/search_bench.py            # prints a Markdown section for RESULTS.md
  python benchmarks/search_bench.py --quick    # tiny sizes: a smoke run of every section

The task is ``jaxsched.tasks.digits.task(hidden=HIDDEN, batch_size=BATCH)`` (an MLP 64-HIDDEN-10 on
scikit-learn's digits, Adam's direction scaled by the schedule's lr, validation cross-entropy). The
81 settings are three families x 27 peak learning rates log-spaced in [1e-4, 3e-2]: constant,
cosine to max_steps, and wsd (5% warmup, 20% linear decay).

Baselines, as users write them without jaxsched:
- Optuna: the 81 settings enqueued, ``SuccessiveHalvingPruner(min_resource=9, reduction_factor=3)``;
  each trial builds its optax schedule and a jitted update step (one compile per trial), runs the
  steps in a Python loop and reports the validation loss at the rung steps (9, 27, 81, 243, 729).
- PBT loop: every member's interval is a jitted ``lax.fori_loop`` with its schedule closed over (as
  optax schedules are closures: a perturbed lr is a new function, so a new compile); after
  each interval the bottom quarter copies a top member's state and perturbs its lr by 0.8 or 1.25.
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import time

import jax
import jax.numpy as jnp
import numpy as np
import optax

import jaxsched as js
from jaxsched.search.training import rank
from jaxsched.tasks import digits

HIDDEN, BATCH = 128, 128
FULL = dict(
  lrs=27,
  max_steps=729,
  min_steps=9,
  eta=3,
  seeds=10,
  trials=81,
  pbt_n=32,
  pbt_steps=600,
  pbt_interval=50,
  pbt_keys=5,
  range_steps=100,
  range_sweep=32,
  range_sweep_steps=300,
)
QUICK = dict(
  lrs=3,
  max_steps=27,
  min_steps=3,
  eta=3,
  seeds=2,
  trials=9,
  pbt_n=4,
  pbt_steps=40,
  pbt_interval=10,
  pbt_keys=2,
  range_steps=20,
  range_sweep=4,
  range_sweep_steps=20,
)


def settings(n_lrs: int, T: int) -> list[js.Schedule]:
  lrs = np.geomspace(1e-4, 3e-2, n_lrs).tolist()
  w, d = max(1, T // 20), max(1, T // 5)
  return (
    [js.constant(lr) for lr in lrs]
    + [js.cosine(lr, T) for lr in lrs]
    + [js.wsd(lr, w, T - w - d, d) for lr in lrs]
  )


def optax_schedule(s: js.Schedule):
  """The same schedule written with optax (what an Optuna user builds per trial)."""
  c = s.to_config()
  if c["family"] == "constant":
    return optax.constant_schedule(c["value"])
  if c["family"] == "cosine":
    return optax.cosine_decay_schedule(c["init_value"], c["steps"])
  w, st, d, p = c["warmup_steps"], c["stable_steps"], c["decay_steps"], c["peak_value"]
  return optax.join_schedules(
    [
      optax.linear_schedule(0.0, p, w),
      optax.constant_schedule(p),
      optax.linear_schedule(p, 0.0, d),
    ],
    [w, w + st],
  )


def timed(fn):
  t = time.perf_counter()
  out = fn()
  jax.block_until_ready(out) if not isinstance(out, (int, float)) else None
  return out, time.perf_counter() - t


def full_grid(task, batch, T, key):
  def run(s):
    state = task.init(s, key)
    state = jax.lax.fori_loop(0, T, lambda i, st: task.update(st, s, i), state)
    return task.score(state, s)

  return np.asarray(js.sweep(run, batch, progress=False), np.float64)


def optuna_halving(task, members, T, min_steps, eta, key):
  import optuna

  optuna.logging.set_verbosity(optuna.logging.WARNING)
  x_tr, y_tr, x_val, y_val = digits.load()
  xs, ys, xv, yv = map(jnp.asarray, (x_tr, y_tr, x_val, y_val))
  n = len(y_tr)
  rungs = []
  r = min_steps
  while r < T:
    rungs.append(r)
    r *= eta
  rungs.append(T)
  spent = 0

  def objective(trial):
    nonlocal spent
    i = trial.suggest_int("index", 0, len(members) - 1)
    sched = optax_schedule(members[i])
    opt = optax.chain(optax.scale_by_adam(), optax.scale_by_learning_rate(sched, flip_sign=True))
    state = task.init(members[i], key)
    params = state["params"]
    opt_state = opt.init(params)

    def loss(p, x, y):
      h = jnp.tanh(x @ p["w1"] + p["b1"])
      return optax.softmax_cross_entropy_with_integer_labels(h @ p["w2"] + p["b2"], y).mean()

    @jax.jit
    def step(params, opt_state, t):
      index = (t * BATCH + jnp.arange(BATCH)) % n
      g = jax.grad(loss)(params, xs[index], ys[index])
      u, opt_state = opt.update(g, opt_state, params)
      return optax.apply_updates(params, u), opt_state

    val = jax.jit(loss)
    t = 0
    for r in rungs:
      while t < r:
        params, opt_state = step(params, opt_state, t)
        t += 1
        spent += 1
      v = float(val(params, xv, yv))
      trial.report(v, r)
      if trial.should_prune():
        raise optuna.TrialPruned()
    return v

  study = optuna.create_study(
    pruner=optuna.pruners.SuccessiveHalvingPruner(min_resource=min_steps, reduction_factor=eta)
  )
  for i in range(len(members)):
    study.enqueue_trial({"index": i})
  study.optimize(objective, n_trials=len(members))
  best = study.best_trial.params["index"]
  return best, spent


def pbt_loop(task, members, steps, interval, key, seed=0):
  """PBT as a Python loop of per-member jitted interval runs over optax schedules (the members'
  configs, written with optax: a schedule closed over a jitted function)."""
  rng = np.random.default_rng(seed)
  n = len(members)
  lrs = [s.to_config() for s in members]
  states = [task.init(s, key) for s in members]
  cache = {}

  def program(cfg):
    k = repr(sorted(cfg.items()))
    if k not in cache:
      sched = optax_schedule(js.from_config(cfg))  # closed over: a new lr is a new program

      @jax.jit
      def run(state, start):
        return jax.lax.fori_loop(
          0, interval, lambda i, st: task.update(st, sched, start + i), state
        )

      cache[k] = (run, jax.jit(lambda st: task.score(st, sched)))
    return cache[k]

  scores = np.zeros(n)
  for start in range(0, steps, interval):
    for m in range(n):
      run, score = program(lrs[m])
      states[m] = run(states[m], start)
      scores[m] = float(score(states[m]))
    if start + interval >= steps:
      break
    order = np.argsort(scores)
    q = max(1, n // 4)
    for loser, donor in zip(order[-q:], order[:q], strict=True):
      states[loser] = jax.tree.map(lambda x: x, states[donor])
      cfg = dict(lrs[donor])
      field = "value" if cfg["family"] == "constant" else "init_value"
      cfg[field] = cfg[field] * float(rng.choice([0.8, 1.25]))
      lrs[loser] = cfg
  return scores, len(cache)


def main():
  ap = argparse.ArgumentParser()
  ap.add_argument("--quick", action="store_true", help="tiny sizes, a smoke run")
  ap.add_argument("--only", choices=("halving", "seeds", "pbt", "range"), help="one section")
  a = ap.parse_args()
  P = QUICK if a.quick else FULL
  T, r0, eta = P["max_steps"], P["min_steps"], P["eta"]
  task = digits.task(hidden=HIDDEN, batch_size=BATCH)
  members = settings(P["lrs"], T)
  batch = js.stack(members)
  key = jax.random.key(0)
  out = []
  say = out.append
  try:
    cpu = next(
      line.split(":", 1)[1].strip()
      for line in open("/proc/cpuinfo")
      if line.startswith("model name")
    )
  except (OSError, StopIteration):
    cpu = platform.processor() or "unknown"
  say(
    f"Machine: {cpu}, {os.cpu_count()} cores (shared), JAX {jax.__version__} on "
    f"{jax.devices()[0].platform} ({len(jax.devices())} device), optax {optax.__version__}; "
    f"digits.task(hidden={HIDDEN}, batch_size={BATCH}); {'--quick' if a.quick else 'full sizes'}"
  )

  run = lambda section: a.only in (None, section)
  if run("halving"):
    halving_section(task, batch, members, T, r0, eta, key, say)
  if run("seeds"):
    seeds_section(task, batch, T, r0, eta, P, say)
  if run("pbt"):
    pbt_section(task, P, key, say)
  if run("range"):
    range_section(task, P, key, say)
  print("\n".join(out))


def halving_section(task, batch, members, T, r0, eta, key, say):
  grid, grid_s = timed(lambda: full_grid(task, batch, T, key))
  res, halving_s = timed(
    lambda: js.halving(
      task.init,
      task.update,
      task.score,
      batch,
      max_steps=T,
      min_steps=r0,
      eta=eta,
      key=key,
      progress=False,
    )
  )
  order = rank(grid)
  place = int(np.flatnonzero(np.asarray(order) == res.best_index)[0]) + 1
  import optuna

  (opt_best, opt_steps), optuna_s = timed(lambda: optuna_halving(task, members, T, r0, eta, key))
  opt_place = int(np.flatnonzero(np.asarray(order) == opt_best)[0]) + 1
  n = len(members)
  say(f"\n### Successive halving: {n} settings, max_steps {T}, min_steps {r0}, eta {eta}\n")
  say("| what | update steps | wall (compiles included) | vs halving | winner's rank in the grid |")
  say("|---|---|---|---|---|")
  say(
    f"| js.halving | {res.steps:,} | {halving_s:.1f} s ({res.compiles} compile(s)) | 1.0x | {place} of {n} |"
  )
  say(
    f"| js.sweep, full grid to {T} | {n * T:,} | {grid_s:.1f} s | {grid_s / halving_s:.1f}x slower | 1 (by definition) |"
  )
  say(
    f"| Optuna {optuna.__version__} SuccessiveHalvingPruner, jitted optax loop per trial | {opt_steps:,} | {optuna_s:.1f} s | {optuna_s / halving_s:.1f}x slower | {opt_place} of {n} |"
  )
  say(
    f"\nAt equal budget (wall per 1,000 update steps): halving {1000 * halving_s / res.steps:.2f} s, "
    f"Optuna {1000 * optuna_s / opt_steps:.2f} s ({(optuna_s / opt_steps) / (halving_s / res.steps):.1f}x)."
  )


def seeds_section(task, batch, T, r0, eta, P, say):
  hits, places = 0, []
  t0 = time.perf_counter()
  for seed in range(P["seeds"]):
    k = jax.random.key(seed)
    g = full_grid(task, batch, T, k)
    r = js.halving(
      task.init,
      task.update,
      task.score,
      batch,
      max_steps=T,
      min_steps=r0,
      eta=eta,
      key=k,
      progress=False,
    )
    o = np.asarray(rank(g))
    p = int(np.flatnonzero(o == r.best_index)[0]) + 1
    places.append(p)
    hits += p <= 5
  say(
    f"\n### Over {P['seeds']} keys: the halving winner is in the grid's top 5 in {hits} of "
    f"{P['seeds']} (its ranks: {places}; {time.perf_counter() - t0:.0f} s)"
  )


def pbt_section(task, P, key, say):
  pn, ps, pi = P["pbt_n"], P["pbt_steps"], P["pbt_interval"]
  pop = [js.constant(lr) for lr in np.geomspace(1e-4, 3e-2, pn // 2).tolist()] + [
    js.cosine(lr, ps) for lr in np.geomspace(1e-4, 3e-2, pn - pn // 2).tolist()
  ]
  pbatch = js.stack(pop)
  pres, pbt_s = timed(
    lambda: js.pbt(
      task.init, task.update, task.score, pbatch, steps=ps, interval=pi, key=key, progress=False
    )
  )
  (loop_scores, loop_compiles), loop_s = timed(lambda: pbt_loop(task, pop, ps, pi, key))

  def alone(s):
    st = task.init(s, key)
    st = jax.jit(lambda st: jax.lax.fori_loop(0, ps, lambda i, x: task.update(x, s, i), st))(st)
    return float(task.score(st, s))

  replay = alone(pres.best)
  plain, plain_s = timed(lambda: full_grid(task, pbatch, ps, key))
  say(f"\n### PBT: {pn} members (constant and cosine), {ps} steps, interval {pi}\n")
  say("| what | wall (compiles included) | vs js.pbt | best score |")
  say("|---|---|---|---|")
  say(
    f"| js.pbt | {pbt_s:.1f} s ({pres.compiles} compile(s), {pres.compile_s:.1f} s of them) | 1.0x | {pres.best_score:.4f} |"
  )
  say(
    f"| Python loop of per-member jitted optax intervals | {loop_s:.1f} s ({loop_compiles} compiles) | {loop_s / pbt_s:.1f}x slower | {np.min(loop_scores):.4f} |"
  )
  say(
    f"| js.sweep of the starting population, {ps} steps | {plain_s:.1f} s | {plain_s / pbt_s:.2f}x (js.pbt is {pbt_s / plain_s:.2f}x the sweep) | {np.nanmin(plain):.4f} |"
  )
  say(
    f"\nReplay: training `result.best` alone for {ps} steps gives {replay:.6g} against best_score "
    f"{pres.best_score:.6g} (relative error {abs(replay - pres.best_score) / abs(pres.best_score):.1e}). "
    f"PBT's winner vs the plain sweep's best: {pres.best_score:.4f} vs {np.nanmin(plain):.4f}."
  )
  # One key says little of a random search: the winner against the sweep's best over more keys
  # (the key is every member's init key and PBT's draws).
  wins = []
  for seed in range(1, 1 + P["pbt_keys"]):
    k = jax.random.key(seed)
    r = js.pbt(
      task.init, task.update, task.score, pbatch, steps=ps, interval=pi, key=k, progress=False
    )
    wins.append((r.best_score, np.nanmin(full_grid(task, pbatch, ps, k))))
  better = sum(a < b for a, b in wins)
  say(
    f"Over keys 1-{len(wins)}: PBT's winner beat the sweep's best in {better} of {len(wins)} "
    f"(winner / sweep best: {', '.join(f'{a:.4f}/{b:.4f}' for a, b in wins)})."
  )


def range_section(task, P, key, say):
  lr_range_test = getattr(js, "lr_range_test", None)
  if lr_range_test is None:
    say("\n### LR range test: not measured (js.lr_range_test is not in this checkout yet)")
  else:
    rt, rt_s = timed(
      lambda: lr_range_test(
        task.init,
        task.update,
        task.score,
        min_value=1e-5,
        max_value=1.0,
        steps=P["range_steps"],
        key=key,
      )
    )
    lrs = np.geomspace(1e-5, 1.0, P["range_sweep"]).tolist()
    cb = js.stack([js.constant(x) for x in lrs])
    cs, cs_s = timed(lambda: full_grid(task, cb, P["range_sweep_steps"], key))
    best_lr = lrs[int(np.asarray(rank(cs))[0])]
    sug = rt.suggestion
    versus = (
      "no suggestion"
      if sug is None
      else f"ratio {float(sug) / best_lr:.2f}, {abs(math.log10(float(sug) / best_lr)):.2f} decades"
    )
    say(
      f"\n### LR range test ({P['range_steps']} steps, {rt_s:.1f} s): suggestion "
      f"{'none' if sug is None else f'{float(sug):.3g}'}, diverged at {'none' if rt.diverged_at is None else f'{float(rt.diverged_at):.3g}'}; "
      f"best constant lr of a {P['range_sweep']}-setting sweep over [1e-5, 1] to "
      f"{P['range_sweep_steps']} steps ({cs_s:.1f} s): {best_lr:.3g} ({versus})"
    )


if __name__ == "__main__":
  main()
