"""A fake Stripe for the tests: the API subset the portal uses, a hosted Checkout page and webhooks.

The real ``stripe`` library talks to it over plain HTTP::

    with FakeStripe() as fake:
        fake.add_account("sk_test_a", webhook_secret="whsec_a", webhook_url=f"{app_url}/webhooks/stripe/acme")
        client = stripe.StripeClient("sk_test_a", base_addresses={"api": fake.url})
        session = client.v1.checkout.sessions.create(params={...}, options={"idempotency_key": "k1"})
        fake.complete(session.id)  # checkout.session.completed, signed with whsec_a, answered by the app

``stripe.StripeClient(secret_key, base_addresses={"api": fake.url})`` works over ``http://`` with the
library's default HTTP clients (urllib when ``requests`` is not installed, httpx for the ``*_async``
calls) and with an explicit ``stripe.HTTPXClient()`` as the portal passes: the library does not insist
on https. Error answers carry ``Stripe-Should-Retry: false``, so a client with ``max_network_retries``
raises at once instead of retrying a ``fail_next`` away.

Accounts are keyed by secret key; each sees only its own objects. Events are recorded in ``events``
and posted to the account's ``webhook_url`` as ``delivery`` says: with ``"now"`` the call that caused
them (``complete()``, the hosted page's Pay, an API request) returns only once the app has answered
every post, so tests can assert straight after. A test whose app has no socket (``httpx.ASGITransport``)
passes ``webhook_url=None`` and posts ``signed(event_id)`` to the app itself.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import html
import http.client
import json
import re
import secrets
import string
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TypeVar
from urllib.parse import parse_qsl, urlsplit

import stripe

Json = dict[str, Any]
T = TypeVar("T")

DELIVERY_MODES = ("now", "hold", "twice", "never")
POST_TIMEOUT_SECONDS = 10
DEFAULT_LIFETIME_SECONDS = 24 * 3600
MIN_LIFETIME_SECONDS = 30 * 60
ZERO_DECIMAL_CURRENCIES = frozenset(
    {"bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga", "pyg", "rwf", "ugx", "vnd", "vuv", "xaf", "xof", "xpf"}
)
#: Stripe's smallest charge per currency, in minor units (50 where not listed).
MINIMUM_CHARGE = {"gbp": 30, "dkk": 250, "hkd": 400, "mxn": 1000, "nok": 300, "pln": 200, "sek": 300}
#: The ``ui_mode`` values of the API version the ``stripe`` library pins (2026-10-28), and
#: the fake's name for each.
UI_MODES = {"hosted_page": "hosted", "embedded_page": "embedded"}
#: Checkout Session parameters the fake reads, and those it accepts without acting on them.
SESSION_PARAMS = frozenset(
    {"mode", "ui_mode", "line_items", "metadata", "customer_email", "client_reference_id", "success_url",
     "cancel_url", "return_url", "expires_at", "payment_intent_data", "expand", "redirect_on_completion"}
)
IGNORED_SESSION_PARAMS = frozenset(
    {"payment_method_types", "locale", "submit_type", "billing_address_collection", "allow_promotion_codes",
     "customer_creation", "invoice_creation", "phone_number_collection", "custom_text", "automatic_tax",
     "payment_method_options", "consent_collection", "after_expiration", "tax_id_collection"}
)
EXPANDABLE = frozenset({"payment_intent", "latest_charge", "balance_transaction", "charge"})
#: Id prefix -> (object name, the ``param`` Stripe names when it is missing).
KINDS = {"cs_": ("checkout.session", "session"), "pi_": ("payment_intent", "intent"),
         "ch_": ("charge", "charge"), "txn_": ("balance_transaction", "id")}

_KEY_PART = re.compile(r"\[([^\[\]]*)\]")
_ALPHABET = string.ascii_letters + string.digits


class FakeStripeError(ValueError):
    """A request Stripe would refuse; the API answers it as Stripe's error JSON."""

    def __init__(self, status: int, message: str, *, param: str | None = None, code: str | None = None,
                 kind: str = "invalid_request_error") -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.param = param
        self.code = code
        self.kind = kind

    def body(self) -> Json:
        error: Json = {"type": self.kind, "message": self.message}
        if self.param:
            error["param"] = self.param
        if self.code:
            error["code"] = self.code
            error["doc_url"] = f"https://stripe.com/docs/error-codes/{self.code.replace('_', '-')}"
        return {"error": error}


def sign(payload: bytes, secret: str, timestamp: int | None = None) -> str:
    """The ``Stripe-Signature`` header for ``payload``: ``t=<ts>,v1=<hmac-sha256 of "ts.payload">``."""
    stamp = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{stamp}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={stamp},v1={digest}"


