"""Demo checkpoints for ``loancheck seed-demo``: a few borrower sites per 支行, one already
located (so its map links show) and one exit point."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from inspection_api.checkpoints.models import Checkpoint, ExitReason, LoanClassification
from inspection_api.db import utcnow
from inspection_api.orgs.models import Org


def _site(
    org: str, code: str, name: str, customer: str, amount: str, **rest: Any
) -> dict[str, Any]:
    return {
        "org": org,
        "code": code,
        "name": name,
        "customer_name": customer,
        "loan_amount": Decimal(amount),
        **rest,
    }


DEMO_CHECKPOINTS = (
    _site(
        "HB-SJZ-CA", "CA-0001", "华北重工厂区", "石家庄华北重工机械有限公司", "5000000.00",
        loan_date=date(2025, 3, 15), maturity_date=date(2027, 3, 14),
        classification=LoanClassification.PASS, address="石家庄市长安区建设北大街 88 号",
        contact_name="刘建国", contact_phone="13903110001", position=(38.0503, 114.5219),
    ),
    _site(
        "HB-SJZ-CA", "CA-0002", "冀中纺织成品仓库", "河北冀中纺织品有限公司", "1200000.00",
        loan_date=date(2025, 9, 1), maturity_date=date(2026, 8, 31),
        classification=LoanClassification.SPECIAL_MENTION,
        address="石家庄市长安区谈固东街 21 号", contact_name="王秀兰",
        contact_phone="0311-85661234",
    ),
    _site(
        "HB-SJZ-CA", "CA-0003", "恒通物流园", "石家庄恒通物流有限公司", "800000.00",
        loan_date=date(2023, 6, 1), maturity_date=date(2025, 5, 31),
        classification=LoanClassification.PASS, address="石家庄市长安区胜利北街 300 号",
        contact_name="赵明", contact_phone="13803119876",
        exit_reason=ExitReason.SETTLED, exit_date=date(2025, 5, 31), exit_note="贷款已按期结清",
    ),
    _site(
        "HB-SJZ-QX", "QX-0001", "桥西商贸城", "石家庄桥西商贸城管理有限公司", "3000000.00",
        loan_date=date(2025, 1, 10), maturity_date=date(2028, 1, 9),
        classification=LoanClassification.PASS, address="石家庄市桥西区中山西路 156 号",
        contact_name="孙丽", contact_phone="13731100002",
    ),
    _site(
        "HB-BD-LC", "LC-0001", "莲池汽配城", "保定莲池汽车配件市场有限公司", "2500000.00",
        loan_date=date(2024, 11, 20), maturity_date=date(2026, 11, 19),
        classification=LoanClassification.SUBSTANDARD, address="保定市莲池区东风东路 1099 号",
        contact_name="周强", contact_phone="0312-3125678",
    ),
)  # fmt: skip


async def seed_demo_checkpoints(session: AsyncSession) -> None:
    """Add the demo checkpoints that are missing (by code); the caller commits."""
    now = utcnow()
    for site in DEMO_CHECKPOINTS:
        values = dict(site)
        if await session.scalar(select(Checkpoint.id).where(Checkpoint.code == values["code"])):
            continue
        org_id = await session.scalar(select(Org.id).where(Org.code == values.pop("org")))
        assert org_id is not None  # DEMO_ORGS come first
        position = values.pop("position", None)
        if position is not None:
            values.update(latitude=position[0], longitude=position[1], bound_at=now)
        if values.get("exit_reason") is not None:
            values["exited_at"] = now
        session.add(Checkpoint(org_id=org_id, qr_generation=1, **values))
    await session.flush()
