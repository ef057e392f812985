"""Page-or-fragment rendering: one template serves both (STYLE: ``for_htmx``).

A tab request from htmx (``HX-Request`` without ``HX-Boosted`` or a history restore)
gets only the fragment; everything else gets the full page, which includes the same
fragment. Both carry ``Vary: HX-Request`` so no cache mixes them up.

A form shown again with its errors (a 4xx page) is swapped in by htmx on a boosted
form too (``static/js/app.js``), so the errors show beside the fields with JavaScript
on as well as off; ``HX-Push-Url: false`` keeps the address bar on the form's page
rather than the POST-only action URL.
"""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.response import Redirect, Template

from portal.web.flash import COOKIE, flash_cookie, read_flash, spent_cookie

VARY = {"Vary": "HX-Request"}
#: The status of a form sent back with its errors beside the fields ("Unprocessable
#: Content"): htmx swaps it into the page like a success (``responseHandling`` in
#: base.html), so the errors show with JavaScript as without.
INVALID = 422


def wants_fragment(request: Request) -> bool:
    headers = request.headers
    return (
        headers.get("hx-request") == "true"
        and headers.get("hx-boosted") != "true"
        and headers.get("hx-history-restore-request") != "true"
    )


def page(
    request: Request,
    template: str,
    context: dict[str, Any],
    *,
    fragment: str | None = None,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> Template:
    """Render ``template``, or only ``fragment`` for an htmx tab request.

    A waiting one-time message (``see_other(..., flash=...)``) goes to the template as
    ``flash`` and its cookie is spent.
    """
    name = fragment if fragment and wants_fragment(request) else template
    headers = {**(VARY if status_code < 400 else {**VARY, "HX-Push-Url": "false"}), **(headers or {})}
    cookies = []
    if COOKIE in request.cookies:
        context = {**context, "flash": read_flash(request)}
        cookies.append(spent_cookie())
    return Template(template_name=name, context=context, headers=headers, status_code=status_code, cookies=cookies)


def render_string(request: Request, template: str, context: dict[str, Any]) -> str:
    """A template rendered to text with the app's filters (a document, not a response)."""
    return request.app.template_engine.get_template(template).render(**context)


def see_other(path: str, *, flash: str = "", request: Request | None = None) -> Redirect:
    """The answer to a successful form POST: 303 to the page that shows the result.

    ``flash`` (needs ``request``): a message that page shows once, e.g. "Invoice sent.".
    """
    response = Redirect(path=path, status_code=303)
    if flash:
        if request is None:
            raise ValueError("see_other(flash=...) needs the request")
        settings = request.app.state.settings
        response.set_cookie(flash_cookie(settings.secret_key, flash, secure=settings.is_https))
    return response
