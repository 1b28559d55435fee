"""What the records an audit page refers to are called, in one query.

An event's detail names records by id (``checkpoint_id: 5``); a person recognises a name.
Each detail key that holds a record id maps to a kind; the ids of a page are gathered by
kind and looked up in one UNION ALL, each part joined to the record's org so that a record
outside the caller's jurisdiction keeps no name (the caller may not see it).

``session_id`` names a different record by action: in a login's event its login session
(登录会话, known by who logged in when and how it ended), in a remote inspection's its
远程巡检 (known by the enterprise, the matter, who opened it and when).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import String, case, literal, null, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from inspection_api.anomalies.models import Anomaly
from inspection_api.audit.actions import ACTIONS, ObjectType
from inspection_api.audit.models import AuditEvent
from inspection_api.auth.models import AuthSession
from inspection_api.beijing import minute_text
from inspection_api.checklists.models import ChecklistTemplate
from inspection_api.checkpoints.models import Checkpoint
from inspection_api.db import UTCDateTime
from inspection_api.inspections.models import Inspection
from inspection_api.orgs.models import Org
from inspection_api.plans.models import Plan, PlanRule
from inspection_api.rectifications.models import Rectification
from inspection_api.remote.models import RemoteSession
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
# What ``session_id`` names, by the kind of record the event is about.
SESSION_KINDS: dict[ObjectType, str] = {
    ObjectType.ACCOUNT: "login_session",
    ObjectType.REMOTE_SESSION: "remote_session",
}


# The record an event is about (its 对象), by its 对象类型: the first of these kinds its detail
# names. A task has no name of its own, nor a 明白纸: both are known by their checkpoint.
OBJECT_KINDS: dict[ObjectType, tuple[str, ...]] = {
    ObjectType.ACCOUNT: ("login_session", "user"),
    ObjectType.ORG: ("org",),
    ObjectType.USER: ("user",),
    ObjectType.CHECKPOINT: ("checkpoint",),
    ObjectType.TEMPLATE: ("template",),
    ObjectType.RULE: ("rule",),
    ObjectType.PLAN: ("plan",),
    ObjectType.TASK: ("checkpoint",),
    ObjectType.INSPECTION: ("inspection", "checkpoint"),
    ObjectType.REMOTE_SESSION: ("remote_session",),
    ObjectType.SHEET: ("checkpoint",),
    ObjectType.ANOMALY: ("anomaly",),
    ObjectType.RECTIFICATION: ("rectification",),
}


def object_ref(event: AuditEvent) -> tuple[str, int] | None:
    """(kind, id) of the record ``event`` is about, from its detail's top level; None when
    the action is unknown or the detail names no such record."""
    action = ACTIONS.get(event.action)
    if action is None or not isinstance(event.detail, dict):
        return None
    for kind in OBJECT_KINDS[action.object_type]:
        for key, value in event.detail.items():
            if _kind(event, key) == kind and isinstance(value, int) and not isinstance(value, bool):
                return kind, value
    return None


def _kind(event: AuditEvent, key: str) -> str | None:
    """The kind of record the detail key ``key`` of ``event`` names, if it names one."""
    if key == "session_id":
        action = ACTIONS.get(event.action)
        return SESSION_KINDS.get(action.object_type) if action else None
    return REF_KINDS.get(key)


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
    return {key: kind for key, _value in _fields(event) if (kind := _kind(event, key))}


def refs_of(event: AuditEvent) -> set[tuple[str, int]]:
    """The (kind, id) of the records an event's detail refers to."""
    return {
        (kind, record_id)
        for key, value in _fields(event)
        if (kind := _kind(event, key))
        for record_id in _ids(value)
    }


def wanted_by_kind(refs: Iterable[tuple[str, int]]) -> dict[str, set[int]]:
    wanted: dict[str, set[int]] = defaultdict(set)
    for kind, record_id in refs:
        wanted[kind].add(record_id)
    return wanted


