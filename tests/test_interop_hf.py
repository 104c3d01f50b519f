"""js.from_hf against transformers.get_scheduler, stepped for real (issue 12 item 3)."""
import warnings

import numpy as np
import pytest

import jaxsched as js

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

LR = 0.1


def _hf_lrs(name, W, T, n, **kw):
  opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=LR)
  sched = transformers.get_scheduler(name, opt, num_warmup_steps=W, num_training_steps=T,
                                     scheduler_specific_kwargs=kw)
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
    ("cosine_with_restarts", 10, 100, 120, {"num_cycles": 3},
     js.warmup(js.cosine_restarts(LR, 30, max_cycles=3), 10)),
    ("polynomial", 10, 100, 120, {"lr_end": 1e-4, "power": 2.0},
     js.warmup(js.polynomial(LR, 1e-4, 90, 2.0), 10)),
    ("constant", None, None, 20, {}, js.constant(LR)),
    ("constant_with_warmup", 10, None, 20, {}, js.warmup(js.constant(LR), 10)),
    ("inverse_sqrt", 10, None, 200, {}, js.inverse_sqrt(LR, 10.0, warmup_steps=10)),
    ("inverse_sqrt", 0, None, 50, {"timescale": 50}, js.inverse_sqrt(LR, 50.0)),
    ("cosine_with_min_lr", 10, 100, 100, {"min_lr_rate": 0.1},
     js.warmup_cosine(LR, 10, 100, end_value=0.1 * LR)),
    ("cosine_with_min_lr", 5, 60, 60, {"min_lr": 1e-3}, None),
    ("cosine_warmup_with_min_lr", 10, 100, 99, {"min_lr_rate": 0.1}, None),
    ("cosine_warmup_with_min_lr", 10, 100, 99, {"min_lr_rate": 0.1, "warmup_lr_rate": 0.2}, None),
    ("warmup_stable_decay", 10, 100, 120, {"num_decay_steps": 20, "min_lr_ratio": 0.1,
                                           "warmup_type": "1-sqrt"},
     js.wsd(LR, 10, 70, 20, init_value=0.1 * LR, end_value=0.1 * LR, warmup_shape="sqrt",
            decay_shape="cosine")),
    ("warmup_stable_decay", 10, None, 80, {"num_decay_steps": 20, "num_stable_steps": 30,
                                           "warmup_type": "cosine", "decay_type": "linear"}, None),
]


@pytest.mark.parametrize("name, W, T, n, kw, native", CASES,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_matches_get_scheduler_step_by_step(name, W, T, n, kw, native):
  want = _hf_lrs(name, W, T, n, **kw)
  s = js.from_hf(name, LR, W, T, **kw)
  np.testing.assert_allclose(np.asarray(s(np.arange(n + 1)), np.float64), want, rtol=1e-6, atol=0)
  if native is not None:
    assert s == native
  assert js.parse(repr(s)) == s


@pytest.mark.parametrize("call, error, words", [
    (lambda: js.from_hf("cosine", LR, 10, 100, num_cycles=1.5), ValueError, ["num_cycles"]),
    (lambda: js.from_hf("linear", LR, 10), ValueError, ["num_training_steps"]),
    (lambda: js.from_hf("cosine", LR), ValueError, ["num_warmup_steps"]),
    (lambda: js.from_hf("reduce_lr_on_plateau", LR), ValueError, ["reduce_on_plateau"]),
    (lambda: js.from_hf("nope", LR, 1, 2), ValueError, ["'nope'", "linear"]),
    (lambda: js.from_hf("cosine_with_restarts", LR, 10, 100, num_cycles=4), ValueError,
     ["multiple of num_cycles"]),
    (lambda: js.from_hf("polynomial", LR, 1, 10, lr_end=0.2), ValueError, ["lr_end"]),
    (lambda: js.from_hf("linear", LR, 1, 10, bogus=1), TypeError, ["bogus"]),
])
def test_bad_arguments(call, error, words):
  with pytest.raises(error) as info:
    call()
  for w in words:
    assert w in str(info.value)


def test_scheduler_type_enum_is_accepted():
  assert js.from_hf(transformers.SchedulerType.COSINE, LR, 10, 100) == js.warmup_cosine(LR, 10, 100)
