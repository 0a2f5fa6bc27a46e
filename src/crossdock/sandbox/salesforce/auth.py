"""OAuth 2.0 for the sandbox org: the client-credentials and JWT-bearer grants, and bearer-token sessions.

Answers follow Salesforce's token endpoint: `{"access_token", "instance_url", "id", "token_type": "Bearer",
"issued_at", "signature", "scope"}` on success, `400 {"error", "error_description"}` otherwise.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from crossdock.sandbox.salesforce.store import Store, Token

JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
LOGIN_AUDIENCES = ("https://login.salesforce.com", "https://test.salesforce.com")


class OAuthError(Exception):
    """A refused token request: `{"error": ..., "error_description": ...}` with HTTP 400."""

    def __init__(self, error: str, description: str) -> None:
        super().__init__(f"{error}: {description}")
        self.error = error
        self.description = description

    def body(self) -> dict[str, str]:
        """The JSON body of the refusal."""
        return {"error": self.error, "error_description": self.description}


@dataclass(frozen=True, slots=True)
class AuthConfig:
    """The connected app and its integration user."""

    client_id: str
    client_secret: str
    username: str
    jwt_public_key: str | None = None
    token_ttl_s: int = 7200


class Authority:
    """Issues and checks access tokens for one connected app."""

    def __init__(self, store: Store, config: AuthConfig, *, org_id: str, user_id: str) -> None:
        self.store = store
        self.config = config
        self.org_id = org_id
        self.user_id = user_id

    def grant(self, form: dict[str, str], base_url: str, basic_auth: tuple[str, str] | None) -> dict[str, Any]:
        """Answer a token request; raises OAuthError."""
        grant_type = form.get("grant_type", "")
        if grant_type == "client_credentials":
            client_id, client_secret = basic_auth or (form.get("client_id", ""), form.get("client_secret", ""))
            if not hmac.compare_digest(client_id, self.config.client_id):
                raise OAuthError("invalid_client_id", "client identifier invalid")
            if not hmac.compare_digest(client_secret, self.config.client_secret):
                raise OAuthError("invalid_client", "invalid client credentials")
        elif grant_type == JWT_BEARER:
            self._check_assertion(form.get("assertion", ""), base_url)
        else:
            raise OAuthError("unsupported_grant_type", "grant type not supported")
        return self._issue(base_url)

    def _check_assertion(self, assertion: str, base_url: str) -> None:
        import jwt

        if not self.config.jwt_public_key:
            raise OAuthError(
                "invalid_grant",
                "invalid assertion: no certificate is configured for JWT bearer "
                "(start the sandbox with jwt_public_key)",
            )
        try:
            claims = jwt.decode(
                assertion,
                self.config.jwt_public_key,
                algorithms=["RS256"],
                audience=[*LOGIN_AUDIENCES, base_url, base_url + "/"],
                options={"require": ["iss", "sub", "aud", "exp"]},
                leeway=5,
            )
        except jwt.ExpiredSignatureError:
            raise OAuthError("invalid_grant", "expired authorization code") from None
        except jwt.InvalidAudienceError:
            raise OAuthError("invalid_grant", "audience is invalid") from None
        except jwt.MissingRequiredClaimError as error:
            raise OAuthError("invalid_grant", f"invalid assertion: missing claim {error.claim}") from None
        except jwt.PyJWTError:
            raise OAuthError("invalid_grant", "invalid assertion") from None
        if claims.get("iss") != self.config.client_id:
            raise OAuthError("invalid_client_id", "client identifier invalid")
        if str(claims.get("sub", "")).lower() != self.config.username.lower():
            raise OAuthError("invalid_grant", "user hasn't approved this consumer")

    def _issue(self, base_url: str) -> dict[str, Any]:
        now_ms = int(self.store.clock().timestamp() * 1000)
        token = f"{self.org_id[:15]}!AQ{secrets.token_urlsafe(72)}"
        self.store.save_token(
            Token(token, self.config.client_id, self.user_id, now_ms, now_ms + self.config.token_ttl_s * 1000)
        )
        identity = f"{base_url}/id/{self.org_id}/{self.user_id}"
        issued_at = str(now_ms)
        signature = hmac.new(self.config.client_secret.encode(), (identity + issued_at).encode(), hashlib.sha256)
        return {
            "access_token": token,
            "signature": base64.b64encode(signature.digest()).decode(),
            "scope": "api",
            "instance_url": base_url,
            "id": identity,
            "token_type": "Bearer",
            "issued_at": issued_at,
        }

    def session(self, authorization: str | None, now: datetime) -> Token | None:
        """The live session behind an `Authorization: Bearer ...` header, or None."""
        if not authorization:
            return None
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() not in {"bearer", "oauth"}:
            return None
        session = self.store.tokens.get(token.strip())
        if session is None:
            return None
        if session.expires_ms <= int(now.timestamp() * 1000):
            self.store.revoke_tokens(session.token)
            return None
        return session


def bearer_token(authorization: str | None) -> str:
    """The token part of an Authorization header."""
    return (authorization or "").partition(" ")[2].strip()
