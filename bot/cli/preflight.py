"""Everything ``python -m bot check`` validates, and ``serve`` refuses to start without.

Each process reads its own settings when it starts (the worker its reminder and sender settings,
the web process its admin ones), so a typo used to surface as a worker traceback minutes after a
banner that said all was well. Now every setting is parsed by ``bot.config.load_settings`` and its
range checked by ``bot.config.validate``; here both run up front, the data files and templates are
compiled, and Redis is reached: what passes here starts.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from bot.config import ConfigError, Settings, load_settings, redis_target
from bot.config import validate as validate_settings  # parsing happened in load_settings; this checks ranges

if TYPE_CHECKING:
    from bot.infra.redis_conn import RedisTarget

__all__ = ["preflight", "reach_redis", "validate_files", "validate_settings"]


def reach_redis(target: str | RedisTarget) -> None:
    """Raise ConfigError when Redis (the server, the cluster or the Sentinels' master) does not answer a PING
    within 2 s (the message hides the password)."""
    import redis

    from bot.infra.redis_conn import RedisTarget, connect

    target = RedisTarget(target) if isinstance(target, str) else target
    try:
        connect(target, socket_timeout=2.0).ping()
    except (redis.RedisError, OSError, ValueError) as exc:
        where = re.sub(r"//[^@/]*@", "//***@", target.url)
        if target.kind != "single":
            where = f"{where} ({target.kind})"
        raise ConfigError(f"cannot reach Redis at {where}: {type(exc).__name__}: {exc}") from exc


def validate_files(settings: Settings) -> int:
    """Compile the guide, the knowledge base, the understanding data (training the model) and every template,
    and check the phrases templates prompt are understood; returns FAQ topics."""
    from bot.core.guide import Guide
    from bot.core.render import Renderer
    from bot.understand.check import missing_answers, unreadable_prompts
    from bot.understand.factory import build_understander
    from bot.wiring.services import load_knowledge

    Guide.load(settings.guide_file)
    knowledge = load_knowledge(settings)
    understander = build_understander(knowledge)  # validates data/understanding and trains the model
    env = Renderer(settings.templates_dir).env
    for name in env.list_templates():
        env.get_template(name)  # compiles: a syntax error names the file and line
    missing = missing_answers(settings.templates_dir, understander)
    if missing:
        raise ValueError("data/understanding/intents.yaml answers commands with templates that do not exist: "
                         + ", ".join(missing))
    unread = unreadable_prompts(settings.templates_dir, understander)
    if unread:
        raise ValueError("templates tell users to type phrases the bot does not understand: "
                         + "; ".join(f"{name}: 「{phrase}」 reads as {got}" for name, phrase, got in unread))
    return len(knowledge.topics)


def preflight(*, reach: bool = True) -> tuple[Settings, int]:
    """Load and validate everything; ``reach``: also PING Redis when REDIS_URL is set."""
    import jinja2
    import yaml

    try:
        settings = load_settings()
        validate_settings(settings)
        topics = validate_files(settings)
    except (ValueError, KeyError, re.error, yaml.YAMLError, jinja2.TemplateError) as exc:
        raise ConfigError(str(exc)) from exc
    target = redis_target(settings)
    if reach and target is not None:
        reach_redis(target)
    return settings, topics
