"""Access tokens: what is issued, and every way a token that is not ours, or no longer valid, is refused."""

from __future__ import annotations

import base64
import hmac
import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from crossdock.api.security.scopes import ClientKind, InsufficientScopeError, InvalidScopeError, Scope
from crossdock.api.security.tokens import (
    MAX_TOKEN_CHARS,
    MAX_TTL_S,
    IssuedToken,
    Keyring,
    RefusalReason,
    SigningKey,
    TokenIssuer,
    TokenRefusedError,
)
from tests.unit.api.conftest import FakeClock

ISSUER = "https://api.crossdock.test"
AUDIENCE = "crossdock-api"
KEY_1 = SigningKey("k1", b"1" * 32)
KEY_2 = SigningKey("k2", b"2" * 32)


@pytest.fixture
def issuer(clock: FakeClock) -> TokenIssuer:
    """An issuer signing with k1."""
    return TokenIssuer(Keyring(KEY_1), issuer=ISSUER, audience=AUDIENCE, clock=clock)


def partner_token(issuer: TokenIssuer, **overrides: Any) -> IssuedToken:
    """A token for partner P-7's client with orders scopes."""
    arguments: dict[str, Any] = {
        "client_id": "cl_acme",
        "kind": ClientKind.PARTNER,
        "scopes": {Scope.ORDERS_READ, Scope.ORDERS_WRITE},
        "partner_id": "P-7",
    }
    return issuer.issue(**(arguments | overrides))


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def segment(value: Any) -> str:
    return b64url(json.dumps(value, separators=(",", ":")).encode())


def craft(claims: dict[str, Any], *, secret: bytes = KEY_1.secret, header: dict[str, Any] | None = None) -> str:
    """An HS256 token signed by hand, so a test can put anything in its header and claims."""
    header = {"alg": "HS256", "kid": "k1", "typ": "at+jwt"} if header is None else header
    signing_input = f"{segment(header)}.{segment(claims)}"
    return f"{signing_input}.{b64url(hmac.digest(secret, signing_input.encode(), 'sha256'))}"


def claims_at(clock: FakeClock, **overrides: Any) -> dict[str, Any]:
    """Valid claims for a partner token issued now."""
    now = int(clock())
    claims: dict[str, Any] = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "cl_acme",
        "iat": now,
        "nbf": now,
        "exp": now + 300,
        "jti": "jti-1",
        "scope": "orders:read",
        "kind": "partner",
        "partner": "P-7",
    }
    return claims | overrides


def refused(issuer: TokenIssuer, token: str) -> RefusalReason:
    with pytest.raises(TokenRefusedError) as caught:
        issuer.verify(token)
    return caught.value.reason


# -- what is issued -------------------------------------------------------------------------------------------------


def test_a_partner_token_verifies_to_its_principal(issuer: TokenIssuer, clock: FakeClock) -> None:
    issued = partner_token(issuer)
    principal = issuer.verify(issued.access_token)
    assert principal == issued.principal
    assert principal.client_id == "cl_acme"
    assert principal.kind is ClientKind.PARTNER
    assert principal.partner_id == "P-7"
    assert principal.scopes == {Scope.ORDERS_READ, Scope.ORDERS_WRITE}
    assert principal.expires_at == datetime.fromtimestamp(int(clock()) + 300, UTC)
    assert principal.has(Scope.ORDERS_WRITE)
    assert principal.has("orders:read")
    assert not principal.has(Scope.INVOICES_READ)
    principal.require(Scope.ORDERS_READ, Scope.ORDERS_WRITE)
    with pytest.raises(InsufficientScopeError) as missing:
        principal.require(Scope.ORDERS_READ, Scope.CREDIT_READ)
    assert missing.value.missing == {Scope.CREDIT_READ}


