"""Rectifications (整改意见) for bank staff: issue one (with the contact's reply link),
read them, verify a reply — close (关闭) or reopen (重新整改) — and renew the link. Every
change is audited with the checkpoint's 支行 and kept in the history. The contact's side
(the link, replies with photos) is in ``replies`` and re-exported here."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from inspection_api.anomalies import repository as anomalies
from inspection_api.anomalies.access import actor_name
from inspection_api.audit.service import Origin, record
from inspection_api.auth.permissions import (
    Permission,
    permissions_of,
    require,
    require_governs,
)
from inspection_api.auth.principal import Principal
from inspection_api.beijing import local_date
from inspection_api.checkpoints import repository as checkpoints
from inspection_api.checkpoints.models import Checkpoint
from inspection_api.checkpoints.rules import normalize_phone
from inspection_api.errors import InvalidField
from inspection_api.orgs.models import Org
from inspection_api.rectifications import repository
from inspection_api.rectifications.errors import RectificationStateConflict
from inspection_api.rectifications.models import (
    STATE_LABELS,
    Rectification,
    RectificationEvent,
    RectificationEventKind,
    RectificationState,
)
from inspection_api.rectifications.replies import PhotoUpload as PhotoUpload
from inspection_api.rectifications.replies import photo_bytes as photo_bytes
from inspection_api.rectifications.replies import public_view as public_view
from inspection_api.rectifications.replies import reply as reply
from inspection_api.rectifications.replies import resolve_token as resolve_token
from inspection_api.rectifications.repository import RectificationRow
from inspection_api.rectifications.rules import OPEN_STATES, VERIFIABLE
from inspection_api.rectifications.schemas import RectificationCreate
from inspection_api.tokens import digest, new_token
from inspection_api.users.models import User


async def in_jurisdiction(
    session: AsyncSession, principal: Principal, rectification_id: int, permission: Permission
) -> RectificationRow:
    """403 without the permission, 404 outside the jurisdiction (as for none)."""
    require(principal, permission)
    row = await repository.get_row(session, rectification_id)
    require_governs(principal, row.org.path if row else "", "rectification", rectification_id)
    assert row is not None
    return row


def _outside(field: str, what: tuple[str, str], ident: int) -> InvalidField:
    return InvalidField(
        field,
        f"{what[0]} {ident} 不存在或不在您的辖区内",
        f"{what[1]} {ident} does not exist or is outside your jurisdiction",
    )


async def _subject(
    session: AsyncSession, principal: Principal, data: RectificationCreate
) -> tuple[Checkpoint, Org]:
    """The checkpoint a new rectification is about: the anomaly's, or ``checkpoint_id``."""
    if data.anomaly_id is not None:
        row = await anomalies.get_row(session, data.anomaly_id)
        if row is None or not principal.governs(row.org.path):
            raise _outside("body.anomaly_id", ("异常", "anomaly"), data.anomaly_id)
        if data.checkpoint_id is not None and data.checkpoint_id != row.checkpoint.id:
            raise InvalidField(
                "body.checkpoint_id",
                f"与异常所属的检查点「{row.checkpoint.name}」不一致",
                "differs from the anomaly's checkpoint",
            )
        return row.checkpoint, row.org
    if data.checkpoint_id is None:
        raise InvalidField("body.checkpoint_id", "请选择检查点", "a checkpoint is required")
    found = await checkpoints.get_with_org(session, data.checkpoint_id)
    if found is None or not principal.governs(found[1].path):
        raise _outside("body.checkpoint_id", ("检查点", "checkpoint"), data.checkpoint_id)
    return found


async def _responsible(session: AsyncSession, principal: Principal, user_id: int, org: Org) -> User:
    """An active bank user of the caller's jurisdiction who sees the checkpoint's 支行."""
    user = await session.get(User, user_id)
    user_org = await session.get(Org, user.org_id) if user else None
    if user is None or user_org is None or not principal.governs(user_org.path):
        raise _outside("body.responsible_user_id", ("用户", "user"), user_id)
    if not user.is_active or not org.path.startswith(user_org.path):
        raise InvalidField(
            "body.responsible_user_id",
            f"「{user.display_name}」不能负责{org.name}的检查点（已停用或不管辖该支行）",
            f"{user.username} is inactive or does not oversee {org.name}",
        )
    return user


