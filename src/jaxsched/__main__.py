"""``python -m jaxsched``: the command line (see ``jaxsched.cli``)."""

import sys

from jaxsched.cli import main

if __name__ == "__main__":
  sys.exit(main())
