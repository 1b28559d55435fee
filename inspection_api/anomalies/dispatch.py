"""Who hears of an anomaly, and what they are told: the exception handlers (异常处理人) of
the org it is routed to get an inbox notification (pushed live after commit); consoles
showing anomalies hear ``anomaly_updated`` when one changes."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from inspection_api.anomalies import repository
from inspection_api.anomalies.models import Anomaly
from inspection_api.anomalies.rules import nearest_handler_org, path_ids
from inspection_api.beijing import minute_text
from inspection_api.checklists.content import SEVERITY_LABELS
from inspection_api.checkpoints.models import Checkpoint
from inspection_api.notifications import outbox
from inspection_api.notifications.models import NotificationKind
from inspection_api.notifications.service import notify
from inspection_api.orgs.models import Org

UPDATED_EVENT = "anomaly_updated"  # data: {id, state, handler_org_id}


async def handler_org_for(
    session: AsyncSession, org: Org, *, above: int | None = None
) -> tuple[int | None, list[int]]:
    """The org whose handlers an anomaly of ``org`` goes to (walking up from ``org``, or
    from the parent of ``above``), and those handlers' user ids."""
    handlers = await repository.handlers_in(session, path_ids(org.path))
    target = nearest_handler_org(org.path, handlers.keys(), above=above)
    return target, (handlers[target] if target is not None else [])


async def handlers_of(session: AsyncSession, org_ids: Collection[int | None]) -> list[int]:
    """The handlers of these orgs, each once."""
    by_org = await repository.handlers_in(session, [i for i in org_ids if i is not None])
    return list(dict.fromkeys(user for users in by_org.values() for user in users))


def _where(checkpoint: Checkpoint, org: Org) -> str:
    return f"{checkpoint.name}（{org.name}）"


async def tell(
    session: AsyncSession,
    user_ids: Collection[int],
    kind: NotificationKind,
    anomaly: Anomaly,
    checkpoint: Checkpoint,
    org: Org,
    *,
    now: datetime,
    to_org: Org | None = None,
    from_org: Org | None = None,
    actor_name: str = "",
) -> None:
    """Notify ``user_ids`` about ``anomaly`` (zh-CN text by ``kind``)."""
    where = _where(checkpoint, org)
    due = f"，请于 {minute_text(anomaly.deadline)} 前受理" if anomaly.deadline else ""
    if kind == NotificationKind.ANOMALY_RAISED:
        title = f"新异常：{anomaly.indicator}"
        body = f"{where} · {SEVERITY_LABELS[anomaly.severity][0]}{due}"
    elif kind == NotificationKind.ANOMALY_ESCALATED:
        title = f"异常上报：{anomaly.indicator}"
        origin = f"{from_org.name}" if from_org else "原处理机构"
        target = to_org.name if to_org else ""
        body = f"{where} 超过处理期限未受理，已由{origin}上报至{target}{due}"
    elif kind == NotificationKind.ANOMALY_REASSIGNED:
        title = f"异常转派：{anomaly.indicator}"
        who = actor_name or "处理人"
        body = f"{where} 由{who}转派至{to_org.name if to_org else '本机构'}{due}"
    else:
        title = f"异常超期：{anomaly.indicator}"
        body = f"{where} 已超过处理期限仍未受理，且上级机构没有异常处理人，请尽快受理"
    await notify(session, user_ids, kind, title=title, body=body, anomaly_id=anomaly.id, now=now)


def updated(session: AsyncSession, anomaly: Anomaly, user_ids: Collection[int]) -> None:
    """Tell open consoles of ``user_ids`` that ``anomaly`` changed (after commit)."""
    data = {
        "id": anomaly.id,
        "state": anomaly.state.value,
        "handler_org_id": anomaly.handler_org_id,
    }
    for user_id in dict.fromkeys(user_ids):
        outbox.add(session, outbox.Push(user_id, UPDATED_EVENT, data))
