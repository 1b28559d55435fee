"""docs/permissions.md and ROLE_PERMISSIONS must say the same thing."""

from __future__ import annotations

import re
from pathlib import Path

from inspection_api.auth.permissions import ROLE_PERMISSIONS, Permission
from inspection_api.auth.principal import Role

DOC = Path(__file__).parents[2] / "docs" / "permissions.md"


def test_documented_matrix_equals_the_code():
    rows = [line for line in DOC.read_text().splitlines() if line.startswith("|")]
    header = [cell.strip() for cell in rows[0].strip("|").split("|")]
    columns = [Permission(cell.split()[0]) for cell in header[1:]]
    assert set(columns) == set(Permission), "every permission has a column"
    documented: dict[Role, frozenset[Permission]] = {}
    for line in rows[2:]:
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        role = Role(re.search(r"`(\w+)`", cells[0]).group(1))  # type: ignore[union-attr]
        documented[role] = frozenset(p for p, mark in zip(columns, cells[1:], strict=True) if mark)
    assert documented == ROLE_PERMISSIONS
