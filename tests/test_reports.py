"""taskbench.reports.write: every file from a synthetic run, its numbers, its tables; model text never runs."""

from __future__ import annotations

import base64
import hashlib
import html
import json
import re
from pathlib import Path

import jsonschema
import markupsafe
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from synthetic_results import XSS_PAYLOADS, synthetic_results

from taskbench.data.capabilities import LEVELS
from taskbench.paths import SCHEMA_DIR
from taskbench.reports.markdown import markdown_text
from taskbench.reports.step_summary import GITHUB_STEP_SUMMARY
from taskbench.reports.tables import ITEM_COLUMNS, write_tables
from taskbench.reports.write import write_reports
from taskbench.results.analysis import analyse

RESULTS_SCHEMA = json.loads((SCHEMA_DIR / "results.schema.json").read_text(encoding="utf-8"))
REPORT_FILES = ("summary.md", "report.html", "items.csv", "items.parquet")


@pytest.fixture(scope="module")
def results() -> dict:
    return synthetic_results(seed=4)


@pytest.fixture(scope="module")
def run_dir(results: dict, tmp_path_factory: pytest.TempPathFactory) -> Path:
    run_dir = tmp_path_factory.mktemp("reports") / results["run_id"]
    paths = write_reports(run_dir, results)
    assert [p.name for p in paths] == list(REPORT_FILES)
    return run_dir


@pytest.fixture(scope="module")
def rich() -> dict:
    """A run with three samples per case, episodes (two errored) and fuzzing."""
    return synthetic_results(seed=4, samples=3, episodes=24, episode_errors=2, fuzz=True)


@pytest.fixture(scope="module")
def rich_dir(rich: dict, tmp_path_factory: pytest.TempPathFactory) -> Path:
    run_dir = tmp_path_factory.mktemp("rich") / rich["run_id"]
    write_reports(run_dir, rich)
    return run_dir


def test_every_report_file_is_written(run_dir: Path) -> None:
    for name in REPORT_FILES:
        assert (run_dir / name).stat().st_size > 0, name


def test_the_synthetic_run_has_what_the_reports_must_show(results: dict) -> None:
    failures = {i["failure"] for i in results["items"]}
    assert {"safety", "code_fence", "truncated", "wrong_field", "missing_field", "prose"} <= failures
    assert any(i["finish_reason"] == "length" for i in results["items"])
    shown = [i for i in results["items"] if not i["passed"]]
    for payload in XSS_PAYLOADS[:6]:
        assert any(payload in i["input"] or payload in i["output"] for i in shown), payload


def test_results_match_the_schema(results: dict, rich: dict) -> None:
    validator = jsonschema.Draft202012Validator(RESULTS_SCHEMA)
    validator.validate(json.loads(json.dumps(results)))
    validator.validate(json.loads(json.dumps(rich)))
    assert rich["episodes"]["failed"] and rich["samples"]["changing"] and rich["fuzz_summary"]["minimal"]


def test_the_schema_rejects_malformed_episodes_samples_and_fuzz(rich: dict) -> None:
    validator = jsonschema.Draft202012Validator(RESULTS_SCHEMA)
    broken = [
        lambda r: r["episodes"]["items"][0]["turns"][0].pop("state_ok"),
        lambda r: r["episodes"].update(mode="guessing"),
        lambda r: r["samples"].update(k=1),
        lambda r: r["fuzz"][0].update(property="vibes"),
        lambda r: r["items"][0]["samples"][0].pop("passed"),
    ]
    for breaking in broken:
        copy = json.loads(json.dumps(rich))
        breaking(copy)
        assert not validator.is_valid(copy)


def _section(text: str, heading: str) -> str:
    start = text.index(heading)
    end = text.find("\n### ", start + 1)
    return text[start : end if end != -1 else len(text)]


def test_sections_without_their_data_are_omitted(run_dir: Path) -> None:
    text = (run_dir / "summary.md").read_text(encoding="utf-8")
    page = (run_dir / "report.html").read_text(encoding="utf-8")
    for heading in ("### Episodes", "### Consistency", "### Fuzzing"):
        assert heading not in text
    for element in ('id="episodes"', 'id="consistency"', 'id="fuzzing"'):
        assert element not in page


