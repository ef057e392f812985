"""Upload size limits, enforced while the body arrives."""

from __future__ import annotations

from litestar.exceptions import HTTPException
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from portal.formats import size_label

#: Room for the multipart framing and the small fields next to the file.
MULTIPART_SLACK = 64 * 1024
#: Route option of the routes that take uploads (with ``request_max_body_size=None``).
UPLOAD = {"upload": True}


def limit_upload_size(app: ASGIApp) -> ASGIApp:
    """Refuse (413) an upload body over ``max_upload_bytes`` plus framing, as it arrives.

    An application middleware placed before the CSRF check (which may parse the form):
    on routes marked with ``opt=UPLOAD`` an oversized body, announced or chunked, is
    stopped before anything reads it whole. Other routes keep Litestar's own body limit.
    """

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        handler = scope.get("route_handler")
        if scope["type"] != "http" or handler is None or not handler.opt.get("upload"):
            await app(scope, receive, send)
            return
        settings = scope["litestar_app"].state.settings
        limit = settings.max_upload_bytes + MULTIPART_SLACK
        too_large = HTTPException(status_code=413, detail=f"Files can be up to {size_label(settings.max_upload_bytes)}.")
        length = dict(scope["headers"]).get(b"content-length", b"")
        if length.isdigit() and int(length) > limit:
            raise too_large
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise too_large
            return message

        await app(scope, counted, send)

    return middleware
