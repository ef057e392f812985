"""The client's IP: the peer, or X-Forwarded-For only when the peer is a trusted proxy."""

from __future__ import annotations

import ipaddress

from litestar.types import ASGIApp, Receive, Scope, Send


def resolve_client_ip(peer: str, forwarded_for: str | None, trusted: tuple[str, ...]) -> str:
    """Walk X-Forwarded-For from the right, skipping trusted proxies."""
    networks = [ipaddress.ip_network(item, strict=False) for item in trusted]

    def is_trusted(address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in network for network in networks)

    if not networks or not is_trusted(peer) or not forwarded_for:
        return peer
    hops = [hop.strip() for hop in forwarded_for.split(",") if hop.strip()]
    for hop in reversed(hops):
        if not is_trusted(hop):
            try:
                return str(ipaddress.ip_address(hop))
            except ValueError:
                return peer
    return hops[0] if hops else peer


def client_ip_middleware(app: ASGIApp) -> ASGIApp:
    """Put the resolved client IP into ``scope["state"]["client_ip"]``."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            settings = scope["app"].state.settings
            peer = scope["client"][0] if scope.get("client") else ""
            forwarded = None
            if settings.trusted_proxies:
                for name, value in scope["headers"]:
                    if name == b"x-forwarded-for":
                        forwarded = value.decode("latin-1")
            scope.setdefault("state", {})["client_ip"] = resolve_client_ip(peer, forwarded, settings.trusted_proxies)
        await app(scope, receive, send)

    return middleware


def is_loopback_peer(scope: Scope) -> bool:
    """The TCP peer is this machine (never a forwarded address), and the request was not
    passed on by a proxy on it (Caddy adds X-Forwarded-For to what it forwards)."""
    if any(name in (b"x-forwarded-for", b"forwarded") for name, _ in scope.get("headers", ())):
        return False
    peer = scope.get("client")
    try:
        return bool(peer) and ipaddress.ip_address(peer[0]).is_loopback
    except ValueError:
        return False
