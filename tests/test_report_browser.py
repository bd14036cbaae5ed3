"""report.html in a real browser (headless Chromium): plots and tables render, the filter runs, no payload runs.

Chromium is part of the test environment (scripts/setup.sh installs Debian's package): a missing browser
fails these tests rather than skipping them, so a broken report can never pass unseen.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

import pytest
from synthetic_results import synthetic_results

from taskbench.reports.write import write_reports

CHROMIUM = "/usr/bin/chromium"
BROWSER_TIMEOUT_S = 60
FILTERED_CAPABILITY = "edge_cases"


@dataclass
class Dom:
    """What the checks read from a --dump-dom page."""

    title: str = ""
    elements: list[tuple[str, dict[str, str | None]]] = field(default_factory=list)
    text_by_id: dict[str, str] = field(default_factory=dict)
    rows_by_table: dict[str, list[dict[str, str | None]]] = field(default_factory=dict)

    def with_tag(self, tag: str) -> list[dict[str, str | None]]:
        return [attrs for name, attrs in self.elements if name == tag]

    def by_id(self, element_id: str) -> dict[str, str | None]:
        [found] = [attrs for _, attrs in self.elements if attrs.get("id") == element_id]
        return found


class _DomReader(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.dom = Dom()
        self._open: list[tuple[str, str | None]] = []
        self._table: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        self.dom.elements.append((tag, attributes))
        if tag == "table":
            self._table = attributes.get("id")
            self.dom.rows_by_table.setdefault(self._table or "", [])
        elif tag == "tr" and self._table is not None:
            self.dom.rows_by_table[self._table].append(attributes)
        if tag not in ("img", "input", "meta", "br", "link"):
            self._open.append((tag, attributes.get("id")))

    def handle_endtag(self, tag: str) -> None:
        if tag == "table":
            self._table = None
        while self._open:
            name, _ = self._open.pop()
            if name == tag:
                break

    def handle_data(self, data: str) -> None:
        if self._open and self._open[-1][0] == "title":
            self.dom.title += data
        for _, element_id in self._open:
            if element_id:
                self.dom.text_by_id[element_id] = self.dom.text_by_id.get(element_id, "") + data


def chromium(*arguments: str, profile: Path) -> subprocess.CompletedProcess[str]:
    if not Path(CHROMIUM).exists() and shutil.which("chromium") is None:
        pytest.fail(
            f"Chromium is not installed ({CHROMIUM}): run scripts/setup.sh as root, "
            "or `apt-get update && apt-get install -y chromium`",
            pytrace=False,
        )
    command = [
        CHROMIUM if Path(CHROMIUM).exists() else str(shutil.which("chromium")),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
        *arguments,
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=BROWSER_TIMEOUT_S, check=False)
    assert done.returncode == 0, f"chromium failed ({done.returncode}): {done.stderr[-2000:]}"
    return done


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, Path]:
    results = synthetic_results(seed=6, samples=3, episodes=24, episode_errors=1, fuzz=True)
    run_dir = tmp_path_factory.mktemp("browser") / "reports" / results["run_id"]
    write_reports(run_dir, results)
    return results, run_dir


@pytest.fixture(scope="module")
def dom(run: tuple[dict, Path], tmp_path_factory: pytest.TempPathFactory) -> Dom:
    _, run_dir = run
    page = (run_dir / "report.html").as_uri() + f"#capability={FILTERED_CAPABILITY}"
    done = chromium("--dump-dom", page, profile=tmp_path_factory.mktemp("profile"))
    reader = _DomReader()
    reader.feed(done.stdout)
    return reader.dom


def test_plots_and_tables_render(run: tuple[dict, Path], dom: Dom) -> None:
    results, _ = run
    svg = "data:image/svg+xml;base64,"
    plots = [attrs for attrs in dom.with_tag("img") if (attrs.get("src") or "").startswith(svg)]
    assert {attrs["id"] for attrs in plots} == {"heatmap", "confusion", "levels-plot"}
    capability_rows = dom.rows_by_table["capability-table"]
    assert len(capability_rows) == 1 + len(results["summary"]["capabilities"])
    failing = [i for i in results["items"] if not i["passed"]]
    assert len(dom.rows_by_table["failures"]) == 1 + len(failing)
    assert dom.text_by_id["aggregate"].startswith("Weighted aggregate: ")
    assert len(dom.rows_by_table["episode-failures"]) == 1 + len(results["episodes"]["failed"])
    assert len(dom.rows_by_table["fuzz-minimal"]) == 1 + sum(len(f["minimal"]) for f in results["fuzz"])
    assert len(dom.rows_by_table["changing"]) == 1 + len(results["samples"]["changing"])


def test_the_filter_script_ran_and_applied_the_link_preset(run: tuple[dict, Path], dom: Dom) -> None:
    results, _ = run
    failing = [i for i in results["items"] if not i["passed"]]
    expected = sum(1 for i in failing if i["capability"] == FILTERED_CAPABILITY)
    assert 0 < expected < len(failing)
    assert dom.with_tag("body")[0].get("data-filter-ready") == "true"
    assert dom.text_by_id["filter-count"] == f"{expected} of {len(failing)} shown"
    assert dom.by_id("failures").get("data-shown") == str(expected)
    visible = [row for row in dom.rows_by_table["failures"][1:] if "hidden" not in row]
    assert len(visible) == expected
    assert all(row["data-capability"] == FILTERED_CAPABILITY for row in visible)


def test_no_payload_ran(run: tuple[dict, Path], dom: Dom) -> None:
    results, _ = run
    assert dom.title == f"taskbench {results['run_id']}", "a payload set document.title"
    assert not any("data-xss" in attrs for _, attrs in dom.elements), "a payload set an attribute"
    assert not any(attrs.get("id") == "xss-b" for _, attrs in dom.elements), "a payload added an element"
    assert not any(name == "svg" or any(key.startswith("on") for key in attrs) for name, attrs in dom.elements)
    assert not any(attrs.get("src") == "x" for attrs in dom.with_tag("img"))
    assert len(dom.with_tag("script")) == 1, "only the page's own script"
    # The payloads are on the page, as text.
    assert "<script>document.title='XSS-script'</script>" in dom.text_by_id["failures"]
    assert "<img src=x onerror=\"document.title='XSS-img'\">" in dom.text_by_id["failures"]
    # So are the episodes' user text and outputs, and the fuzzed requests and answers.
    turns = [row["turn"] for row in results["episodes"]["failed"] if row["turn"] is not None]
    marked = [text for turn in turns for text in (turn["user"], turn["output"]) if "<" in text]
    assert marked and all(text in dom.text_by_id["episode-failures"] for text in marked)
    minimal = [example for record in results["fuzz"] for example in record["minimal"]]
    marked = [text for example in minimal for text in (example["input"], example["output"]) if "<" in text]
    assert marked and all(text in dom.text_by_id["fuzz-minimal"] for text in marked)


def test_screenshot_is_saved_into_the_run_folder(run: tuple[dict, Path], tmp_path: Path) -> None:
    _, run_dir = run
    screenshot = run_dir / "report.png"
    chromium(
        f"--screenshot={screenshot}", "--window-size=1280,2000", (run_dir / "report.html").as_uri(), profile=tmp_path
    )
    data = screenshot.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    assert len(data) > 50_000, "a rendered report, not a blank page"
