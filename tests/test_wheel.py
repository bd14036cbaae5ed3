"""taskbench installed from its wheel, as another project installs it: the wheel built from this checkout,
installed into a fresh virtual environment, runs that project's own evals/ folder with the plugin against
the demo model on real vLLM.

The fresh environment takes taskbench's dependencies from the project venv's site-packages (through a
.pth file, so vLLM and torch are not installed again), minus taskbench's own editable install: taskbench
itself comes from the wheel only.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path
from typing import Any

import pytest
from evalrun import PROJECT_ROOT, RESULTS_SCHEMA
from jsonschema import Draft202012Validator

import taskbench

# A project's own evals: one capability's cases, judged with the public facade.
USER_EVALS = """
import pytest

from taskbench import check_case

pytestmark = pytest.mark.entity_extraction


def test_entity_extraction(case, judge):
    check_case(judge(case))
"""
# Where everything was imported from, written by the project's conftest inside the installed run.
PROBE_CONFTEST = """
import json
import sys

import taskbench
import taskbench.paths
import taskbench.plugin


def pytest_sessionfinish(session):
    with open("probe.json", "w", encoding="utf-8") as out:
        json.dump(
            {
                "taskbench": taskbench.__file__,
                "plugin": taskbench.plugin.__file__,
                "fixtures": str(taskbench.paths.FIXTURES),
                "sys_path": sys.path,
                "plugins": sorted(name for name, _ in session.config.pluginmanager.list_name_plugin()),
            },
            out,
        )
"""
SELECTED = "simple-0001 or simple-0002 or moderate-0001"


def _run(*args: str | Path, cwd: Path | None = None, env: dict[str, str] | None = None) -> str:
    done = subprocess.run([str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 0, f"{args}: exit {done.returncode}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout


def _dependencies_only(target: Path) -> Path:
    """A folder holding every entry of this venv's site-packages but taskbench's own (links, not copies)."""
    site_packages = Path(sysconfig.get_paths()["purelib"])
    target.mkdir()
    for entry in site_packages.iterdir():
        if entry.name.startswith(("taskbench", "__editable__", "__pycache__")):
            continue
        (target / entry.name).symlink_to(entry)
    return target


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv with taskbench from its wheel; returns its python."""
    root = tmp_path_factory.mktemp("wheel")
    _run(sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-w", root, PROJECT_ROOT)
    (wheel,) = root.glob("taskbench-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "taskbench/fixtures/schema/results.schema.json" in names and "taskbench/scorers/__init__.py" in names
    assert not any(name.startswith(("scorers/", "fixtures/")) for name in names), "no generic top-level packages"

    venv = root / "venv"
    _run(sys.executable, "-m", "venv", venv)
    python = venv / "bin" / "python"
    purelib = Path(_run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])").strip())
    dependencies = _dependencies_only(root / "dependencies")
    # addsitedir, not a plain path line: the dependencies' own .pth files must run too.
    (purelib / "dependencies.pth").write_text(f"import site; site.addsitedir({str(dependencies)!r})\n")
    _run(python, "-m", "pip", "install", "--no-deps", "--no-index", "--quiet", wheel)
    return python


@pytest.mark.vllm
def test_a_project_runs_its_own_evals_from_the_installed_wheel(
    installed: Path, demo_server: Any, tmp_path: Path
) -> None:
    project = tmp_path / "project"
    (project / "evals").mkdir(parents=True)
    (project / "evals" / "test_mine.py").write_text(USER_EVALS, encoding="utf-8")
    (project / "conftest.py").write_text(PROBE_CONFTEST, encoding="utf-8")
    env = {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "VIRTUAL_ENV")}
    done = subprocess.run(
        [
            str(installed), "-m", "pytest", "evals", "-p", "no:cacheprovider", "-k", SELECTED,
            "--model-url", demo_server.url, "--cache-dir", str(tmp_path / "cache"),
        ],
        cwd=project, env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    output = done.stdout + done.stderr
    assert done.returncode in (0, 1), output[-3000:]  # 1: the demo model got a case wrong

    probe = json.loads((project / "probe.json").read_text(encoding="utf-8"))
    venv = installed.parent.parent
    for name in ("taskbench", "plugin", "fixtures"):
        assert Path(probe[name]).is_relative_to(venv), (name, probe[name])
    checkout = str(PROJECT_ROOT)
    assert not [entry for entry in probe["sys_path"] if entry.startswith(checkout)], probe["sys_path"]
    assert Path(taskbench.__file__).is_relative_to(PROJECT_ROOT), "this test itself runs from the checkout"
    assert {"taskbench", "taskbench-gate", "taskbench-collector"} <= set(probe["plugins"])

    run_dir = project / "reports" / "latest"
    results = json.loads((run_dir / "results.json").read_text(encoding="utf-8"))
    Draft202012Validator(RESULTS_SCHEMA).validate(results)
    assert sorted(item["id"].rsplit("-", 2)[1] for item in results["items"]) == ["moderate", "simple", "simple"]
    assert {item["capability"] for item in results["items"]} == {"entity_extraction"}
    assert results["model"]["urls"] == [demo_server.url] and results["generation"]["requested"] == 3
    for report in ("summary.md", "report.html", "items.csv"):
        assert (run_dir / report).stat().st_size > 0, report
    assert "taskbench: mean score" in output
