"""``loancheck`` command line: serve, recorder, migrate, seed-demo, create-user."""

from __future__ import annotations

import argparse
import asyncio
import gc
import getpass
import logging
import os
import sys
from collections.abc import Sequence

from loancheck.settings import ConfigError, Settings, load_settings


def _setup_logging(settings: Settings) -> None:
    logging.basicConfig(
        level=settings.log_level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # aioice and aiortc log every candidate pair at INFO; keep the console readable.
    logging.getLogger("aioice").setLevel(logging.WARNING)
    # Alembic announces each of its plugins at import; only the migrations themselves matter.
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)


def cmd_serve(settings: Settings, args: argparse.Namespace) -> int:
    from aiohttp import web

    from inspection_api.migrate import schema_is_current
    from loancheck.app import create_app
    from loancheck.tls import server_ssl_context

    if not asyncio.run(schema_is_current(settings.database_url)):
        print(
            "loancheck: the database schema is not up to date; run `loancheck migrate` first",
            file=sys.stderr,
        )
        return 1
    ssl_context = server_ssl_context(settings)
    app = create_app(settings)
    app.on_startup.append(_freeze_startup_heap)
    scheme = "https" if ssl_context else "http"
    print(
        f"LoanCheck 贷后检查 on {settings.public_url} "
        f"(listening on {scheme}://{settings.host}:{settings.port})",
        flush=True,
    )
    web.run_app(
        app,
        host=settings.host,
        port=settings.port,
        ssl_context=ssl_context,
        print=None,
        access_log=None,
    )
    return 0


async def _freeze_startup_heap(_app: object) -> None:
    """Once started (modules, ORM mappings, the app and its resources: ≈ 230 000 objects),
    move what lives for the whole process out of the cyclic collector's reach: each full
    collection then scans only what came after, and its pause — every socket of the process
    stalls for it — shrinks accordingly (README: the signaling stall)."""
    gc.collect()
    gc.freeze()


def cmd_recorder(settings: Settings, args: argparse.Namespace) -> int:
    from loancheck.recorder_worker import run_worker

    asyncio.run(run_worker(settings))
    return 0


def cmd_migrate(settings: Settings, args: argparse.Namespace) -> int:
    from inspection_api.migrate import upgrade

    upgrade(settings.database_url)
    print("loancheck: database schema is up to date")
    return 0


def cmd_seed_demo(settings: Settings, args: argparse.Namespace) -> int:
    from inspection_api.demo import seed_demo

    credentials = asyncio.run(seed_demo(settings))
    print("Demo data ready (演示数据，仅供试用 — demo only, never in production):")
    for username, password, label in credentials:
        print(f"  {label:<16} {username:<12} {password}")
    return 0


def cmd_create_user(settings: Settings, args: argparse.Namespace) -> int:
    from inspection_api.demo import create_user

    password = os.environ.get("LOANCHECK_NEW_PASSWORD") or getpass.getpass("Password: ")
    asyncio.run(
        create_user(
            settings,
            username=args.username,
            display_name=args.name or args.username,
            password=password,
            org_code=args.org,
            roles=args.role,
        )
    )
    print(f"loancheck: user {args.username} created")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="loancheck", description="LoanCheck 贷后检查远程巡检平台. Settings: LOANCHECK_* env."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("serve", help="run the platform (API, signaling, web client)").set_defaults(
        func=cmd_serve
    )
    sub.add_parser(
        "recorder", help="record calls as a worker process (with LOANCHECK_RECORDER=workers)"
    ).set_defaults(func=cmd_recorder)
    sub.add_parser("migrate", help="upgrade the database schema").set_defaults(func=cmd_migrate)
    sub.add_parser("seed-demo", help="create demo orgs and users (idempotent)").set_defaults(
        func=cmd_seed_demo
    )
    create = sub.add_parser(
        "create-user",
        help="create a bank user (password from LOANCHECK_NEW_PASSWORD or a prompt)",
    )
    create.add_argument("username")
    create.add_argument("--org", required=True, help="organisation code, e.g. HB")
    create.add_argument("--role", action="append", required=True, help="role; repeatable")
    create.add_argument("--name", help="display name")
    create.set_defaults(func=cmd_create_user)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings()
    except ConfigError as exc:
        print(f"loancheck: invalid configuration: {exc}", file=sys.stderr)
        return 2
    _setup_logging(settings)
    from inspection_api.errors import InspectionError

    try:
        return int(args.func(settings, args))
    except ConfigError as exc:
        print(f"loancheck: invalid configuration: {exc}", file=sys.stderr)
        return 2
    except InspectionError as exc:
        problems = exc.extra("en").get("errors") or [{"field": "", "message": exc.message("en")}]
        for problem in problems:
            where = f"{problem['field']}: " if problem["field"] else ""
            print(f"loancheck: {where}{problem['message']}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
