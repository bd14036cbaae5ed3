"""The short table printed after pytest's own summary: capability x level, the aggregate, the report path; and the
console the commands print their tables on."""

from __future__ import annotations

import io
from collections.abc import Mapping
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from rich.console import Console
from rich.table import Table

from taskbench.data.capabilities import LEVELS
from taskbench.reports.format import NO_VALUE, percent

if TYPE_CHECKING:
    import pytest

# Piped or written to a file, rich would wrap at 80 columns; the commands' tables need more.
FILE_WIDTH = 160


def command_console(out: IO[str]) -> Console:
    """A console on `out` for a command's tables: the terminal's width, or FILE_WIDTH when `out` is not one."""
    console = Console(file=out, highlight=False)
    return console if console.is_terminal else Console(file=out, highlight=False, width=FILE_WIDTH)


def summary_table(summary: Mapping[str, Any]) -> Table:
    table = Table(title="taskbench: mean score (pass rate) by capability x level", title_justify="left")
    table.add_column("capability")
    table.add_column("weight", justify="right")
    for level in LEVELS:
        table.add_column(level, justify="right")
    table.add_column("all", justify="right")
    table.add_column("errors", justify="right")
    for name, cell in summary["capabilities"].items():
        row = [name, f"{cell['weight']:.2f}"]
        for level in LEVELS:
            sub = cell["levels"][level]
            row.append(f"{percent(sub['mean'])} ({percent(sub['pass_rate'])})" if sub["n"] else NO_VALUE)
        row.append(f"{percent(cell['mean'])} ({percent(cell['pass_rate'])}) n={cell['n']}")
        row.append(str(cell["errors"]))
        table.add_row(*row)
    return table


def aggregate_line(summary: Mapping[str, Any]) -> str:
    agg = summary["aggregate"]
    if agg["value"] is None:
        return "weighted aggregate: no scored items"
    line = f"weighted aggregate: {percent(agg['value'], 1)}"
    if agg["partial"]:
        line += (
            f" PARTIAL: {agg['selected']} of {agg['tier_size']} cases, covering "
            f"{', '.join(agg['covered'])} (weight {agg['covered_weight']:.2f} of 1.00; not renormalised)"
        )
    if agg["errors"]:
        line += f"; {agg['errors']} errored items not scored"
    return line


def write_summary(terminalreporter: pytest.TerminalReporter, results: Mapping[str, Any], path: Path) -> None:
    """The table, the aggregate, why the run may be incomplete and where results.json is."""
    summary = results["summary"]
    buffer = io.StringIO()
    width = max(terminalreporter.config.get_terminal_writer().fullwidth, 120)
    Console(file=buffer, width=width, force_terminal=False).print(summary_table(summary))
    terminalreporter.section("taskbench", sep="=")
    terminalreporter.write(buffer.getvalue())
    terminalreporter.write_line(aggregate_line(summary))
    for reason in results["incomplete_reasons"]:
        terminalreporter.write_line(f"INCOMPLETE: {reason}", red=True)
    terminalreporter.write_line(f"results: {path}")
