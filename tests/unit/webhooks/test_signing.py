"""Standard Webhooks signatures: the spec's test vector, and every way verification must refuse a webhook."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import pytest

from crossdock.webhooks.signing import (
    FailureReason,
    WebhookVerificationError,
    headers_for,
    new_secret,
    secret_key,
    sign,
    verify,
)

# The test vector every Standard Webhooks library checks against, from
# github.com/standard-webhooks/standard-webhooks: libraries/python/tests/test_webhooks.py (`test_sign_function`)
# and libraries/javascript/src/webhook.test.ts ("sign function works"); both share these values.
VECTOR_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
VECTOR_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
VECTOR_TIMESTAMP = 1614265330
VECTOR_PAYLOAD = b'{"test": 2432232314}'
VECTOR_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
# The same libraries' "invalid signature" case: the vector's signature with its last byte changed.
VECTOR_WRONG_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OA="

SIGNED_AT = datetime.fromtimestamp(VECTOR_TIMESTAMP, UTC)


def vector_headers(signature: str = VECTOR_SIGNATURE, timestamp: int = VECTOR_TIMESTAMP) -> dict[str, str]:
    return {"webhook-id": VECTOR_ID, "webhook-timestamp": str(timestamp), "webhook-signature": signature}


def test_sign_reproduces_the_spec_vector() -> None:
    assert sign(VECTOR_SECRET, VECTOR_ID, VECTOR_TIMESTAMP, VECTOR_PAYLOAD) == VECTOR_SIGNATURE
    assert sign(VECTOR_SECRET, VECTOR_ID, SIGNED_AT, VECTOR_PAYLOAD) == VECTOR_SIGNATURE


def test_headers_for_gives_the_three_standard_headers() -> None:
    assert headers_for(VECTOR_SECRET, VECTOR_ID, SIGNED_AT, VECTOR_PAYLOAD) == vector_headers()


def test_verify_accepts_the_spec_vector_with_or_without_the_prefix() -> None:
    for secret in (VECTOR_SECRET, VECTOR_SECRET.removeprefix("whsec_")):
        verified = verify(secret, vector_headers(), VECTOR_PAYLOAD, now=SIGNED_AT + timedelta(seconds=10))
        assert (verified.id, verified.timestamp) == (VECTOR_ID, VECTOR_TIMESTAMP)


def test_verify_reads_headers_in_any_case() -> None:
    headers = {name.upper(): value for name, value in vector_headers().items()}
    assert verify(VECTOR_SECRET, headers, VECTOR_PAYLOAD, now=SIGNED_AT).id == VECTOR_ID


def test_verify_refuses_the_libraries_invalid_signature() -> None:
    with pytest.raises(WebhookVerificationError) as caught:
        verify(VECTOR_SECRET, vector_headers(VECTOR_WRONG_SIGNATURE), VECTOR_PAYLOAD, now=SIGNED_AT)
    assert caught.value.reason is FailureReason.NO_MATCHING_SIGNATURE


def test_any_of_several_signatures_may_match() -> None:
    # As in the libraries' multi-signature test: unknown versions and non-matching signatures around a good one.
    header = " ".join(
        [
            "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=",
            "v2,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=",
            "v1,not-base64!",
            VECTOR_SIGNATURE,
        ]
    )
    assert verify(VECTOR_SECRET, vector_headers(header), VECTOR_PAYLOAD, now=SIGNED_AT).id == VECTOR_ID


@pytest.mark.parametrize("missing", ["webhook-id", "webhook-timestamp", "webhook-signature"])
def test_a_missing_header_is_named(missing: str) -> None:
    headers = vector_headers()
    del headers[missing]
    with pytest.raises(WebhookVerificationError, match=missing) as caught:
        verify(VECTOR_SECRET, headers, VECTOR_PAYLOAD, now=SIGNED_AT)
    assert caught.value.reason is FailureReason.MISSING_HEADER


@pytest.mark.parametrize("timestamp", ["hello", "-5", "1.5", "9" * 40])
def test_a_timestamp_that_is_not_unix_seconds_is_refused(timestamp: str) -> None:
    headers = vector_headers() | {"webhook-timestamp": timestamp}
    with pytest.raises(WebhookVerificationError) as caught:
        verify(VECTOR_SECRET, headers, VECTOR_PAYLOAD, now=SIGNED_AT)
    assert caught.value.reason is FailureReason.INVALID_TIMESTAMP


def test_an_old_timestamp_is_refused_even_with_a_good_signature() -> None:
    with pytest.raises(WebhookVerificationError, match="old") as caught:
        verify(VECTOR_SECRET, vector_headers(), VECTOR_PAYLOAD, now=SIGNED_AT + timedelta(seconds=301))
    assert caught.value.reason is FailureReason.TIMESTAMP_TOO_OLD
    # At the edge of the tolerance it still passes.
    verify(VECTOR_SECRET, vector_headers(), VECTOR_PAYLOAD, now=SIGNED_AT + timedelta(seconds=300))


def test_a_future_timestamp_is_refused() -> None:
    with pytest.raises(WebhookVerificationError, match="future") as caught:
        verify(VECTOR_SECRET, vector_headers(), VECTOR_PAYLOAD, now=SIGNED_AT - timedelta(seconds=301))
    assert caught.value.reason is FailureReason.TIMESTAMP_TOO_NEW


def test_the_tolerance_can_be_set() -> None:
    with pytest.raises(WebhookVerificationError):
        verify(VECTOR_SECRET, vector_headers(), VECTOR_PAYLOAD, now=SIGNED_AT + timedelta(seconds=61), tolerance_s=60)


def test_a_tampered_body_is_refused() -> None:
    with pytest.raises(WebhookVerificationError, match="body was changed") as caught:
        verify(VECTOR_SECRET, vector_headers(), b'{"test": 2432232315}', now=SIGNED_AT)
    assert caught.value.reason is FailureReason.NO_MATCHING_SIGNATURE


def test_a_signature_for_another_id_or_timestamp_is_refused() -> None:
    replayed = vector_headers() | {"webhook-id": "msg_other"}
    with pytest.raises(WebhookVerificationError):
        verify(VECTOR_SECRET, replayed, VECTOR_PAYLOAD, now=SIGNED_AT)
    shifted = vector_headers(timestamp=VECTOR_TIMESTAMP + 1)
    with pytest.raises(WebhookVerificationError):
        verify(VECTOR_SECRET, shifted, VECTOR_PAYLOAD, now=SIGNED_AT)


def test_a_wrong_secret_is_refused() -> None:
    with pytest.raises(WebhookVerificationError) as caught:
        verify(new_secret(), vector_headers(), VECTOR_PAYLOAD, now=SIGNED_AT)
    assert caught.value.reason is FailureReason.NO_MATCHING_SIGNATURE


def test_rotation_the_sender_signs_with_both_secrets_and_either_receiver_accepts() -> None:
    old, new = new_secret(), new_secret()
    headers = headers_for([new, old], "msg_rotating", SIGNED_AT, VECTOR_PAYLOAD)
    assert len(headers["webhook-signature"].split()) == 2
    for receiver_secrets in ([old], [new], [new, old]):
        verify(receiver_secrets, headers, VECTOR_PAYLOAD, now=SIGNED_AT)
    with pytest.raises(WebhookVerificationError):
        verify([new_secret()], headers, VECTOR_PAYLOAD, now=SIGNED_AT)


def test_rotation_the_receiver_holds_both_secrets_while_the_sender_switches() -> None:
    old, new = new_secret(), new_secret()
    for sender_secret in (old, new):
        headers = headers_for(sender_secret, "msg_switch", SIGNED_AT, VECTOR_PAYLOAD)
        verify([new, old], headers, VECTOR_PAYLOAD, now=SIGNED_AT)


def test_new_secrets_are_random_whsec_base64_of_32_bytes() -> None:
    first, second = new_secret(), new_secret()
    assert first.startswith("whsec_")
    assert first != second
    assert len(secret_key(first)) == 32
    assert len(base64.b64decode(new_secret(24).removeprefix("whsec_"))) == 24
    with pytest.raises(ValueError, match="random bytes"):
        new_secret(16)


def test_a_malformed_secret_or_none_at_all_says_what_to_configure() -> None:
    with pytest.raises(ValueError, match="followed by base64"):
        sign("whsec_not base64!", VECTOR_ID, VECTOR_TIMESTAMP, VECTOR_PAYLOAD)
    with pytest.raises(ValueError, match="at least one"):
        verify([], vector_headers(), VECTOR_PAYLOAD, now=SIGNED_AT)


def test_message_ids_with_dots_are_never_signed() -> None:
    with pytest.raises(ValueError, match=r"contains '\.'"):
        sign(VECTOR_SECRET, "msg.1", VECTOR_TIMESTAMP, VECTOR_PAYLOAD)
