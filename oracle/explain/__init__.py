"""``conv-oracle explain``: the geometry of a convolution drawn as text (`text`) and as a picture (`png`)."""

from oracle.explain.png import save_png
from oracle.explain.text import case_picture, explain, parse_padding

__all__ = ["case_picture", "explain", "parse_padding", "save_png"]
