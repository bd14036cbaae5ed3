"""taskbench: a pytest-native evaluation suite for Task API assistants.

The public names, for a project's own evals: `check_case` and `check_episode` (the body of a case or episode
item), `Case` and `Episode` (what the `case` and `episode` fixtures hold), `Score` (what every scorer in
taskbench.scorers returns) and `__version__`. Every other module is taskbench's own and may change.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# Where each public name is defined; imported on first use, so that `import taskbench.<module>` (the report
# process, the command line) does not pay for pytest and the scorers.
_PUBLIC = {
    "Case": "taskbench.data.cases",
    "Episode": "taskbench.data.episodes",
    "Score": "taskbench.scorers",
    "check_case": "taskbench.scoring.records",
    "check_episode": "taskbench.scoring.records",
}
__all__ = ["Case", "Episode", "Score", "__version__", "check_case", "check_episode"]

if TYPE_CHECKING:
    from taskbench.data.cases import Case
    from taskbench.data.episodes import Episode
    from taskbench.scorers import Score
    from taskbench.scoring.records import check_case, check_episode


def __getattr__(name: str) -> Any:
    module = _PUBLIC.get(name)
    if module is None:
        raise AttributeError(f"module 'taskbench' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


def __dir__() -> list[str]:
    return sorted(__all__)
