"""`/services/oauth2/token` (client credentials, JWT bearer), `/services/oauth2/revoke`, and `/services/data/`."""

from __future__ import annotations

import base64
import binascii
from urllib.parse import parse_qsl

from fastapi import APIRouter, Request, Response

from crossdock.sandbox.salesforce.auth import OAuthError, bearer_token
from crossdock.sandbox.salesforce.web import org_of, sf_json

router = APIRouter()
SUPPORTED_VERSIONS = [f"{major}.0" for major in range(31, 65)]


def _base_url(request: Request) -> str:
    return str(request.base_url).rstrip("/")


async def _form(request: Request) -> dict[str, str]:
    # Parameters may come in the body (form-encoded) or, as Salesforce also accepts, in the query string.
    form = dict(request.query_params)
    form.update(parse_qsl((await request.body()).decode("utf-8", "replace"), keep_blank_values=True))
    return form


def _basic_auth(request: Request) -> tuple[str, str] | None:
    scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        client_id, _, secret = base64.b64decode(encoded).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return client_id, secret


@router.post("/services/oauth2/token")
async def token(request: Request) -> Response:
    """Issue an access token for the client-credentials or JWT-bearer grant."""
    org = org_of(request)
    try:
        body = org.auth.grant(await _form(request), _base_url(request), _basic_auth(request))
    except OAuthError as error:
        return sf_json(error.body(), 400)
    return sf_json(body)


@router.post("/services/oauth2/revoke")
async def revoke(request: Request) -> Response:
    """Revoke an access token (`token=` in the form); 200 even for unknown tokens, as OAuth requires."""
    form = await _form(request)
    org_of(request).store.revoke_tokens(form.get("token") or bearer_token(request.headers.get("authorization")))
    return Response(status_code=200)


@router.get("/services/data")
@router.get("/services/data/")
async def versions(request: Request) -> Response:
    """The API versions the sandbox answers (any vNN.0 from 31.0 to 64.0; the gate accepts 20.0 to 99.0)."""
    return sf_json(
        [
            {"label": f"v{version}", "url": f"/services/data/v{version}", "version": version}
            for version in SUPPORTED_VERSIONS
        ]
    )
