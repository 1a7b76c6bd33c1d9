"""The `gql` command: serve, migrate, seed-demo, export-schema."""

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from gql.core.config import get_settings


def _serve(_: argparse.Namespace) -> int:
    import uvicorn

    from gql.core.observability import configure_logging

    settings = get_settings()
    configure_logging(settings)
    uvicorn.run(
        "gql.main:create_app",
        factory=True,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level.lower(),
        # Our handler (JSON) logs everything; the app writes its own access lines.
        log_config=None,
        access_log=False,
        proxy_headers=True,
        forwarded_allow_ips=settings.forwarded_allow_ips,
        timeout_graceful_shutdown=int(settings.shutdown_timeout_seconds),
    )
    return 0


def _migrate(args: argparse.Namespace) -> int:
    from gql.core import migrate

    url = get_settings().database_url
    if args.downgrade:
        migrate.downgrade(url, args.downgrade)
    else:
        migrate.upgrade(url, args.revision)
    return 0


def _seed_demo(_: argparse.Namespace) -> int:
    from gql.auth.sessions import AuthTools
    from gql.core.db import Database
    from gql.demo import DEMO_ACCOUNTS, seed_demo
    from gql.media.storage import storage_for

    settings = get_settings()
    if settings.is_production:
        print(
            "error: seed-demo creates accounts with known passwords; not in production",
            file=sys.stderr,
        )
        return 2

    async def run() -> int:
        database = Database(settings)
        try:
            storage = storage_for(settings, database)
            return await seed_demo(database, AuthTools.from_settings(settings), storage)
        finally:
            await database.dispose()

    added = asyncio.run(run())
    print(f"demo data: {added} product(s) added")
    for email, password, role in DEMO_ACCOUNTS:
        print(f"demo {role}: email {email!r}, password {password!r}")
    return 0


def _purge(_: argparse.Namespace) -> int:
    from gql.auth.sessions import AuthTools
    from gql.core.db import Database
    from gql.core.housekeeping import purge_once

    async def run() -> tuple[int, int]:
        settings = get_settings()
        database = Database(settings)
        try:
            return await purge_once(database, AuthTools.from_settings(settings))
        finally:
            await database.dispose()

    sessions, failures = asyncio.run(run())
    print(f"purged {sessions} session(s) and {failures} login failure(s) or refused order(s)")
    return 0


def _create_admin(args: argparse.Namespace) -> int:
    import getpass

    from sqlalchemy import select

    from gql.auth.models import User
    from gql.auth.service import ensure_admin, normalize_email
    from gql.auth.sessions import AuthTools
    from gql.core.db import Database, new_session
    from gql.core.errors import DomainError

    settings = get_settings()
    password = settings.admin_password.get_secret_value() if settings.admin_password else None

    def prompt() -> str | None:
        if password or not sys.stdin.isatty():
            return password
        first = getpass.getpass("Password for the new admin: ")
        if first != getpass.getpass("Repeat it: "):
            raise SystemExit("the passwords differ")
        return first

    async def run() -> bool:
        database = Database(settings)
        tools = AuthTools.from_settings(settings)
        try:
            async with new_session(database, write=True) as session:
                exists = await session.scalar(
                    select(User.id).where(User.email == normalize_email(args.email))
                )
                created = await ensure_admin(
                    session, tools, email=args.email, password=None if exists else prompt()
                )
                await session.commit()
                return created
        finally:
            await database.dispose()

    try:
        created = asyncio.run(run())
    except DomainError as error:
        print(f"error: {error.message} (set ADMIN_PASSWORD or run in a terminal)", file=sys.stderr)
        return 2
    print(f"{args.email}: {'created as admin' if created else 'promoted to admin'}")
    return 0


def _check_ledger(_: argparse.Namespace) -> int:
    from gql.core.db import Database, new_session
    from gql.inventory.service import check_ledger

    async def run() -> list[str]:
        database = Database(get_settings())
        try:
            async with new_session(database, write=False) as session:
                return [
                    f"product {m.product_id}: stock {m.stock}, ledger sum {m.ledger_sum}"
                    for m in await check_ledger(session)
                ]
        finally:
            await database.dispose()

    mismatches = asyncio.run(run())
    for line in mismatches:
        print(line)
    if mismatches:
        print(f"ledger check failed: {len(mismatches)} product(s) disagree", file=sys.stderr)
        return 1
    print("ledger check passed: every product's stock equals the sum of its ledger")
    return 0


