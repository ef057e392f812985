"""The application factory: everything the server and the tests run is built here."""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from litestar import Litestar, Request, Response, get
from litestar.datastructures import State
from litestar.exceptions import HTTPException
from litestar.logging import LoggingConfig
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.response import Redirect, Template
from litestar.template import TemplateConfig

from portal.db import engine
from portal.errors import DomainError
from portal.files.previews import make_pending as make_previews
from portal.mail.worker import OutboxWorker
from portal.settings import Settings
from portal.web import filters, health, hosts, reads
from portal.web.auth import AccessEnded, LoginRequired
from portal.web.bounds import path_integer_bounds_middleware
from portal.web.csrf import csrf_middleware
from portal.web.errors import domain_error_handler, http_exception_handler, internal_error_handler
from portal.web.health import metrics_middleware
from portal.web.net import client_ip_middleware
from portal.web.security import security_headers_hook
from portal.web.sites import portal_router, preview_router, studio_routers, webhooks_router
from portal.web.static import favicon, static_file
from portal.web.tenancy import PortalUnavailable, ServedElsewhere
from portal.web.uploads import limit_upload_size

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = ROOT / "templates"


@get("/")
async def root() -> Redirect:
    return Redirect("/studio/")


def _login_required(request: Request, exc: LoginRequired) -> Response:
    if request.headers.get("hx-request") == "true":
        return Response("", status_code=204, headers={"HX-Redirect": exc.login_url})
    return Redirect(exc.login_url, status_code=303)


def _access_ended(request: Request, exc: AccessEnded) -> Template:
    context = {"site": exc.site, "ended_on": exc.ended_on}
    return Template("portal/access_ended.html", context=context, status_code=403)


def _served_elsewhere(request: Request, exc: ServedElsewhere) -> Response:
    # 302, not 301: a browser must not remember it after the domain is removed.
    return Redirect(exc.url, status_code=302)


def _portal_unavailable(request: Request, exc: PortalUnavailable) -> Template:
    return Template("portal/unavailable.html", context={"site": exc.site}, status_code=503)


def _freeze_startup_objects() -> None:
    """Leave what the process holds once started (modules, the app, its routes and
    templates: some 140,000 objects) out of the garbage collector's full passes.

    A full pass over them takes 70-100 ms on a small machine, and every request in flight
    waits for it: that was the p99 of the benchmark at 32 connections. Objects made later
    are collected as usual. Once per process: a process that builds several apps (the
    tests) does not keep each one alive.
    """
    if gc.get_freeze_count() == 0:
        gc.collect()
        gc.freeze()


@asynccontextmanager
async def _lifespan(app: Litestar) -> AsyncIterator[None]:
    db = engine()
    if not app.state.settings.is_sqlite:
        await db.start_connection_pool()
    from portal.accounts.magic import process_sign_in_requests, prune_sign_in_requests
    from portal.billing.payments import reconcile_due

    settings = app.state.settings

    async def reconcile_payments() -> None:
        try:
            await reconcile_due(settings)
        except Exception:  # never let it hold up the mail of this round
            logging.getLogger("portal.payments").exception("daily Stripe reconciliation failed")

    async def scheduled_backup() -> None:
        from portal import backup

        try:
            if archive := await backup.scheduled_once(settings):
                logging.getLogger("portal.backup").info("scheduled backup written: %s", archive)
        except Exception:  # a full disk must not stop the mail
            logging.getLogger("portal.backup").exception("scheduled backup failed")

    async def recheck_domains() -> None:
        from portal.workspaces.domains import recheck_due

        try:
            await recheck_due(settings)
        except Exception:  # DNS trouble must not stop the mail
            logging.getLogger("portal.domains").exception("re-checking custom domains failed")

    # Sign-in forms only store a request; this process's worker loop turns it into an email,
    # and makes the previews of uploaded PDFs and videos.
    # Its housekeeping also runs the daily Stripe reconciliation (one process per workspace) and
    # the scheduled backup (one process per installation) and the daily look at custom domains.
    mail_worker = OutboxWorker(settings, jobs=[process_sign_in_requests, make_previews],
                               housekeeping=[prune_sign_in_requests, reconcile_payments, scheduled_backup,
                                                             recheck_domains])
    mail_worker.start()
    _freeze_startup_objects()
    try:
        yield
    finally:
        await mail_worker.stop()
        await db.close_pool()


def create_app(settings: Settings | None = None) -> Litestar:
    """Build the portal application for ``settings`` (default: from the environment)."""
    settings = settings or Settings.from_env()
    template_config = TemplateConfig(
        directory=TEMPLATES,
        engine=JinjaTemplateEngine,
        engine_callback=lambda jinja: filters.install(jinja.engine, settings),
    )
    app = Litestar(
        route_handlers=[
            *health.HANDLERS,
            *hosts.HANDLERS,
            root,
            portal_router(),
            *studio_routers(),
            preview_router(),
            webhooks_router(),
            static_file,
            favicon,
        ],
        template_config=template_config,
        # No framework schema: it would list every route, the studio's included.
        openapi_config=None,
        exception_handlers={
            HTTPException: http_exception_handler,
            DomainError: domain_error_handler,
            LoginRequired: _login_required,
            AccessEnded: _access_ended,
            PortalUnavailable: _portal_unavailable,
            ServedElsewhere: _served_elsewhere,
            500: internal_error_handler,
        },
        # Outermost first: the size limit runs before the CSRF check may parse a form.
        middleware=[metrics_middleware, client_ip_middleware, path_integer_bounds_middleware, limit_upload_size, csrf_middleware],
        before_send=[security_headers_hook(settings)],
        lifespan=[_lifespan],
        logging_config=LoggingConfig(
            root={"level": settings.log_level, "handlers": ["queue_listener"]},
            log_exceptions="debug",
        ),
        state=State({"settings": settings}),
        debug=False,
    )
    # The Host decides the site before any route is chosen (portal.web.hosts).
    app.asgi_handler = reads.read_scoped(hosts.HostRouting(app.asgi_handler, settings))
    # Navigation shows only links to routes that exist (templates test ``in route_paths``).
    app.template_engine.engine.globals["route_paths"] = frozenset(route.path for route in app.routes)
    return app