def parse_params(pairs: Iterable[tuple[str, str]]) -> Json:
    """Stripe's form encoding (``a[b][0][c]=v``, ``expand[]=x``) as nested dicts and lists of strings."""
    root: Json = {}
    for key, value in pairs:
        *parents, last = _key_path(key)
        node = root
        for part in parents:
            node = node.setdefault(part or str(len(node)), {})
            if not isinstance(node, dict):
                raise FakeStripeError(400, f"Invalid value for {key}: mixes a value and nested keys.", param=key)
        node[last or str(len(node))] = value
    return _listify(root)


def _key_path(key: str) -> list[str]:
    head, bracket, rest = key.partition("[")
    return [head, *_KEY_PART.findall(bracket + rest)]


def _listify(node: Any) -> Any:
    if not isinstance(node, dict):
        return node
    items = {key: _listify(value) for key, value in node.items()}
    if items and all(key.isdigit() for key in items):
        return [items[key] for key in sorted(items, key=int)]
    return items


def _token(length: int) -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(length))


def _new_id(prefix: str, length: int = 24) -> str:
    return f"{prefix}_{_token(length)}"


def _now() -> int:
    return int(time.time())


def _masked(key: str) -> str:
    parts = key.split("_")
    prefix = "_".join(parts[:2]) + "_" if len(parts) >= 3 else ""
    return f"{prefix}****{key[-4:]}"


def _fee(amount: int) -> int:
    return (amount * 29 + 500) // 1000 + 30


def _money(amount: int, currency: str) -> str:
    if currency in ZERO_DECIMAL_CURRENCIES:
        return f"{currency.upper()} {amount}"
    return f"{currency.upper()} {amount // 100}.{amount % 100:02d}"


def _integer(value: Any, param: str, *, minimum: int = 0) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise FakeStripeError(400, f"Invalid integer: {value}", param=param) from None
    if number < minimum:
        raise FakeStripeError(400, f"Invalid {param}: must be at least {minimum}", param=param)
    return number


def _missing(param: str) -> FakeStripeError:
    return FakeStripeError(400, f"Missing required param: {param}.", param=param, code="parameter_missing")


def _post_json(url: str, payload: bytes, signature: str) -> int:
    """POST ``payload`` as Stripe does (no redirects followed); the answer's status, 0 if unreachable."""
    parts = urlsplit(url)
    connection_class = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    connection = connection_class(parts.hostname or "127.0.0.1", parts.port, timeout=POST_TIMEOUT_SECONDS)
    headers = {"Content-Type": "application/json; charset=utf-8", "Stripe-Signature": signature,
               "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)"}
    try:
        connection.request("POST", (parts.path or "/") + (f"?{parts.query}" if parts.query else ""), payload, headers)
        response = connection.getresponse()
        response.read()
        return response.status
    except OSError:
        return 0
    finally:
        connection.close()


@dataclass(frozen=True)
class _Reply:
    status: int
    body: bytes
    content_type: str = "application/json"
    headers: tuple[tuple[str, str], ...] = ()


@dataclass
class _Account:
    secret_key: str
    webhook_secret: str
    webhook_url: str | None
    name: str
    publishable_key: str
    id: str = field(default_factory=lambda: _new_id("acct", 16))
    idempotent: dict[str, tuple[str, Json, _Reply]] = field(default_factory=dict)


def _json_reply(status: int, data: Json, *headers: tuple[str, str]) -> _Reply:
    return _Reply(status, json.dumps(data, indent=2).encode(), headers=headers)


def _error_reply(error: FakeStripeError) -> _Reply:
    return _json_reply(error.status, error.body(), ("Stripe-Should-Retry", "false"))


def _html_reply(status: int, title: str, body: str) -> _Reply:
    page = (f'<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><link rel="icon" href="data:,"><title>{html.escape(title)}</title></head>\n'
            f"<body><main>\n{body}\n</main></body></html>\n")
    return _Reply(status, page.encode(), "text/html; charset=utf-8")


