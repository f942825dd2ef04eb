"""Each setting is defined once, in ``bot.config.Settings``: a default written a second time fails here.

The parts that read settings in their own shape (``ReminderConfig``, ``SenderConfig``, ``LongConnSettings``:
*views*) name the Settings field each of their fields shows, and have no defaults of their own; no module
writes a setting's default again under the setting's name (or a view's name for it); and the rates a
channel is paced to are settings, not constants of the channel's module (the webhook's 20 a minute was
once written three times).
"""

from __future__ import annotations

import ast
import dataclasses
import importlib
import operator
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.config import LongConnSettings, Settings, load_settings, longconn_settings, setting_default
from bot.core.store import Store
from bot.outbound.config import SenderConfig
from bot.outbound.sender import Sender
from bot.wiring.services import wecom_api
from bot.worker.reminders.config import ReminderConfig
from tests.support.environment import make_env

ROOT = Path(__file__).resolve().parents[2]
SOURCES = ("bot", "handlers")
SETTINGS = {f.name: f for f in dataclasses.fields(Settings)}
KNOWN_VIEWS = {ReminderConfig, SenderConfig, LongConnSettings}
BUILDERS = {LongConnSettings: longconn_settings}  # the others: their ``from_settings``


def _modules() -> Iterator[tuple[str, Path, ast.Module]]:
    for folder in SOURCES:
        for path in sorted((ROOT / folder).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            yield ".".join(parts), path, ast.parse(path.read_text(encoding="utf-8"))


def _called(node: ast.expr | None) -> str | None:
    """The name a call expression calls (``view`` for ``view("x")`` and ``config.view("x")``), else None."""
    if not isinstance(node, ast.Call):
        return None
    func = node.func
    return func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else None


def _view_classes() -> list[tuple[str, ast.ClassDef]]:
    """Every class in bot/ and handlers/ with a field declared ``view(...)`` or ``derived(...)``."""
    return [(module, node) for module, _path, tree in _modules() for node in ast.walk(tree)
            if isinstance(node, ast.ClassDef)
            and any(isinstance(item, ast.AnnAssign) and _called(item.value) in ("view", "derived")
                    for item in node.body)]


def _views() -> list[type]:
    return [getattr(importlib.import_module(module), node.name) for module, node in _view_classes()]


def test_the_views_are_found():
    assert set(_views()) >= KNOWN_VIEWS


@pytest.mark.parametrize("module, cls", [(m, c) for m, c in _view_classes()], ids=lambda x: getattr(x, "name", x))
def test_a_view_writes_no_default_of_its_own(module, cls):
    """Every field of a view is ``view("<Settings field>")`` or ``derived(...)``: nothing else, no literal."""
    own = [f"{module}.{cls.name}.{item.target.id}" for item in cls.body  # type: ignore[union-attr]
           if isinstance(item, ast.AnnAssign) and _called(item.value) not in ("view", "derived")]
    assert own == []
    for f in dataclasses.fields(getattr(importlib.import_module(module), cls.name)):
        assert f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING, f.name
        shown = [f.metadata["view_of"]] if "view_of" in f.metadata else list(f.metadata["derived_from"])
        assert shown and set(shown) <= set(SETTINGS), f"{cls.name}.{f.name} names no Settings field: {shown}"


class _Marker:
    """A value no default can equal: a view field holding it was read from the Settings given."""

    def __init__(self, attr: str) -> None:
        self.attr = attr

    def __repr__(self) -> str:
        return f"<Settings.{self.attr}>"


def test_a_view_shows_the_settings_it_is_built_from():
    views = _views()
    fields = [f for cls in views for f in dataclasses.fields(cls)]
    computed_from = {attr for f in fields for attr in f.metadata.get("derived_from", ())}
    # a marker does no arithmetic: fields a derivation reads too keep their real values
    shown = {f.metadata["view_of"] for f in fields if "view_of" in f.metadata} - computed_from
    settings = dataclasses.replace(Settings(bot_id="bot", bot_secret="secret"),
                                   **{attr: _Marker(attr) for attr in shown})
    for cls in views:
        built: Any = (BUILDERS.get(cls) or cls.from_settings)(settings)  # type: ignore[attr-defined]
        for f in dataclasses.fields(cls):
            if f.metadata.get("view_of") in shown:
                assert getattr(built, f.name) is getattr(settings, f.metadata["view_of"]), f"{cls.__name__}.{f.name}"


def test_the_views_take_settings_defaults(tmp_path):
    settings = load_settings(make_env(tmp_path, WECOM_BOT_ID="bot", WECOM_BOT_SECRET="secret"))
    reminders, sender, ws = ReminderConfig.from_settings(settings), SenderConfig.from_settings(settings), \
        longconn_settings(settings)
    assert (reminders.retry, reminders.quiet, sender.webhook_limit, sender.app_limit) == (
        setting_default("reminder_retry"), setting_default("quiet_hours"), setting_default("webhook_rate_limit"),
        setting_default("app_rate_limit"))
    assert ws is not None and (ws.send_limit, ws.ping_interval) == (setting_default("ws_send_rate_limit"),
                                                                    setting_default("ws_ping_interval"))


# -- no module writes a setting's default again --------------------------------------------------------------
_ARITHMETIC = {ast.Mult: operator.mul, ast.Add: operator.add, ast.Sub: operator.sub, ast.Div: operator.truediv}


def _constant(node: ast.expr) -> Any:
    """The value of a literal, or arithmetic on literals (``4 * 3600.0``); None for anything else."""
    try:
        return ast.literal_eval(node)
    except ValueError:
        pass
    op = _ARITHMETIC.get(type(node.op)) if isinstance(node, ast.BinOp) else None
    if op is not None:
        left, right = _constant(node.left), _constant(node.right)  # type: ignore[attr-defined]
        if isinstance(left, int | float) and isinstance(right, int | float):
            return op(left, right)
    return None


def _named_defaults(tree: ast.Module) -> Iterator[tuple[str, ast.expr, int]]:
    """(name, value, line) of every parameter default, class field, class attribute and module constant."""
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            args = node.args
            positional = [*args.posonlyargs, *args.args]
            for arg, value in zip(positional[len(positional) - len(args.defaults):], args.defaults, strict=True):
                yield arg.arg, value, value.lineno
            for arg, kw_value in zip(args.kwonlyargs, args.kw_defaults, strict=True):
                if kw_value is not None:
                    yield arg.arg, kw_value, kw_value.lineno
        elif isinstance(node, ast.AnnAssign) and node.value is not None and isinstance(node.target, ast.Name):
            yield node.target.id, node.value, node.lineno
        elif isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    yield target.id, node.value, node.lineno


def _names_of_settings() -> dict[str, set[str]]:
    """Names that mean a setting: the Settings field's own, or a view's field for it (``retry``)."""
    names: dict[str, set[str]] = {attr: {attr} for attr in SETTINGS}
    for cls in KNOWN_VIEWS:
        for f in dataclasses.fields(cls):
            if "view_of" in f.metadata:
                names.setdefault(f.name, set()).add(f.metadata["view_of"])
    return names


def _copies(tree: ast.Module, module: str, names: dict[str, set[str]]) -> list[str]:
    found: list[tuple[int, str]] = []
    for name, value, line in _named_defaults(tree):
        literal = _constant(value)
        if literal is None or isinstance(literal, bool) or literal in ("", ()):
            continue
        for attr in sorted(names.get(name.lower(), ())):
            if literal == setting_default(attr):
                found.append((line, f"{module}:{line} {name} = {literal!r} (Settings.{attr})"))
    return [copy for _line, copy in sorted(found)]


def _without_settings(module: str, tree: ast.Module) -> ast.Module:
    """The module, less the one place defaults are written (``Settings`` in bot/config.py)."""
    if module != "bot.config":
        return tree
    return ast.Module([node for node in tree.body if not (isinstance(node, ast.ClassDef) and node.name == "Settings")],
                      type_ignores=[])


def test_no_module_writes_a_settings_default_again():
    names = _names_of_settings()
    found = [copy for module, _path, tree in _modules()
             for copy in _copies(_without_settings(module, tree), module, names)]
    assert found == []


def test_the_copy_finder_sees_a_copy():
    tree = ast.parse("class Services:\n    rate_limit_per_minute: int = 30\n"
                     "def trigger(run_date, retry=60.0, give_up=6 * 3600.0): ...\n"
                     "HANDOFF_TIMEOUT = 4 * 3600.0\nretry = 0.3\n")
    assert _copies(tree, "m", _names_of_settings()) == [
        "m:2 rate_limit_per_minute = 30 (Settings.rate_limit_per_minute)",
        "m:3 retry = 60.0 (Settings.reminder_retry)",
        "m:4 HANDOFF_TIMEOUT = 14400.0 (Settings.handoff_timeout)",
    ]


# -- a channel's rates are settings: the numbers appear once, in Settings -----------------------------------
RATE_SETTINGS = ("webhook_rate_limit", "app_rate_limit", "app_hourly_limit", "ws_send_rate_limit",
                 "ws_send_hourly_limit")


def _channel_modules() -> list[tuple[str, ast.Module]]:
    """The modules that declare a channel (they build a ``ChannelSpec``)."""
    return [(module, tree) for module, _path, tree in _modules()
            if module != "bot.outbound.channel" and any(_called(n) == "ChannelSpec" for n in ast.walk(tree)
                                                        if isinstance(n, ast.Call))]


def test_no_channel_module_keeps_its_own_rate():
    """A channel module names no number that is a rate setting's default (``PER_MINUTE = 20`` was one)."""
    channels = _channel_modules()
    expected = {"bot.channels.app.outbound", "bot.channels.webhook.outbound", "bot.channels.longconn.outbound"}
    assert expected <= {m for m, _ in channels}
    rates = {setting_default(attr) for attr in RATE_SETTINGS}
    found = [f"{module}:{line} {name} = {number!r}" for module, tree in channels
             for name, value, line in _named_defaults(tree)
             if isinstance(number := _constant(value), int | float) and number in rates]
    assert found == []


def test_a_channel_is_paced_to_the_rate_settings(tmp_path, redis_client, clock):
    settings = load_settings(make_env(tmp_path, WECOM_APP_SECRET="s", WECOM_WEBHOOK_KEY="k", WECOM_BOT_ID="bot",
                                      WECOM_BOT_SECRET="secret", WEBHOOK_RATE_LIMIT="7", APP_RATE_LIMIT="8",
                                      APP_HOURLY_LIMIT="9", WS_SEND_RATE_LIMIT="10", WS_SEND_HOURLY_LIMIT="11"))
    sender = Sender(Store(redis_client), wecom_api(settings, redis_client), settings, clock=clock)
    counts = {name: [rate.count for rate in channel.spec.rates] for name, channel in sender.channels.items()}
    assert counts == {"app": [8, 9], "webhook": [7], "response_url": [], "longconn": [10, 11]}
