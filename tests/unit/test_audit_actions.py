"""Every action a service records is in the audit log's table (its 操作类型 filter and label),
and the table names no action nobody records."""

from __future__ import annotations

import ast
from pathlib import Path

from inspection_api.audit.actions import ACTIONS, OBJECT_TYPE_LABELS, ObjectType, actions_of

ROOT = Path(__file__).resolve().parents[2] / "inspection_api"
# The functions that record an event, and the keyword arguments that carry an action on to one.
RECORDERS = {"record", "audit", "audit_event"}
ACTION_KEYWORDS = {"failed_action", "audit", "event"}


def recorded() -> tuple[set[str], set[str]]:
    """The actions named in the code: whole names, and the prefixes of f-strings
    (``f"inspection_{decision.value}"``)."""
    names: set[str] = set()
    prefixes: set[str] = set()

    def take(node: ast.expr) -> None:
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            names.add(node.value)
        elif isinstance(node, ast.JoinedStr) and isinstance(node.values[0], ast.Constant):
            prefixes.add(str(node.values[0].value))

    for path in ROOT.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
            if name in RECORDERS:
                strings = [a for a in node.args if isinstance(a, ast.Constant | ast.JoinedStr)]
                if strings:
                    take(strings[0])
            for keyword in node.keywords:
                if keyword.arg in ACTION_KEYWORDS:
                    take(keyword.value)
    return names, prefixes


def test_every_recorded_action_is_known_and_every_known_one_recorded() -> None:
    names, prefixes = recorded()
    assert len(names) > 40  # the scan found the services' calls
    assert names - ACTIONS.keys() == set()
    for prefix in prefixes:
        assert any(a.startswith(prefix) for a in ACTIONS), prefix
    unused = {a for a in ACTIONS if a not in names and not any(map(a.startswith, prefixes))}
    assert unused == set()


def test_every_object_type_has_a_label_and_an_action() -> None:
    assert set(OBJECT_TYPE_LABELS) == set(ObjectType)
    assert all(actions_of(t) for t in ObjectType)
