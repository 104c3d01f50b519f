"""js.from_torch against real torch schedulers, stepped for real (issue 12 item 1)."""
import warnings

import numpy as np
import pytest

import jaxsched as js

torch = pytest.importorskip("torch")
lr_scheduler = torch.optim.lr_scheduler


def _optimizer(lrs=(0.1,)):
  params = [torch.nn.Parameter(torch.zeros(1)) for _ in lrs]
  return torch.optim.SGD([{"params": [p], "lr": lr} for p, lr in zip(params, lrs)], lr=lrs[0],
                         momentum=0.9)


def _stepped(make, n, lrs=(0.1,)):
  """The scheduler, and the lr of every group after k = 0..n calls of step() (float64)."""
  opt = _optimizer(lrs)
  sched = make(opt)
  out = []
  with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    for _ in range(n + 1):
      out.append([float(g["lr"]) for g in opt.param_groups])
      opt.step()
      sched.step()
  return sched, np.array(out)


def _close(got, want, rtol=1e-6):
  np.testing.assert_allclose(np.asarray(got, np.float64), want, rtol=rtol, atol=0)


CASES = {
    "StepLR": (lambda o: lr_scheduler.StepLR(o, 7, 0.5), 30,
               js.step(0.1, 7, 0.5)),
    "MultiStepLR": (lambda o: lr_scheduler.MultiStepLR(o, [5, 12, 12, 20], 0.3), 25,
                    js.multistep(0.1, [5, 12, 12, 20], 0.3)),
    "ExponentialLR": (lambda o: lr_scheduler.ExponentialLR(o, 0.93), 60, js.exponential(0.1, 0.93)),
    "CosineAnnealingLR": (lambda o: lr_scheduler.CosineAnnealingLR(o, 10, eta_min=1e-3), 45, None),
    "LinearLR": (lambda o: lr_scheduler.LinearLR(o, 0.25, 1.0, 8), 12, js.linear(0.025, 0.1, 8)),
    "ConstantLR": (lambda o: lr_scheduler.ConstantLR(o, 0.5, 4), 8,
                   js.piecewise([4], [0.05, 0.1])),
    "PolynomialLR": (lambda o: lr_scheduler.PolynomialLR(o, 10, 2.0), 14,
                     js.polynomial(0.1, 0.0, 10, 2.0)),
    "OneCycleLR": (lambda o: lr_scheduler.OneCycleLR(o, 0.3, total_steps=50), 49,
                   js.one_cycle(0.3, 50)),
    "OneCycleLR_linear_3phase": (
        lambda o: lr_scheduler.OneCycleLR(o, 0.3, total_steps=40, pct_start=0.25,
                                          anneal_strategy="linear", three_phase=True,
                                          div_factor=10.0, final_div_factor=100.0), 39, None),
    "CyclicLR_triangular": (lambda o: lr_scheduler.CyclicLR(o, 0.01, 0.1, 5, 3,
                                                            cycle_momentum=False), 30,
                            js.cyclic(0.01, 0.1, 5, step_size_down=3)),
    "CyclicLR_triangular2": (lambda o: lr_scheduler.CyclicLR(o, 0.01, 0.1, 4, mode="triangular2",
                                                             cycle_momentum=False), 30, None),
    "CyclicLR_exp_range": (lambda o: lr_scheduler.CyclicLR(o, 0.01, 0.1, 4, mode="exp_range",
                                                           gamma=0.97, cycle_momentum=False),
                           30, None),
    "CosineAnnealingWarmRestarts": (
        lambda o: lr_scheduler.CosineAnnealingWarmRestarts(o, 5, T_mult=2, eta_min=1e-3), 40,
        js.cosine_restarts(0.1, 5, period_mult=2.0, end_value=1e-3)),
    "SequentialLR": (
        lambda o: lr_scheduler.SequentialLR(o, [lr_scheduler.LinearLR(o, 0.1, 1.0, 5),
                                                lr_scheduler.ExponentialLR(o, 0.9)], [5]), 20,
        js.join([js.linear(0.1 * 0.1, 0.1, 5), js.exponential(0.1, 0.9)], [5])),
    "ChainedScheduler": (
        lambda o: lr_scheduler.ChainedScheduler([lr_scheduler.ConstantLR(o, 0.5, 3),
                                                 lr_scheduler.ExponentialLR(o, 0.9)]), 12,
        js.product(js.piecewise([3], [0.05, 0.1]), js.exponential(1.0, 0.9))),
}


