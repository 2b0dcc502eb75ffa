"""bot/reports stays pure: no Slack, no storage, no I/O of its own."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

REPORTS = Path(__file__).resolve().parents[2] / "bot" / "reports"
FORBIDDEN_MODULES = ("slack_sdk", "slack_bolt", "bot.slack", "storage", "sqlalchemy", "sqlmodel", "aiohttp")
FORBIDDEN_CALLS = {"open", "print", "input"}


def imported(tree: ast.AST) -> set[str]:
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


@pytest.mark.parametrize("path", sorted(REPORTS.glob("*.py")), ids=lambda p: p.name)
def test_module_imports_nothing_impure(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for name in imported(tree):
        assert not name.startswith(FORBIDDEN_MODULES), f"{path.name} imports {name}"
        assert name not in ("os", "pathlib", "socket", "subprocess", "requests", "urllib.request"), name
    calls = {n.func.id for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}
    assert not calls & FORBIDDEN_CALLS, f"{path.name} calls {calls & FORBIDDEN_CALLS}"


def test_importing_reports_loads_no_slack_or_storage() -> None:
    code = (
        "import sys, bot.reports.stats_formats, bot.reports.export, bot.reports.postmortem\n"
        f"bad = sorted(m for m in sys.modules if m.startswith({FORBIDDEN_MODULES!r}))\n"
        "print(','.join(bad))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPORTS.parents[1]
    )
    assert result.stdout.strip() == ""
