"""js.from_hf against transformers.get_scheduler, stepped for real."""

import warnings

import numpy as np
import pytest

import jaxsched as js

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

LR = 0.1


def _hf_lrs(name, W, T, n, **kw):
  opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=LR)
  sched = transformers.get_scheduler(
    name, opt, num_warmup_steps=W, num_training_steps=T, scheduler_specific_kwargs=kw
  )
  out = []
  with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    for _ in range(n + 1):
      out.append(float(opt.param_groups[0]["lr"]))
      opt.step()
      sched.step()
  return np.array(out)


# (name, W, T, steps compared, kwargs, native form or None)
CASES = [
  ("linear", 10, 100, 120, {}, js.warmup(js.linear(LR, 0.0, 90), 10)),
  ("linear", 0, 50, 60, {}, js.linear(LR, 0.0, 50)),
  ("cosine", 10, 100, 100, {}, js.warmup_cosine(LR, 10, 100)),
  (
    "cosine_with_restarts",
    10,
    100,
    120,
    {"num_cycles": 3},
    js.warmup(js.cosine_restarts(LR, 30, max_cycles=3), 10),
  ),
  (
    "polynomial",
    10,
    100,
    120,
    {"lr_end": 1e-4, "power": 2.0},
    js.warmup(js.polynomial(LR, 1e-4, 90, 2.0), 10),
  ),
  ("constant", None, None, 20, {}, js.constant(LR)),
  ("constant_with_warmup", 10, None, 20, {}, js.warmup(js.constant(LR), 10)),
  ("inverse_sqrt", 10, None, 200, {}, js.inverse_sqrt(LR, 10.0, warmup_steps=10)),
  ("inverse_sqrt", 0, None, 50, {"timescale": 50}, js.inverse_sqrt(LR, 50.0)),
  (
    "cosine_with_min_lr",
    10,
    100,
    100,
    {"min_lr_rate": 0.1},
    js.warmup_cosine(LR, 10, 100, end_value=0.1 * LR),
  ),
  ("cosine_with_min_lr", 5, 60, 60, {"min_lr": 1e-3}, None),
  ("cosine_warmup_with_min_lr", 10, 100, 99, {"min_lr_rate": 0.1}, None),
  ("cosine_warmup_with_min_lr", 10, 100, 99, {"min_lr_rate": 0.1, "warmup_lr_rate": 0.2}, None),
  (
    "warmup_stable_decay",
    10,
    100,
    120,
    {"num_decay_steps": 20, "min_lr_ratio": 0.1, "warmup_type": "1-sqrt"},
    js.wsd(
      LR,
      10,
      70,
      20,
      init_value=0.1 * LR,
      end_value=0.1 * LR,
      warmup_shape="sqrt",
      decay_shape="cosine",
    ),
  ),
  (
    "warmup_stable_decay",
    10,
    None,
    80,
    {
      "num_decay_steps": 20,
      "num_stable_steps": 30,
      "warmup_type": "cosine",
      "decay_type": "linear",
    },
    None,
  ),
]


@pytest.mark.parametrize(
  "name, W, T, n, kw, native", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)]
)
def test_matches_get_scheduler_step_by_step(name, W, T, n, kw, native):
  want = _hf_lrs(name, W, T, n, **kw)
  s = js.from_hf(name, LR, W, T, **kw)
  np.testing.assert_allclose(np.asarray(s(np.arange(n + 1)), np.float64), want, rtol=1e-6, atol=0)
  if native is not None:
    assert s == native
  assert js.parse(repr(s)) == s


