"""What the payment tests share: test keys, the fake Stripe as a fixture, and posting its events.

A module imports the fixtures it uses (``from tests.stripe_support import fake, stripe_settings``)
and names ``stripe_settings`` as ``settings`` through its own fixture, so only payment tests
start a fake Stripe.
"""

from __future__ import annotations

import dataclasses

import pytest

from portal.billing import payments
from portal.billing.stripe_keys import KeysInput
from tests.fakes.stripe_server import FakeStripe

SECRET = "sk_test_51SecretKeyForTests0000000001234"
WEBHOOK = "whsec_TestSigningSecret00000000"
PUBLISHABLE = "pk_test_51PublishableKeyForTests000"


@pytest.fixture
def fake():
    """A fake Stripe whose events the test posts to the in-process app itself (``deliver``)."""
    with FakeStripe() as server:
        server.add_account(SECRET, webhook_secret=WEBHOOK, webhook_url=None, publishable_key=PUBLISHABLE)
        server.delivery = "never"
        yield server


def with_fake(settings, fake: FakeStripe):
    return dataclasses.replace(settings, stripe_api_base=fake.url)


async def connect(settings, checkout: str = "hosted", slug: str = "acme") -> None:
    await payments.set_keys(settings, slug, KeysInput(SECRET, PUBLISHABLE, WEBHOOK, checkout))


async def deliver(http, fake: FakeStripe, event_id: str, slug: str = "acme"):
    """Post a recorded event to the app, signed as Stripe would."""
    body, signature = fake.signed(event_id)
    return await http.post(f"/webhooks/stripe/{slug}", content=body,
                           headers={"content-type": "application/json", "stripe-signature": signature})


def events_of(fake: FakeStripe, kind: str) -> list[str]:
    return [event["id"] for event in fake.events if event["type"] == kind]