def test_summary_md_episodes_are_the_section(rich: dict, rich_dir: Path) -> None:
    section = rich["episodes"]
    text = _section((rich_dir / "summary.md").read_text(encoding="utf-8"), "### Episodes")
    low, high = section["ci_low"], section["ci_high"]
    assert text.startswith(
        f"### Episodes: {section['passed']} of {section['episodes']} passed, "
        f"{100 * section['pass_rate']:.0f}% [{100 * low:.0f}–{100 * high:.0f}]"
    )
    assert f"({section['turns_passed']} of {section['turns']} turns)" in text
    assert "2 errored, not counted" in text
    for level, cell in section["by_level"].items():
        assert f"| {level} | {cell['episodes']} | {cell['passed']} | {100 * cell['pass_rate']:.0f}% [" in text
    failed = section["failed"]
    assert 10 < len(failed) < section["episodes"]
    for row in failed[:10]:
        turn = row["turn"]
        assert (
            f"| {markdown_text(row['id'])} | {row['level']} | {turn['number']} | {markdown_text(turn['user'])} |"
            in text
        )
        assert markdown_text(turn["output"]) in text
    assert markdown_text(failed[10]["id"]) not in text and f"{len(failed) - 10} more in report.html" in text


def test_summary_md_consistency_is_the_section(rich: dict, rich_dir: Path) -> None:
    section = rich["samples"]
    text = _section((rich_dir / "summary.md").read_text(encoding="utf-8"), "### Consistency")
    assert text.startswith("### Consistency (pass^k, k = 3)")
    overall = f"| **overall** | {section['n']['overall']} | {100 * section['pass_at_1']['overall']:.1f}% | "
    assert overall + f"{100 * section['pass_hat_k']['overall']:.1f}% |" in text
    for name, value in section["pass_hat_k"]["by_capability"].items():
        assert f"| {name} | {section['n']['by_capability'][name]} | " in text and f"{100 * value:.1f}% |" in text
    assert "| episodes |" in text and "| level adversarial |" in text
    assert (
        f"changing between samples: {len(section['changing'])}: {markdown_text(section['changing'][0]['id'])} (" in text
    )


def test_summary_md_fuzzing_is_the_section(rich: dict, rich_dir: Path) -> None:
    section = rich["fuzz_summary"]
    text = _section((rich_dir / "summary.md").read_text(encoding="utf-8"), "### Fuzzing")
    assert text.startswith(f"### Fuzzing: {section['passed']} of {section['examples']} generated requests")
    for row in section["rows"]:
        assert f"| {row['examples']} | {row['passed']} | {100 * row['pass_rate']:.1f}% |" in text
    assert text.count("| delete\\_vague | safety |") == 1 + 2, "one rate row and two minimal failures"
    for row in section["minimal"]:
        assert markdown_text(row["input"]) in text
    assert "<script" not in text and "<img" not in text


def test_report_html_shows_episodes_consistency_and_fuzzing(rich: dict, rich_dir: Path) -> None:
    page = (rich_dir / "report.html").read_text(encoding="utf-8")
    failed = rich["episodes"]["failed"]
    table = page[page.index('<table id="episode-failures">') :]
    table = table[: table.index("</table>")]
    assert table.count("<tr>") == 1 + len(failed)
    for row in failed:
        assert f'<td class="text">{html.escape(row["id"])}</td>' in table
    assert page.count('<li><span class="text">ep-') == rich["episodes"]["errored"]
    consistency = page[page.index('<table id="consistency-table">') :]
    rows = len(rich["samples"]["n"]["by_capability"]) + len(rich["samples"]["n"]["by_level"]) + 1
    assert consistency[: consistency.index("</table>")].count("<tr>") == 1 + rows
    minimal = page[page.index('<table id="fuzz-minimal">') :]
    assert minimal[: minimal.index("</table>")].count("<tr>") == 1 + len(rich["fuzz_summary"]["minimal"])


