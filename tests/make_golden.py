#!/usr/bin/env python
"""Regenerate the golden reference tables under tests/data/ from the peer libraries.

    KERAS_BACKEND=jax python tests/make_golden.py        (from the repository root)

in a throwaway venv (never a dependency of jaxsched):
    pip install torch==2.13.0 jax optax numpy keras transformers   # + timm for golden_timm.json
The checked-in files came from torch 2.13.0+cpu; timm needs torchvision, which does not install
beside that torch, so golden_timm.json came from a second venv (versions in golden_meta.json).

Peers: torch.optim.lr_scheduler, keras.optimizers.schedules (Keras 3, JAX backend, float64),
optax (jax_enable_x64, float64), Hugging Face transformers (get_*_schedule -> torch LambdaLR),
timm (CosineLRScheduler, optional: skipped if it does not import).

Each schedule file is a JSON list of cases
    {"peer": <exact peer call>, "config": <jaxsched to_config() dict>, "steps": [int], "values": [float64]}
where values[i] is the learning rate used by update number steps[i] (step 0 = first update).
The config is the "peer equivalent" mapping of the README's Families and Composition tables, every
parameter written explicitly.

golden_plateau.json holds torch ReduceLROnPlateau traces (see the plateau section below).
golden_meta.json records the peer versions and, per case, the largest deviation between the peer's
values and an independent float64 evaluation of the documented formula for the config (ref() below); the
generator fails if a mapping is wrong (relative deviation > 1e-9).

Torch and HF values come from the real scheduler loop:
    record sched.get_last_lr()[0]; opt.step(); sched.step()
Several torch schedulers (StepLR, ExponentialLR, LinearLR, PolynomialLR, CosineAnnealingLR, MultiStepLR,
ChainedScheduler) use *recursive* (chainable) get_lr forms, so their values carry accumulated rounding
(~1e-15..1e-13 relative) against the closed form; the values are the peer's, unmodified.

Restart schedules (keras CosineDecayRestarts, timm): peer values more than 1e-12 relative away from the
exact-integer-cycle formula -- a floating-point cycle index (log(x)/log(mult) rounding down exactly at a
restart boundary) or the in-cycle phase losing precision at t >= 2**24 -- are left out of the tables and
listed in golden_meta.json under "excluded"; the README ("Numbers you can trust") requires exact integer
cycle arithmetic there.

Keras runs with float64 type promotion re-enabled (see below); no peer formula is modified.
"""

import json
import math
import os
import sys
import warnings

os.environ.setdefault("KERAS_BACKEND", "jax")
warnings.filterwarnings("ignore")

import jax  # noqa: E402
import numpy as np  # noqa: E402

jax.config.update("jax_enable_x64", True)
import jax.numpy as jnp  # noqa: E402
import keras  # noqa: E402
import optax  # noqa: E402
import torch  # noqa: E402
import transformers  # noqa: E402

assert keras.backend.backend() == "jax", "run with KERAS_BACKEND=jax"
keras.config.set_floatx("float64")
# Keras 3 type promotion (keras/src/backend/common/dtypes.py, BIT64_TO_BIT32_DTYPE) maps float64 -> float32 for
# every backend but TensorFlow, so with the JAX backend ops.cos / ops.floor / ops.ceil silently return float32
# even for float64 inputs and floatx='float64'. That would make CosineDecay, CosineDecayRestarts, the staircase
# variants and PolynomialDecay(cycle=True) float32-accurate only. To get float64 goldens of Keras's own formulas
# we disable that demotion for float64 (precision only; no formula changes). keras_eval() asserts float64 out.
from keras.src.backend.common import dtypes as _keras_dtypes  # noqa: E402

_keras_dtypes.BIT64_TO_BIT32_DTYPE["float64"] = "float64"

try:
  import timm
  from timm.scheduler.cosine_lr import CosineLRScheduler

  HAVE_TIMM = True
except Exception as e:  # pragma: no cover
  print("timm unavailable, skipping:", repr(e))
  HAVE_TIMM = False

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "data")

# Sparse far steps added to the closed-form peers (keras, optax, timm): int32 range checks
# (README, "Numbers you can trust").
FAR = [5_000, 10_000, 100_000, 1_000_000, 2**24 - 1, 2**24, 2**24 + 1, 2**24 + 3, 2**30, 2**31 - 1]
REL_TOL = 1e-9
# Restart schedules in keras/timm compute the cycle position in floating point: keras
#   frac = t/first_decay_steps; i = floor(frac) (t_mul == 1) or floor(log(1 - frac*(1 - t_mul)) / log(t_mul));
# timm i = floor(math.log(1 - t/t_initial*(1 - cycle_mul), cycle_mul)). The log quotient can land just below the
# integer at an exact restart boundary (keras: t_mul=2 at t=7*period; log base 3 of 3**5), giving the end of the
# previous cycle instead of the restart value, and for huge t the in-cycle phase loses ~1e-16*t/period absolute
# precision. Such steps are excluded (listed in golden_meta.json); the README (Numbers you can trust) requires
# exact integer cycles.
LOG_CYCLE = (
  "peer computes the cycle index/phase in floating point (floor(t/period), or "
  "floor(log(1 - t/period*(1-mult))/log(mult))): the log quotient can round down at an exact restart "
  "boundary (value = end of previous cycle instead of the restart value) and for large t the in-cycle "
  "phase loses precision; the README (Numbers you can trust) requires exact integer cycle arithmetic"
)
RESTART_TOL = (
  1e-12  # keep only restart-peer values within 1e-12 relative of the exact-cycle formula
)


# ----------------------------------------------------------------------------------------------
# jaxsched config builders (the to_config() form; every parameter explicit, exact parameter names)
# ----------------------------------------------------------------------------------------------
def _f(x):
  return None if x is None else float(x)


def constant(value):
  return {"family": "constant", "value": float(value)}


def exponential(init_value, gamma, decay_steps=1, begin=0, staircase=False, end_value=None):
  return {
    "family": "exponential",
    "init_value": float(init_value),
    "gamma": float(gamma),
    "decay_steps": int(decay_steps),
    "begin": int(begin),
    "staircase": bool(staircase),
    "end_value": _f(end_value),
  }


def step(init_value, step_size, gamma):
  return {
    "family": "step",
    "init_value": float(init_value),
    "step_size": int(step_size),
    "gamma": float(gamma),
  }


def multistep(init_value, milestones, gamma):
  return {
    "family": "multistep",
    "init_value": float(init_value),
    "milestones": [int(m) for m in milestones],
    "gamma": float(gamma),
  }


def piecewise(boundaries, values):
  return {
    "family": "piecewise",
    "boundaries": [int(b) for b in boundaries],
    "values": [float(v) for v in values],
  }


def inverse_time(init_value, decay_rate, decay_steps=1, staircase=False):
  return {
    "family": "inverse_time",
    "init_value": float(init_value),
    "decay_rate": float(decay_rate),
    "decay_steps": int(decay_steps),
    "staircase": bool(staircase),
  }


def inverse_sqrt(init_value, timescale, warmup_steps=0):
  return {
    "family": "inverse_sqrt",
    "init_value": float(init_value),
    "timescale": float(timescale),
    "warmup_steps": int(warmup_steps),
  }


