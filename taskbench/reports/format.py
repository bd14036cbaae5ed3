"""How every report shows a number, an interval and a piece of case or model text: one formatter each, so
summary.md, report.html, the terminal table, the gate's verdict and `taskbench compare` agree."""

from __future__ import annotations

import html
import re
from collections.abc import Mapping, Sequence
from typing import Any

TEXT_LIMIT = 120
NO_VALUE = "–"

# Punctuation that starts markup anywhere in a line (`:` and `@` too: autolinks and @mentions), and what
# starts a block at the beginning of one (headings, lists).
_INLINE_MARKUP = re.compile(r"([\\`*_{}\[\]|~:@$!])")
_BLOCK_START = re.compile(r"^(\d*)([#+\-.)])")
# C0, DEL and C1: what a terminal may read as the start of a command.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")


def one_line(text: Any, limit: int = TEXT_LIMIT) -> str:
    """`text` on one line (whitespace collapsed), cut to `limit` characters."""
    flat = " ".join(str(text).split())
    return flat[: limit - 1] + "…" if len(flat) > limit else flat


def terminal_text(text: Any, limit: int = TEXT_LIMIT) -> str:
    """`text` on one line with every control character shown as its picture (ESC as ␛), so an answer cannot
    send escape sequences to the terminal it is printed on."""
    return _CONTROL.sub(_control_picture, one_line(text, limit))


def _control_picture(match: re.Match[str]) -> str:
    code = ord(match[0])
    return chr(0x2400 + code) if code < 0x20 else "␡" if code == 0x7F else "�"


def markdown_text(text: Any, limit: int = TEXT_LIMIT) -> str:
    """One line of inert Markdown showing `text` (cut to `limit` characters): HTML becomes entities and
    Markdown punctuation is backslash-escaped, so an answer can neither inject markup nor break a table."""
    flat = one_line(text, limit)
    # Entities first (& < >): the backslash escapes below never touch the `&` and `;` they introduce.
    inline = _INLINE_MARKUP.sub(r"\\\1", html.escape(flat, quote=False))
    return _BLOCK_START.sub(r"\1\\\2", inline)


def percent(value: float | None, digits: int = 0) -> str:
    """A fraction in percent ("83%"); a dash for a value there is none of."""
    return NO_VALUE if value is None else f"{100 * value:.{digits}f}%"


def interval(ci: Sequence[float] | None, digits: int = 0) -> str:
    """An interval as "[lo–hi]" in percent; "" when there is none."""
    if ci is None:
        return ""
    return f"[{100 * ci[0]:.{digits}f}–{100 * ci[1]:.{digits}f}]"


def aggregate_text(summary: Mapping[str, Any]) -> str:
    """The weighted aggregate with its interval, e.g. "83.1% (95% CI 80.2%–85.9%)"."""
    aggregate = summary["aggregate"]
    if aggregate["value"] is None:
        return "no scored items"
    shown = percent(aggregate["value"], 1)
    ci = aggregate.get("ci")
    if ci is not None:
        confidence = summary["statistics"]["confidence"]
        shown += f" ({100 * confidence:.0f}% CI {percent(ci[0], 1)}–{percent(ci[1], 1)})"
    return shown


def consistency_rows(section: Mapping[str, Any]) -> list[dict[str, Any]]:
    """results["samples"] as the pass@1 vs pass^k table: overall, then each capability (episodes last),
    then each level."""
    measures = ("n", "pass_at_1", "pass_hat_k")
    rows = [{"kind": "overall", "group": "overall", **{m: section[m]["overall"] for m in measures}}]
    for key, kind in (("by_capability", "capability"), ("by_level", "level")):
        rows += [
            {"kind": kind, "group": name, **{m: section[m][key][name] for m in measures}} for name in section["n"][key]
        ]
    return rows