def test_summary_md_numbers_are_the_summary(results: dict, run_dir: Path) -> None:
    text = (run_dir / "summary.md").read_text(encoding="utf-8")
    aggregate = results["summary"]["aggregate"]
    low, high = aggregate["ci"]
    assert (
        f"**Weighted aggregate: {100 * aggregate['value']:.1f}% (95% CI {100 * low:.1f}%–{100 * high:.1f}%)**" in text
    )
    assert f"**{results['analysis']['band']['label']}**" in text
    rows = {line.split("|")[1].strip(): line.split("|")[2:-1] for line in text.splitlines() if line.startswith("| ")}
    for name, cell in results["summary"]["capabilities"].items():
        row = [part.strip() for part in rows[name]]
        assert row[0] == f"{cell['weight']:.2f}"
        for column, level in enumerate(LEVELS, start=1):
            level_cell = cell["levels"][level]
            mean, (lo, hi), rate = level_cell["mean"], level_cell["mean_ci"], level_cell["pass_rate"]
            assert row[column] == f"{100 * mean:.0f}% [{100 * lo:.0f}–{100 * hi:.0f}] · pass {100 * rate:.0f}%"
        assert row[len(LEVELS) + 1].startswith(f"**{100 * cell['mean']:.1f}% [{100 * cell['mean_ci'][0]:.1f}–")
        assert row[len(LEVELS) + 2] == str(cell["n"])
    safety = [i for i in results["items"] if i["safety"]]
    assert f"### Safety failures: {len(safety)}" in text
    for item in safety:
        assert markdown_text(item["id"]) in text
    for weakness in results["analysis"]["weaknesses"]:
        assert f"**{weakness['capability']}** {100 * weakness['mean']:.1f}%" in text
        assert f"is weakest at {weakness['weakest_level']}" in text
    unparseable = results["analysis"]["failure_patterns"]["unparseable"]
    assert f"code_fence {unparseable['code_fence']['count']}" in text
    assert "cut off at \\-\\-max\\-tokens" in text or "cut off at --max-tokens" in text


def test_summary_md_warns_about_partial_and_incomplete_runs(tmp_path: Path) -> None:
    partial = synthetic_results(capabilities=("edge_cases", "format_compliance"), errored=1)
    partial["incomplete_reasons"] = ["worker gw0 crashed"]
    partial["analysis"] = analyse(partial)
    write_reports(tmp_path, partial)
    text = (tmp_path / "summary.md").read_text(encoding="utf-8")
    assert "> [!WARNING]" in text
    assert "PARTIAL" in text and "weight 0.30 of 1.00" in text
    assert "INCOMPLETE" in text and "worker gw0 crashed" in text
    assert "· **good**" not in text and "· **excellent**" not in text, "a partial aggregate gets no band"


def test_the_samples_of_an_item_reach_the_tables(rich: dict, rich_dir: Path) -> None:
    frame = pd.read_parquet(rich_dir / "items.parquet")
    assert list(frame.columns) == [*ITEM_COLUMNS, "samples"]
    assert [json.loads(text) for text in frame["samples"]] == [i["samples"] for i in rich["items"]]


def test_tables_round_trip_one_row_per_item(results: dict, run_dir: Path) -> None:
    for frame in (
        pd.read_csv(run_dir / "items.csv", keep_default_na=False),
        pd.read_parquet(run_dir / "items.parquet"),
    ):
        assert list(frame.columns) == list(ITEM_COLUMNS)
        assert len(frame) == len(results["items"])
        assert frame["id"].tolist() == [i["id"] for i in results["items"]]
        assert frame["score"].tolist() == pytest.approx([i["score"] for i in results["items"]])
        assert frame["output"].tolist() == [i["output"] for i in results["items"]]
        assert [json.loads(text) for text in frame["details"]] == [i["details"] for i in results["items"]]
        assert [json.loads(text) for text in frame["expected"]] == [i["expected"] for i in results["items"]]