def _check_due(due_date: date, now: datetime, field: str) -> None:
    if due_date < local_date(now):
        raise InvalidField(field, "整改期限不能早于今天", "the due date is in the past")


def _event(
    kind: RectificationEventKind, principal: Principal, name: str, now: datetime, **rest: Any
) -> RectificationEvent:
    return RectificationEvent(
        at=now, kind=kind, actor_user_id=principal.user_id, actor_name=name, **rest
    )


async def create(
    session: AsyncSession,
    principal: Principal,
    data: RectificationCreate,
    *,
    now: datetime,
    origin: Origin,
) -> tuple[str, RectificationRow]:
    """Issue a rectification (已下发) and its reply link; the token is returned here only."""
    require(principal, Permission.RECTIFICATION_MANAGE)
    checkpoint, org = await _subject(session, principal, data)
    _check_due(data.due_date, now, "body.due_date")
    contact_name = (data.contact_name or checkpoint.contact_name).strip()
    if not contact_name:
        raise InvalidField(
            "body.contact_name", "请填写企业联系人", "the contact's name is required"
        )
    phone = normalize_phone(
        checkpoint.contact_phone if data.contact_phone is None else data.contact_phone
    )
    responsible = await _responsible(
        session, principal, data.responsible_user_id or principal.user_id, org
    )
    token = new_token()
    rectification = Rectification(
        org_id=org.id,
        checkpoint_id=checkpoint.id,
        anomaly_id=data.anomaly_id,
        inspection_id=data.inspection_id,
        text=data.text,
        due_date=data.due_date,
        contact_name=contact_name,
        contact_phone=phone,
        responsible_user_id=responsible.id,
        state=RectificationState.ISSUED,
        token_hash=digest(token),
        link_expires_at=now + timedelta(days=data.link_days),
        created_by_user_id=principal.user_id,
        created_at=now,
        updated_at=now,
    )
    session.add(rectification)
    await session.flush()
    name = await actor_name(session, principal)
    session.add(
        _event(
            RectificationEventKind.ISSUED,
            principal,
            name,
            now,
            rectification_id=rectification.id,
            comment=data.text,
            due_date=data.due_date,
        )
    )
    record(
        session,
        "rectification_created",
        origin=origin,
        actor=principal,
        org_path=org.path,
        rectification_id=rectification.id,
        checkpoint_id=checkpoint.id,
        anomaly_id=data.anomaly_id,
        due_date=data.due_date.isoformat(),
        responsible_user_id=responsible.id,
    )
    row = await repository.get_row(session, rectification.id)
    assert row is not None
    return token, row


async def list_rectifications(
    session: AsyncSession,
    principal: Principal,
    filters: dict[str, Any],
    *,
    org_id: int | None = None,
    overdue: bool = False,
    now: datetime,
    offset: int = 0,
    limit: int = 50,
) -> tuple[list[RectificationRow], int]:
    """One page (newest first) of the jurisdiction's rectifications, or of ``org_id``'s
    subtree (404 outside). ``filters``: state, checkpoint_id, anomaly_id, inspection_id,
    responsible_user_id."""
    require(principal, Permission.RECTIFICATION_READ)
    scope = principal.org_path
    if org_id is not None:
        org = await session.get(Org, org_id)
        require_governs(principal, org.path if org else "", "org", org_id)
        assert org is not None
        scope = org.path
    overdue_on = local_date(now) if overdue else None
    return await repository.search(
        session,
        repository.Filters(scope_path=scope, overdue_on=overdue_on, **filters),
        offset=offset,
        limit=limit,
    )


async def get_rectification(
    session: AsyncSession, principal: Principal, rectification_id: int
) -> tuple[RectificationRow, list[RectificationEvent], dict[int, list[Any]], bool]:
    """The rectification, its history, its photos by event id, and whether the caller may
    manage it."""
    row = await in_jurisdiction(session, principal, rectification_id, Permission.RECTIFICATION_READ)
    events = await repository.events_of(session, rectification_id)
    photos: dict[int, list[Any]] = {}
    for photo in await repository.photos_of(session, rectification_id):
        photos.setdefault(photo.event_id, []).append(photo)
    can_manage = Permission.RECTIFICATION_MANAGE in permissions_of(principal)
    return row, events, photos, can_manage