def test_the_token_is_a_standard_jwt_with_every_claim(issuer: TokenIssuer, clock: FakeClock) -> None:
    clock.now = time.time()  # PyJWT checks times against the real clock
    issued = partner_token(issuer)
    # PyJWT, an independent implementation, accepts it: the format is standard, not merely self-consistent.
    claims = jwt.decode(issued.access_token, KEY_1.secret, algorithms=["HS256"], audience=AUDIENCE, issuer=ISSUER)
    now = int(clock())
    assert claims == {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "cl_acme",
        "iat": now,
        "nbf": now,
        "exp": now + 300,
        "jti": issued.principal.token_id,
        "scope": "orders:read orders:write",
        "kind": "partner",
        "partner": "P-7",
    }
    assert jwt.get_unverified_header(issued.access_token) == {"alg": "HS256", "kid": "k1", "typ": "at+jwt"}
    assert issued.to_response() == {
        "access_token": issued.access_token,
        "token_type": "Bearer",
        "expires_in": 300,
        "scope": "orders:read orders:write",
    }
    assert issued.access_token not in repr(issued)


def test_every_token_gets_its_own_id(issuer: TokenIssuer) -> None:
    assert len({partner_token(issuer).principal.token_id for _ in range(50)}) == 50


def test_internal_and_operator_tokens_have_no_partner_claim(issuer: TokenIssuer) -> None:
    for kind, scope in ((ClientKind.INTERNAL, Scope.SYSTEMS_READ), (ClientKind.OPERATOR, Scope.OPERATOR)):
        issued = issuer.issue(client_id="cl_shop", kind=kind, scopes={scope})
        assert "partner" not in jwt.decode(issued.access_token, options={"verify_signature": False})
        principal = issuer.verify(issued.access_token)
        assert principal.kind is kind
        assert principal.partner_id is None


def test_a_token_lives_as_long_as_asked_up_to_an_hour(issuer: TokenIssuer) -> None:
    assert partner_token(issuer, ttl_s=MAX_TTL_S).expires_in == 3600
    for ttl in (0, MAX_TTL_S + 1):
        with pytest.raises(ValueError, match="between 1 and 3600"):
            partner_token(issuer, ttl_s=ttl)
    with pytest.raises(ValueError, match="default_ttl_s"):
        TokenIssuer(Keyring(KEY_1), issuer=ISSUER, audience=AUDIENCE, default_ttl_s=7200)


def test_what_a_client_may_not_hold_is_never_issued(issuer: TokenIssuer) -> None:
    with pytest.raises(ValueError, match="partner_id"):
        partner_token(issuer, partner_id=None)
    with pytest.raises(ValueError, match="partner_id"):
        issuer.issue(client_id="cl_shop", kind=ClientKind.INTERNAL, scopes={Scope.ORDERS_READ}, partner_id="P-7")
    with pytest.raises(InvalidScopeError):
        partner_token(issuer, scopes={Scope.ORDERS_READ, Scope.OPERATOR})
    with pytest.raises(InvalidScopeError):
        partner_token(issuer, scopes=set())


# -- forged and tampered tokens -------------------------------------------------------------------------------------


def test_a_token_signed_with_another_key_under_our_kid_is_refused(issuer: TokenIssuer, clock: FakeClock) -> None:
    forged = jwt.encode(
        claims_at(clock), b"attacker-key-" * 4, algorithm="HS256", headers={"kid": "k1", "typ": "at+jwt"}
    )
    assert refused(issuer, forged) is RefusalReason.BAD_SIGNATURE


def test_an_unsigned_alg_none_token_is_refused(issuer: TokenIssuer, clock: FakeClock) -> None:
    unsigned = jwt.encode(claims_at(clock), "", algorithm="none", headers={"kid": "k1", "typ": "at+jwt"})
    assert unsigned.endswith(".")
    assert refused(issuer, unsigned) is RefusalReason.BAD_SIGNATURE
    # The same with our real signature appended: the header, not the signature, decides.
    ours = partner_token(issuer).access_token
    header = segment({"alg": "none", "kid": "k1", "typ": "at+jwt"})
    assert refused(issuer, header + ours[ours.index(".") :]) is RefusalReason.BAD_SIGNATURE
    for spelling in ("None", "NONE", "nOnE"):
        assert refused(issuer, craft(claims_at(clock), header={"alg": spelling, "kid": "k1", "typ": "at+jwt"})) is (
            RefusalReason.BAD_SIGNATURE
        )


