"""Command-line data tasks: the demo bank (``seed-demo``) and ``create-user``."""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from inspection_api.anomalies.demo import seed_demo_anomalies
from inspection_api.auth.principal import ROLE_LABELS, Role
from inspection_api.checklists.seed import ensure_default_templates
from inspection_api.checkpoints.demo import seed_demo_checkpoints
from inspection_api.db import create_engine, create_sessionmaker
from inspection_api.errors import InvalidField
from inspection_api.inspections.demo import seed_demo_inspections
from inspection_api.orgs.models import Org, OrgKind
from inspection_api.orgs.service import add_child, create_root
from inspection_api.plans.demo import seed_demo_plans
from inspection_api.users.models import User
from inspection_api.users.service import add_user
from loancheck.resources import open_store
from loancheck.settings import Settings

# (code, name, kind, parent code)
DEMO_ORGS: tuple[tuple[str, str, OrgKind, str | None], ...] = (
    ("HB", "中国银行河北省分行", OrgKind.PROVINCE, None),
    ("HB-SJZ", "石家庄分行", OrgKind.BRANCH, "HB"),
    ("HB-SJZ-CA", "长安支行", OrgKind.SUB_BRANCH, "HB-SJZ"),
    ("HB-SJZ-QX", "桥西支行", OrgKind.SUB_BRANCH, "HB-SJZ"),
    ("HB-BD", "保定分行", OrgKind.BRANCH, "HB"),
    ("HB-BD-LC", "莲池支行", OrgKind.SUB_BRANCH, "HB-BD"),
    ("HB-BD-JX", "竞秀支行", OrgKind.SUB_BRANCH, "HB-BD"),
    ("HB-TS", "唐山分行", OrgKind.BRANCH, "HB"),
    ("HB-TS-LN", "路南支行", OrgKind.SUB_BRANCH, "HB-TS"),
)

# (username, display name, org code, roles): one user per role.
DEMO_USERS: tuple[tuple[str, str, str, tuple[Role, ...]], ...] = (
    ("admin", "系统管理员", "HB", (Role.SYSTEM_ADMIN,)),
    ("hb_admin", "省行管理员", "HB", (Role.ORG_ADMIN,)),
    ("sjz_admin", "石家庄分行管理员", "HB-SJZ", (Role.ORG_ADMIN,)),
    ("inspector", "张检查", "HB-SJZ-CA", (Role.INSPECTOR,)),
    ("inspector_bd", "李检查", "HB-BD-LC", (Role.INSPECTOR,)),
    ("reviewer", "王审核", "HB-SJZ", (Role.REVIEWER,)),
    ("handler", "赵处理", "HB-SJZ", (Role.EXCEPTION_HANDLER,)),
)


def _demo_passwords(path: Path) -> dict[str, str]:
    """Random demo passwords, generated once and kept in DATA_DIR (mode 0600)."""
    if path.exists():
        return dict(json.loads(path.read_text()))
    passwords = {name: f"Demo-{secrets.token_urlsafe(9)}1" for name, *_ in DEMO_USERS}
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(passwords, fh, ensure_ascii=False, indent=1)
    return passwords


async def _org_by_code(session: AsyncSession, code: str) -> Org | None:
    return await session.scalar(select(Org).where(Org.code == code))


async def seed_demo(settings: Settings) -> list[tuple[str, str, str]]:
    """Create the demo bank and one user per role; safe to run again.

    Returns (username, password, role label) for every demo user.
    """
    passwords = _demo_passwords(settings.data_dir / "demo_credentials.json")
    engine = create_engine(settings.database_url)
    store = await open_store(settings)
    try:
        async with create_sessionmaker(engine)() as session:
            for code, name, kind, parent_code in DEMO_ORGS:
                if await _org_by_code(session, code) is not None:
                    continue
                if parent_code is None:
                    await create_root(session, name=name, code=code)
                else:
                    parent = await _org_by_code(session, parent_code)
                    assert parent is not None  # DEMO_ORGS lists parents first
                    await add_child(session, parent, name=name, code=code, kind=kind)
            for username, display_name, org_code, roles in DEMO_USERS:
                if await session.scalar(select(User.id).where(User.username == username)):
                    continue
                org = await _org_by_code(session, org_code)
                assert org is not None
                await add_user(
                    session,
                    username=username,
                    display_name=display_name,
                    password=passwords[username],
                    org=org,
                    roles=roles,
                )
            await seed_demo_checkpoints(session)
            # The app gives province banks the default checklist at start; the demo bank
            # may be created after the app started (tests, `make run` order), so here too.
            await ensure_default_templates(session)
            await seed_demo_plans(session)
            await session.flush()
            await seed_demo_inspections(session, store)
            await seed_demo_anomalies(session)
            await session.commit()
    finally:
        await store.close()
        await engine.dispose()
    return [(u, passwords[u], ROLE_LABELS[roles[0]]) for u, _, _, roles in DEMO_USERS]


async def create_user(
    settings: Settings,
    *,
    username: str,
    display_name: str,
    password: str,
    org_code: str,
    roles: list[str],
) -> None:
    try:
        parsed = [Role(r) for r in roles]
    except ValueError:
        raise InvalidField(
            "--role",
            f"角色应为：{', '.join(Role)}",
            f"role must be one of: {', '.join(Role)}",
        ) from None
    engine = create_engine(settings.database_url)
    try:
        async with create_sessionmaker(engine)() as session:
            org = await _org_by_code(session, org_code)
            if org is None:
                raise InvalidField(
                    "--org", f"机构编号不存在：{org_code}", f"no org with code {org_code}"
                )
            await add_user(
                session,
                username=username,
                display_name=display_name,
                password=password,
                org=org,
                roles=parsed,
            )
            await session.commit()
    finally:
        await engine.dispose()
