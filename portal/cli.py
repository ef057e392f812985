"""The `portal` command: serve, migrate, demo data, login links, workspaces, backups, client data."""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

from portal.errors import DomainError, Invalid
from portal.settings import Settings, SettingsError, share_worker_metrics


def _run(settings: Settings, work: Callable[[], Awaitable[object]]) -> object:
    """Run ``work`` with the database open, closing connections afterwards."""
    from portal.db import engine

    async def main():
        db = engine()
        if not settings.is_sqlite:
            await db.start_connection_pool()
        try:
            return await work()
        finally:
            await db.close_pool()

    return asyncio.run(main())


def cmd_migrate(settings: Settings, args: argparse.Namespace) -> None:
    from portal.migrations import migrate

    _run(settings, migrate)
    print("migrations applied")


def cmd_serve(settings: Settings, args: argparse.Namespace) -> None:
    if args.with_caddy or settings.litestream_url:
        from portal.settings import child_environment
        from portal.supervise import serve_supervised

        if settings.litestream_url:
            from portal import litestream
            from portal.migrations import migrate

            litestream.check(settings)
            _run(settings, migrate)  # the database file exists before Litestream watches it
        app_args = ["--server", args.server, *(["--workers", str(args.workers)] if args.workers else [])]
        raise SystemExit(serve_supervised(settings, host=args.host, port=args.port,
                                          app_args=app_args, env=child_environment(), with_caddy=args.with_caddy))
    # Every worker of this server writes its metrics there and /metrics, in any worker, adds them up.
    share_worker_metrics(settings.data_dir / "metrics" / str(os.getpid()))
    from portal.migrations import migrate

    _run(settings, migrate)
    workers = args.workers or settings.workers or os.cpu_count() or 1
    print(f"serving {settings.base_url} on {args.host}:{args.port} with {workers} worker(s)", flush=True)
    if args.server == "uvicorn":
        import uvicorn

        uvicorn.run("portal.app:create_app", factory=True, host=args.host, port=args.port, workers=workers,
                    log_level=settings.log_level.lower(), proxy_headers=False)
        return
    from granian import Granian
    from granian.constants import Interfaces

    Granian(
        "portal.app:create_app",
        factory=True,
        address=args.host,
        port=args.port,
        interface=Interfaces.ASGI,
        workers=workers,
        respawn_failed_workers=True,
        log_level=settings.log_level.lower(),
        # Static files are served by the app (portal.web.static), not granian's mount,
        # so that they carry the security headers like every other answer.
    ).serve()


def cmd_demo(settings: Settings, args: argparse.Namespace) -> None:
    from portal.accounts.links import login_link
    from portal.demo import load_demo
    from portal.migrations import migrate

    async def work():
        await migrate()
        result = await load_demo(settings)
        links = [
            ("Studio (owner@brightline.example)", await login_link(settings, "owner@brightline.example", "demo")),
            ("Portal (alice@northwind.example)", await login_link(settings, "alice@northwind.example", "demo")),
            ("Portal (carol@globex.example)", await login_link(settings, "carol@globex.example", "demo")),
        ]
        return result, links

    result, links = _run(settings, work)
    print("demo workspace created" if result.created else "demo workspace already present")
    print(f"portal home: {settings.base_url}/p/demo/")
    print(f"one-time login links (valid {settings.login_link_minutes} minutes; `portal login-link EMAIL` makes more):")
    for label, url in links:
        print(f"  {label}: {url}")


def cmd_login_link(settings: Settings, args: argparse.Namespace) -> None:
    from portal.accounts.links import NoSuchPerson, login_link

    try:
        print(_run(settings, lambda: login_link(settings, args.email, args.workspace)))
    except NoSuchPerson as exc:
        raise SystemExit(f"error: {exc}") from None


def cmd_workspace(settings: Settings, args: argparse.Namespace) -> None:
    from portal.accounts.links import login_link
    from portal.accounts.services import create_workspace_with_owner
    from portal.workspaces import services

    try:
        if args.action == "create":
            async def create() -> str:
                await create_workspace_with_owner(args.slug, args.name, args.plan, args.owner, args.owner_name)
                return await login_link(settings, args.owner, args.slug.strip().lower())

            link = _run(settings, create)
            print(f"workspace {args.slug} created; portal at {settings.base_url}/p/{args.slug.strip().lower()}/")
            print(f"studio sign-in for {args.owner.strip().lower()} (owner; one use, expires): {link}")
        elif args.action == "list":
            for row in _run(settings, services.list_workspaces):
                portal = "on" if row["portal_enabled"] else "off"
                print(f"{row['slug']:<24} {row['plan']:<8} portal {portal:<3} {row['name']}")
        elif args.action == "set-plan":
            _run(settings, lambda: services.set_plan(args.slug, args.plan))
            print(f"workspace {args.slug} is now on the {args.plan} plan")
    except DomainError as exc:
        raise SystemExit(f"error: {exc.message}") from None


