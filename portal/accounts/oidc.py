"""Sign in with Google (OpenID Connect, authorization code flow) through authlib.

authlib has no Litestar integration, so its async OAuth2 and OpenID mixins are composed
with ``AsyncOAuth2Client`` here. The flow's secrets (state, nonce, PKCE verifier) travel
in a short-lived HMAC-signed, HttpOnly cookie: several worker processes serve one
browser, so nothing is kept in process memory except the provider's discovery document
and keys. A verified Google email only gets in when it belongs to an invited person;
the account is then linked by issuer + subject, and the link is what counts next time.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import warnings
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass

import httpx
from authlib.common.errors import AuthlibBaseError
from authlib.deprecate import AuthlibDeprecationWarning
from authlib.integrations.base_client import BaseApp
from authlib.integrations.base_client.async_app import AsyncOAuth2Mixin
from authlib.integrations.base_client.async_openid import AsyncOpenIDMixin
from joserfc.errors import JoseError
from litestar import Request
from piccolo.columns.combination import WhereRaw

from portal.accounts.grants import access_state
from portal.accounts.tables import ClientUser, StaffMember
from portal.audit.services import record
from portal.settings import Settings

with warnings.catch_warnings():
    # authlib 1.9 prefers the "httpx2" package and warns once when it falls back to httpx.
    warnings.simplefilter("ignore", AuthlibDeprecationWarning)
    from authlib.integrations.httpx_client import AsyncOAuth2Client

SCOPE = "openid email profile"
FLOW_SECONDS = 600
METADATA_SECONDS = 3600
#: Google documents both spellings of its issuer in ID tokens.
ISSUER_ALIASES = {"https://accounts.google.com": ["https://accounts.google.com", "accounts.google.com"]}


class SignInRefused(Exception):
    """Google sign-in ends here: no session. ``reason`` is for the audit log and the page."""

    STATUS = {"flow_expired": 400, "state_mismatch": 400, "provider_error": 400, "provider_unavailable": 502,
              "token_exchange_failed": 502}

    def __init__(self, reason: str, *, email: str = "", detail: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.email = email
        self.detail = detail

    @property
    def status_code(self) -> int:
        return self.STATUS.get(self.reason, 403)


@dataclass(frozen=True)
class Identity:
    """Who the provider vouches for, after every check on the ID token."""

    issuer: str
    subject: str
    email: str


@dataclass(frozen=True)
class Person:
    """Whom to sign in (the shape ``_sign_in`` takes)."""

    workspace_id: int
    staff_id: int | None
    client_user_id: int | None
    linked_now: bool = False


class _OpenIDApp(AsyncOAuth2Mixin, AsyncOpenIDMixin, BaseApp):
    client_cls = AsyncOAuth2Client


_APPS: dict[tuple[str, str, str | None], _OpenIDApp] = {}


@dataclass(frozen=True)
class Flow:
    """One sign-in attempt, from the redirect to the provider until its callback."""

    state: str
    nonce: str
    code_verifier: str
    redirect_uri: str
    area: str  # "studio" or "portal:<workspace id>": a flow finishes where it started
    started: int


def enabled(settings: Settings) -> bool:
    return bool(settings.google_client_id)


def flow_cookie_name(settings: Settings) -> str:
    return "__Host-portal_oidc" if settings.is_https else "portal_oidc"


def _provider(settings: Settings) -> _OpenIDApp:
    """The per-process client for the configured provider (discovery and keys cached)."""
    key = (settings.google_discovery_url, settings.google_client_id or "", settings.google_client_secret)
    app = _APPS.get(key)
    if app is None:
        app = _APPS[key] = _OpenIDApp(
            None,
            name="google",
            client_id=settings.google_client_id,
            client_secret=settings.google_client_secret,
            server_metadata_url=settings.google_discovery_url,
            client_kwargs={"scope": SCOPE, "code_challenge_method": "S256", "timeout": 10.0},
        )
    loaded = app.server_metadata.get("_loaded_at")
    if loaded and time.time() - loaded > METADATA_SECONDS:
        app.server_metadata.clear()  # providers rotate keys: fetch discovery and JWKS again
    return app


def _signature(settings: Settings, payload: str) -> str:
    message = f"oidc-flow\n{payload}".encode()
    return hmac.new(settings.secret_key.encode(), message, hashlib.sha256).hexdigest()


def encode_flow(settings: Settings, flow: Flow) -> str:
    payload = base64.urlsafe_b64encode(json.dumps(asdict(flow)).encode()).decode().rstrip("=")
    return f"{payload}.{_signature(settings, payload)}"


def decode_flow(settings: Settings, raw: str | None, area: str) -> Flow | None:
    """The flow in the cookie if it is ours, unexpired and started in ``area``."""
    if not raw or raw.count(".") != 1 or len(raw) > 4000:
        return None
    payload, signature = raw.split(".")
    if not hmac.compare_digest(signature.encode(), _signature(settings, payload).encode()):
        return None
    try:
        flow = Flow(**json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))))
    except (ValueError, TypeError):
        return None
    if flow.area != area or not 0 <= time.time() - flow.started <= FLOW_SECONDS:
        return None
    return flow


async def begin(settings: Settings, *, area: str, callback_path: str, origin: str = "") -> tuple[str, str]:
    """Start a flow: the provider's authorization URL and the signed flow cookie value.

    ``origin`` is where the callback is (a portal's custom domain; default the base URL).
    authlib generates the state, the nonce and the PKCE verifier (challenge S256).
    """
    redirect_uri = (origin or settings.base_url) + callback_path
    try:
        created = await _provider(settings).create_authorization_url(redirect_uri)
    except (AuthlibBaseError, httpx.HTTPError, ValueError, KeyError, RuntimeError) as exc:
        raise SignInRefused("provider_unavailable", detail=type(exc).__name__) from exc
    flow = Flow(created["state"], created["nonce"], created["code_verifier"], redirect_uri, area, int(time.time()))
    return created["url"], encode_flow(settings, flow)


async def _identity(settings: Settings, flow: Flow, code: str) -> Identity:
    """Exchange the code (with the PKCE verifier) and validate the ID token."""
    provider = _provider(settings)
    try:
        token = await provider.fetch_access_token(
            redirect_uri=flow.redirect_uri, code=code, code_verifier=flow.code_verifier
        )
        issuer = (await provider.load_server_metadata()).get("issuer")
    except (AuthlibBaseError, httpx.HTTPError, ValueError, KeyError) as exc:
        raise SignInRefused("token_exchange_failed", detail=str(exc)[:200]) from exc
    if not issuer or "id_token" not in token:
        raise SignInRefused("invalid_id_token", detail="no issuer or no id_token")
    options = {
        "iss": {"essential": True, "values": ISSUER_ALIASES.get(issuer, [issuer])},
        "aud": {"essential": True, "value": settings.google_client_id},
        "sub": {"essential": True},
        "exp": {"essential": True},
        "nonce": {"essential": True, "value": flow.nonce},
    }
    try:
        # Signature against the provider's JWKS (refetched once on an unknown key id).
        claims = await provider.parse_id_token(token, nonce=flow.nonce, claims_options=options, leeway=60)
    except (JoseError, AuthlibBaseError, httpx.HTTPError, ValueError) as exc:
        raise SignInRefused("invalid_id_token", detail=f"{type(exc).__name__}: {exc}"[:200]) from exc
    email = str(claims.get("email") or "").strip().lower()
    if not email or claims.get("email_verified") not in (True, "true"):
        raise SignInRefused("email_not_verified", email=email)
    return Identity(issuer=issuer, subject=str(claims["sub"]), email=email)


async def complete(
    settings: Settings,
    request: Request,
    *,
    flow_cookie: str | None,
    area: str,
    workspace_id: int | None,
    code: str | None,
    state: str | None,
    error: str | None,
) -> Person:
    """Finish a callback: the invited person to sign in, or ``SignInRefused`` (audited)."""
    try:
        flow = decode_flow(settings, flow_cookie, area)
        if flow is None:
            raise SignInRefused("flow_expired")
        if error:
            raise SignInRefused("provider_error", detail=error[:100])
        # Constant-time: the state is the only thing tying this callback to this browser.
        if not state or not code or not hmac.compare_digest(state.encode(), flow.state.encode()):
            raise SignInRefused("state_mismatch")
        identity = await _identity(settings, flow, code)
        if workspace_id is None:
            person = await staff_for(identity)
        else:
            person = await client_for(workspace_id, identity)
    except SignInRefused as refusal:
        await record("login_failed", workspace_id=workspace_id, actor_email=refusal.email, request=request,
                     reason=refusal.reason, method="google", detail=refusal.detail, area=area.split(":")[0])
        raise
    await record("login_google", workspace_id=person.workspace_id, actor_email=identity.email, request=request,
                 target_type="staff" if person.staff_id else "client_user",
                 target_id=person.staff_id or person.client_user_id, linked_now=person.linked_now)
    return person


# Finding the invited person


def _email_is(email: str) -> WhereRaw:
    # Exact, case-insensitive match (LIKE would treat "_" and "%" in addresses as wildcards).
    return WhereRaw("lower(email) = {}", email.lower())


async def _link(table: type[ClientUser] | type[StaffMember], row_id: int, identity: Identity) -> bool:
    """Link the account to a person who has none yet; False if someone linked it first."""
    await table.update({table.oidc_issuer: identity.issuer, table.oidc_subject: identity.subject}).where(
        table.id == row_id, table.oidc_subject.is_null()
    )
    row = await table.select(table.oidc_issuer, table.oidc_subject).where(table.id == row_id).first()
    return bool(row) and (row["oidc_issuer"], row["oidc_subject"]) == (identity.issuer, identity.subject)


async def _match(
    table: type[ClientUser] | type[StaffMember],
    scope: list,
    identity: Identity,
    may_enter: Callable[[int], Awaitable[bool]],
) -> tuple[dict, bool]:
    """The active person already linked to this account, else the invited one to link now."""
    linked = await table.select(table.id, table.workspace, table.active).where(
        *scope, table.oidc_issuer == identity.issuer, table.oidc_subject == identity.subject
    ).order_by(table.id).first()
    if linked is not None:
        if not linked["active"] or not await may_enter(linked["id"]):
            raise SignInRefused("not_invited", email=identity.email, detail="linked person may not enter")
        return linked, False
    invited = await table.select(table.id, table.workspace, table.oidc_subject).where(
        *scope, table.active == True, _email_is(identity.email)  # noqa: E712
    ).order_by(table.id)
    invited = [row for row in invited if await may_enter(row["id"])]
    if not invited:
        raise SignInRefused("not_invited", email=identity.email)
    unlinked = [row for row in invited if row["oidc_subject"] is None]
    # An invitation already linked to another Google account is never re-linked.
    if not unlinked or not await _link(table, unlinked[0]["id"], identity):
        raise SignInRefused("linked_to_other_account", email=identity.email)
    return unlinked[0], True


async def client_for(workspace_id: int, identity: Identity) -> Person:
    """The active client user of this workspace with a live grant, linked to ``identity``."""

    async def has_live_grant(client_user_id: int) -> bool:
        return (await access_state(workspace_id, client_user_id)).live

    row, linked_now = await _match(ClientUser, [ClientUser.workspace == workspace_id], identity, has_live_grant)
    return Person(workspace_id, None, row["id"], linked_now)


async def staff_for(identity: Identity) -> Person:
    """The active staff member linked to ``identity`` (linked now if invited by email)."""

    async def anyone(staff_id: int) -> bool:
        return True

    row, linked_now = await _match(StaffMember, [], identity, anyone)
    return Person(row["workspace"], row["id"], None, linked_now)
