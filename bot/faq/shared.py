"""One knowledge base per folder per process, reloaded when the folder's files change.

Loading takes seconds (tokenizer, indexes, the semantic model), so the web app, the worker and the
understanding factory share one instance. Here, not in ``bot.wiring.services``: the understanding factory
needs it too, and ``bot.wiring.services`` builds the understanding (that import would be a cycle).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from bot.faq.search import KnowledgeBase


def knowledge_from(folder: Path) -> KnowledgeBase:
    """The knowledge base of ``folder``, shared by everything in the process until its files change."""
    files = [*folder.glob("*"), *folder.glob("codes/*")]  # topics, word lists and the error-code table
    version = tuple(sorted((str(p.relative_to(folder)), p.stat().st_mtime_ns) for p in files if p.is_file()))
    return _load(folder, version)


@lru_cache(maxsize=4)
def _load(folder: Path, _version: tuple[tuple[str, int], ...]) -> KnowledgeBase:
    return KnowledgeBase.load(folder)
