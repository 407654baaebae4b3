"""URL normalization: what operators paste, what SQLAlchemy gets."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.store import connect_args_for, normalize_database_url


@pytest.mark.parametrize(
    ("given_url", "expected"),
    [
        ("sqlite:///relative.db", "sqlite+aiosqlite:///relative.db"),
        ("sqlite:///data/bot.db", "sqlite+aiosqlite:///data/bot.db"),
        ("sqlite:////absolute/path.db", "sqlite+aiosqlite:////absolute/path.db"),
        ("sqlite://", "sqlite+aiosqlite://"),
        ("sqlite:///:memory:", "sqlite+aiosqlite://"),
        ("sqlite+aiosqlite:///x.db", "sqlite+aiosqlite:///x.db"),
        ("sqlite:////tmp/a b/c:d.db", "sqlite+aiosqlite:////tmp/a b/c%3Ad.db"),
        ("postgresql://user@host/db", "postgresql+asyncpg://user@host/db"),
        ("postgresql://u:p%40ss@host:6543/db", "postgresql+asyncpg://u:p%40ss@host:6543/db"),
        ("postgres://u:pw@ec2.example.com:5432/d1", "postgresql+asyncpg://u:pw@ec2.example.com:5432/d1"),
        ("postgresql+asyncpg://user@host/db", "postgresql+asyncpg://user@host/db"),
        ("postgres://u:pw@h/d?sslmode=require", "postgresql+asyncpg://u:pw@h/d?ssl=require"),
        ("postgresql://u@h/d?sslmode=disable", "postgresql+asyncpg://u@h/d?ssl=disable"),
        ("postgresql://u@h/d?sslmode=require&ssl=verify-full", "postgresql+asyncpg://u@h/d?ssl=verify-full"),
    ],
)  # fmt: skip
def test_normalize_database_url(given_url: str, expected: str) -> None:
    assert normalize_database_url(given_url) == expected


@pytest.mark.parametrize(
    "bad",
    [
        "mysql://u@h/db",
        "postgresql+psycopg2://u@h/db",
        "sqlite+pysqlite:///x.db",
        "http://example.com",
        "not a url",
        "",
    ],
)
def test_unsupported_urls_raise_value_error_naming_the_choices(bad: str) -> None:
    with pytest.raises(ValueError, match=r"sqlite:///path\.db or postgresql://"):
        normalize_database_url(bad)


def test_error_message_does_not_leak_the_password() -> None:
    with pytest.raises(ValueError) as info:
        normalize_database_url("mysql://user:hunter2@host/db")
    assert "hunter2" not in str(info.value)


@pytest.mark.parametrize(
    ("url", "schema", "expected"),
    [
        ("sqlite:///x.db", None, {"timeout": 5.0}),
        ("postgres://u@h/d", None, {}),
        ("postgresql://u@h/d", "t_1", {"server_settings": {"search_path": "t_1"}}),
    ],
)
def test_connect_args(url: str, schema: str | None, expected: dict[str, object]) -> None:
    assert connect_args_for(url, schema=schema) == expected


def test_schema_is_refused_on_sqlite() -> None:
    with pytest.raises(ValueError, match="PostgreSQL"):
        connect_args_for("sqlite:///x.db", schema="s")


@given(st.text(max_size=80))
def test_any_string_is_normalized_or_refused_with_value_error(text: str) -> None:
    try:
        result = normalize_database_url(text)
    except ValueError:
        return
    assert result.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://"))


@given(
    st.sampled_from(["postgres", "postgresql"]),
    st.from_regex(r"[a-z][a-z0-9]{0,10}", fullmatch=True),
)
def test_postgres_forms_all_land_on_asyncpg(scheme: str, db: str) -> None:
    assert normalize_database_url(f"{scheme}://u@h/{db}") == f"postgresql+asyncpg://u@h/{db}"
