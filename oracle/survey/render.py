"""A `Survey` written three ways: Markdown (for a README or an issue), a self-contained HTML page (for a browser:
every finding's cell links to its report) and JSON (for tools).

In the table, a row is a target and a column a property; each cell has one mark per dtype, in the order of the
legend: ``✓`` held, ``✗`` finding, ``💥`` crashed, ``–`` not declared, ``·`` not offered or not applicable, ``!``
the oracle itself failed.
"""

from __future__ import annotations

import dataclasses
import html
import json
from pathlib import Path

from oracle.survey.run import Survey

MARKS = {"held": "✓", "finding": "✗", "crashed": "💥", "not declared": "–", "not offered": "·",
         "not applicable": "·", "oracle failed": "!"}
SHORT = {"float16": "f16", "bfloat16": "bf16", "float32": "f32", "float64": "f64"}
COLOURS = {"held": "#dff3df", "finding": "#f8d4d0", "crashed": "#e9c0f0", "not declared": "#eeeeee",
           "not offered": "#f7f7f7", "not applicable": "#f7f7f7", "oracle failed": "#ffe08a"}


def legend(survey: Survey) -> str:
    order = "/".join(SHORT.get(d, d) for d in survey.dtypes)
    return (f"Each cell: one mark per dtype ({order}): ✓ held, ✗ finding, 💥 crashed (signal, exit or hang), "
            "– not declared, · not offered (or no sweep point fits), ! the oracle failed.")


def _about(survey: Survey) -> list[str]:
    m = survey.machine
    return [f"Run {survey.started}: {survey.max_examples} generated cases per property and dtype, then the named edge "
            f"cases and the block sweeps; seed {survey.seed}; {survey.seconds:.0f} s in all.",
            f"Machine: {m['cpu']} ({m['features']}), {m['cores']} cores, {m['os']}, Python {m['python']}."]


def _target(row) -> str:
    version = f" {row.version}" if row.version else ""
    return f"{row.target} ({row.library}{version})" if row.library else row.target


def markdown(survey: Survey) -> str:
    """The table as Markdown, with the run, the machine and the legend above it."""
    names = survey.properties
    lines = [*_about(survey), "", legend(survey), "",
             "| target | " + " | ".join(names) + " |", "| --- |" + " --- |" * len(names)]
    for row in survey.rows:
        if row.error:
            lines.append(f"| {_target(row)} | not loaded: {row.error} |" + " |" * (len(names) - 1))
            continue
        cells = []
        for name in names:
            by_dtype = row.cells.get(name, {})
            cells.append("".join(MARKS[by_dtype[d].status] if d in by_dtype else " " for d in survey.dtypes))
        lines.append(f"| {_target(row)} | " + " | ".join(cells) + " |")
    lines += ["", "Declarations and times:", ""]
    for row in survey.rows:
        declared = "; ".join(row.declared) or ("not loaded" if row.error else "the whole contract")
        lines.append(f"- `{row.target}` ({row.seconds:.0f} s): {declared}")
    return "\n".join(lines) + "\n"


def html_page(survey: Survey) -> str:
    """A page a person opens in a browser: the table with every finding linked to its report, then every finding
    with its minimal case and its reproducers."""
    e = html.escape
    names = survey.properties
    head = "".join(f"<th scope='col'>{e(n)}</th>" for n in names)
    body, findings = [], []
    for row in survey.rows:
        cells = [f"<th scope='row' class='target'>{e(_target(row))}<div class='declared'>"
                 f"{e('; '.join(row.declared) or row.error or 'the whole contract')}</div>"
                 f"<div class='time'>{row.seconds:.0f} s</div></th>"]
        if row.error:
            cells.append(f"<td colspan='{max(len(names), 1)}' class='error'>not loaded: {e(row.error)}</td>")
        for name in names if not row.error else []:
            marks = []
            for dtype in survey.dtypes:
                cell = row.cells.get(name, {}).get(dtype)
                if cell is None:
                    continue
                title = e(f"{SHORT.get(dtype, dtype)}: {cell.status}" + (f": {cell.line}" if cell.line else ""))
                mark = (f"<span class='mark' data-dtype='{e(dtype)}' data-status='{e(cell.status)}' "
                        f"style='background:{COLOURS[cell.status]}' title='{title}'>")
                if cell.status in ("finding", "crashed", "oracle failed"):
                    anchor = f"f{len(findings)}"
                    findings.append((row, name, dtype, cell, anchor))
                    mark += f"<a href='#{anchor}'>{MARKS[cell.status]}</a></span>"
                else:
                    mark += f"{MARKS[cell.status]}</span>"
                marks.append(mark)
            cells.append(f"<td data-property='{e(name)}'>{''.join(marks)}</td>")
        body.append(f"<tr data-target='{e(row.target)}'>{''.join(cells)}</tr>")
    items = []
    for row, name, dtype, cell, anchor in findings:
        links = " · ".join(f"<a href='{e(path)}'>{label}</a>" for label, path in
                           (("report", cell.report), ("reproducer", cell.reproducer), ("upstream", cell.upstream))
                           if path)
        items.append(f"<li id='{anchor}' data-target='{e(row.target)}' data-property='{e(name)}' "
                     f"data-dtype='{e(dtype)}' data-status='{e(cell.status)}'><b>{e(row.target)}</b> · {e(name)} · "
                     f"{e(dtype)}: {e(cell.status)}<br><code>{e(cell.line)}</code><br>"
                     f"<code>{e(cell.case)}</code><br>{links}</li>")
    about = "".join(f"<p>{e(line)}</p>" for line in _about(survey))
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>conv-oracle survey</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 1.5em; }}
table {{ border-collapse: collapse; font-size: 0.85em; }}
th, td {{ border: 1px solid #ccc; padding: 0.25em 0.4em; vertical-align: top; }}
thead th {{ writing-mode: vertical-rl; transform: rotate(180deg); white-space: nowrap; }}
th.target {{ text-align: left; min-width: 16em; }}
.declared, .time {{ font-weight: normal; font-size: 0.8em; color: #555; }}
.mark {{ display: inline-block; min-width: 1.3em; text-align: center; margin: 1px; }}
.mark a {{ text-decoration: none; color: inherit; }}
li {{ margin-bottom: 0.8em; }}
code {{ font-size: 0.85em; }}
</style>
</head>
<body>
<h1>conv-oracle survey</h1>
{about}
<p>{e(legend(survey))}</p>
<table id="survey">
<thead><tr><th scope="col">target</th>{head}</tr></thead>
<tbody>
{chr(10).join(body)}
</tbody>
</table>
<h2>Findings</h2>
<ol id="findings">
{chr(10).join(items) or "<li>none</li>"}
</ol>
</body>
</html>
"""


def as_json(survey: Survey) -> str:
    """Everything, for tools: ``rows[i].cells[property][dtype]`` is a cell with its status, line, case and paths."""
    return json.dumps({**dataclasses.asdict(survey), "properties": survey.properties}, indent=1)


def write(survey: Survey, out: Path) -> dict[str, Path]:
    """``survey.md``, ``survey.html`` and ``survey.json`` in ``out``; returns their paths by format."""
    out.mkdir(parents=True, exist_ok=True)
    paths = {"markdown": out / "survey.md", "html": out / "survey.html", "json": out / "survey.json"}
    paths["markdown"].write_text(markdown(survey))
    paths["html"].write_text(html_page(survey))
    paths["json"].write_text(as_json(survey))
    return paths
