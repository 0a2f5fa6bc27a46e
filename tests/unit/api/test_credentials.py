"""Client secrets and operator keys: their format, what is stored, rotation with a grace period, revocation."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from crossdock.api.security.credentials import (
    CLIENT_SECRET_PREFIX,
    OPERATOR_KEY_PREFIX,
    ApiClient,
    check_secret,
    from_record,
    generate_secret,
    hash_secret,
    looks_like_secret,
    new_client,
    revoke,
    rotate,
    to_record,
)
from crossdock.api.security.scopes import ClientKind, InvalidScopeError, Scope

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def acme(now: datetime = T0) -> tuple[ApiClient, str]:
    """Partner P-7's order client and its secret."""
    return new_client(
        name="Acme Hardware EDI",
        kind=ClientKind.PARTNER,
        scopes={Scope.ORDERS_READ, Scope.ORDERS_WRITE},
        rate_plan="partner",
        partner_id="P-7",
        now=now,
    )


# -- secrets --------------------------------------------------------------------------------------------------------


def test_a_partner_gets_a_client_secret_and_an_operator_an_api_key() -> None:
    client, secret = acme()
    assert secret.startswith(CLIENT_SECRET_PREFIX)
    _, key = new_client(
        name="Dana (ops)", kind=ClientKind.OPERATOR, scopes={Scope.OPERATOR}, rate_plan="internal", now=T0
    )
    assert key.startswith(OPERATOR_KEY_PREFIX)
    assert looks_like_secret(secret)
    assert looks_like_secret(key)
    assert client.client_id.startswith("cl_")


def test_a_secret_is_256_random_bits_in_letters_and_digits() -> None:
    secrets = {generate_secret(CLIENT_SECRET_PREFIX) for _ in range(1000)}
    assert len(secrets) == 1000
    for secret in secrets:
        body = secret.removeprefix(CLIENT_SECRET_PREFIX)
        assert len(body) == 43 + 6
        assert body.isalnum()
        assert body.isascii()
    # Every base62 digit shows up in the random part: no digit is stuck, so no entropy is lost to encoding.
    assert len({c for secret in secrets for c in secret[len(CLIENT_SECRET_PREFIX) : -6]}) == 62
    with pytest.raises(ValueError, match="unknown secret prefix"):
        generate_secret("ghp_")


def test_a_mistyped_or_foreign_secret_fails_its_checksum() -> None:
    secret = generate_secret(CLIENT_SECRET_PREFIX)
    middle = len(secret) // 2
    typo = secret[:middle] + ("A" if secret[middle] != "A" else "B") + secret[middle + 1 :]
    assert not looks_like_secret(typo)
    assert not looks_like_secret(secret[:-1])
    assert not looks_like_secret("cdsk_" + "A" * 49)
    assert not looks_like_secret("ghp_" + secret.removeprefix(CLIENT_SECRET_PREFIX))
    assert not looks_like_secret(OPERATOR_KEY_PREFIX + secret.removeprefix(CLIENT_SECRET_PREFIX))  # prefix is checked


def test_only_a_hash_of_the_secret_is_kept_and_it_never_shows() -> None:
    client, secret = acme()
    assert client.secret_hash == "sha256:" + hashlib.sha256(secret.encode()).hexdigest()
    assert client.secret_hash == hash_secret(secret)
    assert secret not in repr(client)
    assert client.secret_hash not in repr(client)
    assert secret not in repr(to_record(client))


def test_the_secret_checks_and_nothing_else_does() -> None:
    client, secret = acme()
    other, other_secret = acme()
    assert check_secret(client, secret, T0)
    assert not check_secret(client, other_secret, T0)
    assert not check_secret(other, secret, T0)
    for presented in ("", "cdsk_", secret + " ", secret.upper(), client.secret_hash):
        assert not check_secret(client, presented, T0)


# -- rotation and revocation ---------------------------------------------------------------------------------------


