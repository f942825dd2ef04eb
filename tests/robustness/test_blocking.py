"""An embedding under gevent must not stall the worker's other connections (bot.infra.blocking).

Event-ordered, not timed: a ticker greenlet counts while the main greenlet embeds a question. If the
C call ran on the hub, the ticker could not run until the call returned and the count would not move.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent(
    """
    from gevent import monkey
    monkey.patch_all()
    import json, sys
    import gevent
    from bot.infra.blocking import gevent_active, run_blocking
    from bot.faq.semantic import Embedder

    embedder = Embedder(cache_dir=None)
    embedder.token_count("warm up the model")
    ticks = 0

    def ticker():
        global ticks
        while True:
            ticks += 1
            gevent.sleep(0)

    gevent.spawn(ticker)
    gevent.sleep(0)
    before = ticks
    embedder.query("第三方平台接收消息一直报错 Invalid Signature 但是能回复消息 请问是哪里配置错了 " * 3)
    during_query = ticks - before
    before = ticks
    embedder.passages(["第三方平台的权限集应该怎么选，小程序开发与数据分析权限要不要勾选"])
    during_passages = ticks - before
    print(json.dumps({"active": gevent_active(), "query": during_query, "passages": during_passages,
                      "plain": run_blocking(sum, [1, 2])}))
    """
)


def test_embedding_under_gevent_leaves_the_hub_free() -> None:
    out = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=120, check=True)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["active"] is True
    assert result["plain"] == 3
    assert result["query"] > 0, "the ticker did not run while a question was embedded: the hub was blocked"
    assert result["passages"] > 0, "the ticker did not run while passages were embedded: the hub was blocked"


def test_without_gevent_it_is_a_plain_call() -> None:
    from bot.infra.blocking import gevent_active, run_blocking

    assert gevent_active() is False  # the test process is not monkey-patched
    assert run_blocking(max, 3, 7) == 7
