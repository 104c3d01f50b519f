"""The Schedule core, one job per module (``README.md`` here explains the design):

- ``schedule``: the ``Schedule`` base, ``@family`` registration, pytree, evaluation, identity;
- ``fields``: the field kinds (``real``, ``count``, ``static``, ``child``, ``children``) as objects;
- ``leaves``: user values to leaves and back; ``checks``: ``Check`` and ``Rule`` data;
- ``derive``: the backends of per-setting constants; ``specialise``: special values;
- ``config``: ``from_config``; ``validation``: the checked mode; ``hypergrad``: partition/combine;
- ``arithmetic``: the operators; ``registry``: ``FAMILIES``.

``jaxsched.FAMILIES`` is the registry that ``@family`` fills: a dict from each family's name (the
``"family"`` key of ``to_config()``, the names ``from_config`` accepts) to its class:

>>> import jaxsched as js
>>> js.FAMILIES["cosine"] is js.cosine
True
>>> {"cosine", "warmup", "scaled"} <= set(js.FAMILIES)
True
"""

from jaxsched._maths import INT32_MAX
from jaxsched.core.checks import (
  Check,
  Rule,
  at_least_one,
  nondecreasing,
  nonnegative,
  open_unit,
  positive,
)
from jaxsched.core.config import from_config
from jaxsched.core.derive import Backend, Device, Host
from jaxsched.core.fields import (
  SKIP,
  Child,
  Children,
  Count,
  CountLike,
  CountsLike,
  Field,
  Function,
  Real,
  RealLike,
  RealsLike,
  Special,
  Static,
  child,
  children,
  children_of,
  count,
  fields_of,
  function,
  is_composite,
  nesting_depth,
  real,
  static,
  structure_diff,
)
from jaxsched.core.hypergrad import combine, partition
from jaxsched.core.leaves import default_float, host_leaves, host_real, is_traced, show
from jaxsched.core.registry import FAMILIES, FAMILY_HOOKS
from jaxsched.core.schedule import (
  MAX_DEPTH,
  STEP_FORMS,
  Schedule,
  StepLike,
  evaluate,
  evaluate_compiled,
  family,
  from_leaves,
  generalised,
  grouping_form,
  private_leaves,
  specialised,
)
from jaxsched.core.validation import ROWS_SHOWN, checked, validate

__all__ = [
  "INT32_MAX",
  "MAX_DEPTH",
  "ROWS_SHOWN",
  "STEP_FORMS",
  "FAMILIES",
  "FAMILY_HOOKS",
  "SKIP",
  "Check",
  "Rule",
  "Special",
  "Field",
  "Real",
  "Count",
  "Static",
  "Function",
  "Child",
  "Children",
  "RealLike",
  "RealsLike",
  "CountLike",
  "CountsLike",
  "positive",
  "nonnegative",
  "open_unit",
  "at_least_one",
  "nondecreasing",
  "real",
  "count",
  "static",
  "function",
  "child",
  "children",
  "fields_of",
  "children_of",
  "is_composite",
  "nesting_depth",
  "structure_diff",
  "default_float",
  "host_leaves",
  "host_real",
  "is_traced",
  "show",
  "Backend",
  "Host",
  "Device",
  "Schedule",
  "StepLike",
  "family",
  "from_leaves",
  "private_leaves",
  "evaluate",
  "evaluate_compiled",
  "specialised",
  "grouping_form",
  "generalised",
  "from_config",
  "partition",
  "combine",
  "validate",
  "checked",
]