def cmd_domain(settings: Settings, args: argparse.Namespace) -> None:
    from portal.workspaces import domains

    try:
        if args.action == "list":
            for row in _run(settings, domains.list_domains):
                checked = domains.checked_ago(row["domain_checked_at"])
                print(f"{row['slug']:<24} {row['custom_domain']:<40} {row['domain_status']:<9} checked {checked}"
                      + (f"  ({row['domain_error']})" if row["domain_error"] else ""))
            return

        async def act():
            workspace_id = await domains.workspace_id_of(args.slug)
            if args.action == "set":
                return await domains.set_domain(settings, workspace_id, args.host)
            if args.action == "verify":
                return await domains.verify_domain(settings, workspace_id)
            return await domains.remove_domain(settings, workspace_id)

        result = _run(settings, act)
    except Invalid as exc:
        raise SystemExit("error: " + "; ".join(exc.errors.values())) from None
    except DomainError as exc:
        raise SystemExit(f"error: {exc.message}") from None
    if args.action == "set":
        print(f"{result} saved for workspace {args.slug}; add the DNS record:  {result} CNAME {settings.cname_target}")
        print(f"then run: portal domain verify {args.slug}")
    elif args.action == "verify":
        if not result.verified:
            raise SystemExit(f"not verified: {result.reason}")
        print(f"verified: workspace {args.slug}'s portal answers on its domain")
    else:
        print(f"removed {result} from workspace {args.slug}" if result else f"workspace {args.slug} has no custom domain")


def cmd_stripe(settings: Settings, args: argparse.Namespace) -> None:
    from portal.billing import payments
    from portal.billing.stripe_keys import KeysInput

    keys = KeysInput(secret_key=args.secret_key, publishable_key=args.publishable_key,
                     webhook_secret=args.webhook_secret, checkout=args.checkout)
    try:
        _run(settings, lambda: payments.set_keys(settings, args.slug, keys))
    except Invalid as exc:
        raise SystemExit("error: " + "; ".join(f"--{k.replace('_', '-')}: {v}" if k else v
                                               for k, v in exc.errors.items())) from None
    except DomainError as exc:
        raise SystemExit(f"error: {exc.message}") from None
    print(f"Stripe keys of workspace {args.slug} saved (encrypted); webhook URL: {payments.webhook_url(settings, args.slug)}")


def cmd_stripe_reconcile(settings: Settings, args: argparse.Namespace) -> None:
    from portal.billing import payments
    from portal.billing.stripe_api import StripeFailure

    async def work() -> list[tuple[str, dict[str, int]]]:
        done = []
        for workspace_id, slug in await payments.reconcilable_workspaces(args.workspace):
            done.append((slug, await payments.reconcile(settings, workspace_id, args.since)))
        return done

    try:
        results = _run(settings, work)
    except StripeFailure as exc:
        raise SystemExit(f"error: Stripe said: {exc.message}") from None
    except DomainError as exc:
        raise SystemExit(f"error: {exc.message}") from None
    if not results:
        print("no workspace has Stripe keys" + (f" ({args.workspace})" if args.workspace else ""))
    for slug, counts in results:
        summary = ", ".join(f"{n} {what}" for what, n in sorted(counts.items())) or "no completed sessions"
        print(f"{slug}: {summary}")


def cmd_backup(settings: Settings, args: argparse.Namespace) -> None:
    from portal import backup

    try:
        archive = backup.backup(settings, Path(args.to) if args.to else None)
    except backup.BackupError as exc:
        raise SystemExit(f"error: {exc}") from None
    manifest = backup.read_manifest(archive)
    print(f"backup written: {archive} ({archive.stat().st_size / 2**20:.1f} MB, {len(manifest['blobs'])} files,"
          f" {sum(manifest['counts'].values())} rows)")
    for old in backup.prune(archive.parent, settings.backup_keep):
        print(f"removed the older {old.name} (PORTAL_BACKUP_KEEP={settings.backup_keep})")


def cmd_restore(settings: Settings, args: argparse.Namespace) -> None:
    from portal import backup

    try:
        manifest = backup.restore(settings, Path(args.archive), force=args.force)
    except backup.BackupError as exc:
        raise SystemExit(f"error: {exc}") from None
    print(f"restored the backup of {manifest['created_at']}: {sum(manifest['counts'].values())} rows,"
          f" {len(manifest['blobs'])} files")
    cmd_migrate(settings, args)  # an archive of an older release is brought up to date