async def _verdict(
    session: AsyncSession,
    principal: Principal,
    rectification_id: int,
    *,
    kind: RectificationEventKind,
    target: RectificationState,
    refusal: tuple[str, str],
    comment: str,
    now: datetime,
    origin: Origin,
    due_date: date | None = None,
) -> RectificationRow:
    row = await in_jurisdiction(
        session, principal, rectification_id, Permission.RECTIFICATION_MANAGE
    )
    rectification = row.rectification
    values: dict[str, Any] = {"state": target, "updated_at": now}
    if target == RectificationState.CLOSED:
        values.update(closed_at=now, closed_by_user_id=principal.user_id)
    if due_date is not None:
        values["due_date"] = due_date
    if not await repository.move(session, rectification, VERIFIABLE, **values):
        raise RectificationStateConflict(state=STATE_LABELS[rectification.state], action=refusal)
    name = await actor_name(session, principal)
    session.add(
        _event(
            kind,
            principal,
            name,
            now,
            rectification_id=rectification.id,
            comment=comment,
            due_date=due_date,
        )
    )
    record(
        session,
        f"rectification_{kind.value}",
        origin=origin,
        actor=principal,
        org_path=row.org.path,
        rectification_id=rectification.id,
        comment=comment,
    )
    return row


async def close(
    session: AsyncSession,
    principal: Principal,
    rectification_id: int,
    *,
    comment: str = "",
    now: datetime,
    origin: Origin,
) -> RectificationRow:
    """已反馈 → 已关闭: the bank verified the reply. Closed is final; the link takes no reply."""
    return await _verdict(
        session,
        principal,
        rectification_id,
        kind=RectificationEventKind.CLOSED,
        target=RectificationState.CLOSED,
        refusal=("关闭（只有已反馈的整改意见可以关闭）", "close it (only replied ones)"),
        comment=comment,
        now=now,
        origin=origin,
    )


async def reopen(
    session: AsyncSession,
    principal: Principal,
    rectification_id: int,
    *,
    comment: str,
    due_date: date | None = None,
    now: datetime,
    origin: Origin,
) -> RectificationRow:
    """已反馈 → 重新整改: the reply was not enough (``comment`` says what is missing); the
    contact replies again through the same link, by ``due_date`` when given."""
    if not comment.strip():
        raise InvalidField("body.comment", "请填写仍需整改的内容", "say what still needs fixing")
    if due_date is not None:
        _check_due(due_date, now, "body.due_date")
    return await _verdict(
        session,
        principal,
        rectification_id,
        kind=RectificationEventKind.REOPENED,
        target=RectificationState.REOPENED,
        refusal=("重新整改（只有已反馈的整改意见可以退回）", "reopen it (only replied ones)"),
        comment=comment,
        due_date=due_date,
        now=now,
        origin=origin,
    )


async def renew_link(
    session: AsyncSession,
    principal: Principal,
    rectification_id: int,
    *,
    link_days: int,
    now: datetime,
    origin: Origin,
) -> tuple[str, RectificationRow]:
    """A new reply link (the old one stops working at once); not once closed."""
    row = await in_jurisdiction(
        session, principal, rectification_id, Permission.RECTIFICATION_MANAGE
    )
    rectification = row.rectification
    token = new_token()
    expires = now + timedelta(days=link_days)
    if not await repository.move(
        session, rectification, OPEN_STATES, token_hash=digest(token), link_expires_at=expires
    ):
        raise RectificationStateConflict(
            state=STATE_LABELS[rectification.state],
            action=("重新生成反馈链接", "renew its link"),
        )
    name = await actor_name(session, principal)
    session.add(
        _event(
            RectificationEventKind.LINK_RENEWED,
            principal,
            name,
            now,
            rectification_id=rectification.id,
        )
    )
    record(
        session,
        "rectification_link_renewed",
        origin=origin,
        actor=principal,
        org_path=row.org.path,
        rectification_id=rectification.id,
        expires_at=expires.isoformat(),
    )
    return token, row