def test_rs_hs_confusion_is_refused(issuer: TokenIssuer, clock: FakeClock) -> None:
    private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public_pem = private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    # The classic attack: HS256 keyed with the text of a public key, hoping the verifier uses that text as the secret.
    assert refused(issuer, craft(claims_at(clock), secret=public_pem)) is RefusalReason.BAD_SIGNATURE
    # And a real RS256 token under our kid: we never verify with RSA, whatever the header says.
    rs256 = jwt.encode(claims_at(clock), private_key, algorithm="RS256", headers={"kid": "k1", "typ": "at+jwt"})
    assert refused(issuer, rs256) is RefusalReason.BAD_SIGNATURE


def test_a_header_carrying_its_own_key_is_refused(issuer: TokenIssuer, clock: FakeClock) -> None:
    for extra in ({"jwk": {"kty": "oct", "k": "AAAA"}}, {"jku": "https://evil.example/keys"}, {"crit": ["exp"]}):
        header = {"alg": "HS256", "kid": "k1", "typ": "at+jwt"} | extra
        assert refused(issuer, craft(claims_at(clock), header=header)) is RefusalReason.MALFORMED


def test_a_tampered_payload_is_refused(issuer: TokenIssuer) -> None:
    header, payload, signature = partner_token(issuer).access_token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    for change in ({"scope": "orders:read orders:write operator"}, {"partner": "P-8"}, {"exp": claims["exp"] + 3600}):
        tampered = f"{header}.{segment(claims | change)}.{signature}"
        assert refused(issuer, tampered) is RefusalReason.BAD_SIGNATURE


def test_a_tampered_kid_is_refused(clock: FakeClock) -> None:
    both = TokenIssuer(Keyring(KEY_1, (KEY_2,)), issuer=ISSUER, audience=AUDIENCE, clock=clock)
    _, payload, signature = partner_token(both).access_token.split(".")
    header = segment({"alg": "HS256", "kid": "k2", "typ": "at+jwt"})
    assert refused(both, f"{header}.{payload}.{signature}") is RefusalReason.BAD_SIGNATURE


def test_another_spelling_of_a_valid_signature_is_refused(issuer: TokenIssuer) -> None:
    token = partner_token(issuer).access_token
    # 43 base64url characters carry 258 bits for a 256-bit MAC; flipping the two spare bits decodes to the same
    # bytes, and must still not make a second valid text of the token.
    last = token[-1]
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    sibling = alphabet[alphabet.index(last) ^ 1]
    assert base64.urlsafe_b64decode(token[-43:-1] + sibling + "=") == base64.urlsafe_b64decode(token[-43:] + "=")
    assert refused(issuer, token[:-1] + sibling) is RefusalReason.BAD_SIGNATURE


def test_a_token_under_an_unknown_kid_is_refused(issuer: TokenIssuer, clock: FakeClock) -> None:
    token = craft(claims_at(clock), header={"alg": "HS256", "kid": "k9", "typ": "at+jwt"})
    assert refused(issuer, token) is RefusalReason.UNKNOWN_KEY


@pytest.mark.parametrize(
    "token",
    [
        "",
        "not-a-token",
        "a.b",
        "a.b.c.d",
        "!!!.???.###",
        "eyJhbGciOiJIUzI1NiJ9.e30.é",
        "x" * (MAX_TOKEN_CHARS + 1),
        f"{b64url(b'not json')}.e30.AAAA",
        f"{segment(['alg', 'HS256'])}.e30.AAAA",
    ],
)
def test_a_malformed_token_is_refused(issuer: TokenIssuer, token: str) -> None:
    assert refused(issuer, token) is RefusalReason.MALFORMED


def test_a_header_without_kid_or_with_another_type_is_malformed(issuer: TokenIssuer, clock: FakeClock) -> None:
    for header in ({"alg": "HS256", "typ": "at+jwt"}, {"alg": "HS256", "kid": "k1", "typ": "JWT"}):
        assert refused(issuer, craft(claims_at(clock), header=header)) is RefusalReason.MALFORMED


def test_a_well_signed_payload_that_is_not_an_object_is_malformed(issuer: TokenIssuer) -> None:
    header = segment({"alg": "HS256", "kid": "k1", "typ": "at+jwt"})
    signing_input = f"{header}.{segment([1, 2])}"
    signature = b64url(hmac.digest(KEY_1.secret, signing_input.encode(), "sha256"))
    assert refused(issuer, f"{signing_input}.{signature}") is RefusalReason.MALFORMED


