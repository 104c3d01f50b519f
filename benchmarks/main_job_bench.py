"""The main job's program (``jaxsched sweep`` with its defaults) vs the same program with plain
float32 formulas: does jaxsched's mixed batch compile in <= 1.5x the time?

  python benchmarks/main_job_bench.py      # prints a Markdown section for RESULTS.md

The main job trains the built-in MLP (``jaxsched.main_job.make_run(200)``) under the CLI's own batch of
96 settings from 11 families (``jaxsched.main_job.build_grid``), as ``jax.jit(jax.vmap(run))`` over one
mixed batch. Its twin is the same ``run`` vmapped over a small pytree of float32/int32 arrays (a
family index and the hyperparameters, one row per setting) whose schedule is the textbook float32
formula of each family (optax / torch / HF), the setting's family chosen by ``jnp.where`` over the
family index: straight-line, like a mixed batch. Before timing, the twin's lrs are checked against
jaxsched's for every setting over steps 0..199 (rtol 1e-4).

Measured side by side in one process, best of 3 with ``jax.clear_caches()`` before each: compile
(trace + lower + XLA compile) and run (execute until ready) of each program, and the jaxpr line count
of one lr evaluation. Then the main job itself, ``python -m jaxsched sweep``, timed end to end in a
fresh process.
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import tempfile
import time

import jax
import jax.numpy as jnp
import numpy as np
import optax

import jaxsched as js
from jaxsched import main_job
from jaxsched.main_job import DEFAULT_SETTINGS, DEFAULT_STEPS, build_grid

RTOL = 1e-4
GOAL = 1.5
REPEAT = 3
F32 = jnp.float32

# The static choices the formulas below implement; the twin refuses a batch that uses others.
ASSUMED = {
  "staircase": False,
  "cycle": False,
  "anneal": "cos",
  "three_phase": False,
  "warmup_shape": "linear",
  "decay_shape": "linear",
}


def main_job_batch(settings: int = DEFAULT_SETTINGS, steps: int = DEFAULT_STEPS):
  """The CLI's batch, built by the main job's own code (one mixed batch, as ``jaxsched sweep``
  stacks it)."""
  groups = build_grid(settings, steps)
  return js.stack([s for _, schedules in groups for s in schedules])


# --- the plain float32 twin -----------------------------------------------------------------------


def _half_cos(p):
  # ½(1 + cos πp), written as cos²(πp/2): the same number, but 1 + cos πp cancels near p = 1 and
  # would cost float32 ~2e-4 relative at a decay's last steps (jaxsched keeps 1e-7 there).
  return jnp.cos(0.5 * jnp.pi * p) ** 2


def _ramp(t, n):
  """``clip(t / n, 0, 1)`` in float32 (``n`` an int)."""
  return jnp.clip(t.astype(F32) / jnp.maximum(n, 1).astype(F32), 0.0, 1.0)


def _one_cycle(q, t):
  # torch OneCycleLR, two phases, cos anneal: initial -> max at e1 = pct·T − 1, -> low at T − 1.
  peak, total = q["max_value"], q["total_steps"]
  initial = peak / q["div_factor"]
  low = initial / q["final_div_factor"]
  e1 = q["pct_start"] * total.astype(F32) - 1
  e2 = (total - 1).astype(F32)
  tf = jnp.minimum(t, total - 1).astype(F32)
  up = peak + (initial - peak) * _half_cos(tf / e1)
  down = low + (peak - low) * _half_cos((tf - e1) / (e2 - e1))
  return jnp.where(tf <= e1, up, down)


def _warmup_cosine(q, t):
  # optax warmup_cosine_decay_schedule: linear init -> peak over W, then cosine over T − W.
  w, total, peak, end = q["warmup_steps"], q["total_steps"], q["peak_value"], q["end_value"]
  warm = q["init_value"] + (peak - q["init_value"]) * _ramp(t, w)
  cool = end + (peak - end) * _half_cos(_ramp(t - w, total - w)) ** q["exponent"]
  return jnp.where(t < w, warm, cool)


def _wsd(q, t):
  # HF get_wsd_schedule, linear warmup and decay: init -> peak over W, hold S, peak -> end over D.
  w, s, peak, end = q["warmup_steps"], q["stable_steps"], q["peak_value"], q["end_value"]
  warm = q["init_value"] + (peak - q["init_value"]) * _ramp(t, w)
  cool = end + (peak - end) * (1 - _ramp(t - w - s, q["decay_steps"]))
  return jnp.where(t < w, warm, jnp.where(t < w + s, peak, cool))


# family -> f(hyperparameters, t): each the peer's textbook float32 formula (t an int32 count).
FORMULAS = {
  "constant": lambda q, t: jnp.broadcast_to(q["value"], jnp.shape(t)),
  # torch StepLR
  "step": lambda q, t: q["init_value"] * q["gamma"] ** (t // q["step_size"]).astype(F32),
  # optax exponential_decay
  "exponential": lambda q, t: (
    q["init_value"]
    * q["gamma"] ** (jnp.maximum(t - q["begin"], 0).astype(F32) / q["decay_steps"].astype(F32))
  ),
  # Keras InverseTimeDecay
  "inverse_time": lambda q, t: (
    q["init_value"] / (1 + q["decay_rate"] * t.astype(F32) / q["decay_steps"].astype(F32))
  ),
  # HF get_inverse_sqrt_schedule
  "inverse_sqrt": lambda q, t: (
    q["init_value"]
    * jnp.where(
      t < q["warmup_steps"],
      _ramp(t, q["warmup_steps"]),
      1 / jnp.sqrt((t - q["warmup_steps"]).astype(F32) / q["timescale"] + 1),
    )
  ),
  # optax linear_schedule
  "linear": lambda q, t: (
    q["init_value"] + (q["end_value"] - q["init_value"]) * _ramp(t - q["begin"], q["steps"])
  ),
  # optax polynomial_schedule
  "polynomial": lambda q, t: (
    q["end_value"]
    + (q["init_value"] - q["end_value"]) * (1 - _ramp(t - q["begin"], q["steps"])) ** q["power"]
  ),
  # optax cosine_decay_schedule (alpha = end/init)
  "cosine": lambda q, t: (
    q["end_value"]
    + (q["init_value"] - q["end_value"])
    * _half_cos(_ramp(t - q["begin"], q["steps"])) ** q["exponent"]
  ),
  "warmup_cosine": _warmup_cosine,
  "wsd": _wsd,
  "one_cycle": _one_cycle,
}


def twin_of(batch):
  """``(families, params)``: the batch's settings as a dict of arrays with a leading batch axis, a
  ``family`` index into ``families`` and one array per numeric hyperparameter name (int32 for step
  counts, float32 otherwise; 1 where a setting's family has no such field, so no unused branch
  divides by zero)."""
  members = js.unstack(batch)
  families = list(dict.fromkeys(s.family for s in members))
  assert set(families) <= set(FORMULAS), f"no plain formula for {set(families) - set(FORMULAS)}"
  configs = []
  for s in members:
    c = dict(s.to_config())
    c.pop("family")
    for key, want in ASSUMED.items():
      assert c.pop(key, want) == want, f"{s.family}: the twin implements {key}={want!r} only"
    if s.family == "exponential":  # its end_value is a bound the formula leaves out
      assert c.pop("end_value") is None, "exponential: the twin implements end_value=None only"
    configs.append(c)
  keys = list(dict.fromkeys(k for c in configs for k in c))
  params = {"family": np.array([families.index(s.family) for s in members], np.int32)}
  for k in keys:
    values = [c.get(k, 1) for c in configs]
    counts = all(isinstance(v, int) and not isinstance(v, bool) for v in values)
    params[k] = np.array(values, np.int32 if counts else np.float32)
  return families, jax.tree.map(jnp.asarray, params)


def plain(families):
  """``plain(families)(q)(t)``: one setting's lr with plain float32 formulas, every family computed
  and the setting's one selected with ``jnp.where`` (straight-line, like a mixed batch)."""

  def schedule_of(q):
    def schedule(t):
      t = jnp.asarray(t, jnp.int32)
      out = FORMULAS[families[0]](q, t)
      for k, name in enumerate(families[1:], start=1):
        out = jnp.where(q["family"] == k, FORMULAS[name](q, t), out)
      return out.astype(F32)

    return schedule

  return schedule_of


