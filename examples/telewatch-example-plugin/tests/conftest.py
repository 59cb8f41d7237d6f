import pathlib
import sys

# The tests run from a checkout too, before `pip install .`: import the package from here.
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
