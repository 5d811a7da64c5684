"""supercollapse: the companion package of the book *Scaling Collapse*."""

__version__ = "0.1.0"
