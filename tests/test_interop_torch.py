"""js.from_torch against real torch schedulers, stepped for real."""

import warnings

import numpy as np
import pytest

import jaxsched as js

torch = pytest.importorskip("torch")
lr_scheduler = torch.optim.lr_scheduler


def _optimizer(lrs=(0.1,)):
  params = [torch.nn.Parameter(torch.zeros(1)) for _ in lrs]
  return torch.optim.SGD(
    [{"params": [p], "lr": lr} for p, lr in zip(params, lrs, strict=True)], lr=lrs[0], momentum=0.9
  )


def _stepped(make, n, lrs=(0.1,)):
  """The scheduler, and the lr of every group after k = 0..n calls of step() (float64)."""
  opt = _optimizer(lrs)
  out = []
  with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    sched = make(opt)
    for _ in range(n + 1):
      out.append([float(g["lr"]) for g in opt.param_groups])
      opt.step()
      sched.step()
  return sched, np.array(out)


def _close(got, want, rtol=1e-6):
  np.testing.assert_allclose(np.asarray(got, np.float64), want, rtol=rtol, atol=0)


CASES = {
  "StepLR": (lambda o: lr_scheduler.StepLR(o, 7, 0.5), 30, js.step(0.1, 7, 0.5)),
  "MultiStepLR": (
    lambda o: lr_scheduler.MultiStepLR(o, [5, 12, 12, 20], 0.3),
    25,
    js.multistep(0.1, [5, 12, 12, 20], 0.3),
  ),
  "ExponentialLR": (lambda o: lr_scheduler.ExponentialLR(o, 0.93), 60, js.exponential(0.1, 0.93)),
  "CosineAnnealingLR": (lambda o: lr_scheduler.CosineAnnealingLR(o, 10, eta_min=1e-3), 45, None),
  "LinearLR": (lambda o: lr_scheduler.LinearLR(o, 0.25, 1.0, 8), 12, js.linear(0.025, 0.1, 8)),
  "ConstantLR": (lambda o: lr_scheduler.ConstantLR(o, 0.5, 4), 8, js.piecewise([4], [0.05, 0.1])),
  "PolynomialLR": (
    lambda o: lr_scheduler.PolynomialLR(o, 10, 2.0),
    14,
    js.polynomial(0.1, 0.0, 10, 2.0),
  ),
  "OneCycleLR": (
    lambda o: lr_scheduler.OneCycleLR(o, 0.3, total_steps=50),
    49,
    js.one_cycle(0.3, 50),
  ),
  "OneCycleLR_linear_3phase": (
    lambda o: lr_scheduler.OneCycleLR(
      o,
      0.3,
      total_steps=40,
      pct_start=0.25,
      anneal_strategy="linear",
      three_phase=True,
      div_factor=10.0,
      final_div_factor=100.0,
    ),
    39,
    None,
  ),
  "CyclicLR_triangular": (
    lambda o: lr_scheduler.CyclicLR(o, 0.01, 0.1, 5, 3, cycle_momentum=False),
    30,
    js.cyclic(0.01, 0.1, 5, step_size_down=3),
  ),
  "CyclicLR_triangular2": (
    lambda o: lr_scheduler.CyclicLR(o, 0.01, 0.1, 4, mode="triangular2", cycle_momentum=False),
    30,
    None,
  ),
  "CyclicLR_exp_range": (
    lambda o: lr_scheduler.CyclicLR(
      o, 0.01, 0.1, 4, mode="exp_range", gamma=0.97, cycle_momentum=False
    ),
    30,
    None,
  ),
  "CosineAnnealingWarmRestarts": (
    lambda o: lr_scheduler.CosineAnnealingWarmRestarts(o, 5, T_mult=2, eta_min=1e-3),
    40,
    js.cosine_restarts(0.1, 5, period_mult=2.0, end_value=1e-3),
  ),
  "SequentialLR": (
    lambda o: lr_scheduler.SequentialLR(
      o, [lr_scheduler.LinearLR(o, 0.1, 1.0, 5), lr_scheduler.ExponentialLR(o, 0.9)], [5]
    ),
    20,
    js.join([js.linear(0.1 * 0.1, 0.1, 5), js.exponential(0.1, 0.9)], [5]),
  ),
  "ChainedScheduler": (
    lambda o: lr_scheduler.ChainedScheduler(
      [lr_scheduler.ConstantLR(o, 0.5, 3), lr_scheduler.ExponentialLR(o, 0.9)]
    ),
    12,
    js.product(js.piecewise([3], [0.05, 0.1]), js.exponential(1.0, 0.9)),
  ),
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


@pytest.mark.parametrize(
  "make",
  [
    lambda o: lr_scheduler.StepLR(o, 2**24, 0.9),
    lambda o: lr_scheduler.MultiStepLR(o, [2**24, 2**31 - 1], 0.1),
    lambda o: lr_scheduler.ExponentialLR(o, 0.99999999),
    lambda o: lr_scheduler.CosineAnnealingLR(o, 2**24 + 1, eta_min=1e-4),
    lambda o: lr_scheduler.LinearLR(o, 0.5, 0.1, 2**24),
    lambda o: lr_scheduler.CyclicLR(o, 0.01, 0.1, 2**23, cycle_momentum=False),
  ],
  ids=["StepLR", "MultiStepLR", "ExponentialLR", "CosineAnnealingLR", "LinearLR", "CyclicLR"],
)
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


@pytest.mark.parametrize(
  "make, words",
  [
    (lambda o: lr_scheduler.LambdaLR(o, lambda k: 1.0), ["LambdaLR", "jaxsched.custom", "from_hf"]),
    (
      lambda o: lr_scheduler.MultiplicativeLR(o, lambda k: 0.9),
      ["MultiplicativeLR", "exponential", "jaxsched.custom"],
    ),
    (lambda o: lr_scheduler.ReduceLROnPlateau(o), ["ReduceLROnPlateau", "reduce_on_plateau"]),
  ],
)
def test_unconvertible_schedulers_name_the_alternative(make, words):
  with pytest.raises(TypeError) as info:
    js.from_torch(make(_optimizer()))
  for w in words:
    assert w in str(info.value)


def test_chained_non_multiplicative_and_non_schedulers_are_errors():
  o = _optimizer()
  chained = lr_scheduler.ChainedScheduler(
    [lr_scheduler.ExponentialLR(o, 0.9), lr_scheduler.CosineAnnealingLR(o, 10)]
  )
  with pytest.raises(ValueError, match="CosineAnnealingLR"):
    js.from_torch(chained)
  with pytest.raises(TypeError, match="expected a torch.optim.lr_scheduler"):
    js.from_torch(object())


# --- the degenerate settings, as torch steps them -------------------------------------------------


def _check_against_torch(make, n, lrs=(0.1,)):
  """from_torch of a fresh scheduler equals torch's lr after k = 0..n step() calls, per group."""
  sched, want = _stepped(make, n, lrs)
  s = js.from_torch(sched)
  got = js.evaluate(s, np.arange(n + 1)) if s.batch_shape else s(np.arange(n + 1))[None]
  _close(np.broadcast_to(np.asarray(got), (len(lrs), n + 1)), want.T)  # equal groups: one row
  for row in js.unstack(s) if s.batch_shape else [s]:
    assert js.parse(repr(row)) == row
  return s


L = lr_scheduler
# the schedulers whose update rule has a horizon ``total_iters``, at total_iters = 0
NO_ITERS = [
  *[
    lambda o, a=a, e=e: L.LinearLR(o, a, e, total_iters=0)
    for a, e in [(0.5, 1.0), (0.25, 0.0), (1.0, 0.5), (0.125, 0.75)]
  ],
  *[lambda o, f=f: L.ConstantLR(o, f, total_iters=0) for f in (0.3, 0.0, 1.0, 0.05)],
  *[lambda o, p=p: L.PolynomialLR(o, total_iters=0, power=p) for p in (1.0, 2.0, 0.5)],
]
NO_ITERS_IDS = (
  [f"LinearLR{i}" for i in range(4)]
  + [f"ConstantLR{i}" for i in range(4)]
  + [f"PolynomialLR{i}" for i in range(3)]
)


@pytest.mark.parametrize("make", NO_ITERS, ids=NO_ITERS_IDS)
def test_total_iters_zero_alone_holds_the_step_0_factor(make):
  s = _check_against_torch(make, 12)
  assert type(s).family == "constant"
  _check_against_torch(make, 6, lrs=(0.1, 0.02))


@pytest.mark.parametrize("make", NO_ITERS, ids=NO_ITERS_IDS)
def test_total_iters_zero_as_a_factor_and_first_of_a_sequence(make):
  _check_against_torch(lambda o: L.ChainedScheduler([make(o), L.ExponentialLR(o, 0.9)]), 10)
  _check_against_torch(lambda o: L.ChainedScheduler([L.StepLR(o, 3, 0.5), make(o)]), 10)
  _check_against_torch(lambda o: L.SequentialLR(o, [make(o), L.ExponentialLR(o, 0.8)], [4]), 12)


@pytest.mark.parametrize("factor", [0.3, 0.0, 1.0])
def test_constant_total_iters_zero_at_a_milestone_is_the_closed_form(factor):
  s = _check_against_torch(
    lambda o: L.SequentialLR(
      o, [L.ExponentialLR(o, 0.9), L.ConstantLR(o, factor, total_iters=0)], [3]
    ),
    10,
  )
  _close(s(np.arange(3, 11)), np.full(8, 0.1))


def _torch_raises(make, n):
  opt = _optimizer()
  with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    try:
      sched = make(opt)
      for _ in range(n):
        opt.step()
        sched.step()
    except (ZeroDivisionError, NotImplementedError):
      return None
  return sched


@pytest.mark.parametrize(
  "make, words",
  [
    (lambda o: L.ConstantLR(o, 0.0, total_iters=3), ["factor=0", "total_iters"]),
    (lambda o: L.PolynomialLR(o, 4, power=-1.0), ["power"]),
    (
      lambda o: L.SequentialLR(o, [L.ExponentialLR(o, 0.9), L.LinearLR(o, 0.5, 1.0, 0)], [3]),
      ["LinearLR", "total_iters=0", "milestone"],
    ),
    (
      lambda o: L.SequentialLR(o, [L.ExponentialLR(o, 0.9), L.PolynomialLR(o, 0)], [3]),
      ["PolynomialLR", "total_iters=0", "milestone"],
    ),
    (
      lambda o: L.SequentialLR(
        o,
        [
          L.ExponentialLR(o, 0.9),
          L.ChainedScheduler([L.ConstantLR(o, 0.5, 3), L.ExponentialLR(o, 0.9)]),
        ],
        [3],
      ),
      ["ChainedScheduler"],
    ),
    (
      lambda o: L.SequentialLR(
        o,
        [
          L.ExponentialLR(o, 0.9),
          L.SequentialLR(o, [L.ConstantLR(o, 0.5, 3), L.ExponentialLR(o, 0.9)], [2]),
        ],
        [3],
      ),
      ["SequentialLR"],
    ),
  ],
  ids=[
    "ConstantLR-factor0",
    "PolynomialLR-negative-power",
    "LinearLR0-at-milestone",
    "PolynomialLR0-at-milestone",
    "Chained-at-milestone",
    "Sequential-at-milestone",
  ],
)
def test_where_torch_raises_the_converter_refuses(make, words):
  assert _torch_raises(make, 12) is None  # torch itself cannot step it
  with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    sched = make(_optimizer())
  with pytest.raises(ValueError) as info:
    js.from_torch(sched)
  for w in words:
    assert w in str(info.value)


def test_polynomial_total_iters_zero_in_a_stepped_chain_is_refused():
  make = lambda o: L.SequentialLR(
    o,
    [L.ChainedScheduler([L.PolynomialLR(o, 0), L.StepLR(o, 2, 0.5)]), L.ExponentialLR(o, 0.5)],
    [6],
  )
  with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    with pytest.raises(ZeroDivisionError):
      make(_optimizer())
  # the same members, built without SequentialLR, then wrapped into a stand-in of it
  opt = _optimizer()
  with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    chain = L.ChainedScheduler([L.PolynomialLR(opt, 0), L.StepLR(opt, 2, 0.5)])
    sequential = type(
      "SequentialLR",
      (),
      {"optimizer": opt, "_milestones": [6], "_schedulers": [chain, L.ExponentialLR(opt, 0.5)]},
    )()
  with pytest.raises(ValueError, match="total_iters=0"):
    js.from_torch(sequential)


@pytest.mark.parametrize("milestones", [[], [-3], [-3, 2], [-1, -1, 4, 4], [0], [0, 0, 5]])
def test_multistep_milestones_torch_never_reaches(milestones):
  s = _check_against_torch(lambda o: L.MultiStepLR(o, milestones, 0.5), 10)
  if all(m < 0 for m in milestones):
    assert s == js.constant(0.1)
  # started at a SequentialLR milestone, torch's closed form counts those <= 0 at once
  _check_against_torch(
    lambda o: L.SequentialLR(o, [L.ConstantLR(o, 0.5, 2), L.MultiStepLR(o, milestones, 0.5)], [3]),
    12,
  )


@pytest.mark.parametrize("power", [0.0, 1.0, 3.0])
@pytest.mark.parametrize("n", [1, 4])
def test_polynomial_powers(power, n):
  _check_against_torch(lambda o: L.PolynomialLR(o, n, power), n + 4)


# first schedulers of a SequentialLR whose second one, a OneCycleLR built after them, rewrites the
# group's initial_lr (torch resets the lr to it and starts the first one from it)
FIRSTS = {
  "ConstantLR": lambda o: L.ConstantLR(o, 0.1, total_iters=5),
  "ConstantLR-short": lambda o: L.ConstantLR(o, 0.5, total_iters=2),
  "LinearLR": lambda o: L.LinearLR(o, 0.2, 1.0, total_iters=4),
  "LinearLR0": lambda o: L.LinearLR(o, 0.5, 1.0, total_iters=0),
  "StepLR": lambda o: L.StepLR(o, 2, 0.5),
  "MultiStepLR": lambda o: L.MultiStepLR(o, [1, 3, 3], 0.5),
  "MultiStepLR-empty": lambda o: L.MultiStepLR(o, []),
  "ExponentialLR": lambda o: L.ExponentialLR(o, 0.8),
  "PolynomialLR": lambda o: L.PolynomialLR(o, 4, 2.0),
  "CosineAnnealingLR": lambda o: L.CosineAnnealingLR(o, 2, eta_min=1e-3),
  "CosineAnnealingWarmRestarts": lambda o: L.CosineAnnealingWarmRestarts(o, 2, eta_min=1e-3),
  "CyclicLR": lambda o: L.CyclicLR(o, 0.01, 0.05, 2, cycle_momentum=False),
  "OneCycleLR": lambda o: L.OneCycleLR(o, 0.2, total_steps=10),
  "Chained": lambda o: L.ChainedScheduler([L.ConstantLR(o, 0.5, 2), L.ExponentialLR(o, 0.9)]),
  "Chained-poly": lambda o: L.ChainedScheduler([L.PolynomialLR(o, 6, 2.0), L.StepLR(o, 2, 0.5)]),
  "Chained-linear0": lambda o: L.ChainedScheduler(
    [L.LinearLR(o, 0.5, 1.0, 0), L.MultiStepLR(o, [2], 0.5)]
  ),
}


@pytest.mark.parametrize("first", list(FIRSTS))
@pytest.mark.parametrize("max_lr, div", [(0.4, 25.0), (0.05, 2.0)])
@pytest.mark.parametrize("milestone", [5, 7])
def test_sequential_first_scheduler_starts_from_initial_lr(first, max_lr, div, milestone):
  make = lambda o: L.SequentialLR(
    o, [FIRSTS[first](o), L.OneCycleLR(o, max_lr, total_steps=50, div_factor=div)], [milestone]
  )
  _check_against_torch(make, milestone + 20)


@pytest.mark.parametrize("first", list(FIRSTS))
def test_sequential_first_scheduler_without_a_rewrite(first):
  """No OneCycleLR after it: initial_lr is the first scheduler's own base lr."""
  _check_against_torch(
    lambda o: L.SequentialLR(o, [FIRSTS[first](o), L.ExponentialLR(o, 0.7)], [6]), 14
  )
  _check_against_torch(
    lambda o: L.SequentialLR(o, [FIRSTS[first](o), L.StepLR(o, 2, 0.5)], [4]), 10, lrs=(0.1, 0.03)
  )


def test_the_issue_example():
  s = _check_against_torch(
    lambda o: L.SequentialLR(
      o, [L.ConstantLR(o, 0.1, total_iters=5), L.OneCycleLR(o, 0.4, total_steps=50)], [5]
    ),
    54,
  )
  _close(s(np.arange(5)), np.full(5, 0.0016))


def test_sequential_with_two_rewrites_and_three_pieces():
  make = lambda o: L.SequentialLR(
    o,
    [
      L.LinearLR(o, 0.5, 1.0, 3),
      L.OneCycleLR(o, 0.3, total_steps=20),
      L.ExponentialLR(o, 0.9),
      L.OneCycleLR(o, 0.1, total_steps=15, three_phase=True),
    ],
    [4, 24, 30],
  )
  _check_against_torch(make, 44)
  _check_against_torch(make, 44, lrs=(0.1, 0.05))


def test_later_schedulers_built_after_a_rewrite_use_their_base_lrs():
  """A scheduler built after a OneCycleLR takes the rewritten initial_lr as its base_lrs."""
  make = lambda o: L.SequentialLR(
    o,
    [
      L.OneCycleLR(o, 0.3, total_steps=10),
      L.ConstantLR(o, 0.5, 4),
      L.CosineAnnealingLR(o, 5, eta_min=1e-4),
    ],
    [10, 16],
  )
  _check_against_torch(make, 40)
  cyclic_first = lambda o: L.SequentialLR(
    o, [L.CyclicLR(o, 0.02, 0.08, 3, cycle_momentum=False), L.StepLR(o, 3, 0.5)], [8]
  )
  _check_against_torch(cyclic_first, 20)
