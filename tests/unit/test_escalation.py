"""The pure rules behind routing and escalation: walking up the org tree to the nearest org
with exception handlers, deadlines, overdue, and how a deadline reads in China."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from inspection_api.anomalies.models import AnomalyState
from inspection_api.anomalies.rules import (
    deadline_after,
    is_overdue,
    nearest_handler_org,
    path_ids,
)

# 省行 1 → 二级分行 4 → 支行 9 → 分理处 12 (支行 may nest)
PATH = "/1/4/9/12/"


def test_path_ids_are_root_first():
    assert path_ids(PATH) == [1, 4, 9, 12]
    assert path_ids("/7/") == [7]


def test_the_org_itself_comes_first_then_upwards():
    assert nearest_handler_org(PATH, {12, 4, 1}) == 12
    assert nearest_handler_org(PATH, {4, 1}) == 4
    assert nearest_handler_org(PATH, {1}) == 1
    assert nearest_handler_org(PATH, set()) is None


def test_orgs_off_the_path_never_count():
    assert nearest_handler_org(PATH, {2, 5, 13}) is None  # siblings and cousins
    assert nearest_handler_org("/1/4/9/", {12}) is None  # a child never handles its parent's


def test_escalation_starts_above_the_current_handlers():
    assert nearest_handler_org(PATH, {12, 9, 4, 1}, above=12) == 9
    assert nearest_handler_org(PATH, {12, 4, 1}, above=12) == 4  # 9 has none: skipped
    assert nearest_handler_org(PATH, {12, 4}, above=4) is None  # nobody above the branch
    assert nearest_handler_org(PATH, {1}, above=1) is None  # the province is the top


def test_with_nobody_assigned_the_walk_starts_at_the_org():
    assert nearest_handler_org(PATH, {9}, above=None) == 9


@st.composite
def tree_paths(draw: st.DrawFn) -> tuple[str, set[int], int | None]:
    chain = draw(st.lists(st.integers(1, 10_000), min_size=1, max_size=8, unique=True))
    handlers = draw(st.sets(st.integers(1, 10_000), max_size=12))
    above = draw(st.one_of(st.none(), st.sampled_from(chain)))
    return "/" + "/".join(map(str, chain)) + "/", handlers, above


@given(tree_paths())
def test_the_answer_is_the_nearest_qualifying_org_strictly_above(case):
    path, handlers, above = case
    chain = path_ids(path)
    found = nearest_handler_org(path, handlers, above=above)
    limit = chain.index(above) if above is not None else len(chain)
    candidates = [org for org in chain[:limit] if org in handlers]
    if not candidates:
        assert found is None
    else:
        assert found == candidates[-1]  # the deepest one that is above the start
        assert found in handlers and found in chain
        assert found != above


def test_deadlines_and_overdue():
    now = datetime(2026, 11, 29, 2, 0, tzinfo=UTC)
    deadline = deadline_after(now, 24)
    assert deadline == datetime(2026, 11, 30, 2, 0, tzinfo=UTC)
    assert not is_overdue(AnomalyState.OPEN, deadline, deadline - timedelta(microseconds=1))
    assert is_overdue(AnomalyState.OPEN, deadline, deadline)  # the deadline itself is late
    assert not is_overdue(AnomalyState.ACKNOWLEDGED, deadline, deadline + timedelta(days=9))
    assert not is_overdue(AnomalyState.RESOLVED, deadline, deadline + timedelta(days=9))
    assert not is_overdue(AnomalyState.OPEN, None, deadline)  # nobody above: the clock stopped
