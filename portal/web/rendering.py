"""Page-or-fragment rendering: one template serves both (STYLE: ``for_htmx``).

A tab request from htmx (``HX-Request`` without ``HX-Boosted`` or a history restore)
gets only the fragment; everything else gets the full page, which includes the same
fragment. Both carry ``Vary: HX-Request`` so no cache mixes them up.
"""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.response import Redirect, Template

VARY = {"Vary": "HX-Request"}


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
) -> Template:
    """Render ``template``, or only ``fragment`` for an htmx tab request."""
    name = fragment if fragment and wants_fragment(request) else template
    return Template(template_name=name, context=context, headers=VARY, status_code=status_code)


def see_other(path: str) -> Redirect:
    """The answer to a successful form POST: 303 to the page that shows the result."""
    return Redirect(path=path, status_code=303)
