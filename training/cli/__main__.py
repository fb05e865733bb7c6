"""`python -m training.cli`: the same as the `segmentation` console script."""

from training.cli import entry

entry()