def cmd_check(settings: Settings, args: argparse.Namespace) -> None:
    from portal import backup

    report = backup.check(settings)
    for problem in report.problems:
        print(f"problem: {problem}")
    for orphan in report.orphans:
        print(f"orphan (on disk, referenced by nothing): {orphan}")
    print(f"{report.blobs} referenced files checked: "
          + ("no problem found" if not report.problems else f"{len(report.problems)} problem(s)"))
    if report.problems:
        raise SystemExit(1)


def cmd_storage(settings: Settings, args: argparse.Namespace) -> None:
    from portal.files.blobstore import migrate_to_bucket

    try:
        report = migrate_to_bucket(settings)
    except ValueError as exc:
        raise SystemExit(f"error: {exc}") from None
    for sha256 in report.corrupted:
        print(f"problem: blob {sha256} no longer matches its hash: not copied (run `portal check`)")
    print(f"{report.copied} file(s) copied to {settings.storage_url}, {report.present} already there")
    if report.corrupted:
        raise SystemExit(1)


#: host:port of a replica, as Caddy's reverse_proxy takes it (a name, IPv4, or [IPv6]).
UPSTREAM = re.compile(r"(?:[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\]):[0-9]{1,5}")


def cmd_balancer_caddyfile(settings: Settings, args: argparse.Namespace) -> None:
    from portal import caddy

    for address in [*args.upstream, args.ask or ""]:
        if address and not UPSTREAM.fullmatch(address):
            raise SystemExit(f"error: {address!r} is not host:port (for example 10.0.0.2:8000)")
    print(caddy.balancer_caddyfile(settings, args.upstream, args.ask), end="")


def cmd_restore_replica(settings: Settings, args: argparse.Namespace) -> None:
    from portal import litestream

    if not settings.litestream_url:
        raise SystemExit("error: set PORTAL_LITESTREAM_URL (and the PORTAL_S3_* settings) to the replica's bucket")
    path = litestream.restore(settings, force=args.force)
    print(f"restored {path} from {settings.litestream_url}")
    cmd_migrate(settings, args)


def cmd_client_export(settings: Settings, args: argparse.Namespace) -> None:
    from portal.privacy import services

    try:
        path, size = _run(settings, lambda: services.operator_export(settings, args.slug, args.org_id,
                                                                     Path(args.to) if args.to else None))
    except DomainError as exc:
        raise SystemExit(f"error: {exc.message}") from None
    print(f"export written: {path} ({size / 2**20:.1f} MB)")


