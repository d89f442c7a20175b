"""The import graph: ``chat.actions`` and ``chat.delivery`` stand side by side.

The action layer reaches delivery only through ``chat.events``; delivery never calls up into actions;
only ``chat.events`` and ``chat.delivery`` touch the broker and the relay. Read from the source with
``ast``, so a lazy import inside a function counts as much as one at the top.
"""
import ast
from pathlib import Path

import pytest

CHAT = Path(__file__).resolve().parent.parent / "chat"
DELIVERY_EXTENSIONS = {"chat.broker", "chat.relay"}


def module_name(path, root=CHAT):
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path, root=CHAT):
    """Every module ``path`` imports, absolute (``from . import x`` yields both the package and ``pkg.x``)."""
    name = module_name(path, root)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module
            found.add(target)
            found.update(f"{target}.{alias.name}" for alias in node.names)
    return found


def string_constants(path):
    return {node.value for node in ast.walk(ast.parse(path.read_text(), str(path)))
            if isinstance(node, ast.Constant) and isinstance(node.value, str)}


def modules(package):
    return sorted((CHAT / package).rglob("*.py"))


def within(name, package):
    return name == package or name.startswith(package + ".")


@pytest.mark.parametrize("path", modules("actions"), ids=lambda p: p.name)
def test_actions_do_not_import_delivery(path):
    assert not [m for m in imported_modules(path) if within(m, "chat.delivery")]


@pytest.mark.parametrize("path", modules("delivery"), ids=lambda p: p.name)
def test_delivery_does_not_import_actions(path):
    assert not [m for m in imported_modules(path) if within(m, "chat.actions")]


def test_only_events_and_delivery_touch_the_broker_and_relay():
    allowed = {CHAT / "events.py", *modules("delivery")}
    offenders = [p.relative_to(CHAT.parent).as_posix() for p in sorted(CHAT.rglob("*.py"))
                 if p not in allowed and string_constants(p) & DELIVERY_EXTENSIONS]
    assert offenders == []


@pytest.mark.parametrize(("source", "package", "expected"), [
    ("from ..delivery import stream\n", "chat/actions/x.py", "chat.delivery.stream"),
    ("from ..delivery.presence_hooks import announce\n", "chat/actions/x.py", "chat.delivery.presence_hooks"),
    ("import chat.delivery.relay\n", "chat/actions/x.py", "chat.delivery.relay"),
    ("def f():\n    from chat import delivery\n", "chat/actions/x.py", "chat.delivery"),
    ("from ..actions import live\n", "chat/delivery/x.py", "chat.actions.live"),
    ("from . import inbox\n", "chat/actions/x.py", "chat.actions.inbox"),
])
def test_the_import_reader_sees_every_form(tmp_path, source, package, expected):
    """The checks above would pass vacuously if the reader missed an import form: pin that it sees them."""
    root = tmp_path / "chat"
    path = root / package.removeprefix("chat/")
    path.parent.mkdir(parents=True)
    path.write_text(source)
    assert expected in imported_modules(path, root)
