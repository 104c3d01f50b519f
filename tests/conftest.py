import os
import sys

# The tests import ``tests.cases``; make the repository root importable without an install too.
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
