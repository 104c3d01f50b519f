"""The ``jaxsched`` console script. It lives outside the package on purpose: importing ``jaxsched``
imports JAX (a second or two), and a Ctrl-C in that window must also end with one line and status
130, not a traceback, so the handler goes in before any import (the CLI then installs its own)."""

import os
import signal
import sys


def _interrupted(signum, frame):
  sys.stderr.write("\ninterrupted\n")
  sys.stderr.flush()
  os._exit(130)


def main():
  signal.signal(signal.SIGINT, _interrupted)
  from jaxsched.cli import main as run

  sys.exit(run())