def linear(init_value, end_value, steps, begin=0):
  return {
    "family": "linear",
    "init_value": float(init_value),
    "end_value": float(end_value),
    "steps": int(steps),
    "begin": int(begin),
  }


def polynomial(init_value, end_value, steps, power=1.0, begin=0, cycle=False):
  return {
    "family": "polynomial",
    "init_value": float(init_value),
    "end_value": float(end_value),
    "steps": int(steps),
    "power": float(power),
    "begin": int(begin),
    "cycle": bool(cycle),
  }


def cosine(init_value, steps, end_value=0.0, exponent=1.0, begin=0):
  return {
    "family": "cosine",
    "init_value": float(init_value),
    "steps": int(steps),
    "end_value": float(end_value),
    "exponent": float(exponent),
    "begin": int(begin),
  }


def warmup_cosine(
  peak_value, warmup_steps, total_steps, init_value=0.0, end_value=0.0, exponent=1.0
):
  return {
    "family": "warmup_cosine",
    "peak_value": float(peak_value),
    "warmup_steps": int(warmup_steps),
    "total_steps": int(total_steps),
    "init_value": float(init_value),
    "end_value": float(end_value),
    "exponent": float(exponent),
  }


def cosine_restarts(init_value, period, period_mult=1.0, decay=1.0, end_value=0.0, max_cycles=None):
  return {
    "family": "cosine_restarts",
    "init_value": float(init_value),
    "period": int(period),
    "period_mult": float(period_mult),
    "decay": float(decay),
    "end_value": float(end_value),
    "max_cycles": None if max_cycles is None else int(max_cycles),
  }


def one_cycle(
  max_value,
  total_steps,
  pct_start=0.3,
  div_factor=25.0,
  final_div_factor=1e4,
  anneal="cos",
  three_phase=False,
):
  return {
    "family": "one_cycle",
    "max_value": float(max_value),
    "total_steps": int(total_steps),
    "pct_start": float(pct_start),
    "div_factor": float(div_factor),
    "final_div_factor": float(final_div_factor),
    "anneal": str(anneal),
    "three_phase": bool(three_phase),
  }


def cyclic(base_value, max_value, step_size_up, step_size_down=None, mode="triangular", gamma=1.0):
  return {
    "family": "cyclic",
    "base_value": float(base_value),
    "max_value": float(max_value),
    "step_size_up": int(step_size_up),
    "step_size_down": None if step_size_down is None else int(step_size_down),
    "mode": str(mode),
    "gamma": float(gamma),
  }


def wsd(
  peak_value,
  warmup_steps,
  stable_steps,
  decay_steps,
  init_value=0.0,
  end_value=0.0,
  warmup_shape="linear",
  decay_shape="linear",
):
  return {
    "family": "wsd",
    "peak_value": float(peak_value),
    "warmup_steps": int(warmup_steps),
    "stable_steps": int(stable_steps),
    "decay_steps": int(decay_steps),
    "init_value": float(init_value),
    "end_value": float(end_value),
    "warmup_shape": str(warmup_shape),
    "decay_shape": str(decay_shape),
  }


def join(schedules, boundaries):
  return {
    "family": "join",
    "schedules": list(schedules),
    "boundaries": [int(b) for b in boundaries],
  }


def warmup(schedule, warmup_steps, init_value=0.0, shape="linear"):
  return {
    "family": "warmup",
    "schedule": schedule,
    "warmup_steps": int(warmup_steps),
    "init_value": float(init_value),
    "shape": str(shape),
  }


def product(*schedules):
  return {"family": "product", "schedules": list(schedules)}


def per_epoch(schedule, steps_per_epoch, fractional=False):
  return {
    "family": "per_epoch",
    "schedule": schedule,
    "steps_per_epoch": int(steps_per_epoch),
    "fractional": bool(fractional),
  }


# ----------------------------------------------------------------------------------------------
# Independent float64 evaluation of the documented formulas (a checker for the mappings, not a golden)
# ----------------------------------------------------------------------------------------------
def _restart_cycle(t, period, mult):
  """(i, t_cur, T_i) by exact accumulation (README: cycle i starts at period*(mult^i-1)/(mult-1))."""
  if mult == 1.0:
    i = t // period
    return i, t - i * period, float(period)
  start, length, i = 0.0, float(period), 0
  while t >= start + length:
    start += length
    length *= mult
    i += 1
  return i, t - start, length


