"""Anomalies (异常): raising them (for inspections) and reading them; the exception
handlers' work (``acknowledge``, ``resolve``, ``reassign``, and ``route_unrouted`` for newly
appointed handlers) is in ``handling`` and re-exported here, escalation past the deadline is
in ``escalation``. Every change is audited with the anomaly's 支行 and kept in its history.

For the inspections domain::

    from inspection_api.anomalies.service import Finding, raise_anomalies

    found = await raise_anomalies(
        session, checkpoint_id=…, inspection_id=…,
        findings=[Finding.from_rule(a) for a in checklists.rules.anomalies(version, answers)],
        actor=principal, now=utcnow(), deadline_hours=settings.anomaly_deadline_hours,
    )
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from inspection_api.anomalies import dispatch, repository
from inspection_api.anomalies.access import actor_name, in_jurisdiction
from inspection_api.anomalies.handling import acknowledge as acknowledge
from inspection_api.anomalies.handling import reassign as reassign
from inspection_api.anomalies.handling import reassign_targets
from inspection_api.anomalies.handling import resolve as resolve
from inspection_api.anomalies.handling import route_unrouted as route_unrouted
from inspection_api.anomalies.models import (
    Anomaly,
    AnomalyEvent,
    AnomalyEventKind,
    AnomalySource,
    AnomalyState,
)
from inspection_api.anomalies.repository import AnomalyRow
from inspection_api.anomalies.rules import REASSIGNABLE, deadline_after
from inspection_api.audit.service import Origin, record
from inspection_api.auth.permissions import (
    Permission,
    permissions_of,
    require,
    require_governs,
)
from inspection_api.auth.principal import Principal
from inspection_api.checklists import rules as checklist_rules
from inspection_api.checklists.content import Severity
from inspection_api.checkpoints import repository as checkpoints
from inspection_api.errors import FieldError, NotFound, ValidationFailed
from inspection_api.notifications.models import NotificationKind
from inspection_api.orgs.models import Org

DEFAULT_DEADLINE_HOURS = 24  # LOANCHECK_ANOMALY_DEADLINE_HOURS's default


@dataclass(frozen=True)
class Finding:
    """What an inspection found: a fired checklist rule, or the inspector's own flag."""

    item_key: str  # the checklist item, "" when the flag is about no single item
    item_label: str
    section: str
    indicator: str  # 预警指标, e.g. 他行授信逾期 (required)
    severity: Severity
    answer: Any = None  # the item's answer (JSON)
    source: AnomalySource = AnomalySource.RULE
    note: str = ""  # the inspector's words

    @classmethod
    def from_rule(cls, fired: checklist_rules.Anomaly, *, note: str = "") -> Finding:
        """A checklist anomaly rule that fired (``checklists.rules.anomalies``)."""
        return cls(
            item_key=fired.item_key,
            item_label=fired.item_label,
            section=fired.section,
            indicator=fired.indicator,
            severity=fired.severity,
            answer=fired.answer,
            source=AnomalySource.RULE,
            note=note,
        )


_LIMITS = {"item_key": 40, "item_label": 200, "section": 100, "indicator": 100, "note": 1000}


def _check_findings(findings: Sequence[Finding]) -> None:
    errors: list[FieldError] = []
    for index, finding in enumerate(findings):
        for name, limit in _LIMITS.items():
            value = getattr(finding, name)
            if len(value) > limit:
                errors.append(
                    FieldError(
                        f"findings.{index}.{name}",
                        f"长度不能超过 {limit}",
                        f"at most {limit} characters",
                    )
                )
        if not finding.indicator.strip():
            errors.append(FieldError(f"findings.{index}.indicator", "必填", "required"))
        if finding.severity not in set(Severity):
            errors.append(
                FieldError(f"findings.{index}.severity", "应为 low/medium/high", "invalid")
            )
        if finding.source not in set(AnomalySource):
            errors.append(FieldError(f"findings.{index}.source", "应为 rule/inspector", "invalid"))
    if errors:
        raise ValidationFailed(errors)