def check_twin(batch, families, params, steps):
  """The twin's lrs against jaxsched's, every setting, steps 0..steps−1: the worst relative diff."""
  t = jnp.arange(steps, dtype=jnp.int32)
  want = np.asarray(js.evaluate(batch, t), np.float64)
  got = np.asarray(jax.vmap(lambda q: plain(families)(q)(t))(params), np.float64)
  rel = np.abs(got - want) / np.maximum(np.abs(want), 1e-30)
  worst = np.unravel_index(np.argmax(rel), rel.shape)
  fam = families[int(params["family"][worst[0]])]
  assert rel.max() <= RTOL, (
    f"twin off by {rel.max():.2e} at setting {worst[0]} ({fam}), t={worst[1]}"
  )
  return float(rel.max()), fam


# --- timing ---------------------------------------------------------------------------------------


def compile_and_run(fn, args):
  """(compile s, run s, outputs): trace + lower + XLA compile from a cleared cache, then one run."""
  jax.clear_caches()  # no cached trace or executable from an earlier repeat
  started = time.perf_counter()
  compiled = jax.jit(jax.vmap(fn)).lower(args).compile()
  compile_s = time.perf_counter() - started
  started = time.perf_counter()
  out = jax.block_until_ready(compiled(args))
  return compile_s, time.perf_counter() - started, out