@pytest.mark.parametrize(
  "call, error, words",
  [
    (lambda: js.from_hf("cosine", LR, 10, 100, num_cycles=1.5), ValueError, ["num_cycles"]),
    (lambda: js.from_hf("linear", LR, 10), ValueError, ["num_training_steps"]),
    (lambda: js.from_hf("cosine", LR), ValueError, ["num_warmup_steps"]),
    (lambda: js.from_hf("reduce_lr_on_plateau", LR), ValueError, ["reduce_on_plateau"]),
    (lambda: js.from_hf("nope", LR, 1, 2), ValueError, ["'nope'", "linear"]),
    (
      lambda: js.from_hf("cosine_with_restarts", LR, 10, 100, num_cycles=4),
      ValueError,
      ["multiple of num_cycles"],
    ),
    (lambda: js.from_hf("polynomial", LR, 1, 10, lr_end=0.2), ValueError, ["lr_end"]),
    (lambda: js.from_hf("linear", LR, 1, 10, bogus=1), TypeError, ["bogus"]),
  ],
)
def test_bad_arguments(call, error, words):
  with pytest.raises(error) as info:
    call()
  for w in words:
    assert w in str(info.value)


def test_scheduler_type_enum_is_accepted():
  assert js.from_hf(transformers.SchedulerType.COSINE, LR, 10, 100) == js.warmup_cosine(LR, 10, 100)


# --- num_warmup_steps >= num_training_steps and the other edges -----------------------------------


def _hf_or_error(name, W, T, n, kw):
  """HF's lrs for k = 0..n, or the exception HF raises while building or stepping it."""
  try:
    return _hf_lrs(name, W, T, n, **kw)
  except (ZeroDivisionError, ValueError) as e:
    return e


# (name, kwargs) for every name the converter supports; the cosines' curves rise again after the
# decay, which jaxsched holds (compared up to their end, see _last_step)
VARIANTS = [
  ("linear", {}),
  ("cosine", {}),
  ("cosine_with_restarts", {"num_cycles": 1}),
  ("cosine_with_restarts", {"num_cycles": 2}),
  ("polynomial", {}),
  ("polynomial", {"lr_end": 1e-4, "power": 2.0}),
  ("polynomial", {"lr_end": 1e-3, "power": 0.0}),
  ("polynomial", {"power": -1.0}),
  ("constant_with_warmup", {}),
  ("inverse_sqrt", {}),
  ("inverse_sqrt", {"timescale": 3}),
  ("cosine_with_min_lr", {"min_lr_rate": 0.1}),
  ("cosine_with_min_lr", {"min_lr": 1e-3}),
  ("cosine_warmup_with_min_lr", {"min_lr_rate": 0.1}),
  ("cosine_warmup_with_min_lr", {"min_lr_rate": 0.05, "warmup_lr_rate": 0.2}),
  ("warmup_stable_decay", {"num_decay_steps": 2, "min_lr_ratio": 0.1, "decay_type": "linear"}),
  ("warmup_stable_decay", {"num_decay_steps": 0}),
  ("warmup_stable_decay", {"num_decay_steps": 3, "warmup_type": "cosine", "min_lr_ratio": 0.2}),
  ("warmup_stable_decay", {"num_decay_steps": 1, "warmup_type": "1-sqrt", "decay_type": "1-sqrt"}),
  # negative end rates, where HF's max(0, factor) bites
  ("cosine_with_min_lr", {"min_lr_rate": -0.2}),
  ("cosine_warmup_with_min_lr", {"min_lr_rate": -0.5}),
  ("cosine_warmup_with_min_lr", {"min_lr_rate": -0.5, "warmup_lr_rate": -0.3}),
  ("warmup_stable_decay", {"num_decay_steps": 3, "min_lr_ratio": -0.25, "decay_type": "linear"}),
  ("warmup_stable_decay", {"num_decay_steps": 0, "min_lr_ratio": -0.25}),
]
EDGES = sorted({(W, T) for W in (0, 1, 4) for T in (0, 1, W - 1, W, W + 1, W + 5) if T >= 0})


def _last_step(name, W, T):
  L = max(1, T - W)
  if name in ("cosine", "cosine_with_min_lr"):
    return W + L  # = max(T, W + 1)
  if name == "cosine_warmup_with_min_lr":
    return W - 1 + L
  return max(T, W) + 6


