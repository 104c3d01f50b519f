"""How the command line words what goes wrong: ``CliError`` (a bad input, reported as one line with
exit status 2) and the helpers that make every error one readable line: ``one_line`` (an
exception's message on one line), ``cut`` (at most ``MESSAGE_LIMIT`` characters, keeping start and
end) and, for a long SPEC, ``spec_message`` (the SPEC replaced by an ``excerpt`` around the error's
position).
Shared by ``jaxsched.cli``, ``jaxsched.multihost`` and ``jaxsched.reports``.
"""

from __future__ import annotations

import ast
import json
import re

MESSAGE_LIMIT = 400  # characters of an error line; longer ones are cut in the middle
SPEC_EXCERPT = 80  # characters of a long SPEC quoted in an error


class CliError(Exception):
  """A bad argument: reported as one line and exit status 2."""


def one_line(e: BaseException) -> str:
  """``e``'s message on one line (its type's name when it has none)."""
  return " ".join(str(e).split()) or type(e).__name__


def cut(text: str, limit: int = MESSAGE_LIMIT) -> str:
  """``text`` on one line, at most ``limit`` characters: a longer one keeps its start and end."""
  text = " ".join(text.split())
  if len(text) <= limit:
    return text
  keep = limit - 5
  return f"{text[: keep * 2 // 3]} ... {text[len(text) - keep // 3 :]}"


def excerpt(text: str, at: int | None = None, width: int = SPEC_EXCERPT) -> str:
  """At most ``width`` characters of ``text`` around index ``at`` (the start when None), with
  ``...`` where cut: ``...ne(0.1, 10), 5)...``."""
  if len(text) <= width:
    return text
  at = 0 if at is None else min(max(at, 0), len(text) - 1)
  start = max(0, min(at - width // 2, len(text) - width))
  end = start + width
  return ("..." if start else "") + text[start:end] + ("..." if end < len(text) else "")


def error_position(message: str, text: str) -> int | None:
  """Where in the SPEC ``text`` the error is: the JSON or syntax error's offset, else the first
  place a fragment quoted in ``message`` occurs (the longest such fragment)."""
  body = text.strip()
  lead = len(text) - len(text.lstrip())
  try:
    if body.startswith("{"):
      json.loads(body)
    else:
      ast.parse(body, mode="eval")
  except json.JSONDecodeError as e:
    return lead + e.pos
  except SyntaxError as e:
    if e.lineno and e.offset:
      lines = body.splitlines(keepends=True)
      return lead + sum(len(x) for x in lines[: e.lineno - 1]) + e.offset - 1
  except (ValueError, MemoryError, RecursionError):
    pass
  rest = message.replace(repr(text), "").replace(text, "")
  for fragment in sorted(set(re.findall(r"'([^']{2,})'", rest)), key=len, reverse=True):
    found = text.find(fragment)
    if found >= 0:
      return found
  return None


def spec_message(message: str, text: str) -> str:
  """``message`` with a long SPEC replaced by an excerpt around the error and its position."""
  if len(text) <= SPEC_EXCERPT:
    return message
  at = error_position(message, text)
  short = (
    f"{excerpt(text, at)!r} ({len(text)} characters"
    + ("" if at is None else f", error near character {at + 1}")
    + ")"
  )
  for form in (repr(text), repr(text.strip()), text, text.strip()):
    if form in message:
      return message.replace(form, short)
  return message
