"""Demo inspections for ``loancheck seed-demo``: at 华北重工厂区 (CA-0001), one approved a month
ago and one submitted today with warning signs, waiting for 王审核; each with its photos."""

from __future__ import annotations

import hashlib
import io
from datetime import timedelta
from typing import Any

from PIL import Image, ImageDraw
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from inspection_api.checklists import service as checklists
from inspection_api.checklists.defaults import DEFAULT_TEMPLATE_CODE
from inspection_api.checklists.models import ChecklistTemplate, ChecklistVersion, VersionStatus
from inspection_api.checklists.rules import conclusion_of
from inspection_api.checkpoints.models import Checkpoint
from inspection_api.db import utcnow
from inspection_api.inspections import media
from inspection_api.inspections.models import (
    CheckIn,
    Evidence,
    Inspection,
    InspectionKind,
    InspectionState,
    Review,
    ReviewDecision,
)
from inspection_api.inspections.rules import findings_of
from inspection_api.orgs.models import Org
from inspection_api.users.models import User
from storage.base import ObjectStore

NORMAL_ANSWERS: dict[str, Any] = {
    "operating_status": "正常",
    "utilities": {"electricity": 185000.0, "water": 2300.5},
    "tax_paid_ytd": 126.4,
    "payroll": {"headcount": 312, "amount": 186.2},
    "credit_share_change": {"increase": 200.0},
    "settlement_inflow": 5630.75,
    "deposits": {"balance": 820.0, "change_ytd": 65.3},
    "other_bank_overdue": False,
    "litigation": False,
    "controller_unreachable": False,
    "controller_credit_abnormal": False,
    "controller_adverse_event": False,
    "collateral_adverse_change": False,
    "guarantor_overdue": False,
    "guarantor_litigation": False,
    "license_invalid": False,
    "conclusion": "normal",
}
WATCH_ANSWERS: dict[str, Any] = {
    **NORMAL_ANSWERS,
    "operating_status": "半正常",
    "utilities": {"electricity": 96000.0},
    "other_bank_overdue": True,
    "special_remarks": "二号车间停产检修，预计下月复工；他行一笔流动资金贷款逾期 12 天。",
    "conclusion": "watch",
}
FLAGS = [{"item_key": "payroll", "note": "代发工资人数较上季度减少约三成"}]
PHOTOS = {
    "operating_status": 2,
    "utilities": 1,
    "tax_paid_ytd": 1,
    "collateral_adverse_change": 1,
    "license_invalid": 1,
}


def demo_photo(label: str, shade: int) -> bytes:
    """A plain JPEG that says what it stands for (no camera on a demo server)."""
    image = Image.new("RGB", (640, 480), (40 + shade % 160, 90, 140))
    draw = ImageDraw.Draw(image)
    draw.rectangle((20, 20, 620, 460), outline=(255, 255, 255), width=4)
    draw.text((48, 220), f"LoanCheck demo photo: {label}", fill=(255, 255, 255))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=80)
    return out.getvalue()


async def seed_demo_inspections(session: AsyncSession, store: ObjectStore) -> None:
    """Add the demo inspections unless CA-0001 has inspections already; the caller commits."""
    checkpoint = await session.scalar(select(Checkpoint).where(Checkpoint.code == "CA-0001"))
    if checkpoint is None or checkpoint.latitude is None or checkpoint.longitude is None:
        return
    if await session.scalar(select(Inspection.id).where(Inspection.checkpoint_id == checkpoint.id)):
        return
    version_id = await session.scalar(
        select(ChecklistVersion.id)
        .join(ChecklistTemplate, ChecklistVersion.template_id == ChecklistTemplate.id)
        .join(Org, ChecklistTemplate.org_id == Org.id)
        .where(
            ChecklistTemplate.code == DEFAULT_TEMPLATE_CODE,
            Org.code == "HB",
            ChecklistVersion.status == VersionStatus.PUBLISHED,
        )
        .order_by(ChecklistVersion.number.desc())
        .limit(1)
    )
    users = dict((await session.execute(select(User.username, User.id))).all())
    if version_id is None or "inspector" not in users or "reviewer" not in users:
        return
    version = await checklists.get_version(session, version_id)
    now = utcnow()
    position = (checkpoint.latitude, checkpoint.longitude)
    for age, answers, flags, approved in (
        (timedelta(days=32), NORMAL_ANSWERS, [], True),
        (timedelta(hours=2), WATCH_ANSWERS, FLAGS, False),
    ):
        started = now - age
        submitted = started + timedelta(minutes=48)
        conclusion = conclusion_of(version, answers)
        inspection = Inspection(
            kind=InspectionKind.ON_SITE,
            state=InspectionState.APPROVED if approved else InspectionState.SUBMITTED,
            checkpoint_id=checkpoint.id,
            org_id=checkpoint.org_id,
            inspector_user_id=users["inspector"],
            checklist_version_id=version_id,
            started_at=started,
            checked_in_at=started,
            checkin_outcome="verified",
            checkin_latitude=position[0] + 0.00012,
            checkin_longitude=position[1] - 0.00009,
            checkin_accuracy_m=9.0,
            checkin_distance_m=16.0,
            submit_latitude=position[0] + 0.0001,
            submit_longitude=position[1],
            submit_accuracy_m=11.0,
            submit_distance_m=11.1,
            radius_m=checkpoint.radius_m or 200,
            answers=answers,
            flags=flags,
            findings=[f.to_json() for f in findings_of(version, answers, flags)],
            conclusion=conclusion.value if conclusion else None,
            submitted_at=submitted,
            submission_count=1,
            reviewed_at=submitted + timedelta(hours=5) if approved else None,
            reviewed_by_user_id=users["reviewer"] if approved else None,
            review_comment="检查内容完整，同意。" if approved else "",
        )
        session.add(inspection)
        await session.flush()
        session.add(
            CheckIn(
                inspection_id=inspection.id,
                at=started,
                outcome="verified",
                latitude=position[0] + 0.00012,
                longitude=position[1] - 0.00009,
                accuracy_m=9.0,
                distance_m=16.0,
                radius_m=checkpoint.radius_m or 200,
                user_id=users["inspector"],
            )
        )
        if approved:
            session.add(
                Review(
                    inspection_id=inspection.id,
                    submission=1,
                    decision=ReviewDecision.APPROVED,
                    comment=inspection.review_comment,
                    reviewer_user_id=users["reviewer"],
                    reviewer_name="reviewer",
                    at=submitted + timedelta(hours=5),
                )
            )
        shot = 0
        for item_key, count in PHOTOS.items():
            for _ in range(count):
                shot += 1
                data = demo_photo(f"{item_key} #{shot}", shot * 23 + inspection.id)
                key = media.object_key(inspection.id, "image/jpeg")
                await store.put_bytes(key, data, "image/jpeg")
                session.add(
                    Evidence(
                        inspection_id=inspection.id,
                        item_key=item_key,
                        kind="photo",
                        object_key=key,
                        mime_type="image/jpeg",
                        size_bytes=len(data),
                        sha256=hashlib.sha256(data).hexdigest(),
                        captured_at=started + timedelta(minutes=3 * shot),
                        latitude=position[0] + 0.0001,
                        longitude=position[1],
                        accuracy_m=10.0,
                        distance_m=11.1,
                        uploaded_by_user_id=users["inspector"],
                        uploader_name="inspector",
                        device_id="demo-phone",
                        created_at=started + timedelta(minutes=3 * shot),
                    )
                )
    await session.flush()
