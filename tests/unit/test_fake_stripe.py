"""The fake Stripe, driven by the real ``stripe`` library: sessions, payments, refunds and webhooks."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
import stripe

from tests.fakes.stripe_server import FakeStripe, sign

KEY_A = "sk_test_brightline0001"
KEY_B = "sk_test_otherstudio02"
SECRET_A = "whsec_brightline"
SUCCESS_URL = "http://portal.test/invoices/7/paid?session_id={CHECKOUT_SESSION_ID}"
CANCEL_URL = "http://portal.test/invoices/7"
EXPAND = ["payment_intent", "payment_intent.latest_charge", "payment_intent.latest_charge.balance_transaction"]


class Receiver:
    """A webhook endpoint on a free port: keeps every post, calls ``on_post`` with it, answers ``status``."""

    def __init__(self) -> None:
        self.posts: list[tuple[bytes, str]] = []
        self.status = 200
        self.on_post: Callable[[bytes], None] | None = None
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.posts.append((body, self.headers.get("Stripe-Signature", "")))
                if receiver.on_post:
                    receiver.on_post(body)
                self.send_response(receiver.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/webhooks/stripe"
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    def events(self) -> list[stripe.Event]:
        """The posts, each checked as the portal checks them."""
        return [stripe.Webhook.construct_event(body, signature, SECRET_A, tolerance=300) for body, signature in self.posts]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    endpoint = Receiver()
    yield endpoint
    endpoint.close()


@pytest.fixture
def fake(receiver: Receiver) -> Iterator[FakeStripe]:
    with FakeStripe() as server:
        server.add_account(KEY_A, webhook_secret=SECRET_A, webhook_url=receiver.url)
        server.add_account(KEY_B, webhook_secret="whsec_other", webhook_url=None, name="Other Studio")
        yield server


@pytest.fixture
def client(fake: FakeStripe) -> stripe.StripeClient:
    return stripe.StripeClient(KEY_A, base_addresses={"api": fake.url})


def hosted_params(**changes: Any) -> dict[str, Any]:
    params: dict[str, Any] = {
        "mode": "payment",
        "ui_mode": "hosted_page",
        "line_items": [
            {"price_data": {"currency": "gbp", "unit_amount": 1250, "product_data": {"name": "Logo design"}}, "quantity": 2},
            {"price_data": {"currency": "gbp", "unit_amount": 500, "product_data": {"name": "Brand guide"}}, "quantity": 1},
        ],
        "customer_email": "client@example.com",
        "client_reference_id": "7",
        "metadata": {"invoice_id": "7", "workspace_id": "1"},
        "success_url": SUCCESS_URL,
        "cancel_url": CANCEL_URL,
    }
    params.update(changes)
    return {key: value for key, value in params.items() if value is not None}


def create(client: stripe.StripeClient, **changes: Any) -> stripe.checkout.Session:
    return client.v1.checkout.sessions.create(params=hosted_params(**changes))  # type: ignore[arg-type]


def test_the_account_names_the_studio(client: stripe.StripeClient) -> None:
    account = client.v1.accounts.retrieve_current().to_dict()
    assert account["object"] == "account" and account["id"].startswith("acct_")
    assert account["settings"]["dashboard"]["display_name"] == "Brightline Studio"
    assert account["business_profile"]["name"] == "Brightline Studio"


def test_a_hosted_session_is_created_and_read_back(fake: FakeStripe, client: stripe.StripeClient) -> None:
    session = create(client)
    assert session.id.startswith("cs_test_") and session.object == "checkout.session"
    assert (session.status, session.payment_status, session.livemode) == ("open", "unpaid", False)
    assert (session.amount_subtotal, session.amount_total, session.currency) == (3000, 3000, "gbp")
    assert session.url == f"{fake.url}/pay/{session.id}" and session.client_secret is None
    assert session.payment_intent is None and session.expires_at == session.created + 24 * 3600
    assert session.metadata.to_dict() == {"invoice_id": "7", "workspace_id": "1"}
    read = client.v1.checkout.sessions.retrieve(session.id, params={"expand": EXPAND})
    assert read.to_dict() == session.to_dict() == fake.sessions[session.id]


def test_an_embedded_session_has_a_client_secret_and_no_url(client: stripe.StripeClient) -> None:
    session = create(client, ui_mode="embedded_page", success_url=None, cancel_url=None, return_url=SUCCESS_URL)
    assert session.ui_mode == "embedded_page" and session.url is None
    assert session.client_secret.startswith(f"{session.id}_secret_")
    assert client.v1.checkout.sessions.retrieve(session.id).return_url == SUCCESS_URL


async def test_the_async_httpx_client_works_over_http(fake: FakeStripe) -> None:
    http = stripe.HTTPXClient(timeout=5)
    async_client = stripe.StripeClient(KEY_A, base_addresses={"api": fake.url}, http_client=http, max_network_retries=2)
    try:
        session = await async_client.v1.checkout.sessions.create_async(params=hosted_params())  # type: ignore[arg-type]
        assert (await async_client.v1.checkout.sessions.retrieve_async(session.id)).id == session.id
    finally:
        await http.close_async()


@pytest.mark.parametrize(("changes", "param"), [
    ({"line_items": None}, "line_items"),
    ({"success_url": None}, "success_url"),
    ({"ui_mode": "embedded_page", "cancel_url": None, "return_url": SUCCESS_URL}, "success_url"),
    ({"line_items": [
        {"price_data": {"currency": "gbp", "unit_amount": 900, "product_data": {"name": "A"}}, "quantity": 1},
        {"price_data": {"currency": "eur", "unit_amount": 900, "product_data": {"name": "B"}}, "quantity": 1},
    ]}, "line_items[1][price_data][currency]"),
])
def test_invalid_sessions_are_refused_naming_the_param(client: stripe.StripeClient, changes: dict, param: str) -> None:
    with pytest.raises(stripe.InvalidRequestError) as refused:
        create(client, **changes)
    assert refused.value.http_status == 400 and refused.value.param == param


def test_an_idempotency_key_returns_the_same_session(fake: FakeStripe, client: stripe.StripeClient) -> None:
    first = client.v1.checkout.sessions.create(params=hosted_params(), options={"idempotency_key": "invoice-7"})  # type: ignore[arg-type]
    again = client.v1.checkout.sessions.create(params=hosted_params(), options={"idempotency_key": "invoice-7"})  # type: ignore[arg-type]
    assert again.id == first.id and len(fake.sessions) == 1
    with pytest.raises(stripe.IdempotencyError):
        client.v1.checkout.sessions.create(params=hosted_params(client_reference_id="8"),  # type: ignore[arg-type]
                                           options={"idempotency_key": "invoice-7"})
    other = stripe.StripeClient(KEY_B, base_addresses={"api": fake.url})
    theirs = other.v1.checkout.sessions.create(params=hosted_params(), options={"idempotency_key": "invoice-7"})  # type: ignore[arg-type]
    assert theirs.id != first.id and len(fake.sessions) == 2


def test_an_unknown_key_is_refused(fake: FakeStripe) -> None:
    stranger = stripe.StripeClient("sk_test_unknown0000abcd", base_addresses={"api": fake.url})
    with pytest.raises(stripe.AuthenticationError) as refused:
        stranger.v1.accounts.retrieve_current()
    assert refused.value.http_status == 401
    assert refused.value.user_message == "Invalid API Key provided: sk_test_****abcd"


def test_another_accounts_session_is_missing(fake: FakeStripe, client: stripe.StripeClient) -> None:
    session = create(client)
    other = stripe.StripeClient(KEY_B, base_addresses={"api": fake.url})
    with pytest.raises(stripe.InvalidRequestError) as missing:
        other.v1.checkout.sessions.retrieve(session.id)
    assert missing.value.http_status == 404 and missing.value.code == "resource_missing"


def test_listing_pages_through_every_session_newest_first(fake: FakeStripe, client: stripe.StripeClient) -> None:
    ids = [create(client, client_reference_id=str(number)).id for number in range(7)]
    for session_id in ids[:5]:
        fake.complete(session_id)
    page = client.v1.checkout.sessions.list(params={"status": "complete", "created": {"gte": int(time.time()) - 60},
                                                    "limit": 2})
    assert page.object == "list" and page.url == "/v1/checkout/sessions" and page.has_more
    assert [session.id for session in page.auto_paging_iter()] == ids[4::-1]
    assert len([call for call in fake.requests if call[:2] == ("GET", "/v1/checkout/sessions")]) == 3
    everything = client.v1.checkout.sessions.list()
    assert [session.id for session in everything.data] == ids[::-1] and not everything.has_more


def test_an_open_session_expires_once(fake: FakeStripe, client: stripe.StripeClient, receiver: Receiver) -> None:
    session = create(client)
    expired = client.v1.checkout.sessions.expire(session.id)
    assert expired.status == "expired" and expired.url is None
    assert [(event.type, event.data.object.id) for event in receiver.events()] == [("checkout.session.expired", session.id)]
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.checkout.sessions.expire(session.id)


def test_paying_on_the_hosted_page(fake: FakeStripe, client: stripe.StripeClient, receiver: Receiver) -> None:
    session = create(client)
    seen_by_app: list[str] = []
    receiver.on_post = lambda body: seen_by_app.append(client.v1.checkout.sessions.retrieve(session.id).status)
    page = httpx.get(session.url)
    assert page.status_code == 200
    for text in ("Brightline Studio", "Logo design", "GBP 25.00", "Brand guide", "GBP 30.00", 'data-testid="pay"',
                 f'href="{CANCEL_URL}"'):
        assert text in page.text
    paid = httpx.post(session.url, follow_redirects=False)
    assert paid.status_code == 303
    assert paid.headers["location"] == SUCCESS_URL.replace("{CHECKOUT_SESSION_ID}", session.id)
    assert (fake.sessions[session.id]["status"], fake.sessions[session.id]["payment_status"]) == ("complete", "paid")
    [event] = receiver.events()
    assert event.type == "checkout.session.completed" and event.data.object.id == session.id
    assert event.api_version == stripe.api_version and fake.deliveries == [(event.id, 200)]
    assert seen_by_app == ["complete"]
    assert httpx.post(session.url, follow_redirects=False).status_code == 409
    assert httpx.get(session.url).status_code == 409 and len(fake.events) == 1


def test_the_paid_session_expands_to_its_charge_and_fee(fake: FakeStripe, client: stripe.StripeClient) -> None:
    session = create(client)
    fake.complete(session.id)
    read = client.v1.checkout.sessions.retrieve(session.id, params={"expand": EXPAND}).to_dict()
    intent = read["payment_intent"]
    charge = intent["latest_charge"]
    assert intent["id"].startswith("pi_") and (intent["amount"], intent["status"]) == (3000, "succeeded")
    assert charge["id"].startswith("ch_") and charge["payment_intent"] == intent["id"]
    assert charge["balance_transaction"]["fee"] == 117
    assert client.v1.payment_intents.retrieve(intent["id"]).latest_charge == charge["id"]


def test_held_events_are_released_in_reverse(fake: FakeStripe, client: stripe.StripeClient, receiver: Receiver) -> None:
    fake.delivery = "hold"
    first, second = create(client), create(client)
    fake.complete(first.id)
    fake.complete(second.id)
    assert receiver.posts == [] and len(fake.events) == 2
    assert fake.release(reverse=True) == [200, 200]
    assert [event.data.object.id for event in receiver.events()] == [second.id, first.id]
    assert fake.release() == []


def test_twice_posts_each_event_twice(fake: FakeStripe, client: stripe.StripeClient, receiver: Receiver) -> None:
    fake.delivery = "twice"
    fake.complete(create(client).id)
    [event] = fake.events
    assert [posted.id for posted in receiver.events()] == [event["id"], event["id"]]
    assert fake.deliveries == [(event["id"], 200), (event["id"], 200)]


def test_a_refused_delivery_is_recorded_and_can_be_resent(fake: FakeStripe, client: stripe.StripeClient,
                                                          receiver: Receiver) -> None:
    receiver.status = 500
    fake.complete(create(client).id)
    [event] = fake.events
    receiver.status = 200
    assert fake.resend(event["id"]) == 200
    assert fake.deliveries == [(event["id"], 500), (event["id"], 200)]


def test_an_asynchronous_payment_settles_later(fake: FakeStripe, client: stripe.StripeClient, receiver: Receiver) -> None:
    good, bad = create(client), create(client)
    assert fake.complete(good.id, asynchronous=True)["payment_status"] == "unpaid"
    fake.complete(bad.id, asynchronous=True)
    processing = client.v1.checkout.sessions.retrieve(good.id, params={"expand": ["payment_intent"]})
    assert (processing.status, processing.payment_intent.status) == ("complete", "processing")
    assert fake.settle(good.id, succeeded=True)["payment_status"] == "paid"
    assert fake.settle(bad.id, succeeded=False)["payment_status"] == "unpaid"
    settled = client.v1.checkout.sessions.retrieve(good.id, params={"expand": EXPAND}).to_dict()
    assert settled["payment_intent"]["latest_charge"]["balance_transaction"]["fee"] == 117
    assert [(event.type, event.data.object.id) for event in receiver.events()] == [
        ("checkout.session.completed", good.id), ("checkout.session.completed", bad.id),
        ("checkout.session.async_payment_succeeded", good.id), ("checkout.session.async_payment_failed", bad.id),
    ]


def test_refunds_partial_then_full(fake: FakeStripe, client: stripe.StripeClient, receiver: Receiver) -> None:
    session = create(client)
    charge_id = client.v1.payment_intents.retrieve(fake.complete(session.id)["payment_intent"]).latest_charge
    assert fake.refund(session.id, 1000)["amount"] == 1000
    charge = client.v1.charges.retrieve(charge_id)
    assert (charge.amount_refunded, charge.refunded) == (1000, False)
    assert fake.refund(session.id)["amount"] == 2000
    charge = client.v1.charges.retrieve(charge_id)
    assert (charge.amount_refunded, charge.refunded) == (3000, True)
    refunds = [event.data.object for event in receiver.events() if event.type == "charge.refunded"]
    assert [(obj.id, obj.amount_refunded, obj.refunded) for obj in refunds] == [(charge_id, 1000, False),
                                                                               (charge_id, 3000, True)]


def test_a_planned_failure_raises_once(fake: FakeStripe, client: stripe.StripeClient) -> None:
    session = create(client)
    fake.fail_next("GET", "/v1/checkout/sessions/")
    with pytest.raises(stripe.APIError) as failed:
        client.v1.checkout.sessions.retrieve(session.id)
    assert failed.value.http_status == 500
    assert client.v1.checkout.sessions.retrieve(session.id).id == session.id


def test_signatures_are_checked_for_age(fake: FakeStripe, client: stripe.StripeClient) -> None:
    fake.delivery = "never"
    fake.complete(create(client).id)
    payload, signature = fake.signed(fake.events[0]["id"])
    assert stripe.Webhook.construct_event(payload, signature, SECRET_A, tolerance=300).id == fake.events[0]["id"]
    stale = sign(payload, SECRET_A, timestamp=int(time.time()) - 301)
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(payload, stale, SECRET_A, tolerance=300)
    assert fake.deliveries == []