def cmd_client_delete(settings: Settings, args: argparse.Namespace) -> None:
    from portal.privacy import services

    if not args.yes:
        raise SystemExit(f"error: this deletes client organisation {args.org_id} of {args.slug} and all its data "
                         "for good; run again with --yes to do it")
    try:
        deleted = _run(settings, lambda: services.operator_delete(settings, args.slug, args.org_id))
    except DomainError as exc:
        raise SystemExit(f"error: {exc.message}") from None
    print(f"deleted {deleted.name} (client organisation {deleted.organisation_id}): {deleted.summary};"
          f" {deleted.blobs_removed} stored file(s) removed from disk")
    print("rows: " + ", ".join(f"{what.replace('_', ' ')} {n}" for what, n in sorted(deleted.counts.items())))


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="portal", description="Self-hosted client portal for agencies.")
    sub = p.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="apply migrations, then serve HTTP")
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (0.0.0.0 in a container)")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=0, help="worker processes (default: PORTAL_WORKERS, else one per core)")
    serve.add_argument("--server", choices=("granian", "uvicorn"), default="granian")
    serve.add_argument("--with-caddy", action="store_true",
                       help="also run Caddy in front (HTTPS for the base URL and verified custom domains); "
                            "the app then listens on 127.0.0.1:--port")
    serve.set_defaults(func=cmd_serve)

    sub.add_parser("migrate", help="apply pending database migrations").set_defaults(func=cmd_migrate)
    sub.add_parser("demo", help="load the demo workspace (idempotent) and print login links").set_defaults(func=cmd_demo)

    link = sub.add_parser("login-link", help="print a one-time login URL for a staff member or client")
    link.add_argument("email")
    link.add_argument("--workspace", help="workspace slug (needed when there are several)")
    link.set_defaults(func=cmd_login_link)

    ws = sub.add_parser("workspace", help="create, list and change workspaces")
    ws_sub = ws.add_subparsers(dest="action", required=True)
    create = ws_sub.add_parser("create")
    create.add_argument("slug")
    create.add_argument("name")
    create.add_argument("--plan", default="starter", choices=("starter", "growth", "scale"))
    create.add_argument("--owner", required=True, metavar="EMAIL", help="the first owner's email (gets a studio sign-in link)")
    create.add_argument("--owner-name", default="", metavar="NAME", help="the first owner's name")
    ws_sub.add_parser("list")
    set_plan = ws_sub.add_parser("set-plan")
    set_plan.add_argument("slug")
    set_plan.add_argument("plan", choices=("starter", "growth", "scale"))
    ws.set_defaults(func=cmd_workspace)

    domain = sub.add_parser("domain", help="a workspace's custom domain (Growth and Scale)")
    domain_sub = domain.add_subparsers(dest="action", required=True)
    domain_set = domain_sub.add_parser("set", help="enter the domain (pending until verified)")
    domain_set.add_argument("slug")
    domain_set.add_argument("host", help="a subdomain such as portal.youragency.com")
    for action, text in (("verify", "look the CNAME up now"), ("remove", "stop serving the portal there")):
        domain_sub.add_parser(action, help=text).add_argument("slug")
    domain_sub.add_parser("list", help="every workspace's domain and its state")
    domain.set_defaults(func=cmd_domain)

    stripe = sub.add_parser("stripe", help="a workspace's Stripe keys")
    stripe_sub = stripe.add_subparsers(dest="action", required=True)
    stripe_set = stripe_sub.add_parser("set", help="store (encrypted) the Stripe keys of a workspace")
    stripe_set.add_argument("slug")
    stripe_set.add_argument("--secret-key", required=True, metavar="KEY")
    stripe_set.add_argument("--publishable-key", required=True, metavar="KEY")
    stripe_set.add_argument("--webhook-secret", required=True, metavar="SECRET")
    stripe_set.add_argument("--checkout", choices=("embedded", "hosted"), default="embedded")
    stripe.set_defaults(func=cmd_stripe)

    reconcile = sub.add_parser("stripe-reconcile", help="apply completed Stripe payments the webhooks missed")
    reconcile.add_argument("--workspace", metavar="SLUG", help="one workspace (default: every one with Stripe keys)")
    reconcile.add_argument("--since", type=int, default=3, metavar="DAYS", help="look back this many days (default 3)")
    reconcile.set_defaults(func=cmd_stripe_reconcile)

    back = sub.add_parser("backup", help="archive the database and the uploaded files, while the server runs")
    back.add_argument("--to", metavar="DIR", help="directory of the archive (default: PORTAL_BACKUP_DIR)")
    back.set_defaults(func=cmd_backup)
    rest = sub.add_parser("restore", help="restore an archive of `portal backup` into an empty installation")
    rest.add_argument("archive")
    rest.add_argument("--force", action="store_true", help="restore over a data dir or database that is not empty")
    rest.set_defaults(func=cmd_restore)
    sub.add_parser("check", help="verify the database and that every uploaded file is there, intact").set_defaults(
        func=cmd_check)

    replica = sub.add_parser("restore-replica", help="restore the SQLite database from its Litestream replica")
    replica.add_argument("--force", action="store_true", help="replace an existing database")
    replica.set_defaults(func=cmd_restore_replica)

    balancer = sub.add_parser("balancer-caddyfile",
                              help="print a Caddyfile for a load balancer in front of several replicas")
    balancer.add_argument("--upstream", action="append", required=True, metavar="HOST:PORT",
                          help="a replica's `portal serve` address (repeat for each)")
    balancer.add_argument("--ask", metavar="HOST:PORT",
                          help="a replica on this machine, asked which custom domains get TLS (without: base host only)")
    balancer.set_defaults(func=cmd_balancer_caddyfile)

    storage = sub.add_parser("storage", help="the uploaded files' store")
    storage_sub = storage.add_subparsers(dest="action", required=True)
    storage_sub.add_parser("migrate", help="copy the data dir's files into the bucket of PORTAL_STORAGE_URL")
    storage.set_defaults(func=cmd_storage)

    client_export = sub.add_parser("client-export", help="write a ZIP of everything held about a client organisation")
    client_export.add_argument("slug", help="the workspace")
    client_export.add_argument("org_id", type=int, help="the client organisation's id (its studio page's URL ends with it)")
    client_export.add_argument("--to", metavar="FILE", help="the ZIP to write (default: <name>-export-<date>.zip here)")
    client_export.set_defaults(func=cmd_client_export)
    client_delete = sub.add_parser("client-delete", help="delete a client organisation and all its data, for good")
    client_delete.add_argument("slug", help="the workspace")
    client_delete.add_argument("org_id", type=int, help="the client organisation's id")
    client_delete.add_argument("--yes", action="store_true", help="really delete (nothing happens without it)")
    client_delete.set_defaults(func=cmd_client_delete)
    return p


def main(argv: list[str] | None = None) -> None:
    args = parser().parse_args(argv)
    try:
        settings = Settings.from_env()
    except SettingsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    args.func(settings, args)


if __name__ == "__main__":
    main()