# -- claims ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("claim", ["iss", "aud", "sub", "iat", "nbf", "exp", "jti", "scope", "kind"])
def test_a_token_missing_a_required_claim_is_refused(issuer: TokenIssuer, clock: FakeClock, claim: str) -> None:
    claims = claims_at(clock)
    del claims[claim]
    assert refused(issuer, craft(claims)) is RefusalReason.MISSING_CLAIM


def test_a_partner_token_without_its_partner_is_refused(issuer: TokenIssuer, clock: FakeClock) -> None:
    claims = claims_at(clock)
    del claims["partner"]
    assert refused(issuer, craft(claims)) is RefusalReason.MISSING_CLAIM


@pytest.mark.parametrize(
    "change",
    [
        {"kind": "internal"},  # keeps its partner claim: only partner tokens carry one
        {"kind": "root"},
        {"scope": "orders:read admin"},
        {"scope": "operator"},  # a partner may never hold it, even in a token with a valid signature
        {"sub": ""},
        {"sub": 42},
        {"jti": None},
        {"partner": ""},
        {"exp": "tomorrow"},
        {"iat": 1.5},
        {"exp": 1_800_000_000 + MAX_TTL_S + 1},  # a lifetime we never grant
    ],
)
def test_a_token_with_a_claim_we_never_issue_is_malformed(
    issuer: TokenIssuer, clock: FakeClock, change: dict[str, Any]
) -> None:
    assert refused(issuer, craft(claims_at(clock) | change)) is RefusalReason.MALFORMED


def test_a_token_for_another_audience_or_from_another_issuer_is_refused(issuer: TokenIssuer, clock: FakeClock) -> None:
    for other in (
        TokenIssuer(Keyring(KEY_1), issuer=ISSUER, audience="billing-api", clock=clock),
        TokenIssuer(Keyring(KEY_1), issuer="https://evil.example", audience=AUDIENCE, clock=clock),
    ):
        token = partner_token(other).access_token
        expected = RefusalReason.WRONG_AUDIENCE if other.audience != AUDIENCE else RefusalReason.WRONG_ISSUER
        assert refused(issuer, token) is expected
    assert refused(issuer, craft(claims_at(clock, aud=["billing-api"]))) is RefusalReason.WRONG_AUDIENCE
    assert issuer.verify(craft(claims_at(clock, aud=["billing-api", AUDIENCE]))).client_id == "cl_acme"


# -- time -----------------------------------------------------------------------------------------------------------


def test_a_token_expires_after_its_ttl_and_the_leeway(issuer: TokenIssuer, clock: FakeClock) -> None:
    token = partner_token(issuer).access_token
    fresh = TokenIssuer(Keyring(KEY_1), issuer=ISSUER, audience=AUDIENCE, clock=clock)  # nothing cached
    clock.advance(300 + 5)
    assert fresh.verify(token).client_id == "cl_acme"
    clock.advance(1)
    assert refused(fresh, token) is RefusalReason.EXPIRED


def test_a_cached_token_still_expires(issuer: TokenIssuer, clock: FakeClock) -> None:
    token = partner_token(issuer).access_token
    issuer.verify(token)
    clock.advance(300 + 5)
    issuer.verify(token)
    clock.advance(1)
    assert refused(issuer, token) is RefusalReason.EXPIRED
    assert refused(issuer, token) is RefusalReason.EXPIRED


def test_a_token_from_the_future_is_not_yet_valid(issuer: TokenIssuer, clock: FakeClock) -> None:
    ahead = FakeClock(clock() + 60)  # another instance whose clock runs a minute ahead
    token = partner_token(TokenIssuer(Keyring(KEY_1), issuer=ISSUER, audience=AUDIENCE, clock=ahead)).access_token
    assert refused(issuer, token) is RefusalReason.NOT_YET_VALID
    clock.advance(55)  # within the leeway
    assert issuer.verify(token).client_id == "cl_acme"


def test_not_before_is_honoured(issuer: TokenIssuer, clock: FakeClock) -> None:
    token = craft(claims_at(clock, nbf=int(clock()) + 100))
    assert refused(issuer, token) is RefusalReason.NOT_YET_VALID
    clock.advance(96)
    assert issuer.verify(token).client_id == "cl_acme"


