"""``conv-oracle survey``: every installed bundled target (and any other named), each checked one storage dtype at
a time in worker processes, as one table: a row per target with its library's version and its declaration, a column
per property, a cell per dtype saying held, finding (its minimal case, linked to its report), not declared, not
offered, or crashed. Written as Markdown, an HTML page and JSON, with the machine it ran on.

`run` makes the `Survey` (`oracle.survey.run`); `oracle.survey.render` writes it.
"""

from oracle.survey.run import Cell, Row, Survey, machine, run

__all__ = ["Cell", "Row", "Survey", "machine", "run"]