def _part(kind: str, ids: set[int], scope: str) -> Any:
    """(kind, id, name, code, who, at, until) of the records of ``kind`` among ``ids`` inside
    ``scope``; ``who``, ``at`` and ``until`` only for sessions (null elsewhere)."""
    label = literal(kind, String)
    no_text = null().cast(String)
    no_time = null().cast(UTCDateTime)
    in_scope = Org.path.startswith(scope, autoescape=True)
    query: Any
    if kind == "org":
        query = select(label, Org.id, Org.name, no_text, no_text, no_time, no_time)
        query = query.where(Org.id.in_(ids))
    elif kind == "user":
        query = select(label, User.id, User.display_name, no_text, no_text, no_time, no_time)
        query = query.join(Org, Org.id == User.org_id).where(User.id.in_(ids))
    elif kind == "checkpoint":
        query = select(
            label, Checkpoint.id, Checkpoint.name, Checkpoint.code, no_text, no_time, no_time
        )
        query = query.join(Org, Org.id == Checkpoint.org_id).where(Checkpoint.id.in_(ids))
    elif kind in ("inspection", "anomaly", "rectification"):
        model: Any = {"inspection": Inspection, "anomaly": Anomaly, "rectification": Rectification}[
            kind
        ]
        # An inspection or a rectification is known by its checkpoint; an anomaly by its
        # 预警指标.
        name = Anomaly.indicator if kind == "anomaly" else Checkpoint.name
        query = select(label, model.id, name, Checkpoint.code, no_text, no_time, no_time)
        query = query.join(Checkpoint, Checkpoint.id == model.checkpoint_id)
        query = query.join(Org, Org.id == model.org_id).where(model.id.in_(ids))
    elif kind == "remote_session":
        # 远程巡检: the enterprise, the matter, who opened it and when.
        query = select(
            label,
            RemoteSession.id,
            RemoteSession.enterprise_name,
            RemoteSession.title,
            User.display_name,
            RemoteSession.created_at,
            no_time,
        )
        query = query.join(User, User.id == RemoteSession.created_by_user_id)
        query = query.join(Org, Org.id == RemoteSession.org_id).where(RemoteSession.id.in_(ids))
    elif kind == "login_session":
        # A login session: whose, since when, and until when (logged out or revoked: the
        # code says so; else when it expires or expired).
        ended = case((AuthSession.revoked_at.is_not(None), literal("revoked")), else_=no_text)
        query = select(
            label,
            AuthSession.id,
            User.display_name,
            ended,
            no_text,
            AuthSession.created_at,
            case(
                (AuthSession.revoked_at.is_not(None), AuthSession.revoked_at),
                else_=AuthSession.expires_at,
            ),
        )
        query = query.join(User, User.id == AuthSession.user_id)
        query = query.join(Org, Org.id == User.org_id).where(AuthSession.id.in_(ids))
    else:
        owned: Any = {"plan": Plan, "rule": PlanRule, "template": ChecklistTemplate}[kind]
        query = select(label, owned.id, owned.name, no_text, no_text, no_time, no_time)
        query = query.join(Org, Org.id == owned.org_id).where(owned.id.in_(ids))
    return query.where(in_scope)


def _name(
    kind: str,
    name: str,
    code: str | None,
    who: str | None,
    at: datetime | None,
    until: datetime | None,
    now: datetime,
) -> str:
    if kind == "checkpoint" and code:
        return f"{name}（{code}）"
    if kind == "remote_session" and at is not None:
        return f"{name}「{code}」（{who}，{minute_text(at)} 发起）"
    if kind == "login_session" and at is not None and until is not None:
        if code == "revoked":
            end = f"{minute_text(until)} 退出"
        elif until <= now:
            end = f"{minute_text(until)} 超时失效"
        else:
            end = f"有效至 {minute_text(until)}"
        return f"{name} {minute_text(at)} 登录，{end}"
    return name


async def names_of(
    session: AsyncSession, wanted: dict[str, set[int]], scope: str, now: datetime
) -> dict[str, str]:
    """``{"kind:id": name}`` of the wanted records inside the jurisdiction ``scope`` (an org
    path), in one query. A checkpoint's name carries its code: 华北重工厂区（CA-0001）; a
    remote inspection and a login session say who and when (``now`` tells an expired login)."""
    parts = [_part(kind, ids, scope) for kind, ids in sorted(wanted.items()) if ids]
    if not parts:
        return {}
    rows = (await session.execute(union_all(*parts))).all()
    return {
        f"{kind}:{record_id}": _name(kind, name, code, who, at, until, now)
        for kind, record_id, name, code, who, at, until in rows
    }