@pytest.mark.parametrize("name", list(CASES))
def test_matches_torch_step_by_step(name):
  make, n, native = CASES[name]
  sched, lrs = _stepped(make, n)
  s = js.from_torch(sched)
  _close(s(np.arange(n + 1)), lrs[:, 0])
  if native is not None:
    assert s == native
  assert js.parse(repr(s)) == s


def _closed_form(sched, k):
  """torch's lr at last_epoch = k without stepping k times (its closed form, or its direct
  formula for the schedulers that have no recursion)."""
  sched.last_epoch = k
  with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    if hasattr(sched, "_get_closed_form_lr"):
      return float(sched._get_closed_form_lr()[0])
    return float(sched.get_lr()[0])


LARGE = [2**24 - 1, 2**24, 2**24 + 1, 2**31 - 2, 2**31 - 1]


@pytest.mark.parametrize("make", [
    lambda o: lr_scheduler.StepLR(o, 2**24, 0.9),
    lambda o: lr_scheduler.MultiStepLR(o, [2**24, 2**31 - 1], 0.1),
    lambda o: lr_scheduler.ExponentialLR(o, 0.99999999),
    lambda o: lr_scheduler.CosineAnnealingLR(o, 2**24 + 1, eta_min=1e-4),
    lambda o: lr_scheduler.LinearLR(o, 0.5, 0.1, 2**24),
    lambda o: lr_scheduler.CyclicLR(o, 0.01, 0.1, 2**23, cycle_momentum=False),
], ids=["StepLR", "MultiStepLR", "ExponentialLR", "CosineAnnealingLR", "LinearLR", "CyclicLR"])
def test_large_steps_match_torch_closed_forms(make):
  sched = make(_optimizer())
  s = js.from_torch(sched)
  want = np.array([_closed_form(sched, k) for k in LARGE])
  _close(s(np.array(LARGE)), want)


def test_one_cycle_large_total_steps():
  sched = lr_scheduler.OneCycleLR(_optimizer(), 0.3, total_steps=2**31 - 1, pct_start=0.1)
  s = js.from_torch(sched)
  b = float(sched._schedule_phases[0]["end_step"])
  ks = [int(b) - 1, int(b), int(b) + 1, int(b) + 2, 2**24 + 1, 2**31 - 3, 2**31 - 2]
  _close(s(np.array(ks)), np.array([_closed_form(sched, k) for k in ks]))


def test_param_groups_give_a_stacked_batch_or_one_group():
  make = lambda o: lr_scheduler.StepLR(o, 3, 0.5)
  sched, lrs = _stepped(make, 10, lrs=(0.1, 0.02))
  s = js.from_torch(sched)
  assert s.batch_shape == (2,)
  _close(js.evaluate(s, np.arange(11)), lrs.T)
  assert js.from_torch(sched, group=1) == js.step(0.02, 3, 0.5)
  assert js.unstack(s)[0] == js.from_torch(sched, group=0)
  with pytest.raises(ValueError, match="group"):
    js.from_torch(sched, group=2)
  same, _ = _stepped(make, 0, lrs=(0.1, 0.1))
  assert js.from_torch(same) == js.step(0.1, 3, 0.5)


def test_converting_a_stepped_scheduler_gives_the_whole_trajectory():
  sched, lrs = _stepped(lambda o: lr_scheduler.StepLR(o, 3, 0.5), 10)
  assert js.from_torch(sched) == js.step(0.1, 3, 0.5)


@pytest.mark.parametrize("make, words", [
    (lambda o: lr_scheduler.LambdaLR(o, lambda k: 1.0), ["LambdaLR", "from_hf"]),
    (lambda o: lr_scheduler.MultiplicativeLR(o, lambda k: 0.9), ["MultiplicativeLR",
                                                                  "exponential"]),
    (lambda o: lr_scheduler.ReduceLROnPlateau(o), ["ReduceLROnPlateau", "reduce_on_plateau"]),
])
def test_unconvertible_schedulers_name_the_alternative(make, words):
  with pytest.raises(TypeError) as info:
    js.from_torch(make(_optimizer()))
  for w in words:
    assert w in str(info.value)


def test_chained_non_multiplicative_and_non_schedulers_are_errors():
  o = _optimizer()
  chained = lr_scheduler.ChainedScheduler([lr_scheduler.ExponentialLR(o, 0.9),
                                           lr_scheduler.CosineAnnealingLR(o, 10)])
  with pytest.raises(ValueError, match="CosineAnnealingLR"):
    js.from_torch(chained)
  with pytest.raises(TypeError, match="expected a torch.optim.lr_scheduler"):
    js.from_torch(object())
