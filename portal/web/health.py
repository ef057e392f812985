"""Probes and metrics: ``/healthz`` (alive), ``/readyz`` (able to serve), ``/metrics`` (Prometheus).

``/metrics`` answers loopback callers only (the TCP peer, never a forwarded address): a
scraper on the same host or a sidecar. Request counts and latencies are per route
template (``/p/{workspace_slug}/projects/{project_id}``), never per URL, so no
slug or id reaches the metrics. Under ``portal serve`` every worker process writes its
counters to ``<data dir>/metrics/<pid>`` (``PROMETHEUS_MULTIPROC_DIR``, set by the command) and any worker answers for
all of them; in a single process (tests, ``uvicorn`` by hand) the process's own registry.
"""

from __future__ import annotations

import datetime as dt
import shutil
import time

from litestar import MediaType, Request, Response, get
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest, multiprocess
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from portal import clock
from portal.db import ping
from portal.mail.tables import OutboxMessage
from portal.settings import worker_metrics_shared
from portal.web.net import is_loopback_peer

REQUESTS = Counter("portal_requests", "HTTP requests answered", ["route", "method", "status"])
LATENCY = Histogram("portal_request_seconds", "Time to answer a request, by route", ["route", "method"],
                    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))
WEBHOOK_FAILURES = Counter("portal_webhook_failures", "Stripe webhook deliveries not applied", ["result"])

#: /readyz: at least this much free space in the data dir, and no email waiting longer than this.
MIN_FREE_BYTES = 200 * 1024 * 1024
MAX_MAIL_DELAY_MINUTES = 30
#: Probes are not counted (a scraper every 5 s would outnumber the clients).
_UNCOUNTED = frozenset({"/healthz", "/readyz", "/metrics"})


def metrics_middleware(app: ASGIApp) -> ASGIApp:
    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path_template") in _UNCOUNTED:
            await app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def record(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await app(scope, receive, record)
        finally:
            route, method = scope.get("path_template") or "unmatched", scope["method"]
            REQUESTS.labels(route, method, str(status)).inc()
            LATENCY.labels(route, method).observe(time.perf_counter() - start)

    return middleware


def _registry() -> CollectorRegistry | None:
    if not worker_metrics_shared():
        return None
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    return registry


async def _outbox_backlog() -> tuple[int, int]:
    """(emails waiting to be sent, of which waiting longer than MAX_MAIL_DELAY_MINUTES)."""
    now = clock.now()
    waiting = await OutboxMessage.count().where(OutboxMessage.status.is_in(["pending", "sending"]))
    late = await OutboxMessage.count().where(
        OutboxMessage.status.is_in(["pending", "sending"])
        & (OutboxMessage.next_attempt_at < now - dt.timedelta(minutes=MAX_MAIL_DELAY_MINUTES))
    ) if waiting else 0
    return waiting, late


@get("/healthz", cache=False)
async def healthz() -> Response:
    """Liveness and database check for container health probes."""
    try:
        await ping()
    except Exception as exc:  # the probe reports, it must not raise
        return Response({"status": "error", "database": type(exc).__name__}, status_code=503, media_type=MediaType.JSON)
    return Response({"status": "ok", "database": "ok"}, media_type=MediaType.JSON)


@get("/readyz", cache=False)
async def readyz(request: Request) -> Response:
    """Ready to serve: the database answers, the data dir has room, email is not piling up."""
    checks: dict[str, str] = {}
    try:
        await ping()
        checks["database"] = "ok"
    except Exception as exc:  # reported, never raised
        checks["database"] = f"error: {type(exc).__name__}"
    free = shutil.disk_usage(request.app.state.settings.data_dir).free
    checks["disk"] = "ok" if free >= MIN_FREE_BYTES else f"low: {free // 2**20} MB free in the data dir"
    if checks["database"] == "ok":
        waiting, late = await _outbox_backlog()
        checks["outbox"] = "ok" if not late else f"{late} email(s) waiting over {MAX_MAIL_DELAY_MINUTES} minutes"
    ready = all(value == "ok" for value in checks.values())
    return Response({"status": "ready" if ready else "not ready", "checks": checks},
                    status_code=200 if ready else 503, media_type=MediaType.JSON)


@get("/metrics", cache=False)
async def metrics(request: Request) -> Response:
    """Prometheus metrics, for loopback callers only (403 for anyone else)."""
    if not is_loopback_peer(request.scope):
        return Response("Metrics are served to this host only.\n", status_code=403, media_type=MediaType.TEXT)
    registry = _registry()
    body = generate_latest(registry) if registry else generate_latest()
    waiting, late = await _outbox_backlog()
    body += (
        "# HELP portal_outbox_waiting Emails queued or being sent.\n# TYPE portal_outbox_waiting gauge\n"
        f"portal_outbox_waiting {waiting}\n"
        f"# HELP portal_outbox_late Emails waiting over {MAX_MAIL_DELAY_MINUTES} minutes.\n"
        f"# TYPE portal_outbox_late gauge\nportal_outbox_late {late}\n"
    ).encode()
    return Response(body, media_type=CONTENT_TYPE_LATEST)


HANDLERS = [healthz, readyz, metrics]
