"""``one_cycle(max_value, epochs=E, steps_per_epoch=S)``: torch's ``OneCycleLR`` lengths, against
torch, with errors that name the arguments.
"""

import numpy as np
import pytest

import jaxsched as js
from tests.reference import assert_rel


def test_one_cycle_accepts_torchs_epochs_and_steps_per_epoch():
  by_epochs = js.one_cycle(0.1, epochs=7, steps_per_epoch=13, pct_start=0.25, three_phase=True)
  assert by_epochs == js.one_cycle(0.1, 91, pct_start=0.25, three_phase=True)
  assert by_epochs.to_config()["total_steps"] == 91
  assert js.one_cycle.__doc__ and "epochs" in js.one_cycle.__doc__
  assert js.FAMILIES["one_cycle"] is type(by_epochs)
  assert js.grid(
    js.one_cycle, {"max_value": [0.1, 0.2]}, epochs=2, steps_per_epoch=5
  ).batch_shape == (2,)


def test_one_cycle_against_torch_with_epochs_and_steps_per_epoch():
  torch = pytest.importorskip("torch")
  w = torch.nn.Parameter(torch.zeros(1))
  opt = torch.optim.SGD([w], lr=0.1)
  sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.1, epochs=4, steps_per_epoch=25)
  lrs = []
  for _ in range(100):
    lrs.append(opt.param_groups[0]["lr"])
    opt.step()
    sched.step()
  assert_rel(js.one_cycle(0.1, epochs=4, steps_per_epoch=25)(np.arange(100)), lrs, rtol=1e-6)


@pytest.mark.parametrize(
  "kwargs, words",
  [
    (dict(total_steps=100, epochs=4, steps_per_epoch=25), ["either total_steps", "not both"]),
    (dict(total_steps=100, epochs=4), ["not both"]),
    (dict(), ["either total_steps", "epochs and steps_per_epoch"]),
    (dict(epochs=4), ["epochs and steps_per_epoch", "steps_per_epoch=None"]),
    (dict(epochs=0, steps_per_epoch=25), ["epochs must be an integer >= 1", "got 0"]),
    (dict(epochs=4, steps_per_epoch=2.5), ["steps_per_epoch must be an integer >= 1"]),
    (dict(epochs=2**16, steps_per_epoch=2**16), ["epochs * steps_per_epoch", "2^31-1"]),
  ],
)
def test_one_cycle_length_errors_name_the_arguments(kwargs, words):
  with pytest.raises(ValueError) as e:
    js.one_cycle(0.1, **kwargs)
  for w in words:
    assert w in str(e.value), (w, str(e.value))


def test_one_cycle_epochs_types():
  assert js.one_cycle(0.1, epochs=4.0, steps_per_epoch=np.int64(25)) == js.one_cycle(0.1, 100)
  for bad in ("4", True, 4 + 0j):
    with pytest.raises(TypeError, match="one_cycle: epochs must be an integer >= 1"):
      js.one_cycle(0.1, epochs=bad, steps_per_epoch=25)
  with pytest.raises(ValueError, match="epochs must be an integer >= 1, got inf"):
    js.one_cycle(0.1, epochs=float("inf"), steps_per_epoch=25)
