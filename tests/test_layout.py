"""The layout of bot/: no import circles, and every import follows the layer order.

A folder may import the shared vocabulary (bot's top-level modules, but not __main__) and the
folders its row names; nothing else. The README's "Development" section shows the same map.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

BOT = Path(__file__).resolve().parents[1] / "bot"
SHARED = "(shared)"  # bot/*.py but __main__
# folder → the folders it may import (besides the shared vocabulary and itself)
MAY_IMPORT: dict[str, set[str]] = {
    SHARED: set(),
    "store": set(),
    "webex": set(),
    "views": set(),
    "emulator": set(),
    "receiving": {"store"},
    "compliance": {"store", "webex"},
    "conversation": {"compliance", "store", "webex", "views"},
    "server": {"receiving", "conversation", "compliance", "store", "webex", "views"},
    "ops": {"server", "receiving", "conversation", "compliance", "store", "webex", "views"},
    "demo": {"server", "emulator", "views", "webex", "store"},
    "__main__": {"server", "ops", "demo", "receiving", "store", "webex"},
}
# Known until the webhook registry moves under webex/ (issue 20's ownership work lands there).
PENDING: set[tuple[str, str]] = {("bot.server.app", "bot.ops.webhooks")}


def modules() -> dict[str, Path]:
    found = {}
    for path in BOT.rglob("*.py"):
        parts = list(path.relative_to(BOT.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


def imports(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    """The bot modules `name` imports (type-checking imports too: they are a dependency)."""
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    targets: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            candidates = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*up, base] if base else up)
            candidates = [base] + [f"{base}.{alias.name}" for alias in node.names]
        else:
            continue
        for candidate in candidates:
            while candidate and candidate not in known:
                candidate = candidate.rpartition(".")[0]
            if candidate and candidate != name and not name.startswith(candidate + "."):
                targets.add(candidate)
    return targets


def folder(module: str) -> str:
    parts = module.split(".")
    if module == "bot.__main__":
        return "__main__"
    return parts[1] if len(parts) > 2 or (len(parts) == 2 and (BOT / parts[1]).is_dir()) \
        else SHARED


GRAPH = {name: imports(name, path, modules()) for name, path in modules().items()}


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_bot_has_no_import_circle() -> None:
    assert circles(GRAPH) == []


def test_the_circle_finder_finds_a_circle() -> None:
    assert circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


@pytest.mark.parametrize("module", sorted(GRAPH))
def test_imports_follow_the_layers(module: str) -> None:
    own = folder(module)
    allowed = MAY_IMPORT[own] | {own, SHARED}
    wrong = sorted(t for t in GRAPH[module]
                   if folder(t) not in allowed and (module, t) not in PENDING)
    assert wrong == [], f"{module} ({own}/) may not import {wrong}"


def test_every_folder_is_in_the_layer_table() -> None:
    folders = {p.name for p in BOT.iterdir() if (p / "__init__.py").exists()}
    assert folders <= set(MAY_IMPORT)


@pytest.mark.parametrize("module", sorted(GRAPH))
def test_every_module_says_what_it_owns(module: str) -> None:
    tree = ast.parse(modules()[module].read_text(encoding="utf-8"))
    assert ast.get_docstring(tree), f"{module} has no docstring saying what it owns"