def jaxpr_lines(fn, args) -> int:
  """Lines of the jaxpr of one vmapped lr evaluation ``fn(setting)(t)`` (t an int32 scalar)."""
  t = jnp.int32(0)
  return len(str(jax.make_jaxpr(jax.vmap(lambda s: fn(s)(t)))(args)).splitlines())


def main_job_wall():
  """The main job as the user runs it, in a fresh process: (wall s, its own summary line)."""
  with tempfile.TemporaryDirectory() as out:
    started = time.perf_counter()
    done = subprocess.run(
      [sys.executable, "-m", "jaxsched", "sweep", "--out", out],
      capture_output=True,
      text=True,
      check=True,
    )
    wall = time.perf_counter() - started
  summary = [line for line in done.stdout.splitlines() if "compiled in" in line]
  return wall, summary[-1].strip() if summary else "(no summary line)"


def main(settings: int = DEFAULT_SETTINGS, steps: int = DEFAULT_STEPS) -> dict:
  """Runs both programs and the CLI, prints a Markdown section, returns the numbers."""
  run = main_job.make_run(steps, seed=0)
  batch = main_job_batch(settings, steps)
  families, params = twin_of(batch)
  twin = plain(families)
  worst, worst_family = check_twin(batch, families, params, steps)

  a = lambda s: run(s)  # jaxsched: the schedule itself is the setting
  b = lambda q: run(twin(q))  # twin: the setting is a row of plain arrays
  times = {"a": [], "b": []}
  for _ in range(REPEAT):  # interleaved, so a noisy moment hits both alike
    for key, fn, args in (("a", a, batch), ("b", b, params)):
      times[key].append(compile_and_run(fn, args))
  ca, ra = (min(x[i] for x in times["a"]) for i in (0, 1))
  cb, rb = (min(x[i] for x in times["b"]) for i in (0, 1))
  out_a, out_b = times["a"][-1][2], times["b"][-1][2]
  lr_a, lr_b = np.asarray(out_a["lr"], np.float64), np.asarray(out_b["lr"], np.float64)
  lr_rel = float(np.max(np.abs(lr_b - lr_a) / np.maximum(np.abs(lr_a), 1e-30)))  # lr 0 at t = 0
  lines_a, lines_b = jaxpr_lines(lambda s: s, batch), jaxpr_lines(twin, params)
  wall, summary = main_job_wall()

  n = len(params["family"])
  dev = jax.devices()[0]
  print(
    "### 10. Main job: `jaxsched sweep` defaults vs the same program with plain float32 formulas\n"
  )
  print(
    f"machine: {platform.machine()}, {len(os.sched_getaffinity(0))} cores, "
    f"{jax.local_device_count()} {dev.platform} device(s); jax {jax.__version__}, "
    f"optax {optax.__version__}\n"
  )
  print(
    f"{n} settings x {steps} steps of {main_job.DESCRIPTION}; families {', '.join(families)}. "
    f"`jax.jit(jax.vmap(run))` over all {n} settings, best of {REPEAT} with "
    f"`jax.clear_caches()` before each; compile = trace + lower + XLA.\n"
  )
  print("| what | compile | run | jaxpr lines of one lr |\n|---|---|---|---|")
  print(
    f"| jaxsched batch ({n} settings, {len(families)} families) | {ca:.2f} s | {ra:.2f} s "
    f"| {lines_a} |"
  )
  print(f"| plain float32 twin | {cb:.2f} s | {rb:.2f} s | {lines_b} |")
  verdict = "meets" if ca / cb <= GOAL else "misses"
  print(
    f"\ncompile ratio jaxsched / plain: {ca / cb:.2f}x (goal <= {GOAL}x: {verdict}); run "
    f"ratio {ra / rb:.2f}x. Twin faithful: worst relative lr difference {worst:.2e} "
    f"({worst_family}) over steps 0..{steps - 1}, {lr_rel:.2e} in the lrs the two programs "
    f"trained with."
  )
  print(
    f"\nthe main job in a fresh process, `python -m jaxsched sweep` end to end: {wall:.1f} s "
    f'wall; its summary: "{summary}"'
  )
  return {
    "compile_s": ca,
    "run_s": ra,
    "plain_compile_s": cb,
    "plain_run_s": rb,
    "compile_ratio": ca / cb,
    "twin_max_rel": worst,
    "lr_max_rel": lr_rel,
    "jaxpr_lines": lines_a,
    "plain_jaxpr_lines": lines_b,
    "cli_wall_s": wall,
  }


if __name__ == "__main__":
  main()
