"""``conv-oracle survey``: the table says, per target, property and dtype, what a check of that dtype found, and the
HTML page a person opens links every finding to its report.

One small survey runs once for the module, from a directory outside the repository as a user would run it: a
planted padding bug (a finding), a mutant that segfaults (crashed), and scipy's forward pass (held where declared,
"not declared" for the gradient it does not have). The page is read with ``html.parser``, as a browser's DOM.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest

pytest.importorskip("scipy")

TARGETS = ["oracle.zoo.padding_wrong_side", "oracle.zoo.segfault_stride_past_kernel", "oracle.examples.scipy_conv"]
COMMAND = ["survey", "--no-bundled", *[a for t in TARGETS for a in ("--target", t)], "--dtype", "float64",
           "--property", "forward", "--property", "dx", "--max-examples", "5", "--jobs", "1"]


def _conv_oracle(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "oracle", *args], capture_output=True, text=True, cwd=cwd,
                          timeout=600, env={**os.environ, "COLUMNS": "120"})


@pytest.fixture(scope="module")
def surveyed(tmp_path_factory):
    user = tmp_path_factory.mktemp("user")
    out = user / "survey"
    run = _conv_oracle([*COMMAND, "--out", str(out)], user)
    assert run.returncode == 0, run.stdout + run.stderr
    return out, run.stdout


class Page(HTMLParser):
    """The survey page's marks, ``(target, property, dtype) -> (status, href)``, and its findings' links."""

    def __init__(self) -> None:
        super().__init__()
        self.marks: dict[tuple[str, str, str], tuple[str, str | None]] = {}
        self.findings: dict[str, dict[str, str]] = {}
        self.target = self.prop = self.mark = self.item = self.href = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "tr" and "data-target" in a:
            self.target = a["data-target"]
        elif tag == "td" and "data-property" in a:
            self.prop = a["data-property"]
        elif tag == "span" and "data-status" in a:
            self.mark = (self.target, self.prop, a["data-dtype"])
            self.marks[self.mark] = (a["data-status"], None)
        elif tag == "a" and self.mark is not None:
            self.marks[self.mark] = (self.marks[self.mark][0], a["href"])
        elif tag == "li" and "id" in a:
            self.item = a["id"]
            self.findings[self.item] = {"status": a["data-status"], "target": a["data-target"]}
        elif tag == "a" and self.item is not None:
            self.href = a["href"]

    def handle_data(self, data):
        if self.item is not None and self.href is not None:
            self.findings[self.item][data] = self.href
            self.href = None

    def handle_endtag(self, tag):
        if tag == "span":
            self.mark = None
        elif tag == "li":
            self.item = None


def _page(out: Path) -> Page:
    page = Page()
    page.feed((out / "survey.html").read_text())
    return page


def test_survey_page_marks_each_target_property_and_dtype_by_what_its_check_found(surveyed):
    out, _ = surveyed
    statuses = {key: status for key, (status, _) in _page(out).marks.items()}
    assert statuses == {
        ("oracle.zoo.padding_wrong_side", "forward", "float64"): "finding",
        ("oracle.zoo.padding_wrong_side", "dx", "float64"): "finding",
        ("oracle.zoo.segfault_stride_past_kernel", "forward", "float64"): "crashed",
        ("oracle.zoo.segfault_stride_past_kernel", "dx", "float64"): "held",
        ("oracle.examples.scipy_conv", "forward", "float64"): "held",
        ("oracle.examples.scipy_conv", "dx", "float64"): "not declared",
    }


def test_survey_page_links_every_finding_to_its_report_and_reproducer(surveyed):
    out, _ = surveyed
    page = _page(out)
    linked = [(key, href) for key, (status, href) in page.marks.items() if status in ("finding", "crashed")]
    assert len(linked) == 3 and all(href and href.startswith("#") for _, href in linked)
    for (target, prop, _), href in linked:
        finding = page.findings[href[1:]]
        assert finding["target"] == target
        assert f"FAIL  {prop}" in (out / finding["report"]).read_text()
        assert (out / finding["reproducer"]).is_file()


def test_survey_json_and_markdown_say_what_the_page_says(surveyed):
    out, printed = surveyed
    data = json.loads((out / "survey.json").read_text())
    cells = {(row["target"], name, dtype): cell["status"] for row in data["rows"]
             for name, by_dtype in row["cells"].items() for dtype, cell in by_dtype.items()}
    assert cells == {key: status for key, (status, _) in _page(out).marks.items()}
    markdown = (out / "survey.md").read_text()
    assert "| oracle.zoo.padding_wrong_side (conv-oracle 0.1.0) | ✗ | ✗ |" in markdown
    assert "| oracle.zoo.segfault_stride_past_kernel (conv-oracle 0.1.0) | 💥 | ✓ |" in markdown
    assert "| oracle.examples.scipy_conv (conv-oracle 0.1.0) | ✓ | – |" in markdown
    assert markdown.rstrip() in printed


def test_survey_states_the_machine_and_the_declarations(surveyed):
    out, _ = surveyed
    data = json.loads((out / "survey.json").read_text())
    assert data["machine"]["cores"] == str(os.cpu_count())
    scipy_row = next(r for r in data["rows"] if r["target"] == "oracle.examples.scipy_conv")
    assert "forward only" in scipy_row["declared"]
    for text in ((out / "survey.md").read_text(), (out / "survey.html").read_text()):
        assert f"Machine: {data['machine']['cpu']}" in text and "forward only" in text


def test_survey_without_any_target_is_a_usage_error(tmp_path):
    run = _conv_oracle(["survey", "--no-bundled"], tmp_path)
    assert run.returncode == 2 and "Traceback" not in run.stderr
    assert run.stderr.strip().splitlines() == [
        "conv-oracle: error: survey needs a target: no bundled target's library is installed here, and --no-bundled "
        "was given without --target; got none"]