def ref(c, t):
  f = c["family"]
  t = max(t, 0)
  if f == "constant":
    return c["value"]
  if f == "exponential":
    p = max(t - c["begin"], 0) / c["decay_steps"]
    if c["staircase"]:
      p = math.floor(p)
    try:
      v = c["init_value"] * c["gamma"] ** p
    except OverflowError:  # gamma > 1, huge p: capped by end_value below
      v = math.inf
    if c["end_value"] is not None:
      v = max(v, c["end_value"]) if c["gamma"] < 1 else min(v, c["end_value"])
    return v
  if f == "step":
    return c["init_value"] * c["gamma"] ** (t // c["step_size"])
  if f == "multistep":
    return c["init_value"] * c["gamma"] ** sum(1 for m in c["milestones"] if m <= t)
  if f == "piecewise":
    return c["values"][sum(1 for b in c["boundaries"] if b <= t)]
  if f == "inverse_time":
    p = t / c["decay_steps"]
    if c["staircase"]:
      p = math.floor(p)
    return c["init_value"] / (1 + c["decay_rate"] * p)
  if f == "inverse_sqrt":
    W = c["warmup_steps"]
    if t < W:
      return c["init_value"] * t / W
    return c["init_value"] * math.sqrt(c["timescale"] / (t - W + c["timescale"]))
  if f == "linear":
    if c["steps"] == 0:
      return c["end_value"] if t >= c["begin"] else c["init_value"]
    p = min(max((t - c["begin"]) / c["steps"], 0.0), 1.0)
    return c["init_value"] + (c["end_value"] - c["init_value"]) * p
  if f == "polynomial":
    d = t - c["begin"]
    horizon = c["steps"]
    if c["cycle"]:
      horizon = c["steps"] * max(1, math.ceil(max(d, 0) / c["steps"]))
    p = min(max(d / horizon, 0.0), 1.0)
    return c["end_value"] + (c["init_value"] - c["end_value"]) * (1 - p) ** c["power"]
  if f == "cosine":
    p = min(max((t - c["begin"]) / c["steps"], 0.0), 1.0)
    return (
      c["end_value"]
      + (c["init_value"] - c["end_value"]) * (0.5 * (1 + math.cos(math.pi * p))) ** c["exponent"]
    )
  if f == "warmup_cosine":
    W, T = c["warmup_steps"], c["total_steps"]
    if t < W:
      return c["init_value"] + (c["peak_value"] - c["init_value"]) * t / W
    p = 1.0 if T - W <= 0 else min((t - W) / (T - W), 1.0)
    return (
      c["end_value"]
      + (c["peak_value"] - c["end_value"]) * (0.5 * (1 + math.cos(math.pi * p))) ** c["exponent"]
    )
  if f == "cosine_restarts":
    i, tc, Ti = _restart_cycle(t, c["period"], c["period_mult"])
    if c["max_cycles"] is not None and i >= c["max_cycles"]:
      return c["end_value"]
    amp = c["init_value"] * c["decay"] ** i
    return c["end_value"] + (amp - c["end_value"]) * 0.5 * (1 + math.cos(math.pi * tc / Ti))
  if f == "one_cycle":  # torch OneCycleLR.get_lr, float phase ends, held after total_steps-1
    T = c["total_steps"]
    t = min(t, T - 1)
    hi = c["max_value"]
    lo = hi / c["div_factor"]
    mn = lo / c["final_div_factor"]
    ps = c["pct_start"]
    if c["three_phase"]:
      phases = [(float(ps * T) - 1, lo, hi), (float(2 * ps * T) - 2, hi, lo), (T - 1, lo, mn)]
    else:
      phases = [(float(ps * T) - 1, lo, hi), (T - 1, hi, mn)]
    start = 0.0
    for k, (end, a, b) in enumerate(phases):
      if t <= end or k == len(phases) - 1:
        pct = (t - start) / (end - start)
        if c["anneal"] == "cos":
          return b + (a - b) / 2.0 * (math.cos(math.pi * pct) + 1)
        return (b - a) * pct + a
      start = end
  if f == "cyclic":  # torch CyclicLR.get_lr
    up = float(c["step_size_up"])
    down = up if c["step_size_down"] is None else float(c["step_size_down"])
    total = up + down
    ratio = up / total
    cyc = math.floor(1 + t / total)
    x = 1.0 + t / total - cyc
    scale = x / ratio if x <= ratio else (x - 1) / (ratio - 1)
    h = (c["max_value"] - c["base_value"]) * scale
    if c["mode"] == "triangular":
      return c["base_value"] + h
    if c["mode"] == "triangular2":
      return c["base_value"] + h * (1 / (2.0 ** (cyc - 1)))
    return c["base_value"] + h * c["gamma"] ** t
  if f == "wsd":
    W, S, D = c["warmup_steps"], c["stable_steps"], c["decay_steps"]
    a, pk, e = c["init_value"], c["peak_value"], c["end_value"]
    if t < W:
      p = t / W
      w = {"linear": p, "cosine": 0.5 * (1 - math.cos(math.pi * p)), "sqrt": 1 - math.sqrt(1 - p)}[
        c["warmup_shape"]
      ]
      return a + (pk - a) * w
    if t < W + S:
      return pk
    if t < W + S + D:
      p = (t - W - S) / D
      g = {"linear": 1 - p, "cosine": 0.5 * (1 + math.cos(math.pi * p)), "sqrt": 1 - math.sqrt(p)}[
        c["decay_shape"]
      ]
      return e + (pk - e) * g
    return e
  if f == "join":
    bs = c["boundaries"]
    k = sum(1 for b in bs if b <= t)
    return ref(c["schedules"][k], t - (bs[k - 1] if k else 0))
  if f == "warmup":
    W = c["warmup_steps"]
    if t < W:
      s0, a, p = ref(c["schedule"], 0), c["init_value"], t / W
      if c["shape"] == "linear":
        return a + (s0 - a) * p
      if c["shape"] == "cosine":
        return a + (s0 - a) * 0.5 * (1 - math.cos(math.pi * p))
      return a * (s0 / a) ** p
    return ref(c["schedule"], t - W)
  if f == "product":
    v = 1.0
    for s in c["schedules"]:
      v *= ref(s, t)
    return v
  if f == "per_epoch":
    e = t / c["steps_per_epoch"] if c["fractional"] else t // c["steps_per_epoch"]
    return ref(c["schedule"], e)
  raise ValueError(f)


# ----------------------------------------------------------------------------------------------
# Case bookkeeping
# ----------------------------------------------------------------------------------------------
META = {"versions": {}, "cases": {}, "excluded": {}}


def dense(n, extra=()):
  return sorted(set(range(n + 1)) | {int(e) for e in extra if e >= 0})


def deviation(cfg, steps, values):
  r = np.array([ref(cfg, t) for t in steps], dtype=np.float64)
  v = np.asarray(values, dtype=np.float64)
  scale = max(np.max(np.abs(r)), 1e-300)
  absd = np.abs(v - r)
  # relative where the value is not tiny compared with the case's scale
  mask = np.abs(r) > 1e-12 * scale
  rel = float(np.max(absd[mask] / np.abs(r[mask]))) if mask.any() else 0.0
  return rel, float(np.max(absd) / scale), r


def make_case(store, peer, cfg, steps, values, exclude_reason=None, exclude_tol=RESTART_TOL):
  """Append a case after checking the peer values against ref(cfg). With exclude_reason, steps where the peer
  disagrees with the documented formula (a documented peer float bug) are dropped and listed in golden_meta.json."""
  steps = [int(s) for s in steps]
  values = [float(v) for v in values]
  assert len(steps) == len(values) and steps == sorted(set(steps))
  if exclude_reason:
    r = [ref(cfg, t) for t in steps]
    bad = {
      i
      for i, (v, rv) in enumerate(zip(values, r, strict=True))
      if not math.isfinite(v) or abs(v - rv) > exclude_tol * max(abs(rv), 1e-12)
    }
    if bad:
      META["excluded"][peer] = {
        "reason": exclude_reason,
        "steps": [
          {
            "step": steps[i],
            "peer_value": values[i] if math.isfinite(values[i]) else repr(values[i]),
            "spec_value": r[i],
          }
          for i in sorted(bad)
        ],
      }
      steps = [s for i, s in enumerate(steps) if i not in bad]
      values = [v for i, v in enumerate(values) if i not in bad]
  assert all(math.isfinite(v) for v in values), peer
  rel, absrel, _ = deviation(cfg, steps, values)
  if rel > REL_TOL or absrel > REL_TOL:
    raise AssertionError(f"mapping mismatch for {peer}: rel={rel:.3g} abs/scale={absrel:.3g}")
  META["cases"][peer] = {
    "max_rel_dev_vs_spec": rel,
    "max_abs_dev_over_scale": absrel,
    "n": len(steps),
  }
  store.append({"peer": peer, "config": cfg, "steps": steps, "values": values})


def dump(name, cases):
  path = os.path.join(DATA, name)
  parts = []
  for c in cases:
    items = [json.dumps(k) + ": " + json.dumps(v, separators=(",", ":")) for k, v in c.items()]
    parts.append("{" + ",\n ".join(items) + "}")
  text = "[\n" + ",\n".join(parts) + "\n]\n"
  json.loads(text)  # sanity
  with open(path, "w") as fh:
    fh.write(text)
  print(f"wrote {name}: {len(cases)} cases, {len(text) / 1e6:.2f} MB")


# ----------------------------------------------------------------------------------------------
# torch
# ----------------------------------------------------------------------------------------------
def torch_run(make, base, n, momentum=0.0, steps_per_epoch=None):
  """lr used by updates t = 0..n: record get_last_lr(); opt.step(); sched.step()."""
  p = torch.nn.Parameter(torch.zeros(1))
  opt = torch.optim.SGD([p], lr=base, momentum=momentum)
  sched = make(opt)
  out = []
  for t in range(n + 1):
    out.append(float(sched.get_last_lr()[0]))
    opt.step()
    if steps_per_epoch is None or (t + 1) % steps_per_epoch == 0:
      sched.step()
  return list(range(n + 1)), out


def gen_torch():
  L = torch.optim.lr_scheduler
  cases = []

  def add(peer, cfg, make, base, n, **kw):
    s, v = torch_run(make, base, n, **kw)
    make_case(cases, peer, cfg, s, v)

  for ss, g, base, n in [(30, 0.1, 0.1, 200), (7, 0.5, 0.05, 100)]:
    add(
      f"torch.optim.lr_scheduler.StepLR(step_size={ss}, gamma={g}), base lr {base}",
      step(base, ss, g),
      lambda o, ss=ss, g=g: L.StepLR(o, step_size=ss, gamma=g),
      base,
      n,
    )
  add(
    "torch.optim.lr_scheduler.ExponentialLR(gamma=0.99), base lr 0.1",
    exponential(0.1, 0.99),
    lambda o: L.ExponentialLR(o, gamma=0.99),
    0.1,
    1000,
  )
  add(
    "torch.optim.lr_scheduler.ExponentialLR(gamma=0.9), base lr 1.0",
    exponential(1.0, 0.9),
    lambda o: L.ExponentialLR(o, gamma=0.9),
    1.0,
    300,
  )
  for ms, g, base in [([30, 80, 80], 0.1, 0.1), ([10, 25, 60], 0.5, 0.02)]:
    add(
      f"torch.optim.lr_scheduler.MultiStepLR(milestones={ms}, gamma={g}), base lr {base}",
      multistep(base, ms, g),
      lambda o, ms=ms, g=g: L.MultiStepLR(o, milestones=ms, gamma=g),
      base,
      150,
    )
  for a, b, n, base in [(0.1, 1.0, 50, 0.1), (1.0, 0.2, 100, 0.05), (1.0 / 3, 1.0, 5, 0.1)]:
    add(
      f"torch.optim.lr_scheduler.LinearLR(start_factor={a!r}, end_factor={b}, total_iters={n}), base lr {base}",
      linear(base * a, base * b, n),
      lambda o, a=a, b=b, n=n: L.LinearLR(o, start_factor=a, end_factor=b, total_iters=n),
      base,
      2 * n + 20,
    )
  for pw in (1.0, 2.0):
    add(
      f"torch.optim.lr_scheduler.PolynomialLR(total_iters=100, power={pw}), base lr 0.1",
      polynomial(0.1, 0.0, 100, pw),
      lambda o, pw=pw: L.PolynomialLR(o, total_iters=100, power=pw),
      0.1,
      150,
    )
  for T, em in [(100, 0.0), (250, 0.001)]:
    # steps 0..T_max only: torch's recursion keeps going (back up) after T_max, jaxsched holds end
    add(
      f"torch.optim.lr_scheduler.CosineAnnealingLR(T_max={T}, eta_min={em}), base lr 0.1",
      cosine(0.1, T, end_value=em),
      lambda o, T=T, em=em: L.CosineAnnealingLR(o, T_max=T, eta_min=em),
      0.1,
      T,
    )
  for T0, Tm, em, n in [(10, 1, 0.001, 60), (10, 2, 0.001, 320), (7, 3, 0.0005, 400)]:
    add(
      f"torch.optim.lr_scheduler.CosineAnnealingWarmRestarts(T_0={T0}, T_mult={Tm}, eta_min={em}), base lr 0.1",
      cosine_restarts(0.1, T0, period_mult=float(Tm), decay=1.0, end_value=em, max_cycles=None),
      lambda o, T0=T0, Tm=Tm, em=em: L.CosineAnnealingWarmRestarts(
        o, T_0=T0, T_mult=Tm, eta_min=em
      ),
      0.1,
      n,
    )
  for T, ps, an, tp in [
    (100, 0.3, "cos", False),
    (100, 0.3, "linear", False),
    (100, 0.3, "cos", True),
    (100, 0.3, "linear", True),
    (1000, 0.25, "cos", False),
    (1000, 0.25, "linear", False),
    (1000, 0.25, "cos", True),
    (1000, 0.25, "linear", True),
  ]:
    mx, df, fdf = 0.1, 25.0, 1e4
    add(
      f"torch.optim.lr_scheduler.OneCycleLR(max_lr={mx}, total_steps={T}, pct_start={ps}, anneal_strategy='{an}', "
      f"div_factor={df}, final_div_factor={fdf}, three_phase={tp}, cycle_momentum=False)",
      one_cycle(
        mx, T, pct_start=ps, div_factor=df, final_div_factor=fdf, anneal=an, three_phase=tp
      ),
      lambda o, T=T, ps=ps, an=an, tp=tp: L.OneCycleLR(
        o,
        max_lr=mx,
        total_steps=T,
        pct_start=ps,
        anneal_strategy=an,
        div_factor=df,
        final_div_factor=fdf,
        three_phase=tp,
        cycle_momentum=False,
      ),
      0.1,
      T - 1,
    )  # steps 0..T-1 only: torch raises past total_steps
  mx2, df2, fdf2 = 0.01, 10.0, 100.0
  add(
    f"torch.optim.lr_scheduler.OneCycleLR(max_lr={mx2}, total_steps=37, pct_start=0.4, anneal_strategy='cos', "
    f"div_factor={df2}, final_div_factor={fdf2}, three_phase=True, cycle_momentum=False)",
    one_cycle(
      mx2, 37, pct_start=0.4, div_factor=df2, final_div_factor=fdf2, anneal="cos", three_phase=True
    ),
    lambda o: L.OneCycleLR(
      o,
      max_lr=mx2,
      total_steps=37,
      pct_start=0.4,
      div_factor=df2,
      final_div_factor=fdf2,
      three_phase=True,
      cycle_momentum=False,
    ),
    0.01,
    36,
  )
  for mode, g in [("triangular", 1.0), ("triangular2", 1.0), ("exp_range", 0.99)]:
    for up, down in [(20, None), (20, 30), (7, 3)]:
      n = 4 * (up + (down or up)) + 5
      gs = f", gamma={g}" if mode == "exp_range" else ""
      add(
        f"torch.optim.lr_scheduler.CyclicLR(base_lr=0.001, max_lr=0.006, step_size_up={up}, "
        f"step_size_down={down}, mode='{mode}'{gs}, cycle_momentum=False)",
        cyclic(0.001, 0.006, up, step_size_down=down, mode=mode, gamma=g),
        lambda o, up=up, down=down, mode=mode, g=g: L.CyclicLR(
          o,
          base_lr=0.001,
          max_lr=0.006,
          step_size_up=up,
          step_size_down=down,
          mode=mode,
          gamma=g,
          cycle_momentum=False,
        ),
        0.1,
        n,
      )

  def chained(o):
    return L.ChainedScheduler(
      [L.StepLR(o, step_size=30, gamma=0.1), L.ExponentialLR(o, gamma=0.99)]
    )

  add(
    "torch.optim.lr_scheduler.ChainedScheduler([StepLR(step_size=30, gamma=0.1), ExponentialLR(gamma=0.99)]), base lr 0.1",
    product(step(0.1, 30, 0.1), exponential(1.0, 0.99)),
    chained,
    0.1,
    200,
  )

  # per-epoch stepping: scheduler.step() once every steps_per_epoch updates
  add(
    "torch.optim.lr_scheduler.StepLR(step_size=3, gamma=0.5), base lr 0.1, sched.step() every 5 updates",
    per_epoch(step(0.1, 3, 0.5), 5),
    lambda o: L.StepLR(o, step_size=3, gamma=0.5),
    0.1,
    80,
    steps_per_epoch=5,
  )
  add(
    "torch.optim.lr_scheduler.CosineAnnealingLR(T_max=20, eta_min=0.0), base lr 0.1, sched.step() every 4 updates",
    per_epoch(cosine(0.1, 20), 4),
    lambda o: L.CosineAnnealingLR(o, T_max=20),
    0.1,
    83,
    steps_per_epoch=4,
  )
  return cases


# ----------------------------------------------------------------------------------------------
# keras (Keras 3, JAX backend, float64)
# ----------------------------------------------------------------------------------------------
def keras_eval(sched, steps, scalar=False):
  if scalar:  # CosineDecay with warmup uses ops.cond (scalar predicate): vmap it (cond -> select)
    out = jax.vmap(sched)(jnp.asarray(np.asarray(steps, dtype=np.float64)))
    assert out.dtype == np.float64, out.dtype
    return [float(x) for x in np.asarray(out)]
  out = sched(np.asarray(steps, dtype=np.float64))
  assert out.dtype == np.float64, out.dtype
  return [float(x) for x in np.asarray(out)]


def gen_keras():
  K = keras.optimizers.schedules
  cases = []

  def add(peer, cfg, sched, n, extra=(), exclude_reason=None, scalar=False):
    s = dense(n, list(extra) + FAR)
    make_case(cases, peer, cfg, s, keras_eval(sched, s, scalar), exclude_reason=exclude_reason)

  for sc in (False, True):
    add(
      f"keras.optimizers.schedules.ExponentialDecay(initial_learning_rate=0.1, decay_steps=100, decay_rate=0.96, staircase={sc})",
      exponential(0.1, 0.96, decay_steps=100, staircase=sc),
      K.ExponentialDecay(0.1, 100, 0.96, staircase=sc),
      1000,
    )
  for sc in (False, True):
    add(
      f"keras.optimizers.schedules.InverseTimeDecay(initial_learning_rate=0.1, decay_steps=50, decay_rate=0.5, staircase={sc})",
      inverse_time(0.1, 0.5, decay_steps=50, staircase=sc),
      K.InverseTimeDecay(0.1, 50, 0.5, staircase=sc),
      600,
    )
  bnd, vals = [100, 250], [0.1, 0.05, 0.01]
  add(
    f"keras.optimizers.schedules.PiecewiseConstantDecay(boundaries={bnd}, values={vals})",
    piecewise([b + 1 for b in bnd], vals),
    K.PiecewiseConstantDecay(bnd, vals),
    400,
  )
  bnd, vals = [0, 10, 11], [1.0, 0.5, 0.25, 0.125]
  add(
    f"keras.optimizers.schedules.PiecewiseConstantDecay(boundaries={bnd}, values={vals})",
    piecewise([b + 1 for b in bnd], vals),
    K.PiecewiseConstantDecay(bnd, vals),
    30,
  )
  for pw in (1.0, 0.5):
    for cy in (False, True):
      add(
        f"keras.optimizers.schedules.PolynomialDecay(initial_learning_rate=0.1, decay_steps=200, "
        f"end_learning_rate=0.001, power={pw}, cycle={cy})",
        polynomial(0.1, 0.001, 200, power=pw, cycle=cy),
        K.PolynomialDecay(0.1, 200, 0.001, power=pw, cycle=cy),
        1000,
      )
  for al in (0.0, 0.1):
    add(
      f"keras.optimizers.schedules.CosineDecay(initial_learning_rate=0.1, decay_steps=300, alpha={al})",
      cosine(0.1, 300, end_value=al * 0.1),
      K.CosineDecay(0.1, 300, alpha=al),
      500,
    )
  # CosineDecay with warmup: linear initial_learning_rate -> warmup_target over warmup_steps, then cosine from
  # warmup_target over decay_steps *after* the warmup, floor alpha * warmup_target (alpha scales the target).
  for init, tgt, W, D, al in [
    (0.0, 0.1, 50, 200, 0.1),
    (0.01, 0.1, 30, 300, 0.0),
    (0.0, 0.2, 1, 100, 0.05),
  ]:
    add(
      f"keras.optimizers.schedules.CosineDecay(initial_learning_rate={init}, decay_steps={D}, alpha={al}, "
      f"warmup_target={tgt}, warmup_steps={W})",
      warmup_cosine(tgt, W, W + D, init_value=init, end_value=al * tgt, exponent=1.0),
      K.CosineDecay(init, D, alpha=al, warmup_target=tgt, warmup_steps=W),
      W + D + 100,
      scalar=True,
    )
  for tm, fd, n in [(1.0, 20, 200), (2.0, 20, 700), (3.0, 5, 1500)]:
    add(
      f"keras.optimizers.schedules.CosineDecayRestarts(initial_learning_rate=0.1, first_decay_steps={fd}, "
      f"t_mul={tm}, m_mul=1.0, alpha=0.05)",
      cosine_restarts(0.1, fd, period_mult=tm, decay=1.0, end_value=0.05 * 0.1, max_cycles=None),
      K.CosineDecayRestarts(0.1, fd, t_mul=tm, m_mul=1.0, alpha=0.05),
      n,
      exclude_reason=LOG_CYCLE,
    )
  return cases


# ----------------------------------------------------------------------------------------------
# optax (float64)
# ----------------------------------------------------------------------------------------------
def optax_eval(sched, steps):
  out = jnp.asarray(sched(jnp.asarray(np.asarray(steps, dtype=np.float64))))
  if out.ndim == 0:  # constant_schedule returns the Python value
    out = jnp.full((len(steps),), out, dtype=jnp.float64)
  assert out.dtype == jnp.float64, out.dtype
  return [float(x) for x in np.asarray(out)]


def gen_optax():
  O = optax
  cases = []

  def add(peer, cfg, sched, n, extra=()):
    s = dense(n, list(extra) + FAR)
    make_case(cases, "optax." + peer, cfg, s, optax_eval(sched, s))

  for sc in (False, True):
    add(
      f"exponential_decay(init_value=0.1, transition_steps=50, decay_rate=0.9, transition_begin=100, staircase={sc}, end_value=0.01)",
      exponential(0.1, 0.9, decay_steps=50, begin=100, staircase=sc, end_value=0.01),
      O.exponential_decay(0.1, 50, 0.9, transition_begin=100, staircase=sc, end_value=0.01),
      1500,
    )
    add(
      f"exponential_decay(init_value=0.1, transition_steps=7, decay_rate=0.95, transition_begin=10, staircase={sc})",
      exponential(0.1, 0.95, decay_steps=7, begin=10, staircase=sc),
      O.exponential_decay(0.1, 7, 0.95, transition_begin=10, staircase=sc),
      600,
    )
  add(
    "exponential_decay(init_value=0.001, transition_steps=10, decay_rate=1.5, transition_begin=20, end_value=0.05)",
    exponential(0.001, 1.5, decay_steps=10, begin=20, end_value=0.05),
    O.exponential_decay(0.001, 10, 1.5, transition_begin=20, end_value=0.05),
    200,
  )
  add(
    "exponential_decay(init_value=0.001, transition_steps=10, decay_rate=1.5, transition_begin=20, staircase=True, end_value=0.05)",
    exponential(0.001, 1.5, decay_steps=10, begin=20, staircase=True, end_value=0.05),
    O.exponential_decay(0.001, 10, 1.5, transition_begin=20, staircase=True, end_value=0.05),
    200,
  )
  add(
    "polynomial_schedule(init_value=0.1, end_value=0.001, power=2.0, transition_steps=300, transition_begin=50)",
    polynomial(0.1, 0.001, 300, power=2.0, begin=50),
    O.polynomial_schedule(0.1, 0.001, 2.0, 300, 50),
    500,
  )
  add(
    "polynomial_schedule(init_value=0.05, end_value=0.0, power=0.5, transition_steps=100, transition_begin=0)",
    polynomial(0.05, 0.0, 100, power=0.5),
    O.polynomial_schedule(0.05, 0.0, 0.5, 100, 0),
    200,
  )
  add(
    "linear_schedule(init_value=0.0, end_value=0.1, transition_steps=100, transition_begin=20)",
    linear(0.0, 0.1, 100, begin=20),
    O.linear_schedule(0.0, 0.1, 100, 20),
    200,
  )
  add(
    "linear_schedule(init_value=0.1, end_value=0.001, transition_steps=300, transition_begin=0)",
    linear(0.1, 0.001, 300),
    O.linear_schedule(0.1, 0.001, 300),
    400,
  )
  add(
    "cosine_decay_schedule(init_value=0.1, decay_steps=500, alpha=0.1, exponent=2.0)",
    cosine(0.1, 500, end_value=0.1 * 0.1, exponent=2.0),
    O.cosine_decay_schedule(0.1, 500, alpha=0.1, exponent=2.0),
    700,
  )
  add(
    "cosine_decay_schedule(init_value=0.1, decay_steps=500, alpha=0.0, exponent=1.0)",
    cosine(0.1, 500),
    O.cosine_decay_schedule(0.1, 500),
    700,
  )
  add(
    "warmup_cosine_decay_schedule(init_value=0.0, peak_value=0.1, warmup_steps=50, decay_steps=500, end_value=0.001)",
    warmup_cosine(0.1, 50, 500, init_value=0.0, end_value=0.001),
    O.warmup_cosine_decay_schedule(0.0, 0.1, 50, 500, end_value=0.001),
    700,
  )
  add(
    "warmup_cosine_decay_schedule(init_value=0.01, peak_value=0.1, warmup_steps=100, decay_steps=1000, end_value=0.0, exponent=2.0)",
    warmup_cosine(0.1, 100, 1000, init_value=0.01, end_value=0.0, exponent=2.0),
    O.warmup_cosine_decay_schedule(0.01, 0.1, 100, 1000, end_value=0.0, exponent=2.0),
    1200,
  )
  bs = {100: 0.5, 300: 0.1, 600: 0.2}
  v = [0.1]
  for b in sorted(bs):
    v.append(v[-1] * bs[b])
  add(
    f"piecewise_constant_schedule(init_value=0.1, boundaries_and_scales={bs})",
    piecewise(sorted(bs), v),
    O.piecewise_constant_schedule(0.1, bs),
    800,
  )
  add(
    "join_schedules([linear_schedule(0.0, 0.1, 100), cosine_decay_schedule(0.1, 400, alpha=0.01)], boundaries=[100])",
    join([linear(0.0, 0.1, 100), cosine(0.1, 400, end_value=0.01 * 0.1)], [100]),
    O.join_schedules(
      [O.linear_schedule(0.0, 0.1, 100), O.cosine_decay_schedule(0.1, 400, alpha=0.01)], [100]
    ),
    700,
  )
  add(
    "join_schedules([constant_schedule(0.05), exponential_decay(0.05, 10, 0.9, staircase=True), "
    "polynomial_schedule(0.01, 0.0, 1.0, 200)], boundaries=[50, 150])",
    join(
      [
        constant(0.05),
        exponential(0.05, 0.9, decay_steps=10, staircase=True),
        polynomial(0.01, 0.0, 200, power=1.0),
      ],
      [50, 150],
    ),
    O.join_schedules(
      [
        O.constant_schedule(0.05),
        O.exponential_decay(0.05, 10, 0.9, staircase=True),
        O.polynomial_schedule(0.01, 0.0, 1.0, 200),
      ],
      [50, 150],
    ),
    450,
  )
  add("constant_schedule(0.05)", constant(0.05), O.constant_schedule(0.05), 10)
  return cases


# ----------------------------------------------------------------------------------------------
# Hugging Face transformers (LambdaLR on a torch optimizer; same loop as torch)
# ----------------------------------------------------------------------------------------------
def gen_hf():
  T = transformers
  cases = []

  def add(peer, cfg, make, base, n):
    s, v = torch_run(make, base, n)
    make_case(cases, "transformers." + peer + f", base lr {base}", cfg, s, v)

  for W, ts, base in [(0, 100, 0.01), (50, 50, 0.01), (100, 500, 0.003)]:
    add(
      f"get_inverse_sqrt_schedule(optimizer, num_warmup_steps={W}, timescale={ts})",
      inverse_sqrt(base, ts, warmup_steps=W),
      lambda o, W=W, ts=ts: T.get_inverse_sqrt_schedule(o, num_warmup_steps=W, timescale=ts),
      base,
      1000,
    )
  hfname = {"linear": "linear", "cosine": "cosine", "sqrt": "1-sqrt"}
  for ws in ("linear", "cosine", "sqrt"):
    for ds in ("linear", "cosine", "sqrt"):
      for m in (0.0, 0.1):
        W, S, D, base = 20, 50, 30, 0.1
        add(
          f"get_wsd_schedule(optimizer, num_warmup_steps={W}, num_decay_steps={D}, num_stable_steps={S}, "
          f"warmup_type='{hfname[ws]}', decay_type='{hfname[ds]}', min_lr_ratio={m})",
          wsd(
            base, W, S, D, init_value=m * base, end_value=m * base, warmup_shape=ws, decay_shape=ds
          ),
          lambda o, ws=ws, ds=ds, m=m: T.get_wsd_schedule(
            o,
            num_warmup_steps=W,
            num_decay_steps=D,
            num_stable_steps=S,
            warmup_type=hfname[ws],
            decay_type=hfname[ds],
            min_lr_ratio=m,
          ),
          base,
          W + S + D + 20,
        )
  # num_training_steps form: num_stable_steps = num_training_steps - W - D
  add(
    "get_wsd_schedule(optimizer, num_warmup_steps=100, num_decay_steps=200, num_training_steps=1000, "
    "min_lr_ratio=0.05)  # default warmup_type='linear', decay_type='cosine', num_cycles=0.5",
    wsd(
      0.001,
      100,
      700,
      200,
      init_value=0.05 * 0.001,
      end_value=0.05 * 0.001,
      warmup_shape="linear",
      decay_shape="cosine",
    ),
    lambda o: T.get_wsd_schedule(
      o, num_warmup_steps=100, num_decay_steps=200, num_training_steps=1000, min_lr_ratio=0.05
    ),
    0.001,
    1100,
  )
  for W, Tt, mr in [(20, 200, 0.1), (0, 150, 0.25)]:
    # steps 0..T only: after num_training_steps HF's cosine rises again, jaxsched holds end
    add(
      f"get_cosine_with_min_lr_schedule_with_warmup(optimizer, num_warmup_steps={W}, num_training_steps={Tt}, "
      f"min_lr_rate={mr})",
      warmup_cosine(0.1, W, Tt, init_value=0.0, end_value=mr * 0.1, exponent=1.0),
      lambda o, W=W, Tt=Tt, mr=mr: T.get_cosine_with_min_lr_schedule_with_warmup(
        o, num_warmup_steps=W, num_training_steps=Tt, min_lr_rate=mr
      ),
      0.1,
      Tt,
    )
  for W, Tt in [(20, 200), (100, 1000)]:
    add(
      f"get_linear_schedule_with_warmup(optimizer, num_warmup_steps={W}, num_training_steps={Tt})",
      warmup(linear(0.1, 0.0, Tt - W), W, init_value=0.0, shape="linear"),
      lambda o, W=W, Tt=Tt: T.get_linear_schedule_with_warmup(o, W, Tt),
      0.1,
      Tt + 50,
    )
  for W, Tt in [(20, 200), (100, 1000)]:
    add(
      f"get_cosine_schedule_with_warmup(optimizer, num_warmup_steps={W}, num_training_steps={Tt}, num_cycles=0.5)",
      warmup_cosine(0.1, W, Tt, init_value=0.0, end_value=0.0, exponent=1.0),
      lambda o, W=W, Tt=Tt: T.get_cosine_schedule_with_warmup(o, W, Tt, num_cycles=0.5),
      0.1,
      Tt,
    )
  add(
    "get_constant_schedule_with_warmup(optimizer, num_warmup_steps=30)",
    warmup(constant(0.1), 30, init_value=0.0, shape="linear"),
    lambda o: T.get_constant_schedule_with_warmup(o, num_warmup_steps=30),
    0.1,
    100,
  )
  return cases


# ----------------------------------------------------------------------------------------------
# timm (optional)
# ----------------------------------------------------------------------------------------------
def gen_timm():
  cases = []
  for mul, n, t0, lim in [
    (1.0, 100, 20, 3),
    (2.0, 200, 20, 3),
    (1.0, 60, 7, 3),
    (2.0, 120, 5, 3),
    (3.0, 2000, 5, 10),
  ]:
    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([p], lr=0.1)
    sched = CosineLRScheduler(
      opt,
      t_initial=t0,
      lr_min=0.001,
      cycle_mul=mul,
      cycle_decay=0.5,
      cycle_limit=lim,
      warmup_t=0,
      t_in_epochs=False,
    )
    s = dense(n, FAR)
    make_case(
      cases,
      f"timm.scheduler.cosine_lr.CosineLRScheduler(t_initial={t0}, lr_min=0.001, cycle_mul={mul}, "
      f"cycle_decay=0.5, cycle_limit={lim}, warmup_t=0, t_in_epochs=False), base lr 0.1, sched._get_lr(t)",
      cosine_restarts(0.1, t0, period_mult=mul, decay=0.5, end_value=0.001, max_cycles=lim),
      s,
      [float(sched._get_lr(t)[0]) for t in s],
      exclude_reason=LOG_CYCLE,
    )
  return cases


# ----------------------------------------------------------------------------------------------
# torch ReduceLROnPlateau
# ----------------------------------------------------------------------------------------------
# torch ReduceLROnPlateau (installed torch; read from its source):
#   state: best (init: +inf for mode='min', -inf for 'max'), num_bad_epochs=0, cooldown_counter=0.
#   step(metric):
#     current = float(metric)
#     if is_better(current, best): best = current; num_bad_epochs = 0   else: num_bad_epochs += 1
#     if cooldown_counter > 0: cooldown_counter -= 1; num_bad_epochs = 0    # bad epochs ignored in cooldown
#     if num_bad_epochs > patience:                                        # strictly greater
#         for each group: old = lr; new = max(old * factor, min_lr)
#                         if old - new > eps: lr = new                      # eps = 1e-8 (absolute, lr units)
#         cooldown_counter = cooldown; num_bad_epochs = 0                   # reset even if eps blocked it
#   is_better(a, best):
#     mode='min', 'rel':  a < best * (1 - threshold)
#     mode='min', 'abs':  a < best - threshold
#     mode='max', 'rel':  a > best * (1 + threshold)
#     mode='max', 'abs':  a > best + threshold
#   Negative metrics: 'rel' multiplies best by (1 -/+ threshold) with no abs(): for best < 0 in mode='min',
#   best*(1-threshold) is ABOVE best, so a slightly *worse* value (best < a < best*(1-threshold)) counts as an
#   improvement and becomes the new best; for best < 0 in mode='max', best*(1+threshold) is BELOW best, so a
#   slightly worse value (best*(1+threshold) < a < best) counts as an improvement. With best == 0, 'rel' needs a
#   strict sign change (a < 0 for min, a > 0 for max). 'abs' mode is sign-independent. The first metric is
#   always better (best starts at +-inf; inf*(1-th) = inf).
#   eps rule: a reduction is applied only if old_lr - max(old_lr*factor, min_lr) > eps (strict); so with
#   min_lr=0 the lr stops falling once old_lr*(1-factor) <= 1e-8, and a clamp to min_lr that moves lr by <= eps
#   is skipped. eps is absolute in lr units: here base lr is 1.0, so lr == scale and eps == 1e-8 in scale units.
#   Each plateau case also carries "eps": 1e-8 and "eps_matters" (whether the trace changes with eps=0) outside
#   "config", which holds no eps (jaxsched's reduce_on_plateau defaults to eps=0, torch to 1e-8).
def gen_plateau():
  L = torch.optim.lr_scheduler
  cases = []
  rs = np.random.RandomState(1234)

  def add(
    metrics,
    factor=0.1,
    patience=10,
    mode="min",
    threshold=1e-4,
    threshold_mode="rel",
    cooldown=0,
    min_lr=0.0,
    note="",
  ):
    metrics = [float(m) for m in metrics]

    def trace(eps):
      p = torch.nn.Parameter(torch.zeros(1))
      opt = torch.optim.SGD([p], lr=1.0)
      sched = L.ReduceLROnPlateau(
        opt,
        mode=mode,
        factor=factor,
        patience=patience,
        threshold=threshold,
        threshold_mode=threshold_mode,
        cooldown=cooldown,
        min_lr=min_lr,
        eps=eps,
      )
      out = []
      for m in metrics:
        opt.step()
        sched.step(m)
        out.append(float(sched.get_last_lr()[0]))
      return out

    vals = trace(1e-8)  # torch's default eps
    cases.append(
      {
        "peer": f"torch ReduceLROnPlateau(mode='{mode}', factor={factor}, patience={patience}, threshold={threshold}, "
        f"threshold_mode='{threshold_mode}', cooldown={cooldown}, min_lr={min_lr}), base lr 1.0"
        + note,
        "config": {
          "factor": float(factor),
          "patience": int(patience),
          "mode": mode,
          "threshold": float(threshold),
          "threshold_mode": threshold_mode,
          "cooldown": int(cooldown),
          "min_scale": float(min_lr),
          "accumulation_steps": 1,
        },
        "metrics": metrics,
        "values": vals,
        # torch's eps (absolute, lr units == scale units at base lr 1.0), not part of the config;
        # eps_matters: the trace differs (by > 1e-9 relative) from the same run with eps=0
        "eps": 1e-8,
        "eps_matters": any(
          abs(a - b) > 1e-9 * abs(b) for a, b in zip(trace(0.0), vals, strict=True)
        ),
      }
    )

  stall = [1.0 - 0.05 * i for i in range(10)] + [0.55] * 30 + [0.5, 0.45] + [0.45] * 28
  add(stall, factor=0.5, patience=2, cooldown=1, min_lr=0.001)
  add(stall, factor=0.1, patience=5, cooldown=0)
  add(stall, factor=0.5, patience=0, cooldown=3, min_lr=0.01)
  noisy = [float(2.0 * math.exp(-i / 15.0) + 0.3 + 0.05 * rs.randn()) for i in range(100)]
  add(noisy, factor=0.5, patience=2, cooldown=0)
  add(noisy, factor=0.1, patience=5, cooldown=3, min_lr=1e-4)
  add(noisy, factor=0.5, patience=0, cooldown=0, threshold=0.01, threshold_mode="abs", min_lr=0.001)
  # negative metrics: rel mode accepts slightly worse values as improvements (see comment above)
  neg = [
    -10.0,
    -10.5,
    -10.4,
    -10.495,
    -10.49,
    -10.6,
    -10.55,
    -10.59,
    -10.6,
    -10.6,
    -10.7,
    -10.69,
    -10.695,
    -10.69,
    -10.69,
    -10.69,
    -10.8,
    -10.79,
    -10.78,
    -10.795,
    -10.7,
    -10.7,
    -10.7,
    -10.7,
    -10.7,
  ]
  neg = neg + [-10.8 + 0.001 * ((i * 7) % 11) for i in range(35)]
  for tm, th in [("rel", 1e-3), ("abs", 1e-3), ("rel", 1e-4), ("abs", 0.05)]:
    add(neg, factor=0.5, patience=2, threshold=th, threshold_mode=tm, cooldown=0)
  add(neg, factor=0.1, patience=0, threshold=1e-3, threshold_mode="rel", cooldown=1, min_lr=1e-3)
  noisy_neg = [float(-5.0 - 3.0 * (1 - math.exp(-i / 10.0)) + 0.1 * rs.randn()) for i in range(80)]
  add(noisy_neg, factor=0.5, patience=2, threshold=1e-2, threshold_mode="rel", cooldown=0)
  add(noisy_neg, factor=0.5, patience=2, threshold=1e-2, threshold_mode="abs", cooldown=0)
  # crossing zero (rel threshold with best near/at 0)
  cross = [
    2.0,
    1.0,
    0.5,
    0.1,
    0.0,
    0.0,
    0.0,
    0.0,
    -0.0001,
    -0.5,
    -0.5,
    -0.49999,
    -0.49998,
    -0.4999,
    -0.5,
    -0.50001,
    -0.50002,
  ] + [-0.5] * 23
  add(cross, factor=0.5, patience=1, threshold=1e-4, threshold_mode="rel", cooldown=0)
  # mode='max' (e.g. accuracy), positive and negative
  acc = [min(0.95, 0.5 + 0.05 * i) + 0.01 * rs.randn() for i in range(60)]
  for tm, th in [("rel", 1e-4), ("abs", 0.005)]:
    add(acc, factor=0.5, patience=2, mode="max", threshold=th, threshold_mode=tm, cooldown=0)
    add(
      acc,
      factor=0.1,
      patience=5,
      mode="max",
      threshold=th,
      threshold_mode=tm,
      cooldown=3,
      min_lr=0.001,
    )
  negmax = [
    -3.0,
    -2.5,
    -2.6,
    -2.5002,
    -2.4999,
    -2.5,
    -2.5001,
    -2.4,
    -2.401,
    -2.4005,
    -2.45,
    -2.4,
    -2.4,
  ] + [-2.4 - 0.0003 * ((i * 5) % 7) for i in range(37)]
  for tm, th in [("rel", 1e-3), ("abs", 1e-3)]:
    add(negmax, factor=0.5, patience=2, mode="max", threshold=th, threshold_mode=tm, cooldown=0)
  add(negmax, factor=0.5, patience=0, mode="max", threshold=1e-3, threshold_mode="rel", cooldown=3)
  # min_lr reached, then held
  add([1.0] * 40, factor=0.1, patience=0, cooldown=0, min_lr=1e-3)
  add([1.0] * 50, factor=0.5, patience=2, cooldown=1, min_lr=0.03)
  # eps rule: with min_lr=0 and factor 0.5 the lr freezes once old*(1-factor) <= 1e-8
  add(
    [1.0] * 40,
    factor=0.5,
    patience=0,
    cooldown=0,
    min_lr=0.0,
    note=" (eps=1e-8 default: lr freezes near 1.49e-8)",
  )
  # eps rule: clamp to min_lr that would move lr by <= eps is skipped (1 - min_lr = 5e-9)
  add(
    [1.0] * 10,
    factor=0.5,
    patience=0,
    cooldown=0,
    min_lr=1.0 - 5e-9,
    note=" (eps=1e-8 default: reduction of 5e-9 skipped)",
  )
  return cases


# ----------------------------------------------------------------------------------------------
def main():
  os.makedirs(DATA, exist_ok=True)
  np.random.seed(0)
  torch.manual_seed(0)
  META["versions"] = {
    "python": sys.version.split()[0],
    "torch": torch.__version__,
    "jax": jax.__version__,
    "optax": optax.__version__,
    "keras": keras.__version__,
    "transformers": transformers.__version__,
    "numpy": np.__version__,
    "timm": timm.__version__ if HAVE_TIMM else None,
  }
  dump("golden_torch.json", gen_torch())
  dump("golden_keras.json", gen_keras())
  dump("golden_optax.json", gen_optax())
  dump("golden_hf.json", gen_hf())
  if HAVE_TIMM:
    dump("golden_timm.json", gen_timm())
  plateau = gen_plateau()
  with open(os.path.join(DATA, "golden_plateau.json"), "w") as fh:
    json.dump(plateau, fh, indent=1)
    fh.write("\n")
  print(f"wrote golden_plateau.json: {len(plateau)} cases")
  with open(os.path.join(DATA, "golden_meta.json"), "w") as fh:
    json.dump(META, fh, indent=1, sort_keys=True)
    fh.write("\n")
  worst = max(META["cases"].items(), key=lambda kv: kv[1]["max_rel_dev_vs_spec"])
  print(
    f"max rel deviation peer vs documented formula: {worst[1]['max_rel_dev_vs_spec']:.3g} ({worst[0]})"
  )
  for k, v in META["cases"].items():
    if v["max_rel_dev_vs_spec"] > 1e-12:
      print(f"  peer vs documented formula rel dev {v['max_rel_dev_vs_spec']:.2g}: {k}")
  for k, v in META["excluded"].items():
    print(f"excluded {len(v['steps'])} step(s) from {k}: {[e['step'] for e in v['steps']]}")


if __name__ == "__main__":
  main()
