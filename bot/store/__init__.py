"""The durable store: inbox, audit trail, card tokens, org locks, secrets, the watch."""

from .migrations import LATEST_VERSION, MIGRATIONS, Migration
from .outage import is_database_outage
from .records import AuditRecord, CardToken, InboxEvent
from .signin import PersonTokens, SignInState
from .sqlite_worker import NotNow
from .store import Store
from .url import connect_args_for, normalize_database_url
from .watch import WatchPost, WatchState

__all__ = [
    "LATEST_VERSION",
    "MIGRATIONS",
    "AuditRecord",
    "CardToken",
    "InboxEvent",
    "Migration",
    "NotNow",
    "PersonTokens",
    "SignInState",
    "Store",
    "WatchPost",
    "WatchState",
    "connect_args_for",
    "is_database_outage",
    "normalize_database_url",
]
