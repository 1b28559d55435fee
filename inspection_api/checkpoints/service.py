"""Checkpoints of the 支行 in a caller's jurisdiction: registering, editing, exit points,
QR labels. Every change is audited with the checkpoint's org path.

On-site scanning (``verify_qr``, ``check_in``) and 重置GPS live in ``checkin`` and are
re-exported here, so other domains call everything as ``service.<name>``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from inspection_api.audit.service import Origin, record
from inspection_api.auth.permissions import Permission, require, require_governs
from inspection_api.auth.principal import Principal
from inspection_api.beijing import today as beijing_today
from inspection_api.checkpoints import repository
from inspection_api.checkpoints.access import in_jurisdiction as in_jurisdiction
from inspection_api.checkpoints.checkin import CheckInResult as CheckInResult
from inspection_api.checkpoints.checkin import check_in as check_in
from inspection_api.checkpoints.checkin import check_in_by_qr as check_in_by_qr
from inspection_api.checkpoints.checkin import reset_position as reset_position
from inspection_api.checkpoints.checkin import verify_qr as verify_qr
from inspection_api.checkpoints.errors import CheckpointHasRecords, CheckpointInUse
from inspection_api.checkpoints.models import (
    EXIT_REASON_LABELS,
    Checkpoint,
    CheckpointStatus,
    ExitReason,
)
from inspection_api.checkpoints.rules import (
    check_exit_date,
    check_loan_date_before_exit,
    check_loan_dates,
    normalize_phone,
)
from inspection_api.checkpoints.schemas import CheckpointCreate, CheckpointUpdate
from inspection_api.db import utcnow
from inspection_api.errors import Conflict, InvalidField
from inspection_api.orgs.models import KIND_LABELS, Org, OrgKind

LABELS_MAX = 600  # checkpoints on one label sheet (50 A4 pages)


async def _sub_branch(session: AsyncSession, principal: Principal, org_id: int) -> Org:
    """The 支行 a checkpoint may belong to, or InvalidField on ``body.org_id``."""
    org = await session.get(Org, org_id)
    if org is None or not principal.governs(org.path):
        raise InvalidField(
            "body.org_id",
            f"机构 {org_id} 不存在或不在您的辖区内",
            f"org {org_id} does not exist or is outside your jurisdiction",
        )
    if org.kind != OrgKind.SUB_BRANCH:
        raise InvalidField(
            "body.org_id",
            f"检查点应设在支行下，「{org.name}」是{KIND_LABELS[org.kind]}",
            f"checkpoints belong to a sub-branch; {org.name} is a {org.kind.value}",
        )
    return org


async def _check_code(session: AsyncSession, code: str, other_than: int | None = None) -> None:
    if await repository.code_taken(session, code, other_than=other_than):
        raise Conflict(field="body.code", label=("检查点编号", "checkpoint code"), value=code)


def _jsonable(value: Any) -> Any:
    if isinstance(value, Decimal | date):
        return str(value)
    return value


async def list_checkpoints(
    session: AsyncSession,
    principal: Principal,
    filters: dict[str, Any],
    *,
    org_id: int | None = None,
    offset: int = 0,
    limit: int = 50,
) -> tuple[list[tuple[Checkpoint, Org]], int]:
    """One page (code order) of the jurisdiction's checkpoints, or of ``org_id``'s subtree
    (404 outside), and the number of matches. ``filters``: status, exit_reason,
    classification, bound, q (see ``repository.Filters``)."""
    require(principal, Permission.CHECKPOINT_READ)
    scope = principal.org_path
    if org_id is not None:
        org = await session.get(Org, org_id)
        require_governs(principal, org.path if org else "", "org", org_id)
        assert org is not None
        scope = org.path
    return await repository.search(
        session, repository.Filters(scope_path=scope, **filters), offset=offset, limit=limit
    )


async def get_checkpoint(
    session: AsyncSession, principal: Principal, checkpoint_id: int
) -> tuple[Checkpoint, Org]:
    return await in_jurisdiction(session, principal, checkpoint_id, Permission.CHECKPOINT_READ)


async def create_checkpoint(
    session: AsyncSession, principal: Principal, data: CheckpointCreate, *, origin: Origin
) -> tuple[Checkpoint, Org]:
    """Register a checkpoint in a 支行 (``org_id``, default: the caller's own org)."""
    require(principal, Permission.CHECKPOINT_MANAGE)
    org = await _sub_branch(session, principal, data.org_id or principal.org_id)
    check_loan_dates(data.loan_date, data.maturity_date, "body.maturity_date")
    phone = normalize_phone(data.contact_phone)
    await _check_code(session, data.code)
    values = data.model_dump(exclude={"org_id", "contact_phone"})
    checkpoint = Checkpoint(
        org_id=org.id,
        contact_phone=phone,
        qr_generation=1,
        created_by_user_id=principal.user_id,
        **values,
    )
    session.add(checkpoint)
    await session.flush()
    record(
        session,
        "checkpoint_created",
        origin=origin,
        actor=principal,
        org_path=org.path,
        checkpoint_id=checkpoint.id,
        code=checkpoint.code,
        name=checkpoint.name,
    )
    return checkpoint, org


async def update_checkpoint(
    session: AsyncSession,
    principal: Principal,
    checkpoint_id: int,
    data: CheckpointUpdate,
    *,
    origin: Origin,
) -> tuple[Checkpoint, Org]:
    """Change the fields that were sent; the audit event lists each change (old, new).
    Moving to another 支行 is allowed inside the jurisdiction."""
    checkpoint, org = await in_jurisdiction(
        session, principal, checkpoint_id, Permission.CHECKPOINT_MANAGE
    )
    changes = {name: getattr(data, name) for name in data.model_fields_set}
    for required in ("name", "code", "customer_name"):
        if required in changes and changes[required] is None:
            raise InvalidField(f"body.{required}", "必填，不能清空", "required, cannot be cleared")
    for text in ("address", "contact_name", "contact_phone"):
        if text in changes and changes[text] is None:
            changes[text] = ""
    if changes.get("org_id") is not None and changes["org_id"] != checkpoint.org_id:
        org = await _sub_branch(session, principal, changes["org_id"])
    elif "org_id" in changes:
        del changes["org_id"]
    if "contact_phone" in changes:
        changes["contact_phone"] = normalize_phone(changes["contact_phone"])
    check_loan_dates(
        changes.get("loan_date", checkpoint.loan_date),
        changes.get("maturity_date", checkpoint.maturity_date),
        "body.maturity_date",
    )
    check_loan_date_before_exit(
        changes.get("loan_date", checkpoint.loan_date), checkpoint.exit_date
    )
    if "code" in changes and changes["code"] != checkpoint.code:
        await _check_code(session, changes["code"], other_than=checkpoint.id)
    diff: dict[str, list[Any]] = {}
    for name, new in changes.items():
        old = getattr(checkpoint, name)
        if old != new:
            diff[name] = [_jsonable(old), _jsonable(new)]
            setattr(checkpoint, name, new)
    if diff:
        await session.flush()
        record(
            session,
            "checkpoint_updated",
            origin=origin,
            actor=principal,
            org_path=org.path,
            checkpoint_id=checkpoint.id,
            code=checkpoint.code,
            changes=diff,
        )
    return checkpoint, org


async def delete_checkpoint(
    session: AsyncSession, principal: Principal, checkpoint_id: int, *, origin: Origin
) -> None:
    """Only a checkpoint nobody has checked in at (one registered by mistake); the others
    keep their history and become exit points instead (CheckpointInUse, 409)."""
    checkpoint, org = await in_jurisdiction(
        session, principal, checkpoint_id, Permission.CHECKPOINT_MANAGE
    )
    if checkpoint.last_checked_in_at is not None:
        raise CheckpointInUse(name=checkpoint.name)
    if await repository.has_records(session, checkpoint.id):
        raise CheckpointHasRecords(name=checkpoint.name)
    name = checkpoint.name
    await session.delete(checkpoint)
    try:
        await session.flush()
    except IntegrityError:  # other records name it (e.g. a remote inspection's checklist)
        raise CheckpointInUse(name=name) from None
    record(
        session,
        "checkpoint_deleted",
        origin=origin,
        actor=principal,
        org_path=org.path,
        checkpoint_id=checkpoint_id,
        code=checkpoint.code,
        name=checkpoint.name,
    )


async def mark_exit(
    session: AsyncSession,
    principal: Principal,
    checkpoint_id: int,
    *,
    reason: ExitReason,
    exit_date: date,
    note: str = "",
    origin: Origin,
    today: date | None = None,
) -> tuple[Checkpoint, Org]:
    """Make it an exit point (退出点) with a reason; marking again changes reason/date/note.
    The date is today (Beijing) or earlier, and not before the loan date (422 ``body.date``)."""
    checkpoint, org = await in_jurisdiction(
        session, principal, checkpoint_id, Permission.CHECKPOINT_MANAGE
    )
    check_exit_date(exit_date, checkpoint.loan_date, today or beijing_today())
    previous = checkpoint.exit_reason
    checkpoint.exit_reason = reason
    checkpoint.exit_date = exit_date
    checkpoint.exit_note = note
    if previous is None:
        checkpoint.exited_at = utcnow()
    await session.flush()
    record(
        session,
        "checkpoint_exited",
        origin=origin,
        actor=principal,
        org_path=org.path,
        checkpoint_id=checkpoint.id,
        code=checkpoint.code,
        reason=reason.value,
        reason_label=EXIT_REASON_LABELS[reason][0],
        date=str(exit_date),
        note=note,
        previous_reason=previous.value if previous else None,
    )
    return checkpoint, org


async def reinstate(
    session: AsyncSession, principal: Principal, checkpoint_id: int, *, origin: Origin
) -> tuple[Checkpoint, Org]:
    """Back under regular inspection; reinstating an active checkpoint changes nothing."""
    checkpoint, org = await in_jurisdiction(
        session, principal, checkpoint_id, Permission.CHECKPOINT_MANAGE
    )
    if checkpoint.exit_reason is None:
        return checkpoint, org
    previous = (checkpoint.exit_reason, checkpoint.exit_date, checkpoint.exit_note)
    checkpoint.exit_reason = None
    checkpoint.exit_date = None
    checkpoint.exit_note = ""
    checkpoint.exited_at = None
    await session.flush()
    record(
        session,
        "checkpoint_reinstated",
        origin=origin,
        actor=principal,
        org_path=org.path,
        checkpoint_id=checkpoint.id,
        code=checkpoint.code,
        previous_reason=previous[0].value,
        previous_date=str(previous[1]) if previous[1] else None,
        previous_note=previous[2],
    )
    return checkpoint, org


async def regenerate_qr(
    session: AsyncSession, principal: Principal, checkpoint_id: int, *, origin: Origin
) -> tuple[Checkpoint, Org]:
    """A new QR generation: labels printed before stop working (``qr_retired``)."""
    checkpoint, org = await in_jurisdiction(
        session, principal, checkpoint_id, Permission.CHECKPOINT_MANAGE
    )
    retired = checkpoint.qr_generation
    checkpoint.qr_generation = retired + 1
    await session.flush()
    record(
        session,
        "checkpoint_qr_regenerated",
        origin=origin,
        actor=principal,
        org_path=org.path,
        checkpoint_id=checkpoint.id,
        code=checkpoint.code,
        retired_generation=retired,
        generation=checkpoint.qr_generation,
    )
    return checkpoint, org


async def for_labels(
    session: AsyncSession,
    principal: Principal,
    *,
    org_id: int | None = None,
    ids: Sequence[int] = (),
    include_exited: bool = False,
) -> tuple[list[tuple[Checkpoint, Org]], Org | None]:
    """The checkpoints of a label sheet: the selected ``ids`` (each must be in the
    jurisdiction: 404 names the first that is not), or every checkpoint under ``org_id``
    (active ones unless ``include_exited``). Returns them with the org when one was named."""
    require(principal, Permission.CHECKPOINT_READ)
    if (org_id is None) == (not ids):
        raise InvalidField(
            "query.ids",
            "请选择检查点（ids）或机构（org_id），二者选一",
            "give either ids or org_id",
        )
    if ids:
        if len(ids) > LABELS_MAX:
            raise InvalidField(
                "query.ids", f"一次最多打印 {LABELS_MAX} 个", f"at most {LABELS_MAX} at once"
            )
        rows = await repository.with_ids(session, list(dict.fromkeys(ids)))
        found = {cp.id: org for cp, org in rows}
        for ident in ids:
            require_governs(
                principal, found[ident].path if ident in found else "", "checkpoint", ident
            )
        return rows, None
    assert org_id is not None
    org = await session.get(Org, org_id)
    require_governs(principal, org.path if org else "", "org", org_id)
    assert org is not None
    status = None if include_exited else CheckpointStatus.ACTIVE
    rows, total = await repository.search(
        session,
        repository.Filters(scope_path=org.path, status=status),
        offset=0,
        limit=LABELS_MAX,
    )
    if total == 0:
        raise InvalidField(
            "query.org_id",
            f"「{org.name}」下没有可打印标签的检查点",
            f"{org.name} has no checkpoints to print labels for",
        )
    if total > LABELS_MAX:
        raise InvalidField(
            "query.org_id",
            f"该机构有 {total} 个检查点，一次最多打印 {LABELS_MAX} 个，请按支行分批打印",
            f"{total} checkpoints; at most {LABELS_MAX} per sheet, print by sub-branch",
        )
    return rows, org