# -- keys -----------------------------------------------------------------------------------------------------------


def test_a_rotation_keeps_old_tokens_working_until_their_key_is_dropped(issuer: TokenIssuer) -> None:
    old = partner_token(issuer).access_token
    issuer.verify(old)  # cached under k1
    issuer.use_keyring(issuer.keyring.rotate(KEY_2))
    new = partner_token(issuer).access_token
    assert jwt.get_unverified_header(new)["kid"] == "k2"
    assert issuer.verify(old).client_id == "cl_acme"
    assert issuer.verify(new).client_id == "cl_acme"
    issuer.use_keyring(issuer.keyring.drop("k1"))
    # Dropping a key takes effect at once, cached tokens included: that is what a leaked key needs.
    assert refused(issuer, old) is RefusalReason.UNKNOWN_KEY
    assert issuer.verify(new).client_id == "cl_acme"


def test_a_rotation_across_instances_has_no_flag_day(clock: FakeClock) -> None:
    a = TokenIssuer(Keyring(KEY_1), issuer=ISSUER, audience=AUDIENCE, clock=clock)
    b = TokenIssuer(Keyring(KEY_1), issuer=ISSUER, audience=AUDIENCE, clock=clock)
    # Step 1, everywhere: accept k2 without signing with it.
    for instance in (a, b):
        instance.use_keyring(instance.keyring.add(KEY_2))
    # Step 2, one instance at a time: sign with k2. Tokens from either instance verify on both.
    a.use_keyring(a.keyring.promote("k2"))
    from_a, from_b = partner_token(a).access_token, partner_token(b).access_token
    for instance in (a, b):
        assert instance.verify(from_a).client_id == instance.verify(from_b).client_id == "cl_acme"


def test_the_keyring_refuses_what_would_break_it() -> None:
    with pytest.raises(ValueError, match="twice"):
        Keyring(KEY_1, (SigningKey("k1", b"3" * 32),))
    with pytest.raises(ValueError, match="active signing key"):
        Keyring(KEY_1, (KEY_2,)).drop("k1")
    with pytest.raises(ValueError, match="no key"):
        Keyring(KEY_1).drop("k9")
    with pytest.raises(ValueError, match="add it before"):
        Keyring(KEY_1).promote("k2")
    with pytest.raises(ValueError, match="at least 32"):
        SigningKey("short", b"secret")
    with pytest.raises(ValueError, match="key id"):
        SigningKey("k 1", b"1" * 32)


def test_a_signing_key_round_trips_through_text_and_never_shows_its_secret() -> None:
    key = SigningKey.generate()
    assert SigningKey.from_b64url(key.kid, key.to_b64url()) == key
    assert key.to_b64url() not in repr(key)
    assert len(key.secret) == 32
    with pytest.raises(ValueError, match="base64url"):
        SigningKey.from_b64url("k1", "a")


# -- refusals and the cache ----------------------------------------------------------------------------------------


def test_a_refusal_tells_the_client_only_the_reason() -> None:
    for reason in RefusalReason:
        error = TokenRefusedError(reason)
        assert error.error == "invalid_token"
        assert str(error).startswith("the access token")
        assert "k1" not in str(error)


def test_the_cache_is_bounded(clock: FakeClock) -> None:
    issuer = TokenIssuer(Keyring(KEY_1), issuer=ISSUER, audience=AUDIENCE, clock=clock, cache_size=3)
    tokens = [partner_token(issuer).access_token for _ in range(10)]
    for token in tokens:
        issuer.verify(token)
    assert len(issuer._cache) == 3
    assert all(issuer.verify(token).client_id == "cl_acme" for token in tokens)  # evicted ones verify again


def test_verifying_from_many_threads_agrees(issuer: TokenIssuer) -> None:
    tokens = [partner_token(issuer).access_token for _ in range(20)]
    start = threading.Barrier(4)

    def verify_all(_: int) -> set[str]:
        start.wait()
        return {issuer.verify(token).token_id for _ in range(50) for token in tokens}

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(verify_all, range(4)))
    assert all(len(ids) == 20 for ids in results)