def test_after_a_rotation_the_old_secret_works_until_the_grace_period_ends() -> None:
    client, old = acme()
    rotated, new = rotate(client, T0 + timedelta(days=30))
    assert rotated.rotated_at == T0 + timedelta(days=30)
    assert rotated.previous_valid_until == T0 + timedelta(days=31)
    assert new != old
    assert check_secret(rotated, new, T0 + timedelta(days=30))
    assert check_secret(rotated, old, T0 + timedelta(days=30))
    assert check_secret(rotated, old, T0 + timedelta(days=31) - timedelta(microseconds=1))
    assert not check_secret(rotated, old, T0 + timedelta(days=31))
    assert check_secret(rotated, new, T0 + timedelta(days=400))


def test_a_rotation_with_no_grace_shuts_the_old_secret_out_at_once() -> None:
    client, old = acme()
    rotated, new = rotate(client, T0, grace=timedelta(0))
    assert not check_secret(rotated, old, T0)
    assert check_secret(rotated, new, T0)
    assert rotated.previous_secret_hash is None


def test_rotating_again_within_the_grace_period_ends_the_oldest_secret() -> None:
    client, first = acme()
    once, second = rotate(client, T0, grace=timedelta(hours=1))
    twice, third = rotate(once, T0 + timedelta(minutes=10), grace=timedelta(hours=1))
    now = T0 + timedelta(minutes=20)
    assert not check_secret(twice, first, now)
    assert check_secret(twice, second, now)
    assert check_secret(twice, third, now)


def test_the_grace_period_is_bounded() -> None:
    client, _ = acme()
    for grace in (timedelta(seconds=-1), timedelta(days=8)):
        with pytest.raises(ValueError, match="grace period"):
            rotate(client, T0, grace=grace)


def test_a_revoked_client_accepts_no_secret_and_cannot_be_rotated() -> None:
    client, old = acme()
    rotated, new = rotate(client, T0)
    revoked = revoke(rotated, T0 + timedelta(hours=1))
    assert revoked.revoked_at == T0 + timedelta(hours=1)
    assert revoked.is_revoked(T0 + timedelta(hours=1))
    for secret in (old, new):
        assert not check_secret(revoked, secret, T0 + timedelta(hours=1))
    assert revoke(revoked, T0 + timedelta(days=2)).revoked_at == T0 + timedelta(hours=1)  # the first time stands
    with pytest.raises(ValueError, match="revoked"):
        rotate(revoked, T0 + timedelta(hours=2))


# -- what a client may be -------------------------------------------------------------------------------------------


def test_a_partner_client_needs_its_partner_and_only_a_partner_has_one() -> None:
    with pytest.raises(ValueError, match="partner_id"):
        new_client(name="Acme", kind=ClientKind.PARTNER, scopes={Scope.ORDERS_READ}, rate_plan="partner", now=T0)
    with pytest.raises(ValueError, match="acts for no partner"):
        new_client(
            name="Web shop",
            kind=ClientKind.INTERNAL,
            scopes={Scope.ORDERS_WRITE},
            rate_plan="internal",
            partner_id="P-7",
            now=T0,
        )


def test_a_client_is_never_granted_more_than_its_kind_allows() -> None:
    with pytest.raises(InvalidScopeError, match="operator"):
        new_client(
            name="Acme",
            kind=ClientKind.PARTNER,
            scopes={Scope.ORDERS_READ, Scope.OPERATOR},
            rate_plan="partner",
            partner_id="P-7",
            now=T0,
        )
    with pytest.raises(ValueError, match="at least one scope"):
        new_client(name="Acme", kind=ClientKind.PARTNER, scopes=set(), rate_plan="partner", partner_id="P-7", now=T0)


def test_times_must_carry_a_timezone() -> None:
    naive = datetime(2026, 3, 2, 9, 0)  # the mistake under test
    with pytest.raises(ValueError, match="timezone-aware"):
        acme(naive)
    client, _ = acme()
    with pytest.raises(ValueError, match="timezone-aware"):
        rotate(client, naive)


def test_a_client_round_trips_through_the_store_record() -> None:
    client, _ = acme()
    rotated, _ = rotate(client, T0 + timedelta(days=1))
    record = to_record(rotated)
    assert record.scopes == {"orders:read", "orders:write"}
    assert record.previous_valid_until == rotated.previous_valid_until
    assert from_record(record) == rotated
    with pytest.raises(ValueError, match="created_at"):
        from_record(replace(record, created_at=None))
    with pytest.raises(InvalidScopeError, match="orders:delete"):
        from_record(replace(record, scopes=frozenset({"orders:delete"})))
