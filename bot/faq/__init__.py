"""Troubleshooting FAQ: knowledge topics loaded from YAML and a typo/pinyin-tolerant search.

Usage::

    kb = KnowledgeBase.load(KnowledgeBase.default_dir())
    res = kb.search("appsecret忘了咋办", step=3)
    if res.topic: ...            # confident answer
    else: res.alternatives       # "did you mean" candidates, or hand over to a person
"""

from bot.faq.knowledge import KnowledgeError, Topic
from bot.faq.search import KnowledgeBase, SearchResult

__all__ = ["KnowledgeBase", "KnowledgeError", "SearchResult", "Topic"]