class FakeStripe:
    """A Stripe test double on ``url``: accounts, Checkout Sessions, payments, refunds and webhook posts."""

    def __init__(self) -> None:
        self.url = ""
        self.delivery = "now"
        self.events: list[Json] = []
        self.deliveries: list[tuple[str, int]] = []
        self.sessions: dict[str, Json] = {}
        self.requests: list[tuple[str, str, Json]] = []
        self._accounts: dict[str, _Account] = {}
        self._intents: dict[str, Json] = {}
        self._charges: dict[str, Json] = {}
        self._balance_transactions: dict[str, Json] = {}
        self._owners: dict[str, str] = {}
        self._lines: dict[str, list[Json]] = {}
        self._intent_metadata: dict[str, Json] = {}
        self._held: list[Json] = []
        self._failures: list[tuple[str, str, int]] = []
        self._outbox: list[Json] | None = None
        self._lock = threading.RLock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._routes: list[tuple[str, re.Pattern[str], Callable[[_Account, Json, str], Json]]] = [
            ("GET", re.compile(r"/v1/account"), self._api_account),
            ("POST", re.compile(r"/v1/checkout/sessions"), self._api_create_session),
            ("GET", re.compile(r"/v1/checkout/sessions"), self._api_list_sessions),
            ("GET", re.compile(r"/v1/checkout/sessions/([^/]+)"), self._api_get_session),
            ("POST", re.compile(r"/v1/checkout/sessions/([^/]+)/expire"), self._api_expire_session),
            ("GET", re.compile(r"/v1/payment_intents/([^/]+)"), self._api_get_intent),
            ("GET", re.compile(r"/v1/charges/([^/]+)"), self._api_get_charge),
        ]

    # Lifecycle

    def start(self) -> FakeStripe:
        """Listen on a free port of 127.0.0.1 (in a daemon thread); sets ``url``."""
        handler = type("FakeStripeHandler", (_Handler,), {"fake": self})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), name="fake-stripe",
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> FakeStripe:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # Accounts and test controls

    def add_account(self, secret_key: str, *, webhook_secret: str, webhook_url: str | None,
                    name: str = "Brightline Studio", publishable_key: str = "pk_test_brightline") -> None:
        with self._lock:
            self._accounts[secret_key] = _Account(secret_key, webhook_secret, webhook_url, name, publishable_key)

    def set_webhook_url(self, secret_key: str, url: str | None) -> None:
        with self._lock:
            self._accounts[secret_key].webhook_url = url

    def fail_next(self, method: str, path_prefix: str, status: int = 500) -> None:
        """The next API request of ``method`` whose path starts with ``path_prefix`` answers ``status``."""
        with self._lock:
            self._failures.append((method.upper(), path_prefix, status))

    # Paying, as the payer or Stripe would

    def complete(self, session_id: str, *, asynchronous: bool = False) -> Json:
        """Pay the open session (``asynchronous``: a bank debit still processing); returns the session."""
        return self._run(lambda: self._complete(session_id, asynchronous))

    def settle(self, session_id: str, *, succeeded: bool) -> Json:
        """Finish an asynchronous payment: paid (``async_payment_succeeded``) or failed (``..._failed``)."""
        return self._run(lambda: self._settle(session_id, succeeded))

    def expire(self, session_id: str) -> Json:
        """Expire the open session (``checkout.session.expired``); returns the session."""
        return self._run(lambda: self._expire(self._session(session_id)))

    def refund(self, session_id: str, amount: int | None = None) -> Json:
        """Refund ``amount`` (the rest by default) of the session's charge (``charge.refunded``); returns the refund."""
        return self._run(lambda: self._refund(session_id, amount))

    # Webhooks

    def release(self, *, reverse: bool = False) -> list[int]:
        """Post the held events (newest first if ``reverse``); the statuses the app answered."""
        with self._lock:
            held, self._held = self._held, []
        return self._post_all(held[::-1] if reverse else held)

    def resend(self, event_id: str) -> int:
        """Post the event once more; the status the app answered."""
        statuses = self._post_all([self._event(event_id)])
        if not statuses:
            raise ValueError(f"the account of {event_id} has no webhook_url")
        return statuses[0]

    def signed(self, event_id: str) -> tuple[bytes, str]:
        """The body and ``Stripe-Signature`` header (signed now) Stripe would post for the event."""
        event = self._event(event_id)
        with self._lock:
            secret = self._accounts[self._owners[event_id]].webhook_secret
        payload = json.dumps(event, indent=2).encode()
        return payload, sign(payload, secret)

    def _event(self, event_id: str) -> Json:
        with self._lock:
            found = [event for event in self.events if event["id"] == event_id]
        if not found:
            raise KeyError(event_id)
        return found[0]

    def _run(self, action: Callable[[], T]) -> T:
        """``action`` under the lock, then the events it emitted delivered per ``delivery`` (outside it)."""
        outbox: list[Json] = []
        with self._lock:
            self._outbox = outbox
            try:
                result = action()
            finally:
                self._outbox = None
        self._dispatch(outbox)
        return result

    def _emit(self, account: _Account, kind: str, obj: Json) -> None:
        event = {"id": _new_id("evt"), "object": "event", "api_version": stripe.api_version, "created": _now(),
                 "data": {"object": copy.deepcopy(obj)}, "livemode": False, "pending_webhooks": 1,
                 "request": {"id": None, "idempotency_key": None}, "type": kind}
        self.events.append(event)
        self._owners[event["id"]] = account.secret_key
        if self._outbox is not None:
            self._outbox.append(event)

    def _dispatch(self, events: list[Json]) -> None:
        if not events:
            return
        if self.delivery not in DELIVERY_MODES:
            raise ValueError(f"delivery must be one of {DELIVERY_MODES}, not {self.delivery!r}")
        if self.delivery == "hold":
            with self._lock:
                self._held.extend(events)
        elif self.delivery != "never":
            copies = 2 if self.delivery == "twice" else 1
            self._post_all([event for event in events for _ in range(copies)])

    def _post_all(self, events: list[Json]) -> list[int]:
        """Post ``events`` in order from a background thread and wait for the app's answers."""
        statuses: list[int] = []

        def post_each() -> None:
            for event in events:
                status = self._post(event)
                if status is not None:
                    statuses.append(status)

        worker = threading.Thread(target=post_each, name="fake-stripe-webhooks", daemon=True)
        worker.start()
        worker.join()
        return statuses

    def _post(self, event: Json) -> int | None:
        with self._lock:
            account = self._accounts[self._owners[event["id"]]]
            url, secret = account.webhook_url, account.webhook_secret
        if not url:
            return None
        payload = json.dumps(event, indent=2).encode()
        status = _post_json(url, payload, sign(payload, secret))
        with self._lock:
            self.deliveries.append((event["id"], status))
        return status

    # The API

    def _handle_api(self, method: str, path: str, params: Json, headers: dict[str, str]) -> _Reply:
        """Answer one API request as Stripe would (``headers`` keyed in lower case)."""
        return self._run(lambda: self._answer(method, path, params, headers))

    def _answer(self, method: str, path: str, params: Json, headers: dict[str, str]) -> _Reply:
        self.requests.append((method, path, copy.deepcopy(params)))
        try:
            account = self._authenticate(headers.get("authorization", ""))
            self._raise_planned_failure(method, path)
            handler, object_id = self._route(method, path)
            key = headers.get("idempotency-key") if method == "POST" else None
            if key:
                return self._idempotent(account, key, f"{method} {path}", params,
                                        lambda: self._call(handler, account, params, object_id))
            return self._call(handler, account, params, object_id)
        except FakeStripeError as error:
            return _error_reply(error)

    def _call(self, handler: Callable[[_Account, Json, str], Json], account: _Account, params: Json,
              object_id: str) -> _Reply:
        try:
            result = handler(account, params, object_id)
            self._expand_all(account, result, params.get("expand"))
        except FakeStripeError as error:
            return _error_reply(error)
        return _json_reply(200, result)

    def _authenticate(self, authorization: str) -> _Account:
        scheme, _, key = authorization.partition(" ")
        if scheme.lower() != "bearer" or not key.strip():
            raise FakeStripeError(401, "You did not provide an API key. You need to provide your API key in the "
                                       "Authorization header, using Bearer auth (e.g. 'Authorization: Bearer "
                                       "YOUR_SECRET_KEY').")
        account = self._accounts.get(key.strip())
        if account is None:
            raise FakeStripeError(401, f"Invalid API Key provided: {_masked(key.strip())}", code="api_key_invalid")
        return account

    def _raise_planned_failure(self, method: str, path: str) -> None:
        for index, (failing_method, prefix, status) in enumerate(self._failures):
            if failing_method == method and path.startswith(prefix):
                del self._failures[index]
                kind = "api_error" if status >= 500 else "invalid_request_error"
                raise FakeStripeError(status, f"A failure planned by the test ({method} {path}).", kind=kind)

    def _route(self, method: str, path: str) -> tuple[Callable[[_Account, Json, str], Json], str]:
        for route_method, pattern, handler in self._routes:
            match = pattern.fullmatch(path)
            if route_method == method and match:
                return handler, (match.group(1) if pattern.groups else "")
        raise FakeStripeError(404, f"Unrecognized request URL ({method}: {path}).")

    def _idempotent(self, account: _Account, key: str, request: str, params: Json,
                    run: Callable[[], _Reply]) -> _Reply:
        seen = account.idempotent.get(key)
        if seen is None:
            reply = run()
            if reply.status < 500:
                account.idempotent[key] = (request, copy.deepcopy(params), reply)
            return reply
        first_request, first_params, reply = seen
        if first_request != request or first_params != params:
            raise FakeStripeError(400, "Keys for idempotent requests can only be used with the same parameters they "
                                       f"were first used with. Try using a key other than '{key}' if you meant to "
                                       "execute a different request.", kind="idempotency_error")
        return _Reply(reply.status, reply.body, reply.content_type, (*reply.headers, ("Idempotent-Replayed", "true")))

    def _api_account(self, account: _Account, params: Json, object_id: str) -> Json:
        slug = re.sub(r"[^a-z0-9]+", "", account.name.lower()) or "studio"
        return {"id": account.id, "object": "account", "business_profile": {"name": account.name},
                "settings": {"dashboard": {"display_name": account.name}}, "email": f"billing@{slug}.example",
                "charges_enabled": True, "payouts_enabled": True, "details_submitted": True, "type": "standard",
                "country": "GB", "default_currency": "gbp", "created": _now() - 86400}

    def _api_get_session(self, account: _Account, params: Json, object_id: str) -> Json:
        return copy.deepcopy(self._owned(account, object_id, "cs_"))

    def _api_get_intent(self, account: _Account, params: Json, object_id: str) -> Json:
        return copy.deepcopy(self._owned(account, object_id, "pi_"))

    def _api_get_charge(self, account: _Account, params: Json, object_id: str) -> Json:
        return copy.deepcopy(self._owned(account, object_id, "ch_"))

    def _api_expire_session(self, account: _Account, params: Json, object_id: str) -> Json:
        return self._expire(self._owned(account, object_id, "cs_"))

    def _owned(self, account: _Account, object_id: str, prefix: str | None = None) -> Json:
        """The object ``object_id`` (of the kind ``prefix`` if given) of ``account``; else 404 ``resource_missing``."""
        kind = prefix or next((start for start in KINDS if object_id.startswith(start)), None)
        name, param = KINDS.get(kind or "", ("object", "id"))
        obj = self._store(kind).get(object_id) if kind else None
        if obj is None or self._owners.get(object_id) != account.secret_key:
            raise FakeStripeError(404, f"No such {name}: '{object_id}'", param=param, code="resource_missing")
        return obj

    def _store(self, prefix: str) -> dict[str, Json]:
        return {"cs_": self.sessions, "pi_": self._intents, "ch_": self._charges,
                "txn_": self._balance_transactions}[prefix]

    def _expand_all(self, account: _Account, result: Json, expand: Any) -> None:
        if expand is None:
            return
        if not isinstance(expand, list) or not all(isinstance(path, str) for path in expand):
            raise FakeStripeError(400, "Invalid array", param="expand")
        for path in expand:
            self._expand(account, result, path.split("."))

    def _expand(self, account: _Account, obj: Json, path: list[str]) -> None:
        name, rest = path[0], path[1:]
        if name == "data" and obj.get("object") == "list":
            for item in obj["data"]:
                self._expand(account, item, rest)
            return
        if name not in EXPANDABLE or name not in obj:
            raise FakeStripeError(400, f"This property cannot be expanded ({name}).", param="expand")
        value = obj[name]
        if isinstance(value, str):
            value = obj[name] = copy.deepcopy(self._owned(account, value))
        if rest and isinstance(value, dict):
            self._expand(account, value, rest)

    # Checkout Sessions

    def _api_create_session(self, account: _Account, params: Json, object_id: str) -> Json:
        unknown = sorted(set(params) - SESSION_PARAMS - IGNORED_SESSION_PARAMS)
        if unknown:
            raise FakeStripeError(400, f"Received unknown parameter: {unknown[0]}", param=unknown[0])
        if params.get("mode") != "payment":
            raise _missing("mode") if "mode" not in params else FakeStripeError(
                400, f"Invalid mode: {params['mode']} (this fake takes mode=payment only)", param="mode")
        ui_mode = _ui_mode(params.get("ui_mode", "hosted_page"))
        lines = _line_items(params.get("line_items"))
        currency = _one_currency(params["line_items"])
        _check_urls(ui_mode, params)
        total = sum(line["amount_total"] for line in lines)
        if total < MINIMUM_CHARGE.get(currency, 50):
            raise FakeStripeError(400, f"The Checkout Session's total amount due must add up to at least "
                                       f"{_money(MINIMUM_CHARGE.get(currency, 50), currency)}.", param="line_items")
        created = _now()
        session = _new_session(params, ui_mode, currency, total, created, _expires_at(params.get("expires_at"), created))
        if ui_mode == "hosted":
            session["url"] = f"{self.url}/pay/{session['id']}"
        else:
            session["client_secret"] = f"{session['id']}_secret_{_token(24)}"
        self.sessions[session["id"]] = session
        self._owners[session["id"]] = account.secret_key
        self._lines[session["id"]] = lines
        self._intent_metadata[session["id"]] = dict((params.get("payment_intent_data") or {}).get("metadata") or {})
        return copy.deepcopy(session)

    def _api_list_sessions(self, account: _Account, params: Json, object_id: str) -> Json:
        limit = _integer(params.get("limit", 10), "limit", minimum=1)
        if limit > 100:
            raise FakeStripeError(400, "Invalid limit: must be at most 100", param="limit")
        newest_first = [session for session in reversed(self.sessions.values())
                        if self._owners[session["id"]] == account.secret_key]
        after = params.get("starting_after")
        if after:
            position = newest_first.index(self._owned(account, after, "cs_"))
            newest_first = newest_first[position + 1:]
        found = [session for session in newest_first if _matches(session, params)]
        return {"object": "list", "data": copy.deepcopy(found[:limit]), "has_more": len(found) > limit,
                "url": "/v1/checkout/sessions"}

    def _session(self, session_id: str) -> Json:
        session = self.sessions.get(session_id)
        if session is None:
            raise FakeStripeError(404, f"No such checkout.session: '{session_id}'", param="session",
                                  code="resource_missing")
        return session

    def _account_of(self, object_id: str) -> _Account:
        return self._accounts[self._owners[object_id]]

    def _expire(self, session: Json) -> Json:
        if session["status"] != "open":
            raise FakeStripeError(400, f"Only Checkout Sessions with a status in [\"open\"] can be expired "
                                       f"({session['id']} is {session['status']}).", param="session")
        session.update(status="expired", url=None)
        self._emit(self._account_of(session["id"]), "checkout.session.expired", session)
        return copy.deepcopy(session)

    def _complete(self, session_id: str, asynchronous: bool) -> Json:
        session = self._session(session_id)
        if session["status"] != "open":
            raise FakeStripeError(409, f"This Checkout Session is {session['status']}; only an open one can be paid.",
                                  param="session")
        account = self._account_of(session_id)
        intent = self._new_payment(account, session, asynchronous)
        session.update(status="complete", payment_status="unpaid" if asynchronous else "paid",
                       payment_intent=intent["id"], url=None,
                       customer_details={"email": session["customer_email"], "name": "Test Payer"})
        self._emit(account, "checkout.session.completed", session)
        return copy.deepcopy(session)

    def _settle(self, session_id: str, succeeded: bool) -> Json:
        session = self._session(session_id)
        intent = self._intents.get(session["payment_intent"] or "")
        if intent is None or intent["status"] != "processing":
            raise FakeStripeError(400, f"{session_id} has no asynchronous payment still processing.", param="session")
        account = self._account_of(session_id)
        charge = self._charges[intent["latest_charge"]]
        if succeeded:
            transaction = self._new_balance_transaction(account, charge)
            charge.update(status="succeeded", paid=True, balance_transaction=transaction["id"])
            intent.update(status="succeeded", amount_received=intent["amount"])
            session["payment_status"] = "paid"
        else:
            charge.update(status="failed", failure_code="debit_not_authorized",
                          failure_message="The customer's bank refused the debit.")
            intent.update(status="requires_payment_method")
        outcome = "succeeded" if succeeded else "failed"
        self._emit(account, f"checkout.session.async_payment_{outcome}", session)
        return copy.deepcopy(session)

    def _refund(self, session_id: str, amount: int | None) -> Json:
        session = self._session(session_id)
        intent = self._intents.get(session["payment_intent"] or "")
        charge = self._charges.get(intent["latest_charge"]) if intent else None
        if charge is None or charge["status"] != "succeeded":
            raise FakeStripeError(400, f"{session_id} has no succeeded charge to refund.", param="charge")
        remaining = charge["amount"] - charge["amount_refunded"]
        if remaining == 0:
            raise FakeStripeError(400, f"Charge {charge['id']} has already been refunded.", param="charge",
                                  code="charge_already_refunded")
        amount = remaining if amount is None else amount
        if amount <= 0:
            raise FakeStripeError(400, "Invalid positive integer", param="amount")
        if amount > remaining:
            raise FakeStripeError(400, f"Refund amount ({_money(amount, charge['currency'])}) is greater than "
                                       f"unrefunded amount on charge ({_money(remaining, charge['currency'])})",
                                  param="amount")
        charge["amount_refunded"] += amount
        charge["refunded"] = charge["amount_refunded"] == charge["amount"]
        account = self._account_of(session_id)
        self._emit(account, "charge.refunded", charge)
        return {"id": _new_id("re"), "object": "refund", "amount": amount, "charge": charge["id"], "created": _now(),
                "currency": charge["currency"], "metadata": {}, "payment_intent": charge["payment_intent"],
                "reason": None, "status": "succeeded"}

    def _new_payment(self, account: _Account, session: Json, asynchronous: bool) -> Json:
        """A payment intent and its charge for the session's total (processing when ``asynchronous``)."""
        amount, currency, created = session["amount_total"], session["currency"], _now()
        intent_id, charge_id = _new_id("pi"), _new_id("ch")
        charge = {"id": charge_id, "object": "charge", "amount": amount, "amount_captured": amount,
                  "amount_refunded": 0, "balance_transaction": None, "captured": True, "created": created,
                  "currency": currency, "livemode": False, "metadata": {}, "paid": not asynchronous,
                  "payment_intent": intent_id, "refunded": False, "failure_code": None, "failure_message": None,
                  "status": "pending" if asynchronous else "succeeded"}
        if not asynchronous:
            charge["balance_transaction"] = self._new_balance_transaction(account, charge)["id"]
        intent = {"id": intent_id, "object": "payment_intent", "amount": amount,
                  "amount_received": 0 if asynchronous else amount, "currency": currency, "created": created,
                  "latest_charge": charge_id, "livemode": False,
                  "metadata": dict(self._intent_metadata.get(session["id"], {})),
                  "status": "processing" if asynchronous else "succeeded"}
        self._charges[charge_id], self._intents[intent_id] = charge, intent
        self._owners[charge_id] = self._owners[intent_id] = account.secret_key
        return intent

    def _new_balance_transaction(self, account: _Account, charge: Json) -> Json:
        fee = _fee(charge["amount"])
        transaction = {"id": _new_id("txn"), "object": "balance_transaction", "amount": charge["amount"],
                       "created": _now(), "currency": charge["currency"], "fee": fee, "net": charge["amount"] - fee,
                       "source": charge["id"], "status": "pending", "type": "charge"}
        self._balance_transactions[transaction["id"]] = transaction
        self._owners[transaction["id"]] = account.secret_key
        return transaction

    # The hosted Checkout page

    def _handle_page(self, method: str, session_id: str) -> _Reply:
        """``GET /pay/{id}`` shows the session; ``POST`` pays it and redirects to its success (or return) URL.

        Embedded sessions have no ``url`` but can be paid here too, standing in for Stripe.js.
        """
        if method == "POST":
            return self._pay(session_id)
        with self._lock:
            session = self.sessions.get(session_id)
            if session is None:
                return _html_reply(404, "Not found", "<h1>No such Checkout Session</h1>")
            if session["status"] != "open":
                return _not_open_page(session)
            return self._checkout_page(session)

    def _checkout_page(self, session: Json) -> _Reply:
        name = html.escape(self._account_of(session["id"]).name)
        rows = "\n".join(
            f"<tr><td>{html.escape(line['name'])}</td><td>{line['quantity']}</td>"
            f"<td>{_money(line['amount_total'], session['currency'])}</td></tr>" for line in self._lines[session["id"]])
        cancel = (f'<p><a href="{html.escape(session["cancel_url"])}" data-testid="cancel">Cancel</a></p>'
                  if session.get("cancel_url") else "")
        body = (f"<h1>{name}</h1>\n<table>\n<thead><tr><th>Item</th><th>Quantity</th><th>Amount</th></tr></thead>\n"
                f"<tbody>\n{rows}\n</tbody>\n</table>\n"
                f'<p>Total: <strong data-testid="total">{_money(session["amount_total"], session["currency"])}</strong></p>\n'
                f'<form method="post" action="/pay/{html.escape(session["id"])}">'
                f'<button type="submit" data-testid="pay">Pay</button></form>\n{cancel}')
        return _html_reply(200, f"Pay {self._account_of(session['id']).name}", body)

    def _pay(self, session_id: str) -> _Reply:
        try:
            session = self.complete(session_id)
        except FakeStripeError as error:
            if error.status == 404:
                return _html_reply(404, "Not found", "<h1>No such Checkout Session</h1>")
            with self._lock:
                return _not_open_page(self.sessions[session_id])
        target = session.get("success_url") or session.get("return_url")
        if not target:
            return _html_reply(200, "Paid", "<h1>Payment complete</h1>")
        location = target.replace("{CHECKOUT_SESSION_ID}", session_id)
        return _Reply(303, b"", "text/plain", (("Location", location),))


