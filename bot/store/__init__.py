"""The durable store: inbox, audit trail, card tokens, org locks, secrets."""

from .migrations import LATEST_VERSION, MIGRATIONS, Migration
from .records import AuditRecord, CardToken, InboxEvent
from .signin import PersonTokens, SignInState
from .store import Store
from .url import connect_args_for, normalize_database_url

__all__ = [
    "LATEST_VERSION",
    "MIGRATIONS",
    "AuditRecord",
    "CardToken",
    "InboxEvent",
    "Migration",
    "PersonTokens",
    "SignInState",
    "Store",
    "connect_args_for",
    "normalize_database_url",
]
