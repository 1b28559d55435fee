"""Demo anomalies and rectifications for ``loancheck seed-demo``: a warning sign at a
长安支行 site (routed to 石家庄分行's exception handler, who finds it in the inbox), two at a
莲池支行 site with one 整改意见 issued for it, raised through the real code paths."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from inspection_api.anomalies.models import Anomaly, AnomalySource
from inspection_api.anomalies.service import Finding, raise_anomalies
from inspection_api.audit.service import Origin
from inspection_api.auth.principal import Principal
from inspection_api.checklists.content import Severity
from inspection_api.checkpoints.models import Checkpoint
from inspection_api.db import utcnow
from inspection_api.orgs.models import Org
from inspection_api.rectifications import service as rectifications
from inspection_api.rectifications.models import Rectification
from inspection_api.rectifications.schemas import RectificationCreate
from inspection_api.users.models import User

DEMO_FINDINGS: tuple[tuple[str, Finding], ...] = (
    (
        "CA-0002",
        Finding(
            item_key="other_bank_overdue",
            item_label="他行授信是否逾期",
            section="企业财务信息",
            indicator="他行授信逾期",
            severity=Severity.HIGH,
            answer=True,
        ),
    ),
    (
        "LC-0001",
        Finding(
            item_key="operating_status",
            item_label="企业经营状况",
            section="企业运营状况",
            indicator="企业经营状况异常",
            severity=Severity.MEDIUM,
            answer="异常",
        ),
    ),
    (
        "LC-0001",
        Finding(
            item_key="",
            item_label="",
            section="",
            indicator="库存汽配件明显减少",
            severity=Severity.LOW,
            source=AnomalySource.INSPECTOR,
            note="仓库约三分之一货架空置，企业称近期清理积压库存。",
        ),
    ),
)

DEMO_RECTIFICATION = (
    "inspector_bd",
    "企业经营状况异常",
    "请于期限内提供近三个月的销售台账和库存盘点表，说明经营状况变化原因，并拍照反馈仓库现状。",
)


async def _principal(session: AsyncSession, username: str) -> Principal:
    user, org = (
        await session.execute(
            select(User, Org).join(Org, User.org_id == Org.id).where(User.username == username)
        )
    ).one()
    return Principal(
        user_id=user.id, username=username, org_id=org.id, org_path=org.path, roles=user.roles
    )


async def seed_demo_anomalies(session: AsyncSession) -> None:
    """Raise the demo anomalies that are missing (by checkpoint and indicator) and issue the
    demo rectification once; the caller commits."""
    now = utcnow()
    for code, finding in DEMO_FINDINGS:
        checkpoint_id = await session.scalar(select(Checkpoint.id).where(Checkpoint.code == code))
        assert checkpoint_id is not None  # the demo checkpoints come first
        exists = await session.scalar(
            select(Anomaly.id).where(
                Anomaly.checkpoint_id == checkpoint_id, Anomaly.indicator == finding.indicator
            )
        )
        if exists is None:
            await raise_anomalies(
                session,
                checkpoint_id=checkpoint_id,
                inspection_id=None,
                findings=[finding],
                actor=None,
                now=now,
            )
    username, indicator, text = DEMO_RECTIFICATION
    anomaly_id = await session.scalar(select(Anomaly.id).where(Anomaly.indicator == indicator))
    assert anomaly_id is not None
    if await session.scalar(select(Rectification.id).where(Rectification.anomaly_id == anomaly_id)):
        return
    await rectifications.create(
        session,
        await _principal(session, username),
        RectificationCreate(
            anomaly_id=anomaly_id, text=text, due_date=(now + timedelta(days=14)).date()
        ),
        now=now,
        origin=Origin(),
    )
