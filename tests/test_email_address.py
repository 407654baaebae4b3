"""Which notification addresses are accepted, exactly as typed, and why the others are refused."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.email_address import MAX_LOCAL_PART, InvalidEmail, parse_email
from bot.models import EMAIL


@pytest.mark.parametrize(("typed", "stored"), [
    ("ops@example.com", "ops@example.com"),
    ("  ops@example.com ", "ops@example.com"),
    # A punycode domain stays ASCII: decoding it would send Webex a different string.
    ("ops@xn--exmple-cua.com", "ops@xn--exmple-cua.com"),
    ("a" * MAX_LOCAL_PART + "@example.com", "a" * MAX_LOCAL_PART + "@example.com"),
    ("first.last+kari@sub.example.org", "first.last+kari@sub.example.org"),
])
def test_ascii_addresses_are_kept_as_typed(typed: str, stored: str) -> None:
    assert parse_email(typed) == stored
    assert EMAIL.validate_python(typed) == stored


@pytest.mark.parametrize(("typed", "reason"), [
    ("ｏｐｓ@example.com", "reads like ops@example.com"),
    ("ｏｐｓ@example.com", "FULLWIDTH LATIN SMALL LETTER O"),
    ("ops@еxample.com", "CYRILLIC SMALL LETTER IE"),  # a Cyrillic е
    ("ops@exämple.com", "ops@xn--exmple-cua.com"),  # told the ASCII form to type instead
    ("jösé@example.com", "outside ASCII"),
    ("a" * (MAX_LOCAL_PART + 1) + "@example.com", "at most 64"),
    ("ops example@example.com", "no spaces"),
    ("ops.example.com", "@-sign"),
    ("", "No address"),
])
def test_addresses_a_mail_server_may_refuse_are_refused_with_the_reason(
    typed: str, reason: str
) -> None:
    with pytest.raises(InvalidEmail) as refused:
        parse_email(typed)
    assert reason in refused.value.reason


@given(st.text(max_size=120))
def test_whatever_is_accepted_is_ascii_with_a_short_local_part(text: str) -> None:
    try:
        address = parse_email(text)
    except InvalidEmail as refused:
        assert refused.reason
        return
    assert address.isascii()
    assert len(address.rpartition("@")[0]) <= MAX_LOCAL_PART
    assert parse_email(address) == address
