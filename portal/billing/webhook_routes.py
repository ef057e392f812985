"""Stripe's webhook: ``POST /webhooks/stripe/{workspace_slug}``, one address per workspace.

No session and no CSRF token: the sender proves itself by the signature of the raw body,
checked with the workspace's own signing secret (``payments.handle_webhook``).
"""

from __future__ import annotations

from litestar import MediaType, Request, Response, post
from litestar.params import FromPath

from portal.billing import payments
from portal.web.health import WEBHOOK_FAILURES


@post("/stripe/{workspace_slug:str}", opt={"exclude_from_csrf": True}, status_code=200)
async def stripe_webhook(request: Request, workspace_slug: FromPath[str]) -> Response:
    outcome = await payments.handle_webhook(
        request.app.state.settings, workspace_slug, await request.body(), request.headers.get("stripe-signature")
    )
    if outcome.status != 200:
        WEBHOOK_FAILURES.labels(outcome.result).inc()
    body = {"received": outcome.status == 200, "result": outcome.result}
    return Response(body, status_code=outcome.status, media_type=MediaType.JSON)


#: Routes under /webhooks: machines, proven by their signature.
HANDLERS: list = [stripe_webhook]