def _not_open_page(session: Json) -> _Reply:
    status = html.escape(session["status"])
    return _html_reply(409, "Checkout Session not open",
                       f'<h1>This checkout session is {status}</h1>\n<p data-testid="status">{status}</p>')


def _ui_mode(value: Any) -> str:
    if value not in UI_MODES:
        raise FakeStripeError(400, f"Invalid ui_mode: must be one of {', '.join(UI_MODES)}", param="ui_mode")
    return UI_MODES[value]


def _line_items(items: Any) -> list[Json]:
    """The lines of ``line_items`` (each with ``price_data``), checked as Stripe does."""
    if not items:
        raise FakeStripeError(400, "You must provide at least one line item (`line_items`).", param="line_items",
                              code="parameter_missing")
    if not isinstance(items, list):
        raise FakeStripeError(400, "Invalid array", param="line_items")
    return [_line(item, f"line_items[{index}]") for index, item in enumerate(items)]


def _line(item: Any, param: str) -> Json:
    if not isinstance(item, dict):
        raise FakeStripeError(400, "Invalid object", param=param)
    price = item.get("price_data")
    if not isinstance(price, dict):
        raise _missing(f"{param}[price_data]")
    for key in ("currency", "unit_amount"):
        if key not in price:
            raise _missing(f"{param}[price_data][{key}]")
    name = (price.get("product_data") or {}).get("name") if isinstance(price.get("product_data"), dict) else None
    if not name:
        raise _missing(f"{param}[price_data][product_data][name]")
    if "quantity" not in item:
        raise _missing(f"{param}[quantity]")
    unit_amount = _integer(price["unit_amount"], f"{param}[price_data][unit_amount]")
    quantity = _integer(item["quantity"], f"{param}[quantity]", minimum=1)
    return {"name": name, "quantity": quantity, "unit_amount": unit_amount, "amount_total": unit_amount * quantity}


