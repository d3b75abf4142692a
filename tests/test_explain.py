"""``conv-oracle explain``: the geometry pinned as text, the PNG written, invalid geometry refused as conv2d
refuses it."""

import re

import numpy as np
import pytest

import naive
from oracle.cli import main
from oracle.explain import explain, parse_padding


def test_explain_seed_article_numbers_match_naive(capsys):
    assert main(["explain", "--seed-article"]) == 0
    out = capsys.readouterr().out
    assert "input 6x8, kernel 5x3" in out and "pads ((top, bottom), (left, right)) = ((2, 2), (1, 1))" in out
    assert "H_out = (H + pt + pb - d*(KH - 1) - 1) // s + 1 = (6 + 2 + 2 - 1*4 - 1) // 1 + 1 = 6" in out
    assert "   4     p   16   17 [18] [19] [20]   21   22   23    p" in out
    assert "   8     p    p    p  [p]  [p]  [p]    p    p    p    p" in out
    from oracle.examples.seed_article import seed_filter, seed_image

    y = naive.conv2d(seed_image(), seed_filter(), padding=(2, 1))
    assert f"= {y[0, 4, 3, 0]:.0f}; naive.conv2d gives y[0, 4, 3, 0] = {y[0, 4, 3, 0]:.0f}" in out
    assert "2414 + 19802 + 54470 = 76686" in out


def test_explain_padding_ge_kernel_and_stride_gt_kernel_shows_unread_rows_and_padding_windows():
    text = explain((7, 7), (2, 2), stride=3, padding=3)
    assert "H_out = (H + pt + pb - d*(KH - 1) - 1) // s + 1 = (7 + 3 + 3 - 1*1 - 1) // 3 + 1 = 4" in text
    assert "input rows no window reads (dx = 0 there): [2, 5]" in text
    assert "output rows whose window reads padding only: [0]" in text
    assert "  padded input    p  p  p  ·  ·  x  ·  ·  x  ·  p  p  p" in text
    assert "phase 2: no tap reaches it: dx = 0 on those rows" in text
    # the picture agrees with naive: dx is zero exactly on the rows marked unread
    x = np.random.default_rng(0).standard_normal((1, 7, 7, 1))
    dx = naive.conv2d_backward(np.ones((1, 4, 4, 1)), x, np.ones((2, 2, 1, 1)), stride=3, padding=3).dx
    assert np.flatnonzero(~dx[0, :, 0, 0].astype(bool)).tolist() == [2, 5]


def test_explain_same_shows_every_convention():
    text = explain((5, 6), (4, 2), stride=2, padding="same")
    assert "SAME_UPPER (this project, TensorFlow, ONNX): 1 top / 2 bottom   <- used" in text
    assert "SAME_LOWER (ONNX):                           2 top / 1 bottom" in text
    assert "PyTorch padding='same':                      refused at stride > 1" in text


def test_explain_backward_padding_matches_the_articles_rule():
    text = explain((6, 6), (3, 3), padding=4)
    assert "(stride 1: the article's P - K + 1 = 4 - 3 + 1 = 2: crop dy by 2 top)" in text


@pytest.mark.parametrize("options, error", [
    ({"stride": 0}, "stride must be >= 1 on each axis; got stride=0"),
    ({"padding": (-1, 0)}, "padding must be >= 0 on every side; got padding=(-1, 0)"),
])
def test_explain_refuses_invalid_options_as_conv2d_does(options, error):
    with pytest.raises(ValueError, match=re.escape(error)) as explained:
        explain((5, 5), (3, 3), **options)
    with pytest.raises(ValueError) as convolved:
        naive.conv2d(np.zeros((0, 5, 5, 1)), np.zeros((3, 3, 1, 1)), **options)
    assert str(explained.value) == str(convolved.value)


def test_explain_refuses_a_kernel_that_does_not_fit_in_its_own_words():
    """No placeholder arrays in the message: the input and kernel sizes the user gave (issue 11)."""
    with pytest.raises(ValueError) as refused:
        explain((5, 5), (3, 3), dilation=9)
    assert str(refused.value) == ("the dilated kernel must fit in the padded input (H_out and W_out >= 1); got input "
                                  "5x5 padded to 5x5, kernel 3x3 dilated to 19x19 (padding=0, dilation=9)")
    assert "x.shape" not in str(refused.value)


def test_explain_cli_error_is_one_line_exit_2(capsys):
    assert main(["explain", "--input", "5,5", "--kernel", "9,9"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("conv-oracle: error: the dilated kernel must fit") and err.count("\n") == 1


def test_explain_parse_padding_forms():
    assert parse_padding("2") == 2 and parse_padding("2,1") == (2, 1)
    assert parse_padding("2,0,1,3") == ((2, 0), (1, 3)) and parse_padding("same") == "same"
    with pytest.raises(ValueError, match="padding must be"):
        parse_padding("1,2,3")


def test_explain_png_is_written(tmp_path):
    pytest.importorskip("matplotlib")
    path = tmp_path / "seed.png"
    assert main(["explain", "--seed-article", "--png", str(path)]) == 0
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 5000
    other = tmp_path / "strided.png"
    assert main(["explain", "--input", "7,7", "--kernel", "2,2", "--stride", "3", "--padding", "3",
                 "--png", str(other)]) == 0
    assert other.stat().st_size > 5000


def test_explain_dilation_and_chosen_window(capsys):
    assert main(["explain", "--input", "9,8", "--kernel", "3,2", "--dilation", "2,3", "--padding", "same",
                 "--stride", "2", "--window", "0,1"]) == 0
    out = capsys.readouterr().out
    assert "output 5x4; window (0, 1) starts at padded (0, 2)" in out
    assert "H_out = ceil(9 / 2) = 5; total pad = max((5 - 1)*2 + 2*2 + 1 - 9, 0) = 4" in out
    assert "phase 1: no tap reaches it: dx = 0 on those rows" in out
