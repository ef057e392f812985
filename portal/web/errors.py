"""Generic error pages (HTML) and precise JSON errors for machine routes."""

from __future__ import annotations

import logging

from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException
from litestar.response import Template
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR

log = logging.getLogger("portal.errors")

TITLES = {
    400: "That request did not look right",
    403: "That is not allowed",
    404: "Page not found",
    405: "That is not allowed here",
    409: "That cannot be changed",
    413: "That file is too large",
    429: "Too many attempts",
}


def _is_machine(request: Request) -> bool:
    path = request.url.path
    return path.startswith(("/api/", "/webhooks/", "/_caddy/", "/healthz"))


def http_exception_handler(request: Request, exc: HTTPException) -> Response:
    status = exc.status_code
    if _is_machine(request):
        return Response({"error": exc.detail, "status": status}, status_code=status, media_type=MediaType.JSON)
    detail = exc.detail if status in (400, 403, 409, 413, 429) else ""
    return Template(
        template_name="errors/error.html",
        context={"status": status, "title": TITLES.get(status, "Something went wrong"), "detail": detail},
        status_code=status,
        headers=getattr(exc, "headers", None) or {},
    )


def internal_error_handler(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    if _is_machine(request):
        return Response({"error": "internal error", "status": 500}, status_code=500, media_type=MediaType.JSON)
    return Template(
        template_name="errors/error.html",
        context={"status": 500, "title": "Something went wrong", "detail": ""},
        status_code=HTTP_500_INTERNAL_SERVER_ERROR,
    )