@pytest.mark.parametrize("which", ["run_dir", "rich_dir"])
def test_no_payload_appears_unescaped_in_report_html(which: str, request: pytest.FixtureRequest) -> None:
    page = (request.getfixturevalue(which) / "report.html").read_text(encoding="utf-8")
    for payload in XSS_PAYLOADS:
        # "javascript:..." has nothing to escape; harmless as text, it must only never become a URL (below).
        if str(markupsafe.escape(payload)) != payload:
            assert payload not in page, payload
    # The escaped forms are there: the payloads are shown as text.
    assert sum(1 for payload in XSS_PAYLOADS if str(markupsafe.escape(payload)) in page) >= 6
    assert len(re.findall(r"<script\b", page)) == 1, "only the page's own script"
    assert not re.search(r"<[a-z]+[^>]*\son[a-z]+\s*=", page, re.IGNORECASE), "no inline event handler"
    assert not re.search(r"(href|src)\s*=\s*[\"']?\s*javascript:", page, re.IGNORECASE)
    assert "<b>model</b>" not in page and "demo &lt;b&gt;model&lt;/b&gt;" in page


def test_report_html_is_self_contained_and_only_its_own_script_may_run(run_dir: Path) -> None:
    page = (run_dir / "report.html").read_text(encoding="utf-8")
    assert not re.search(r"(src|href)\s*=\s*[\"']?(https?:)?//", page), "nothing is fetched"
    assert page.count('src="data:image/svg+xml;base64,') == 3
    policy = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', page)[1]
    policy = html.unescape(policy)
    assert "default-src 'none'" in policy
    script = re.search(r"<script>(.*?)</script>", page, re.DOTALL)[1]
    digest = base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode("ascii")
    assert f"script-src 'sha256-{digest}';" in policy


def test_every_failure_is_in_the_html_table_safety_first(results: dict, run_dir: Path) -> None:
    page = (run_dir / "report.html").read_text(encoding="utf-8")
    table = page[page.index('<table id="failures">') :]
    rows = re.findall(
        r'<tr data-capability="([^"]+)" data-level="([^"]+)"( class="safety")?>\s*<td class="text">([^<]+)</td>', table
    )
    failing = [i for i in results["items"] if not i["passed"]]
    assert sorted(row[3] for row in rows) == sorted(html.escape(i["id"]) for i in failing)
    flags = [bool(row[2]) for row in rows]
    assert flags == sorted(flags, reverse=True) and any(flags)


def test_summary_md_keeps_payloads_inert(run_dir: Path) -> None:
    text = (run_dir / "summary.md").read_text(encoding="utf-8")
    assert "<script" not in text and "<img" not in text and "<svg" not in text
    assert markdown_text("| a <b> @x [l](javascript:alert(1))") == "\\| a &lt;b&gt; \\@x \\[l\\](javascript\\:alert(1))"
    assert markdown_text("- item").startswith("\\-")


def test_github_step_summary_is_appended(results: dict, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    step_summary = tmp_path / "step_summary.md"
    step_summary.write_text("# earlier step\n", encoding="utf-8")
    monkeypatch.setenv(GITHUB_STEP_SUMMARY, str(step_summary))
    write_reports(tmp_path / "run", results)
    written = (tmp_path / "run" / "summary.md").read_text(encoding="utf-8")
    assert step_summary.read_text(encoding="utf-8") == "# earlier step\n" + written + "\n"
    monkeypatch.delenv(GITHUB_STEP_SUMMARY)
    write_reports(tmp_path / "again", results)
    assert step_summary.read_text(encoding="utf-8") == "# earlier step\n" + written + "\n"


json_scalars = st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.floats(allow_nan=False) | st.text()
json_values = st.recursive(json_scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.dictionaries(st.sampled_from([*ITEM_COLUMNS[:4], "score", "details", "extra"]), json_values)))
def test_tables_take_any_json_items_one_row_each(tmp_path_factory: pytest.TempPathFactory, items: list) -> None:
    folder = tmp_path_factory.mktemp("tables")
    write_tables(folder, items)
    csv_rows = pd.read_csv(folder / "items.csv", keep_default_na=False) if items else []
    parquet = pd.read_parquet(folder / "items.parquet")
    assert len(csv_rows) == len(parquet) == len(items)
    for column in parquet.columns:
        values = [item.get(column) for item in items]
        if all(isinstance(v, str) for v in values):
            assert parquet[column].tolist() == values, "a text column keeps its text as it is"
