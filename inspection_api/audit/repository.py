"""What the records an audit page refers to are called, in one query.

An event's detail names records by id (``checkpoint_id: 5``); a person recognises a name.
Each detail key that holds a record id maps to a kind; the ids of a page are gathered by
kind and looked up in one UNION ALL, each part joined to the record's org so that a record
outside the caller's jurisdiction keeps no name (the caller may not see it).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from sqlalchemy import String, literal, null, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from inspection_api.anomalies.models import Anomaly
from inspection_api.audit.models import AuditEvent
from inspection_api.checklists.models import ChecklistTemplate
from inspection_api.checkpoints.models import Checkpoint
from inspection_api.inspections.models import Inspection
from inspection_api.orgs.models import Org
from inspection_api.plans.models import Plan, PlanRule
from inspection_api.rectifications.models import Rectification
from inspection_api.users.models import User

# Detail keys (top level, and fields of an edit's ``changes``) that hold a record's id.
REF_KINDS: dict[str, str] = {
    "checkpoint_id": "checkpoint",
    "inspection_id": "inspection",
    "anomaly_id": "anomaly",
    "rectification_id": "rectification",
    "plan_id": "plan",
    "rule_id": "rule",
    "template_id": "template",
    "checklist_template_id": "template",
    "user_id": "user",
    "previous_user_id": "user",
    "assignee_user_id": "user",
    "responsible_user_id": "user",
    "org_id": "org",
    "from_org_id": "org",
    "to_org_id": "org",
    "handler_org_id": "org",
    "approver_org_id": "org",
}


def _ids(value: Any) -> Iterable[int]:
    if isinstance(value, bool):
        return
    if isinstance(value, int):
        yield value
    elif isinstance(value, list):  # an edit's [before, after]
        for item in value:
            yield from _ids(item)


def _fields(event: AuditEvent) -> Iterable[tuple[str, Any]]:
    """The (key, value) of an event's detail: its top level, then an edit's ``changes``."""
    detail = event.detail if isinstance(event.detail, dict) else {}
    yield from detail.items()
    changes = detail.get("changes")
    if isinstance(changes, dict):
        yield from changes.items()


def ref_keys(event: AuditEvent) -> dict[str, str]:
    """The detail keys (top level and an edit's ``changes``) of ``event`` that hold record
    ids, with the kind each names: what a client needs to look a value up in ``names``."""
    return {key: REF_KINDS[key] for key, _value in _fields(event) if key in REF_KINDS}


def refs_of(event: AuditEvent) -> set[tuple[str, int]]:
    """The (kind, id) of the records an event's detail refers to."""
    return {
        (REF_KINDS[key], record_id)
        for key, value in _fields(event)
        if key in REF_KINDS
        for record_id in _ids(value)
    }


def wanted_by_kind(refs: Iterable[tuple[str, int]]) -> dict[str, set[int]]:
    wanted: dict[str, set[int]] = defaultdict(set)
    for kind, record_id in refs:
        wanted[kind].add(record_id)
    return wanted


def _part(kind: str, ids: set[int], scope: str) -> Any:
    """(kind, id, name, code) of the records of ``kind`` among ``ids`` inside ``scope``."""
    label = literal(kind, String)
    no_code = null().cast(String)
    in_scope = Org.path.startswith(scope, autoescape=True)
    query: Any
    if kind == "org":
        query = select(label, Org.id, Org.name, no_code).where(Org.id.in_(ids))
    elif kind == "user":
        query = select(label, User.id, User.display_name, no_code).join(Org, Org.id == User.org_id)
        query = query.where(User.id.in_(ids))
    elif kind == "checkpoint":
        query = select(label, Checkpoint.id, Checkpoint.name, Checkpoint.code)
        query = query.join(Org, Org.id == Checkpoint.org_id).where(Checkpoint.id.in_(ids))
    elif kind in ("inspection", "anomaly", "rectification"):
        model: Any = {"inspection": Inspection, "anomaly": Anomaly, "rectification": Rectification}[
            kind
        ]
        # An inspection or a rectification is known by its checkpoint; an anomaly by its
        # 预警指标.
        name = Anomaly.indicator if kind == "anomaly" else Checkpoint.name
        query = select(label, model.id, name, Checkpoint.code)
        query = query.join(Checkpoint, Checkpoint.id == model.checkpoint_id)
        query = query.join(Org, Org.id == model.org_id).where(model.id.in_(ids))
    else:
        owned: Any = {"plan": Plan, "rule": PlanRule, "template": ChecklistTemplate}[kind]
        query = select(label, owned.id, owned.name, no_code)
        query = query.join(Org, Org.id == owned.org_id).where(owned.id.in_(ids))
    return query.where(in_scope)


async def names_of(
    session: AsyncSession, wanted: dict[str, set[int]], scope: str
) -> dict[str, str]:
    """``{"kind:id": name}`` of the wanted records inside the jurisdiction ``scope`` (an org
    path), in one query. A checkpoint's name carries its code: 华北重工厂区（CA-0001）."""
    parts = [_part(kind, ids, scope) for kind, ids in sorted(wanted.items()) if ids]
    if not parts:
        return {}
    rows = (await session.execute(union_all(*parts))).all()
    names: dict[str, str] = {}
    for kind, record_id, name, code in rows:
        names[f"{kind}:{record_id}"] = (
            f"{name}（{code}）" if kind == "checkpoint" and code else name
        )
    return names
