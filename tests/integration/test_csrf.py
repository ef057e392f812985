"""Every unsafe route refuses a request without the CSRF token (walks the route table)."""

from __future__ import annotations

import re

from tests.fixtures import sign_in_client, sign_in_staff

#: Routes that prove the sender another way (a signature) instead of a CSRF token.
EXEMPT = {"/webhooks/stripe"}
PARAM = re.compile(r"\{(\w+):(\w+)\}")


def unsafe_routes(app) -> list[tuple[str, str]]:
    found = []
    for route in app.routes:
        if any(route.path.startswith(prefix) for prefix in EXEMPT):
            continue
        for method in sorted(getattr(route, "methods", set()) - {"GET", "HEAD", "OPTIONS", "TRACE"}):
            found.append((method, PARAM.sub(lambda m: "acme" if m.group(2) == "str" else "1", route.path)))
    return found


async def test_every_unsafe_route_needs_the_csrf_token(app, http, world):
    routes = unsafe_routes(app)
    assert len(routes) >= 10, routes  # the walk found the app's forms
    # Signed in as both a client and a staff member, so only CSRF can refuse.
    await sign_in_client(http, world.workspace, world.alice)
    staff = type(http)(transport=http._transport, base_url="http://127.0.0.1:8000")
    await sign_in_staff(staff, world.workspace, world.staff)
    for client in (http, staff):
        for method, path in routes:
            for headers in ({}, {"HX-Request": "true"}, {"x-csrftoken": "forged-token-value"}):
                response = await client.request(method, path, headers=headers, data={"_csrf_token": "forged"})
                assert response.status_code == 403, (method, path, headers, response.status_code)
