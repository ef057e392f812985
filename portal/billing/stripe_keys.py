"""A workspace's Stripe keys: checked, encrypted at rest, shown masked.

The secret key and the webhook signing secret are encrypted with Fernet (AES-128-CBC and
HMAC-SHA256, from the ``cryptography`` package) under a key derived with HKDF-SHA256 from
the app secret (``PORTAL_SECRET_KEY``). Rotating the app secret makes stored keys
unreadable: Settings -> Payments then says so and asks for them again (README, "Rotating
the secret key"). The publishable key is public by design and stored as it is.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from portal.errors import Invalid

SECRET_KEY = re.compile(r"(sk|rk)_(test|live)_[A-Za-z0-9]{10,200}")
PUBLISHABLE_KEY = re.compile(r"pk_(test|live)_[A-Za-z0-9]{10,200}")
WEBHOOK_SECRET = re.compile(r"whsec_[A-Za-z0-9+/=]{10,200}")
CHECKOUT_MODES = ("embedded", "hosted")


class KeysUnreadable(Exception):
    """A stored key was encrypted under another app secret."""


def _fernet(app_secret: str) -> Fernet:
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"portal stripe keys v1").derive(
        app_secret.encode()
    )
    return Fernet(base64.urlsafe_b64encode(derived))


def encrypt(app_secret: str, value: str) -> str:
    return _fernet(app_secret).encrypt(value.encode()).decode() if value else ""


def decrypt(app_secret: str, token: str) -> str:
    if not token:
        return ""
    try:
        return _fernet(app_secret).decrypt(token.encode()).decode()
    except InvalidToken:
        raise KeysUnreadable("The stored Stripe keys were saved under another secret key.") from None


def mask(last4: str, live: bool) -> str:
    return f"sk_{'live' if live else 'test'}_••••{last4}" if last4 else ""


@dataclass(frozen=True)
class KeysInput:
    """What Settings -> Payments (or ``portal stripe set``) submits; an empty secret keeps the stored one."""

    secret_key: str = ""
    publishable_key: str = ""
    webhook_secret: str = ""
    checkout: str = "embedded"


def clean(keys: KeysInput, *, has_secret: bool, has_webhook_secret: bool) -> KeysInput:
    """The trimmed input, or ``Invalid`` naming each bad field; test and live keys never mix."""
    secret = keys.secret_key.strip()
    publishable = keys.publishable_key.strip()
    webhook = keys.webhook_secret.strip()
    errors: dict[str, str] = {}
    if secret and not SECRET_KEY.fullmatch(secret):
        errors["secret_key"] = "A secret key starts with sk_test_ or sk_live_ (or rk_ for a restricted key)."
    elif not secret and not has_secret:
        errors["secret_key"] = "Enter the secret key from Stripe's Developers -> API keys page."
    if not PUBLISHABLE_KEY.fullmatch(publishable):
        errors["publishable_key"] = "A publishable key starts with pk_test_ or pk_live_."
    if webhook and not WEBHOOK_SECRET.fullmatch(webhook):
        errors["webhook_secret"] = "A webhook signing secret starts with whsec_."
    elif not webhook and not has_webhook_secret:
        errors["webhook_secret"] = "Enter the signing secret of the webhook endpoint above (it starts with whsec_)."
    if keys.checkout not in CHECKOUT_MODES:
        errors["checkout"] = "Choose embedded or hosted Checkout."
    if secret and "secret_key" not in errors and "publishable_key" not in errors:
        if ("_live_" in secret) != ("_live_" in publishable):
            errors["publishable_key"] = "Use the test keys together, or the live keys together."
    if errors:
        raise Invalid(errors)
    return KeysInput(secret, publishable, webhook, keys.checkout)