def _one_currency(items: list[Json]) -> str:
    currencies = [str(item["price_data"]["currency"]).lower() for item in items]
    for index, currency in enumerate(currencies):
        if currency != currencies[0]:
            raise FakeStripeError(400, "All line items must use the same currency; "
                                       f"found {currencies[0]} and {currency}.",
                                  param=f"line_items[{index}][price_data][currency]")
    return currencies[0]


def _check_urls(ui_mode: str, params: Json) -> None:
    if ui_mode == "hosted":
        if not params.get("success_url"):
            raise _missing("success_url")
        if params.get("return_url"):
            raise FakeStripeError(400, "You cannot specify `return_url` when `ui_mode` is hosted.", param="return_url")
        return
    for param in ("success_url", "cancel_url"):
        if params.get(param):
            raise FakeStripeError(400, f"You cannot specify `{param}` when `ui_mode` is embedded.", param=param)
    if not params.get("return_url") and params.get("redirect_on_completion") != "never":
        raise _missing("return_url")


def _expires_at(value: Any, created: int) -> int:
    if value is None:
        return created + DEFAULT_LIFETIME_SECONDS
    expires_at = _integer(value, "expires_at")
    if not created + MIN_LIFETIME_SECONDS <= expires_at <= created + DEFAULT_LIFETIME_SECONDS:
        raise FakeStripeError(400, "The `expires_at` timestamp must be between 30 minutes and 24 hours from "
                                   "Checkout Session creation.", param="expires_at")
    return expires_at