def _check_media(args: argparse.Namespace) -> int:
    from gql.core.db import Database
    from gql.media.service import MediaReport, check_media
    from gql.media.storage import storage_for

    settings = get_settings()

    async def run() -> MediaReport:
        database = Database(settings)
        try:
            storage = storage_for(settings, database)
            return await check_media(database, storage, repair=args.repair)
        finally:
            await database.dispose()

    report = asyncio.run(run())
    for key in report.unreferenced:
        print(f"unreferenced: {key} (registered, no image uses it)")
    for key in report.unregistered:
        print(f"unregistered: {key} (stored, never registered)")
    for key in report.missing:
        print(f"missing: {key} (an image uses it, nothing stored)")
    orphans = len(report.unreferenced) + len(report.unregistered)
    if args.repair and orphans:
        print(f"media check: {orphans} orphan(s) removed")
    if report.missing or (orphans and not args.repair):
        print(
            f"media check failed: {orphans} orphan(s), {len(report.missing)} missing",
            file=sys.stderr,
        )
        return 1
    print("media check passed: every stored file is in use and every image's file is stored")
    return 0


def export_permissions_text() -> str:
    """The permission matrix, as checked in at docs/permissions.md."""
    from gql.graphql.permissions import permission_matrix
    from gql.graphql.schema import schema

    return permission_matrix(schema)


def _export_permissions(args: argparse.Namespace) -> int:
    text = export_permissions_text()
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


def export_schema_text() -> str:
    """The SDL of the live schema, as checked in at schema.graphql."""
    from gql.graphql.schema import schema

    return schema.as_str() + "\n"


def _export_schema(args: argparse.Namespace) -> int:
    text = export_schema_text()
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


def _schema_diff(args: argparse.Namespace) -> int:
    from graphql import GraphQLError, build_schema, find_breaking_changes, find_dangerous_changes

    try:
        old = build_schema(Path(args.old).read_text(encoding="utf-8"))
        new = build_schema(
            Path(args.new).read_text(encoding="utf-8") if args.new else export_schema_text()
        )
    except GraphQLError as error:
        print(f"error: not a valid schema: {error.message}", file=sys.stderr)
        return 2
    breaking = find_breaking_changes(old, new)
    for change in breaking:
        print(f"BREAKING {change.type.name}: {change.description}")
    for danger in find_dangerous_changes(old, new):
        print(f"dangerous {danger.type.name}: {danger.description}")
    return 1 if breaking else 0


def build_parser() -> argparse.ArgumentParser:
    """The command-line interface."""
    parser = argparse.ArgumentParser(prog="gql", description="GraphQL commerce and inventory API")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="serve the API (HOST, PORT from the settings)")
    serve.set_defaults(handler=_serve)

    migrate = commands.add_parser("migrate", help="apply database migrations")
    migrate.add_argument("revision", nargs="?", default="head", help="target (default: head)")
    migrate.add_argument("--downgrade", metavar="REVISION", help="migrate down to REVISION")
    migrate.set_defaults(handler=_migrate)

    seed = commands.add_parser("seed-demo", help="load demo data (idempotent)")
    seed.set_defaults(handler=_seed_demo)

    purge = commands.add_parser("purge", help="delete expired sessions and old login failures")
    purge.set_defaults(handler=_purge)

    admin = commands.add_parser(
        "create-admin",
        help="create or promote an admin (password from ADMIN_PASSWORD or a prompt)",
    )
    admin.add_argument("--email", required=True)
    admin.set_defaults(handler=_create_admin)

    ledger = commands.add_parser(
        "check-ledger", help="exit non-zero if a product's stock is not the sum of its ledger"
    )
    ledger.set_defaults(handler=_check_ledger)

    media = commands.add_parser(
        "check-media",
        help="report stored images no product uses, and images whose file is missing; exit "
        "non-zero if there are any",
    )
    media.add_argument("--repair", action="store_true", help="remove the orphaned files")
    media.set_defaults(handler=_check_media)

    matrix = commands.add_parser("export-permissions", help="print the permission matrix")
    matrix.add_argument("-o", "--output", help="write to this file instead of stdout")
    matrix.set_defaults(handler=_export_permissions)

    diff = commands.add_parser(
        "schema-diff", help="list changes from an older SDL; exit 1 if any would break clients"
    )
    diff.add_argument("old", help="the SDL clients know (e.g. schema.graphql of a release)")
    diff.add_argument("new", nargs="?", help="the SDL to compare (default: the live schema)")
    diff.set_defaults(handler=_schema_diff)

    export = commands.add_parser("export-schema", help="print the GraphQL SDL")
    export.add_argument("-o", "--output", help="write to this file instead of stdout")
    export.set_defaults(handler=_export_schema)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `gql` console script."""
    from pydantic import ValidationError

    try:
        settings = get_settings()
    except ValidationError as error:
        for problem in error.errors():
            where = ".".join(str(part) for part in problem["loc"]) or "settings"
            print(f"error: {where}: {problem['msg']}", file=sys.stderr)
        return 2
    logging.basicConfig(
        level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    # Every mapper must know every table before a command touches the ORM (a ledger row
    # refers to an order even when no order module was imported).
    import gql.models  # noqa: F401

    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
    args = build_parser().parse_args(argv)
    code: int = args.handler(args)
    return code


if __name__ == "__main__":
    raise SystemExit(main())
