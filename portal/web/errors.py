"""Errors to answers, in one place: generic pages (HTML), fragments' toasts, JSON.

The domain's errors (``portal.errors``) get their HTTP status here, and only here;
Litestar's own HTTP exceptions (routing, bodies that do not parse) go the same way.
Error answers with a message also carry it in ``X-Error-Message``, which ``app.js``
shows for htmx requests (htmx does not swap 4xx answers).
"""

from __future__ import annotations

import logging

from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException
from litestar.response import Template
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR

from portal.errors import Conflict, DomainError, Forbidden, Invalid, NotFound, RateLimited, Unavailable

log = logging.getLogger("portal.errors")

#: The status of each domain error (most specific first).
STATUSES: tuple[tuple[type[DomainError], int], ...] = (
    (RateLimited, 429), (NotFound, 404), (Forbidden, 403), (Conflict, 409), (Invalid, 422),
    (Unavailable, 502),
)

TITLES = {
    400: "That request did not look right",
    403: "That is not allowed",
    404: "Page not found",
    405: "That is not allowed here",
    409: "That cannot be changed",
    413: "That file is too large",
    422: "Please check what you entered",
    429: "Too many attempts",
    502: "The payment service did not answer",
}


def _is_machine(request: Request) -> bool:
    path = request.url.path
    return path.startswith(("/api/", "/webhooks/", "/_caddy/", "/healthz"))


def status_of(exc: DomainError) -> int:
    return next(status for kind, status in STATUSES if isinstance(exc, kind))


def _answer(request: Request, status: int, detail: str, headers: dict[str, str] | None = None,
            fields: dict[str, str] | None = None) -> Response:
    headers = dict(headers or {})
    if _is_machine(request):
        body = {"error": detail, "status": status, **({"fields": fields} if fields else {})}
        return Response(body, status_code=status, media_type=MediaType.JSON, headers=headers)
    shown = detail if status in (400, 403, 409, 413, 422, 429, 502) else ""
    if shown:  # htmx does not swap 4xx answers: app.js shows this instead
        headers["X-Error-Message"] = shown.encode("ascii", "replace").decode()
    return _error_page(request, status, TITLES.get(status, "Something went wrong"), shown, headers)


def _error_page(request: Request, status: int, title: str, detail: str,
                headers: dict[str, str] | None = None) -> Template:
    """The error page: in the workspace's branding on its portal's URLs, leading back to the
    portal's home there, to the studio on studio URLs."""
    site = getattr(request.state, "site", None)
    if site is not None:
        start_url, start_label, template = site.url("/"), "Go to your projects", "errors/portal_error.html"
    elif request.url.path.startswith("/studio"):
        start_url, start_label, template = "/studio/", "Go to the studio", "errors/error.html"
    else:
        start_url, start_label, template = "/", "Go to the start page", "errors/error.html"
    context = {"status": status, "title": title, "detail": detail, "site": site, "start_url": start_url,
               "start_label": start_label}
    return Template(template_name=template, context=context, status_code=status, headers=headers)


def domain_error_handler(request: Request, exc: DomainError) -> Response:
    """A domain error no route turned into a page of its own (e.g. a form) answers here."""
    headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, RateLimited) else None
    fields = {k: v for k, v in exc.errors.items() if k} if isinstance(exc, Invalid) else None
    detail = exc.message if not isinstance(exc, NotFound) else ""
    return _answer(request, status_of(exc), detail, headers, fields)


def http_exception_handler(request: Request, exc: HTTPException) -> Response:
    return _answer(request, exc.status_code, exc.detail, getattr(exc, "headers", None))


def internal_error_handler(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    if _is_machine(request):
        return Response({"error": "internal error", "status": 500}, status_code=500, media_type=MediaType.JSON)
    return _error_page(request, HTTP_500_INTERNAL_SERVER_ERROR, "Something went wrong", "")