async def raise_anomalies(
    session: AsyncSession,
    *,
    checkpoint_id: int,
    inspection_id: int | None,
    findings: Sequence[Finding],
    actor: Principal | None,
    now: datetime,
    deadline_hours: int = DEFAULT_DEADLINE_HOURS,
    origin: Origin | None = None,
) -> list[Anomaly]:
    """One open anomaly per finding, routed to the nearest org at or above the checkpoint's
    支行 that has exception handlers; they are notified (inbox row, and a console push once
    the caller commits). Audited in the caller's session. Does not authorise: the caller
    has. ``NotFound`` for an unknown checkpoint, ``ValidationFailed`` naming
    ``findings.{i}.{field}`` for a finding that does not fit."""
    if not findings:
        return []
    _check_findings(findings)
    found = await checkpoints.get_with_org(session, checkpoint_id)
    if found is None:
        raise NotFound(resource="checkpoint", id=checkpoint_id)
    checkpoint, org = found
    handler_org_id, handler_ids = await dispatch.handler_org_for(session, org)
    deadline = deadline_after(now, deadline_hours)
    raised = [
        Anomaly(
            org_id=org.id,
            checkpoint_id=checkpoint.id,
            inspection_id=inspection_id,
            item_key=f.item_key,
            item_label=f.item_label,
            section=f.section,
            indicator=f.indicator.strip(),
            severity=Severity(f.severity),
            answer=f.answer,
            source=AnomalySource(f.source),
            note=f.note,
            state=AnomalyState.OPEN,
            handler_org_id=handler_org_id,
            deadline=deadline,
            escalation_level=0,
            raised_by_user_id=actor.user_id if actor else None,
            created_at=now,
            updated_at=now,
        )
        for f in findings
    ]
    session.add_all(raised)
    await session.flush()
    name = await actor_name(session, actor)
    for anomaly in raised:
        session.add(
            AnomalyEvent(
                anomaly_id=anomaly.id,
                at=now,
                kind=AnomalyEventKind.RAISED,
                actor_user_id=actor.user_id if actor else None,
                actor_name=name,
                to_org_id=handler_org_id,
                comment=anomaly.note,
            )
        )
        record(
            session,
            "anomaly_raised",
            origin=origin or Origin(),
            actor=actor,
            org_path=org.path,
            anomaly_id=anomaly.id,
            checkpoint_id=checkpoint.id,
            inspection_id=inspection_id,
            indicator=anomaly.indicator,
            severity=anomaly.severity.value,
            source=anomaly.source.value,
            handler_org_id=handler_org_id,
        )
        await dispatch.tell(
            session, handler_ids, NotificationKind.ANOMALY_RAISED, anomaly, checkpoint, org, now=now
        )
    return raised


# ---- reading ----


async def list_anomalies(
    session: AsyncSession,
    principal: Principal,
    filters: dict[str, Any],
    *,
    org_id: int | None = None,
    overdue: bool = False,
    now: datetime,
    offset: int = 0,
    limit: int = 50,
) -> tuple[list[AnomalyRow], int]:
    """One page (newest first) of the jurisdiction's anomalies, or of ``org_id``'s subtree
    (404 outside). ``filters``: state, severity, source, checkpoint_id, inspection_id,
    handler_org_id, escalated."""
    require(principal, Permission.ANOMALY_READ)
    scope = principal.org_path
    if org_id is not None:
        org = await session.get(Org, org_id)
        require_governs(principal, org.path if org else "", "org", org_id)
        assert org is not None
        scope = org.path
    return await repository.search(
        session,
        repository.Filters(scope_path=scope, overdue_at=now if overdue else None, **filters),
        offset=offset,
        limit=limit,
    )


@dataclass(frozen=True)
class AnomalyDetail:
    row: AnomalyRow
    events: list[AnomalyEvent]
    orgs: dict[int, Org]  # the orgs the events name
    can_handle: bool
    reassign_targets: list[tuple[Org, int]]  # (org, number of handlers)


async def get_anomaly(
    session: AsyncSession, principal: Principal, anomaly_id: int
) -> AnomalyDetail:
    """One anomaly with its history, and what the caller may do with it."""
    row = await in_jurisdiction(session, principal, anomaly_id, Permission.ANOMALY_READ)
    events = await repository.events_of(session, anomaly_id)
    named = {e.from_org_id for e in events} | {e.to_org_id for e in events}
    orgs = await repository.orgs_by_id(session, [i for i in named if i is not None])
    can_handle = Permission.ANOMALY_HANDLE in permissions_of(principal)
    targets: list[tuple[Org, int]] = []
    if can_handle and row.anomaly.state in REASSIGNABLE:
        targets = await reassign_targets(session, principal, row)
    return AnomalyDetail(row, events, orgs, can_handle, targets)