def _documented_refusal(name, W, T, kw):
  """The cases HF runs that the converter refuses (its docstring lists them)."""
  L = max(1, T - W)
  if name == "cosine_with_restarts":
    return L > 1 and L % kw["num_cycles"] != 0
  if name == "cosine_warmup_with_min_lr":
    return W == 0
  if name == "warmup_stable_decay":
    S = T - W - kw["num_decay_steps"]
    return S < 0 < S + kw["num_decay_steps"]
  return False


@pytest.mark.parametrize("name, kw", VARIANTS, ids=[f"{v[0]}-{i}" for i, v in enumerate(VARIANTS)])
def test_every_name_at_the_warmup_and_total_edges(name, kw):
  """W = T, T = W ± 1, T < W, W = 0, T = 0, T = 1: HF's lr at every step HF runs, or a
  ValueError where HF divides by zero or raises."""
  for W, T in EDGES:
    n = _last_step(name, W, T)
    want = _hf_or_error(name, W, T, n, kw)
    if isinstance(want, Exception) or _documented_refusal(name, W, T, kw):
      with pytest.raises(ValueError):
        js.from_hf(name, LR, W, T, **kw)
      continue
    s = js.from_hf(name, LR, W, T, **kw)
    got = np.asarray(s(np.arange(n + 1)), np.float64)
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=0, err_msg=f"W={W}, T={T}")
    assert js.parse(repr(s)) == s


@pytest.mark.parametrize("W", [1, 2, 10, 37])
def test_warmup_equal_to_total(W):
  """HF's linear ramps 0, b/W, ... and is 0 at k = W; the cosines give the
  peak at k = W; cosine_with_restarts converts."""
  b = 1e-3
  linear = js.from_hf("linear", b, W, W)
  np.testing.assert_allclose(
    np.asarray(linear(np.arange(W + 3)), np.float64),
    [b * k / W for k in range(W)] + [0.0] * 3,
    rtol=1e-6,
    atol=0,
  )
  for name, kw in [
    ("cosine", {}),
    ("cosine_with_min_lr", {"min_lr_rate": 0.1}),
    ("cosine_with_restarts", {"num_cycles": 3}),
  ]:
    s = js.from_hf(name, b, W, W, **kw)
    assert float(s(W)) == pytest.approx(b, rel=1e-6)
  for name, kw in [
    ("linear", {}),
    ("cosine", {}),
    ("cosine_with_restarts", {"num_cycles": 3}),
    ("cosine_with_min_lr", {"min_lr_rate": 0.1}),
    ("constant_with_warmup", {}),
    ("inverse_sqrt", {}),
    ("warmup_stable_decay", {"num_decay_steps": 4}),
    ("cosine_warmup_with_min_lr", {"min_lr_rate": 0.1}),
  ]:
    n = _last_step(name, W, W)
    np.testing.assert_allclose(
      np.asarray(js.from_hf(name, b, W, W, **kw)(np.arange(n + 1)), np.float64),
      _hf_lrs(name, W, W, n, **kw) * (b / LR),
      rtol=1e-6,
      atol=0,
      err_msg=name,
    )


@pytest.mark.parametrize(
  "call, words",
  [
    (lambda: js.from_hf("polynomial", LR, 10, 10), ["num_training_steps", "num_warmup_steps"]),
    (lambda: js.from_hf("polynomial", LR, 0, 0), ["num_training_steps"]),
    (lambda: js.from_hf("polynomial", LR, 2, 10, power=-1.0), ["power"]),
    (lambda: js.from_hf("inverse_sqrt", LR, 0, None, timescale=0), ["timescale"]),
    (lambda: js.from_hf("inverse_sqrt", LR, 5, None, timescale=-2.0), ["timescale"]),
  ],
)
def test_where_hf_divides_by_zero_the_converter_refuses(call, words):
  with pytest.raises(ValueError) as info:
    call()
  for w in words:
    assert w in str(info.value)
