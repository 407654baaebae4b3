"""Which notification addresses the bot accepts: plain ASCII a mail server will take, or a reason.

Webex documents no format for `emailAddress`. The bot takes only what any mail server accepts
and what reads the same on every card: ASCII throughout (an internationalized domain in its
`xn--` form, kept exactly as typed), a local part of at most 64 characters (RFC 5321), and no
full-width or look-alike characters, which are refused with the reason rather than mapped.
"""

from __future__ import annotations

import unicodedata

from email_validator import EmailNotValidError, validate_email

MAX_LOCAL_PART = 64  # RFC 5321 §4.5.3.1.1


class InvalidEmail(ValueError):
    """The address is refused; `reason` says why, in words for the person who typed it."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _named(characters: str) -> str:
    """The first few non-ASCII characters, each with its Unicode name."""
    seen = list(dict.fromkeys(c for c in characters if not c.isascii()))
    named = [f"U+{ord(c):04X} {unicodedata.name(c, 'unnamed character')}" for c in seen[:3]]
    return ", ".join(named) + (", …" if len(seen) > 3 else "")


def _non_ascii_reason(address: str) -> str:
    folded = unicodedata.normalize("NFKC", address)
    if folded.isascii() and folded != address:
        return (f"It uses full-width or look-alike characters ({_named(address)}): it reads like "
                f"{folded} but is a different address. Type it in plain ASCII.")
    local, _, domain = address.rpartition("@")
    if local.isascii() and domain and not domain.isascii():
        try:
            suggestion = validate_email(address, check_deliverability=False).ascii_email
        except EmailNotValidError:
            suggestion = None
        if suggestion:
            return (f"Its domain has characters outside ASCII ({_named(domain)}). Mail "
                    f"servers take an internationalized domain in its ASCII form: {suggestion}")
    return (f"It has characters outside ASCII ({_named(address)}), which mail servers may "
            "refuse and which can look like another address. Type it in plain ASCII.")


def parse_email(text: str) -> str:
    """The address in `text` (surrounding spaces ignored), or InvalidEmail with the reason."""
    address = text.strip()
    if not address:
        raise InvalidEmail("No address was given.")
    if not address.isascii():
        raise InvalidEmail(_non_ascii_reason(address))
    if any(c.isspace() for c in address):
        raise InvalidEmail("An address has no spaces.")
    local = address.rpartition("@")[0]
    if len(local) > MAX_LOCAL_PART:
        raise InvalidEmail(f"The part before the @ has {len(local)} characters; "
                           f"mail servers take at most {MAX_LOCAL_PART}.")
    try:
        checked = validate_email(address, check_deliverability=False, allow_smtputf8=False)
    except EmailNotValidError as error:
        raise InvalidEmail(str(error).rstrip(".") + ".") from None
    # ascii_email keeps a punycode domain as ASCII (`normalized` would decode it to Unicode).
    return str(checked.ascii_email)
