"""The few Stripe calls the portal makes, with the workspace's own secret key.

Every call goes through the official ``stripe`` library (``StripeClient``, httpx,
asynchronous) to ``PORTAL_STRIPE_API_BASE`` (Stripe's own API unless set, e.g. to a test
server). Stripe's errors become ``StripeFailure`` with a message fit for the person who
asked: an operator sees Stripe's own wording, a client a plain sentence.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import stripe

from portal.settings import Settings

#: What the session reads expand to: the payment, its charge and the fee Stripe kept.
SESSION_EXPAND = ["payment_intent", "payment_intent.latest_charge", "payment_intent.latest_charge.balance_transaction"]


class StripeFailure(Exception):
    """Stripe refused or could not be reached; ``message`` is Stripe's (never holds a key)."""

    def __init__(self, message: str, *, auth: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.auth = auth


@contextlib.asynccontextmanager
async def client(settings: Settings, secret_key: str) -> AsyncIterator[stripe.StripeClient]:
    http = stripe.HTTPXClient(timeout=20)
    try:
        yield stripe.StripeClient(
            secret_key, base_addresses={"api": settings.stripe_api_base}, http_client=http, max_network_retries=2
        )
    except stripe.AuthenticationError as exc:
        raise StripeFailure(_message(exc) or "Stripe refused the secret key.", auth=True) from None
    except stripe.StripeError as exc:
        raise StripeFailure(_message(exc) or "Stripe could not be reached.") from None
    finally:
        await http.close_async()


def _message(exc: stripe.StripeError) -> str:
    return (exc.user_message or str(exc) or "").strip()


async def account_name(settings: Settings, secret_key: str) -> tuple[str, bool]:
    """The account's display name and whether the key is live (the connection test)."""
    async with client(settings, secret_key) as stripe_client:
        account = await stripe_client.v1.accounts.retrieve_current_async()
    data = account.to_dict()
    name = ((data.get("settings") or {}).get("dashboard") or {}).get("display_name") or (
        data.get("business_profile") or {}
    ).get("name") or data.get("email") or data.get("id", "")
    return str(name), secret_key.startswith(("sk_live_", "rk_live_"))


async def create_session(settings: Settings, secret_key: str, params: dict[str, Any], idempotency_key: str) -> dict:
    async with client(settings, secret_key) as stripe_client:
        session = await stripe_client.v1.checkout.sessions.create_async(
            params=params, options={"idempotency_key": idempotency_key}
        )
    return session.to_dict()


async def retrieve_session(settings: Settings, secret_key: str, session_id: str) -> dict:
    async with client(settings, secret_key) as stripe_client:
        session = await stripe_client.v1.checkout.sessions.retrieve_async(session_id, params={"expand": SESSION_EXPAND})
    return session.to_dict()


async def retrieve_charge(settings: Settings, secret_key: str, charge_id: str) -> dict:
    async with client(settings, secret_key) as stripe_client:
        charge = await stripe_client.v1.charges.retrieve_async(charge_id)
    return charge.to_dict()


async def completed_sessions(settings: Settings, secret_key: str, since: int) -> list[dict]:
    """Every complete Checkout Session created since the unix time ``since`` (all pages)."""
    found = []
    async with client(settings, secret_key) as stripe_client:
        page = await stripe_client.v1.checkout.sessions.list_async(
            params={"status": "complete", "created": {"gte": since}, "limit": 100}
        )
        async for session in page.auto_paging_iter():
            found.append(session.to_dict())
    return found


def verify_event(payload: bytes, signature: str | None, webhook_secret: str) -> dict:
    """The event, if ``signature`` signs ``payload`` with ``webhook_secret`` within 300 s; else ``ValueError``."""
    try:
        event = stripe.Webhook.construct_event(payload, signature or "", webhook_secret, tolerance=300)
    except (stripe.SignatureVerificationError, ValueError) as exc:
        raise ValueError(str(exc) or "bad signature") from None
    return event.to_dict()