def _new_session(params: Json, ui_mode: str, currency: str, total: int, created: int, expires_at: int) -> Json:
    return {"id": _new_id("cs_test", 58), "object": "checkout.session", "livemode": False, "created": created,
            "mode": "payment", "ui_mode": params.get("ui_mode", "hosted_page"), "status": "open", "payment_status": "unpaid",
            "amount_subtotal": total, "amount_total": total, "currency": currency,
            "total_details": {"amount_discount": 0, "amount_shipping": 0, "amount_tax": 0},
            "url": None, "client_secret": None, "metadata": dict(params.get("metadata") or {}),
            "customer_email": params.get("customer_email"), "client_reference_id": params.get("client_reference_id"),
            "customer_details": None, "payment_intent": None, "expires_at": expires_at,
            "success_url": params.get("success_url"), "cancel_url": params.get("cancel_url"),
            "return_url": params.get("return_url")}


def _matches(session: Json, params: Json) -> bool:
    """Whether ``session`` passes the list filters ``status`` and ``created`` (a time or gt/gte/lt/lte)."""
    if params.get("status") and session["status"] != params["status"]:
        return False
    created = params.get("created")
    if created is None:
        return True
    bounds = created if isinstance(created, dict) else {"eq": created}
    checks = {"eq": int.__eq__, "gt": int.__gt__, "gte": int.__ge__, "lt": int.__lt__, "lte": int.__le__}
    for name, bound in bounds.items():
        if name not in checks:
            raise FakeStripeError(400, f"Received unknown parameter: created[{name}]", param=f"created[{name}]")
        if not checks[name](session["created"], _integer(bound, f"created[{name}]")):
            return False
    return True


