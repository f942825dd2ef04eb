"""A worker killed mid-send: WeCom had taken the messages in flight, the next worker sends them again.

For app messages WeCom's own duplicate check (``enable_duplicate_check``) drops the repeats, so each
member sees each reminder once; without it (APP_DUPLICATE_CHECK_SECONDS=0) the ones in flight are
seen twice, which is what the review measured (4 of 40). Webhook and response_url have no such
check: there delivery is at least once (docs/robustness.md).
"""

from __future__ import annotations

import time
from collections import Counter

import pytest

from bot.outbound.queue import DELAYED, OUTBOX_QUEUE, PROCESSING
from tests.support.worker_processes import (  # noqa: F401 - fixtures cluster_factory, wecom
    fixture_cluster_factory,
    fixture_wecom,
    wait_for,
)

USERS = [f"u{i:02d}" for i in range(40)]
IN_FLIGHT = 4  # SENDER_THREADS: what a kill catches mid-HTTP


@pytest.mark.slow
@pytest.mark.fault
@pytest.mark.parametrize("check_seconds, seen_twice", [("1800", 0), ("0", IN_FLIGHT)])
def test_a_kill_mid_send_shows_no_reminder_twice_with_wecoms_duplicate_check(cluster_factory, wecom,
                                                                             redis_client, check_seconds,
                                                                             seen_twice):
    cluster = cluster_factory(CERT_CHECK_DELAY="1", WECOM_HTTP_TIMEOUT="8", SEND_CLAIM_TTL="3",
                              SENDER_THREADS=str(IN_FLIGHT), APP_DUPLICATE_CHECK_SECONDS=check_seconds)
    wecom.fail("late", count=IN_FLIGHT, delay=6.0)  # taken by WeCom at once, answered only after the kill
    for user in USERS:  # all due before the worker starts: its sender threads take them at once
        cluster.say("我提交了认证", user=user)
        cluster.say("是", user=user)  # before step 3 the bot asks once whether the steps before it are done
    first = cluster.start_worker()
    cluster.leader()
    wait_for(lambda: len([r for r in wecom.calls("message/send") if r.fault == "late"]) == IN_FLIGHT, 30,
             "the sends in flight", cluster)
    assert redis_client.llen(PROCESSING) == IN_FLIGHT  # taken by WeCom, not yet known as sent
    cluster.kill(first)  # WeCom has them; the worker never learns they were sent

    cluster.start_worker()
    cluster.leader()
    wait_for(lambda: {r.body["touser"] for r in wecom.delivered("message/send")} >= set(USERS), 60,
             "every user's check", cluster)
    # what the dead worker held goes out again once its claim runs out: wait for those posts, then for
    # the outbox to stay empty (a message moving between its lists is briefly in none of them)
    wait_for(lambda: len(wecom.calls("message/send")) >= len(USERS) + IN_FLIGHT, 60, "the re-sends", cluster)
    drained, deadline = 0, time.time() + 30
    while drained < 10 and time.time() < deadline:
        drained = drained + 1 if not any(redis_client.exists(k) for k in (OUTBOX_QUEUE, PROCESSING, DELAYED)) else 0
        time.sleep(0.1)
    assert drained == 10, cluster.logs()
    assert {r.body["touser"] for r in wecom.delivered("message/send") if "你提交服务商认证" in r.content} == set(USERS)
    seen = Counter((r.body["touser"], r.content) for r in wecom.delivered("message/send"))
    posted = Counter((r.body["touser"], r.content) for r in wecom.calls("message/send"))
    assert sum(posted.values()) - len(posted) == IN_FLIGHT  # the ones in flight were posted again either way
    assert sum(n - 1 for n in seen.values()) == seen_twice, seen  # ... and seen again only without the check
    expected = 1 if check_seconds != "0" else None
    assert all(r.body.get("enable_duplicate_check") == expected for r in wecom.calls("message/send"))
