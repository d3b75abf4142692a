"""``conv-oracle explain``: the geometry of a convolution drawn as text (`text`) and as a picture (`png`)."""

from oracle.explain.png import save_png
from oracle.explain.text import case_picture, explain, parse_padding
from oracle.explain.transposed import explain_transposed

__all__ = ["case_picture", "explain", "explain_transposed", "parse_padding", "save_png"]