class _Handler(BaseHTTPRequestHandler):
    """Routes ``/v1/...`` to the API and ``/pay/{id}`` to the hosted page of ``fake``."""

    fake: FakeStripe
    server_version = "stripe-fake"

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_DELETE(self) -> None:
        self._handle("DELETE")

    def log_message(self, format: str, *args: Any) -> None:
        return None

    def _handle(self, method: str) -> None:
        parts = urlsplit(self.path)
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
        try:
            if parts.path.startswith("/v1/"):
                reply = self._api(method, parts.path, parts.query if method != "POST" else body)
            elif parts.path.startswith("/pay/") and method in ("GET", "POST"):
                reply = self.fake._handle_page(method, parts.path.removeprefix("/pay/"))
            else:
                reply = _html_reply(404, "Not found", "<h1>Not found</h1>")
        except Exception as exc:
            reply = _error_reply(FakeStripeError(500, f"The fake Stripe failed: {exc!r}", kind="api_error"))
        self._send(reply)

    def _api(self, method: str, path: str, encoded: str) -> _Reply:
        try:
            params = parse_params(parse_qsl(encoded, keep_blank_values=True))
        except FakeStripeError as error:
            return _error_reply(error)
        headers = {name.lower(): value for name, value in self.headers.items()}
        return self.fake._handle_api(method, path, params, headers)

    def _send(self, reply: _Reply) -> None:
        self.send_response(reply.status)
        self.send_header("Content-Type", reply.content_type)
        self.send_header("Content-Length", str(len(reply.body)))
        self.send_header("Request-Id", _new_id("req", 14))
        for name, value in reply.headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(reply.body)
