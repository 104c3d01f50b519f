"""mkdocs hooks for the jaxsched site (``hooks:`` in mkdocs.yml).

- The front page is the README: ``index.md`` holds the marker ``<!-- README -->``, replaced at
  build time by README.md with its links into the repository rewritten to the site's pages
  (``docs/families.md`` -> ``families.md``). A link the table below does not know is left alone,
  so ``mkdocs build --strict`` reports it instead of publishing a broken link.
- The notebooks of colab/ join the site's files at their repository path (``colab/<name>.ipynb``,
  so the README's links to them hold on the site too); mkdocs-jupyter renders them without running
  them (``tests/test_notebooks.py`` runs them). Nothing is copied into docs/.
- Every family's curve (and a few composites') is drawn with matplotlib at build time and added
  to the site as ``plots/<name>.png``; nothing is committed. The pages link them like any image,
  so a page naming a plot that is not drawn here fails the strict build.

``tests/test_docs.py`` checks that ``EXAMPLES`` covers every family and draws one plot.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

from mkdocs.plugins import event_priority

ROOT = Path(__file__).resolve().parents[1]
README_MARKER = "<!-- README -->"

# README link target (relative to the repository) -> the same content on the site.
README_LINKS = {
  "benchmarks/RESULTS.md": "benchmarks.md",
  "CHANGELOG.md": "changelog.md",
}

# name -> (steps, the curves drawn): each curve a js.parse SPEC, or (label, function of js) for
# what a SPEC cannot say (custom holds a Python function).
EXAMPLES = {
  "constant": (1000, ["constant(0.1)"]),
  "exponential": (
    1000,
    ["exponential(0.1, 0.997)", "exponential(0.1, 0.5, decay_steps=200, staircase=True)"],
  ),
  "step": (1000, ["step(0.1, 200, 0.5)"]),
  "multistep": (1000, ["multistep(0.1, [300, 600, 800], 0.3)"]),
  "piecewise": (1000, ["piecewise([250, 500, 750], [0.1, 0.06, 0.03, 0.01])"]),
  "inverse_time": (
    1000,
    ["inverse_time(0.1, 0.01)", "inverse_time(0.1, 1.0, decay_steps=200, staircase=True)"],
  ),
  "inverse_sqrt": (1000, ["inverse_sqrt(0.1, 100.0, warmup_steps=100)"]),
  "linear": (1000, ["linear(0.1, 0.01, 800, begin=100)"]),
  "polynomial": (
    1000,
    [
      "polynomial(0.1, 0.001, 1000, 2.0)",
      "polynomial(0.1, 0.001, 1000, 0.5)",
      "polynomial(0.1, 0.001, 300, cycle=True)",
    ],
  ),
  "cosine": (
    1000,
    ["cosine(0.1, 1000, end_value=0.01)", "cosine(0.1, 1000, end_value=0.01, exponent=2.0)"],
  ),
  "warmup_cosine": (1000, ["warmup_cosine(0.1, 100, 1000, end_value=0.001)"]),
  "cosine_restarts": (
    1500,
    ["cosine_restarts(0.1, 200)", "cosine_restarts(0.1, 100, period_mult=2.0, decay=0.7)"],
  ),
  "one_cycle": (
    1000,
    ["one_cycle(0.1, 1000)", "one_cycle(0.1, 1000, anneal='linear', three_phase=True)"],
  ),
  "cyclic": (
    1000,
    [
      "cyclic(0.01, 0.1, 100)",
      "cyclic(0.01, 0.1, 100, mode='triangular2')",
      "cyclic(0.01, 0.1, 100, mode='exp_range', gamma=0.998)",
    ],
  ),
  "wsd": (
    1000,
    [
      "wsd(0.1, 100, 600, 300)",
      "wsd(0.1, 100, 600, 300, warmup_shape='cosine', decay_shape='cosine')",
      "wsd(0.1, 100, 600, 300, decay_shape='sqrt', end_value=0.01)",
    ],
  ),
  "custom": (
    1000,
    [
      (
        "custom(lambda t, base, rate: base / (1 + rate * t), base=0.1, rate=0.01)",
        lambda js: js.custom(lambda t, base, rate: base / (1 + rate * t), base=0.1, rate=0.01),
      )
    ],
  ),
  # composition
  "join": (1000, ["join([linear(0.0, 0.1, 100), constant(0.1), cosine(0.1, 400)], [100, 600])"]),
  "splice": (
    1000,
    ["splice([constant(0.1), cosine(0.1, 1000, end_value=0.01)], [400])"],
  ),
  "warmup": (
    1000,
    [
      "warmup(cosine(0.1, 800), 200)",
      "warmup(cosine(0.1, 800), 200, shape='cosine')",
      "warmup(cosine(0.1, 800), 200, init_value=0.001, shape='exponential')",
    ],
  ),
  "product": (1000, ["cosine(0.1, 1000) * exponential(1.0, 0.999)"]),
  "clip": (1000, ["clip(exponential(0.2, 0.995), min_value=0.01, max_value=0.1)"]),
  "per_epoch": (
    1000,
    ["per_epoch(cosine(0.1, 10), 100)", "per_epoch(cosine(0.1, 10), 100, fractional=True)"],
  ),
  "shift": (1000, ["shift(cosine(0.1, 600), 400)"]),
  "repeat": (1000, ["repeat(warmup_cosine(0.1, 50, 250), 250)"]),
  "sum": (1000, ["cosine(0.1, 1000) + 0.02 * cyclic(0.0, 1.0, 50)"]),
}


def curves(name: str):
  """``(steps, [(label, schedule), ...])`` for one entry of ``EXAMPLES``."""
  import jaxsched as js

  steps, specs = EXAMPLES[name]
  out = []
  for spec in specs:
    label, schedule = (spec, js.parse(spec)) if isinstance(spec, str) else (spec[0], spec[1](js))
    out.append((label, schedule))
  return steps, out


def render(name: str) -> bytes:
  """The PNG of one entry of ``EXAMPLES``: every curve on one axes, labelled by its SPEC."""
  from matplotlib.figure import Figure  # no pyplot: no GUI backend, no global state

  import jaxsched as js

  steps, named = curves(name)
  figure = Figure(figsize=(7.0, 2.8), dpi=100, layout="constrained")
  ax = figure.subplots()
  for label, schedule in named:
    js.plot(schedule, steps, ax=ax, label=label)
  ax.grid(alpha=0.3)
  ax.legend(fontsize=7, loc="best")
  buffer = io.BytesIO()
  figure.savefig(buffer, format="png")
  return buffer.getvalue()


NOTEBOOKS = sorted((ROOT / "colab").glob("*.ipynb"))


@event_priority(100)  # before mkdocs-jupyter's on_files, which renders colab/*.ipynb
def on_files(files, config):
  from mkdocs.structure.files import File

  for path in NOTEBOOKS:  # a real source file (mkdocs-jupyter reads it by its source path)
    notebook = path.relative_to(ROOT).as_posix()
    files.append(File(notebook, str(ROOT), config.site_dir, config.use_directory_urls))
  for name in EXAMPLES:
    files.append(File.generated(config, f"plots/{name}.png", content=render(name)))
  return files


def _readme_for_the_site(text: str) -> str:
  text = re.sub(r"^# jaxsched\n", "", text, count=1)  # the page has its own title

  def link(match):
    path, _, anchor = match.group(1).partition("#")
    path = path[len("docs/") :] if path.startswith("docs/") else README_LINKS.get(path, path)
    return f"]({path}{'#' + anchor if anchor else ''})"

  return re.sub(r"\]\(((?!https?:|#)[^)\s]+)\)", link, text)


def on_page_markdown(markdown, page, config, files):
  if README_MARKER in markdown:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    markdown = markdown.replace(README_MARKER, _readme_for_the_site(readme))
  return markdown
