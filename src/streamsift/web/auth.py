"""Annotators: password hashes (scrypt, stdlib), the user table from settings, CSRF tokens."""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import secrets
from dataclasses import dataclass

from streamsift.config import WebSettings
from streamsift.errors import ConfigError

log = logging.getLogger(__name__)

_N, _R, _P = 2**14, 8, 1


def hash_password(password: str, *, salt: bytes | None = None) -> str:
    """``scrypt$N$r$p$salt$hash`` (base64); store this in ``web.users``."""
    if not password:
        raise ValueError("empty password")
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=_N, r=_R, p=_P, dklen=32)
    b64 = base64.urlsafe_b64encode
    return f"scrypt${_N}${_R}${_P}${b64(salt).decode()}${b64(digest).decode()}"


def verify_password(password: str, stored: str) -> bool:
    try:
        _, n, r, p, salt_b64, hash_b64 = stored.split("$")
        salt, expected = base64.urlsafe_b64decode(salt_b64), base64.urlsafe_b64decode(hash_b64)
        got = hashlib.scrypt(password.encode(), salt=salt, n=int(n), r=int(r), p=int(p), dklen=len(expected))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got, expected)


@dataclass
class UserStore:
    """The annotators who may log in."""

    hashes: dict[str, str]
    generated_password: str | None = None  # development mode without users: printed once at start

    def check(self, user: str, password: str) -> bool:
        stored = self.hashes.get(user)
        if stored is None:
            hash_password("x" * 12)  # same work either way: no user-name oracle through timing
            return False
        return verify_password(password, stored)


def user_store(web: WebSettings) -> UserStore:
    if web.users:
        return UserStore(dict(web.users))
    if web.mode == "production":
        raise ConfigError(
            "web.mode is production but no annotators are configured",
            hint="set web.users (hashes from `streamsift web hash-password`)",
        )
    password = secrets.token_urlsafe(12)
    return UserStore({"admin": hash_password(password)}, generated_password=password)


def session_secret(web: WebSettings) -> str:
    if web.secret_key is not None:
        return web.secret_key.get_secret_value()
    if web.mode == "production":
        raise ConfigError("web.mode is production but no session secret is set", hint="set STREAMSIFT_WEB__SECRET_KEY")
    return secrets.token_urlsafe(32)


def new_csrf_token() -> str:
    return secrets.token_urlsafe(32)


def same_token(a: str | None, b: str | None) -> bool:
    return bool(a) and bool(b) and hmac.compare_digest(str(a), str(b))
