"""Which site a request's Host names, before any route is chosen.

- The base host (``PORTAL_BASE_URL``'s): everything, as routed (the studio, ``/p/<slug>/``).
- A workspace's verified custom domain: that workspace's portal at ``/``. The request's
  path is moved under ``/p/<slug>`` and ``scope["state"]["portal_host"]`` names the
  domain, so the portal's links there have no prefix (``PortalSite.base`` is ``""``).
  Everything else (the studio, webhooks, other workspaces) is then a path under that one
  portal and answers its branded 404.
- Any other Host: 400, with nothing looked up but that one name.

The probes (``/healthz``, ``/readyz``, ``/metrics``) and Caddy's permission question
(``/_caddy/ask``) answer on any Host: they are what a load balancer, a container runtime
or Caddy call by IP or by ``localhost``. ``/static/`` and ``/favicon.ico`` are served as
they are on every known host.
"""

from __future__ import annotations

from litestar import Request, Response, get
from litestar.params import FromQuery
from litestar.types import ASGIApp, Receive, Scope, Send

from portal.settings import Settings
from portal.web.net import is_loopback_peer
from portal.workspaces.domains import normalise_host
from portal.workspaces.queries import slug_of_verified_domain

ANY_HOST = frozenset({"/healthz", "/readyz", "/metrics", "/_caddy/ask"})
AS_THEY_ARE = ("/static/", "/favicon.ico")
LOOPBACK_NAMES = frozenset({"127.0.0.1", "localhost", "::1"})


def _host(scope: Scope) -> str:
    for name, value in scope["headers"]:
        if name == b"host":
            return normalise_host(value.decode("latin-1"))
    return ""


async def _refuse(send: Send, status: int, text: str) -> None:
    body = text.encode()
    await send({"type": "http.response.start", "status": status, "headers": [
        (b"content-type", b"text/plain; charset=utf-8"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


class HostRouting:
    """Wraps the application's ASGI handler (``Litestar.asgi_handler``): runs before routing."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        own = settings.base_hostname
        # On a loopback base URL (development), any loopback name is the base host.
        self.own_hosts = LOOPBACK_NAMES | {own} if own in LOOPBACK_NAMES else frozenset({own})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in ANY_HOST:
            await self.app(scope, receive, send)
            return
        host = _host(scope)
        if host in self.own_hosts:
            await self.app(scope, receive, send)
            return
        slug = await slug_of_verified_domain(host) if host else None
        if slug is None:
            await _refuse(send, 400, "This address is not served here.\n")
            return
        if scope["path"].startswith(AS_THEY_ARE):
            await self.app(scope, receive, send)
            return
        path = f"/p/{slug}{scope['path']}"
        scope = {**scope, "path": path, "raw_path": path.encode(), "state": {**scope.get("state", {}), "portal_host": host}}
        await self.app(scope, receive, send)


def portal_host(request: Request) -> str | None:
    """The custom domain this request came in on (None on the base host)."""
    return request.scope.get("state", {}).get("portal_host")


@get("/_caddy/ask", cache=False, include_in_schema=False)
async def caddy_ask(request: Request, domain: FromQuery[str] = "") -> Response:
    """Caddy's on-demand TLS asks here before it orders a certificate for ``domain``:
    200 for the base host or a verified custom domain, 403 for anything else. One
    database read, no DNS; loopback callers only (Caddy runs beside the app)."""
    if not is_loopback_peer(request.scope):
        return Response("", status_code=403)
    name = normalise_host(domain)
    settings = request.app.state.settings
    if name and (name == settings.base_hostname or await slug_of_verified_domain(name)):
        return Response("", status_code=200)
    return Response("", status_code=403)


HANDLERS = [caddy_ask]
