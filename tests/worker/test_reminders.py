"""Reminders end to end in one process: real Redis, the real job store, a controlled clock.

Messages go through the app callback (``say``); the resulting events are consumed from
``wb:events`` as the worker does; jobs land in APScheduler's Redis job store (scheduler started
paused, so nothing fires on its own) and are fired by hand at fake times.
"""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from bot.config import Settings
from bot.core.guide import Guide
from bot.core.messages import Reply
from bot.core.progress import CERT_PENDING, Progress
from bot.core.render import MARKDOWN, TEXT, Renderer
from bot.core.store import EVENTS_STREAM, Store, progress_key
from bot.outbound.entry import USER, WEBHOOK, OutboxMessage
from bot.outbound.queue import OUTBOX_QUEUE
from bot.worker.event_reader import EVENTS_GROUP
from bot.worker.reminders.config import ReminderConfig
from bot.worker.reminders.context import ReminderContext
from bot.worker.reminders.jobs import CERT, IDLE, JOB_FUNC, fire, install, job_id, schedule
from bot.worker.reminders.planning import Planner
from bot.worker.reminders.stages import after_quiet_hours
from bot.worker.scheduler import (
    APS_JOBS_KEY,
    APS_RUN_TIMES_KEY,
    RetryingDateTrigger,
    at,
    build_scheduler,
    redis_job_store,
)
from tests.support.environment import TEST_CORP_ID, make_env
from tests.support.phrases import (
    CERTIFICATION_FAILED,
    CERTIFICATION_PASSED,
    HANDED_TO_A_PERSON,
    RESUME_REMINDERS,
    STOP_REMINDERS,
    TICK_ITEM_1,
    TICK_ITEM_2,
)
from tests.support.reminders import Harness

SHANGHAI = ZoneInfo("Asia/Shanghai")
ALICE = f"{TEST_CORP_ID}:alice"


def shanghai(*args: int) -> float:
    return datetime(*args, tzinfo=SHANGHAI).timestamp()


@pytest.fixture
def env(tmp_path) -> dict[str, str]:
    return make_env(tmp_path, WECOM_WEBHOOK_KEY="hook-key", WECOM_APP_SECRET="secret", SUPPORT_STAFF="staff1,staff2")


@pytest.fixture
def harness(settings, redis_client, clock):
    clock.now = shanghai(2026, 9, 21, 10, 0)
    h = Harness(settings, redis_client, clock)
    yield h
    h.close()


def test_cert_check_followups_then_staff_notice(harness, say, clock):
    say("开始")
    say("我提交了认证")
    say("是")  # submitting before step 3: the bot asks once whether the steps before it are done
    harness.pump()
    submitted = clock()
    jobs = harness.jobs()
    assert jobs[job_id(CERT, ALICE)]["due"] == submitted + 600
    assert harness.client.hexists(APS_JOBS_KEY, job_id(CERT, ALICE))  # in the Redis job store

    clock.advance(599)
    assert harness.run_due() == 0
    clock.advance(1)
    harness.run_due()
    check = harness.take_outbox()
    assert len(check) == 1 and check[0].channel == USER and check[0].to_user == "alice"
    assert ("认证应已完成，结果如何" in check[0].text and CERTIFICATION_PASSED in check[0].text
            and CERTIFICATION_FAILED in check[0].text)
    assert "**" not in check[0].meta["plain"]  # the app gets the plain variant

    clock.advance(1800)  # +30 min after the check
    harness.run_due()
    first = harness.take_outbox()
    assert len(first) == 1 and "结果出来了吗" in first[0].text
    clock.advance(7200 - 1800)  # +2 h after the check
    harness.run_due()
    assert len(harness.take_outbox()) == 1
    clock.advance(3600)  # then support staff hear of it, in the group
    harness.run_due()
    notice = harness.take_outbox()
    assert len(notice) == 1 and notice[0].channel == WEBHOOK
    assert "<@staff1>" in notice[0].text and "<@staff2>" in notice[0].text and "<@alice>" in notice[0].text
    assert job_id(CERT, ALICE) not in harness.jobs()  # the chain is over
    clock.advance(86400 * 3)
    harness.pump()
    harness.run_due()
    assert harness.take_outbox() == []  # certification pending: no idle nudge either


def test_answer_cancels_certification_reminders(harness, say, clock):
    say("我提交了认证")
    say("是")  # submitting before step 3: the bot asks once whether the steps before it are done
    harness.pump()
    assert job_id(CERT, ALICE) in harness.jobs()
    clock.advance(300)
    say(CERTIFICATION_PASSED)
    harness.pump()
    assert job_id(CERT, ALICE) not in harness.jobs()
    clock.advance(3600)
    harness.run_due()
    assert [m for m in harness.outbox() if m.channel == USER] == []


def test_stale_job_does_nothing_when_it_fires(harness, say, clock, redis_client):
    """Even if the cancelling event was not consumed yet, the job re-reads progress and stays quiet."""
    say("我提交了认证")
    say("是")  # submitting before step 3: the bot asks once whether the steps before it are done
    harness.pump()
    clock.advance(60)
    say(CERTIFICATION_FAILED)  # not pumped: the job is still in the store
    say("我提交了认证")  # a second attempt: new since, new attempt number
    clock.advance(600)
    fire(*harness.scheduler.get_job(job_id(CERT, ALICE)).args)
    assert harness.outbox() == []
    harness.pump()  # the new attempt gets its own check
    assert harness.jobs()[job_id(CERT, ALICE)]["attempt"] == 2


def test_reset_makes_reminders_stale(harness, say, clock):
    say("开始")
    say("我提交了认证")
    say("是")  # submitting before step 3: the bot asks once whether the steps before it are done
    harness.pump()
    say("重置")
    say("确认")
    clock.advance(600)
    fire(*harness.scheduler.get_job(job_id(CERT, ALICE)).args)
    assert harness.outbox() == []
    harness.pump()
    assert harness.jobs() == {}  # reset and "not started" cancel both kinds


def test_idle_nudge_names_next_unticked_item(harness, say, clock, settings):
    say("开始")
    say(TICK_ITEM_1)
    harness.pump()
    idle = harness.jobs()[job_id(IDLE, ALICE)]
    assert idle["due"] == clock() + 86400 and idle["step"] == 1
    clock.advance(86400)
    harness.run_due()
    [nudge] = harness.take_outbox()
    item2 = Guide.load(settings.guide_file).step(1).items[1].zh
    assert "第1步" in nudge.text and "☐ 2." in nudge.text and TICK_ITEM_2 in nudge.text
    assert item2.replace("**", "")[:10] in nudge.meta["plain"]
    second = harness.jobs()[job_id(IDLE, ALICE)]
    assert second["stage"] == 1 and second["due"] == idle["at"] + 259200
    clock.advance(259200 - 86400)
    harness.run_due()
    assert len(harness.take_outbox()) == 1
    assert harness.jobs() == {}  # two nudges, then silence


def test_activity_reschedules_the_single_idle_job(harness, say, clock):
    say("开始")
    harness.pump()
    first = harness.jobs()[job_id(IDLE, ALICE)]["due"]
    clock.advance(3600)
    say("进度")
    harness.pump()
    jobs = harness.jobs()
    assert list(jobs) == [job_id(IDLE, ALICE)]
    assert jobs[job_id(IDLE, ALICE)]["due"] == first + 3600


def test_idle_nudge_waits_for_the_morning(harness, say, clock):
    clock.now = shanghai(2026, 9, 21, 23, 30)
    say("开始")
    harness.pump()
    due = harness.jobs()[job_id(IDLE, ALICE)]["due"]
    assert due == shanghai(2026, 9, 23, 8, 30)  # 24 h later is 23:30 again: postponed to 08:30


def test_late_fire_in_quiet_hours_is_postponed(harness, say, clock):
    say("开始")
    harness.pump()
    clock.now = shanghai(2026, 9, 22, 23, 0)  # the worker was down; it fires at night
    harness.run_due()
    assert harness.outbox() == []
    assert harness.jobs()[job_id(IDLE, ALICE)]["due"] == shanghai(2026, 9, 23, 8, 30)


def test_late_evening_certification_check_waits_for_the_morning_and_keeps_the_spacing(harness, say, clock):
    """Quiet hours apply to every reminder, the first check too; the user is told when it will come."""
    clock.now = shanghai(2026, 9, 21, 23, 0)
    say("我提交了认证")
    reply = say("是")  # submitting before step 3: the bot asks once whether the steps before it are done
    assert "08:30" in reply and "10 分钟后" not in reply
    harness.pump()
    assert harness.jobs()[job_id(CERT, ALICE)]["due"] == shanghai(2026, 9, 22, 8, 30)
    clock.advance(600)  # 23:10: quiet
    harness.run_due()
    assert harness.take_outbox() == []
    clock.now = shanghai(2026, 9, 22, 8, 30)
    harness.run_due()
    [check] = harness.take_outbox()
    assert check.meta["kind"] == "reminder_cert_check"
    follow_up = harness.jobs()[job_id(CERT, ALICE)]
    assert follow_up["due"] == shanghai(2026, 9, 22, 9, 0)  # 30 min after the (postponed) check
    clock.now = follow_up["due"]
    harness.run_due()
    assert len(harness.take_outbox()) == 1  # one follow-up, not both at once
    assert harness.jobs()[job_id(CERT, ALICE)]["due"] == shanghai(2026, 9, 22, 10, 30)  # still 90 min apart


def test_a_check_falling_due_at_0319_is_postponed_not_sent(harness, say, clock):
    """The case from issue 15: a submission at 03:09 with the default 10-minute delay."""
    clock.now = shanghai(2026, 9, 22, 3, 9)
    say("我提交了认证")
    say("是")  # before step 3 the bot asks once
    harness.pump()
    job = harness.scheduler.get_job(job_id(CERT, ALICE))
    token = {**job.args[3], "due": shanghai(2026, 9, 22, 3, 19)}  # as planned before the fix
    clock.now = shanghai(2026, 9, 22, 3, 19)
    fire(job.args[0], ALICE, CERT, token)
    assert harness.take_outbox() == []


def _run_the_chain(harness, clock) -> None:
    """Fire the certification job at each stage's due time until the chain ends."""
    for _ in range(10):
        job = harness.jobs().get(job_id(CERT, ALICE))
        if job is None:
            return
        clock.now = job["due"]
        harness.run_due()


def test_the_escalation_says_no_reminder_was_sent_to_a_muted_user(harness, say, clock):
    say("我提交了认证")
    say("是")  # before step 3 the bot asks once
    say(STOP_REMINDERS)
    harness.pump()
    _run_the_chain(harness, clock)
    sent = harness.take_outbox()
    assert [m.meta["kind"] for m in sent] == ["notice_cert_stuck"]
    assert "多次提醒" not in sent[0].text and "关闭了提醒" in sent[0].text


def test_each_follow_up_says_something_new_and_its_minutes_are_filled_in_when_sent(harness, say, clock):
    from bot.outbound.elapsed import ELAPSED_MINUTES, fill

    say("我提交了认证")
    say("是")  # before step 3 the bot asks once
    harness.pump()
    submitted = clock()
    _run_the_chain(harness, clock)
    followups = [m for m in harness.take_outbox() if m.meta["kind"] == "reminder_cert_followup"]
    assert len(followups) == 2
    first, second = (m.meta["plain"] for m in followups)
    assert first != second and "腾讯云账号" in second and "腾讯云账号" not in first  # what to check next
    assert "最后一次" in second
    assert ELAPSED_MINUTES in first  # no figure frozen at planning time...
    sent_at = submitted + 3 * 3600
    assert "已提交 180 分钟" in fill(first, followups[0].meta, sent_at)  # ...but the one at sending


def test_unmuting_brings_back_the_follow_up_of_a_pending_certification(harness, say, clock):
    say("我提交了认证")
    say("是")  # before step 3 the bot asks once
    say(STOP_REMINDERS)
    harness.pump()
    _run_the_chain(harness, clock)  # muted all along: only staff heard, and the chain is over
    assert [m.meta["kind"] for m in harness.take_outbox()] == ["notice_cert_stuck"]
    assert job_id(CERT, ALICE) not in harness.jobs()

    clock.now = shanghai(2026, 9, 22, 10, 0)
    say(RESUME_REMINDERS)
    harness.pump()
    planned = harness.jobs()[job_id(CERT, ALICE)]
    assert planned["due"] == clock() + 600
    clock.now = planned["due"]
    harness.run_due()
    [followup] = harness.take_outbox()
    assert followup.meta["kind"] == "reminder_cert_followup" and followup.to_user == "alice"

    assert harness.jobs()[job_id(CERT, ALICE)]["stage"] == planned["stage"] + 1  # then staff hear, as planned
    clock.advance(60)
    say(RESUME_REMINDERS)  # already on, a follow-up to the user is not next: one is planned again, only one
    harness.pump()
    assert [j["stage"] for j in harness.jobs().values() if "attempt" in j] == [planned["stage"]]


def test_unmuting_leaves_a_planned_follow_up_alone(harness, say, clock):
    say("我提交了认证")
    say("是")  # before step 3 the bot asks once
    harness.pump()
    planned = harness.jobs()[job_id(CERT, ALICE)]
    say(STOP_REMINDERS)
    say(RESUME_REMINDERS)
    harness.pump()
    assert harness.jobs()[job_id(CERT, ALICE)] == planned


def test_the_escalation_counts_the_reminders_sent(harness, say, clock):
    say("我提交了认证")
    say("是")  # before step 3 the bot asks once
    harness.pump()
    _run_the_chain(harness, clock)
    sent = harness.take_outbox()
    assert [m.meta["kind"] for m in sent].count("reminder_cert_followup") == 2
    assert "提醒了 3 次仍未确认结果" in sent[-1].text


def test_the_submission_reply_uses_the_configured_delay(tmp_path, redis_client, clock):
    from bot.config import load_settings
    from bot.demo.simulate_app import AppSimulator
    from bot.web.app import create_app

    clock.now = shanghai(2026, 9, 21, 10, 0)
    for delay, expected in (("120", "约 2 分钟后"), ("20", "约 1 分钟后"), ("1800", "约 30 分钟后")):
        settings = load_settings(make_env(tmp_path, CERT_CHECK_DELAY=delay))
        client = create_app(settings, client=redis_client, clock=clock).test_client()
        sim = AppSimulator(settings.app, settings.agent_id, clock=clock)
        for text in ("我提交了认证", "是"):  # before step 3 the bot asks once
            callback = sim.text(f"u{delay}", text)
            reply = sim.open_reply(client.post("/wecom/callback", query_string=callback.query,
                                               data=callback.body).get_data())
        assert expected in reply, reply
        assert "来问你结果。\n- 通过了" in reply  # its own line, not glued to the list


def test_muted_not_started_and_finished_users_get_no_nudges(harness, say, clock, redis_client):
    say("进度", user="bob")  # never started
    harness.pump()
    assert job_id(IDLE, f"{TEST_CORP_ID}:bob") not in harness.jobs()

    say("开始")
    harness.pump()
    say(STOP_REMINDERS)
    harness.pump()
    clock.advance(86400 * 4)
    harness.run_due()
    assert [m for m in harness.outbox() if m.channel == USER] == []

    store = Store(redis_client)
    carol = f"{TEST_CORP_ID}:carol"
    say("开始", user="carol")
    progress = store.load(carol)
    progress.step = 7  # finished
    redis_client.set(progress_key(carol), progress.to_json())
    say("进度", user="carol")
    harness.pump()
    assert job_id(IDLE, carol) not in harness.jobs()


def test_muted_user_gets_no_cert_reminders_but_staff_still_hear(harness, say, clock):
    say("我提交了认证")
    say("是")  # submitting before step 3: the bot asks once whether the steps before it are done
    say(STOP_REMINDERS)
    harness.pump()
    for step in (600, 1800, 5400, 3600):  # the check, two follow-ups, the staff notice
        clock.advance(step)
        harness.run_due()
    messages = harness.take_outbox()
    assert [m.channel for m in messages] == [WEBHOOK]
    assert "<@staff1>" in messages[0].text and "<@alice>" not in messages[0].text


def test_a_private_users_steps_are_announced_in_no_group(harness, say, clock):
    """She only ever wrote in the app: the webhook's group may be another company's, so it hears nothing."""
    say("开始")
    for _ in range(6):
        say("完成")
        if "认证" in say("进度"):
            say(CERTIFICATION_PASSED)
    harness.pump()
    assert harness.take_outbox() == []


def test_group_notices_mention_the_user_in_her_own_group(tmp_path, redis_client, clock):
    """Long connection: steps done in her private chat are announced in the group she wrote in, once each."""
    from bot.config import load_settings
    from bot.core.records import Event
    from bot.outbound.routing import GROUP

    settings = load_settings(make_env(tmp_path, WECOM_BOT_ID="bot-1", WECOM_BOT_SECRET="s"))
    h = Harness(settings, redis_client, clock)
    try:
        store = h.ctx.store
        progress = Progress.new(TEST_CORP_ID, "alice", clock())
        progress.wrote_in_group("aibot_ws", "grp-alice")
        progress.step = 2
        store.save(progress, None)
        planner = Planner(h.ctx)
        planner.handle(ALICE, Event("step_completed", {"step": 1}), "1-0", time.time())
        planner.handle(ALICE, Event("step_completed", {"step": 2, "in_group": True}), "2-0", time.time())
        planner.handle(ALICE, Event("step_completed", {"step": 6}), "3-0", time.time())  # "all_done" says it
        planner.handle(ALICE, Event("all_done", {}), "4-0", time.time())
        notices = h.take_outbox()
        where = [(m.channel, m.meta["audience"], m.meta["chat_id"]) for m in notices]
        assert where == [(WEBHOOK, GROUP, "grp-alice")] * 2
        assert "<@alice>" in notices[0].text and "第1步" in notices[0].text and "第2步" in notices[0].text
        assert "完成全部六个步骤" in notices[1].text
    finally:
        h.close()


def test_group_notices_can_be_turned_off(tmp_path, redis_client, clock):
    from bot.config import load_settings
    from bot.web.app import create_app, runtime_of

    settings = load_settings(make_env(tmp_path, WECOM_WEBHOOK_KEY="hook-key", GROUP_NOTICES="0"))
    assert ReminderConfig.from_settings(settings).group_notices is False
    assert ReminderConfig.from_settings(load_settings(make_env(tmp_path))).group_notices is False  # no webhook
    h = Harness(settings, redis_client, clock)
    try:
        runtime = runtime_of(create_app(settings, client=redis_client, clock=clock))
        assert runtime is not None
        from bot.core.records import Event

        Planner(h.ctx).handle(ALICE, Event("step_completed", {"step": 1}), "1-0", time.time())
        assert h.outbox() == []
    finally:
        h.close()


def test_asking_for_a_person_notifies_staff_in_the_group_once(harness, say):
    say("开始")
    say("完成")
    reply = say("人工")
    assert HANDED_TO_A_PERSON in reply and "staff1" not in reply  # staff userids are not shown to the customer
    harness.pump()
    [notice] = [m for m in harness.take_outbox() if m.meta["kind"] == "notice_human"]
    assert notice.channel == WEBHOOK and notice.fmt == "markdown" and notice.meta["audience"] == "staff"
    assert "<@staff1>" in notice.text and "<@staff2>" in notice.text and "<@alice>" in notice.text
    assert "第2步" in notice.text and "alice" in notice.text
    harness.consumer.redis.xgroup_setid(EVENTS_STREAM, EVENTS_GROUP, id="0")  # the stream delivers it again
    harness.pump()
    assert [m for m in harness.take_outbox() if m.meta["kind"] == "notice_human"] == []


def test_an_escalated_faq_question_notifies_staff(harness, say):
    from bot.core.records import Event

    say("开始")
    Planner(harness.ctx).handle(ALICE, Event("faq_escalated", {"topic": "cert-61004", "tried": ["a"]}), "9-0")
    [notice] = harness.take_outbox()
    assert notice.id == f"notice-human-{ALICE}-0" and "<@staff1>" in notice.text
    assert "cert-61004" in notice.text and "第1步" in notice.text


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_human_reply_promises_staff_only_when_there_are_staff(settings, lang):
    """And it never shows staff userids to the customer (issue 15), nor opens with "I may not help"."""
    renderer = Renderer(settings.templates_dir)
    first = {"claimed": False, "again": False}
    with_staff = renderer.render(Reply("human", {**first, "notified": True}), lang, MARKDOWN)
    without = renderer.render(Reply("human", {**first, "notified": False}), lang, MARKDOWN)
    notified = "已为你转接" if lang == "zh" else "passed you to support"
    assert notified in with_staff and "<@" not in with_staff
    assert notified not in without and ("群里" if lang == "zh" else "group") in without
    assert "帮不上" not in with_staff + without and "may not be able" not in with_staff + without


def test_a_job_run_twice_queues_its_message_once(harness, say, clock):
    """A crash after the message was queued but before the job confirmed: the re-run sends nothing."""
    say("我提交了认证")
    say("是")  # submitting before step 3: the bot asks once whether the steps before it are done
    harness.pump()
    job = harness.scheduler.get_job(job_id(CERT, ALICE))
    clock.advance(600)
    harness.ctx.leading = lambda: False  # the run "crashes" before confirming (job stays in the store)
    fire(*job.args)
    assert harness.outbox() == []  # a non-leader does nothing at all
    harness.ctx.leading = lambda: True
    from bot.worker.reminders.jobs import run_job

    harness.ctx.scheduler = None  # queue the message but do not confirm: as if killed right after
    run_job(harness.ctx, *job.args)
    harness.ctx.scheduler = harness.scheduler
    assert len(harness.outbox()) == 1
    assert harness.jobs()[job_id(CERT, ALICE)]["stage"] == 0  # still there: it will run again
    fire(*job.args)
    assert len(harness.outbox()) == 1  # the re-run found the done marker
    assert harness.jobs()[job_id(CERT, ALICE)]["stage"] == 1  # and moved the chain on


def test_unacknowledged_events_are_reclaimed_by_the_next_leader(harness, say, redis_client):
    say("我提交了认证")
    say("是")  # submitting before step 3: the bot asks once whether the steps before it are done
    # a leader read the events, then died before XACK
    read = redis_client.xreadgroup(EVENTS_GROUP, "dead-worker", {EVENTS_STREAM: ">"}, count=100)
    assert read and harness.pump() == 0
    assert harness.jobs() == {}
    assert harness.consumer.recover() >= 2  # cert_submitted + activity
    assert job_id(CERT, ALICE) in harness.jobs()
    assert redis_client.xpending(EVENTS_STREAM, EVENTS_GROUP)["pending"] == 0
    names = [c["name"] for c in redis_client.xinfo_consumers(EVENTS_STREAM, EVENTS_GROUP)]
    assert "dead-worker" not in names


def test_the_real_scheduler_reruns_a_job_until_it_confirms(settings, redis_client):
    """RetryingDateTrigger: a run that did not confirm (leader lost, crash) is run again later."""
    # real time here: quiet hours off, or the job would wait for the morning when the suite runs at night
    config = replace(ReminderConfig.from_settings(settings), retry=0.3, quiet=None)
    ctx = ReminderContext(config, settings, Store(redis_client), Renderer(settings.templates_dir),
                          Guide.load(settings.guide_file),
                          scheduler=build_scheduler(redis_job_store(redis_client)))
    calls: list[bool] = []
    leading = iter([False, True, True, True])

    def is_leading() -> bool:
        value = next(leading, True)
        calls.append(value)
        return value

    ctx.leading = is_leading
    install(ctx)
    store = Store(redis_client)
    from bot.core.progress import Progress

    progress = Progress.new(TEST_CORP_ID, "alice", time.time())
    progress.step, progress.cert.state, progress.cert.since, progress.cert.attempts = 3, CERT_PENDING, time.time(), 1
    store.save(progress, None)
    ctx.scheduler.start()
    try:
        token = {"since": progress.cert.since, "attempt": 1, "stage": 0, "base": time.time(), "due": time.time()}
        schedule(ctx, CERT, ALICE, token)
        deadline = time.time() + 5
        while time.time() < deadline and redis_client.llen(OUTBOX_QUEUE) == 0:
            time.sleep(0.05)
        assert redis_client.llen(OUTBOX_QUEUE) == 1
        assert calls[0] is False  # the first run stepped aside, the job survived it
        time.sleep(0.2)
        assert ctx.scheduler.get_job(job_id(CERT, ALICE)).args[3]["stage"] == 1
    finally:
        ctx.scheduler.shutdown(wait=False)
        install(None)


def test_shutdown_leaves_due_jobs_alone(redis_client):
    """APScheduler wakes its loop once more after shutdown(): that pass must not touch a due job."""
    scheduler = build_scheduler(redis_job_store(redis_client))
    scheduler.start(paused=True)
    due = time.time() - 10
    scheduler.add_job(JOB_FUNC, trigger=RetryingDateTrigger(at(due), retry=60, give_up=6 * 3600), id="idle:due",
                      args=["idle:due", ALICE, IDLE, {"due": due}])
    scheduler.shutdown(wait=False)  # returns once that last pass is over
    assert redis_client.zscore(APS_RUN_TIMES_KEY, "idle:due") == pytest.approx(due)  # not pushed back


def test_retrying_trigger():
    start = at(1_000_000.0)
    trigger = RetryingDateTrigger(start, retry=60, give_up=300)
    assert trigger.get_next_fire_time(None, at(0)) == start
    assert trigger.get_next_fire_time(start, at(1_000_010.0)) == at(1_000_070.0)
    assert trigger.get_next_fire_time(start, at(1_000_250.0)) is None


@pytest.mark.parametrize(("local", "expected"), [
    ((2026, 9, 21, 21, 59), (2026, 9, 21, 21, 59)),
    ((2026, 9, 21, 22, 0), (2026, 9, 22, 8, 30)),
    ((2026, 9, 22, 3, 0), (2026, 9, 22, 8, 30)),
    ((2026, 9, 22, 8, 30), (2026, 9, 22, 8, 30)),
])
def test_quiet_hours(local, expected):
    config = ReminderConfig.from_settings(Settings())  # the defaults: 22:00-08:30 in Shanghai
    assert after_quiet_hours(shanghai(*local), config.quiet, config.tz) == shanghai(*expected)


def test_quiet_hours_are_configurable(tmp_path):
    from bot.config import load_settings

    config = ReminderConfig.from_settings(load_settings(make_env(
        tmp_path, QUIET_HOURS="12:00-13:00", REMINDER_TZ="UTC", CERT_FOLLOWUPS="60", IDLE_NUDGES="off")))
    noon = datetime(2026, 9, 21, 12, 30, tzinfo=ZoneInfo("UTC")).timestamp()
    assert after_quiet_hours(noon, config.quiet, config.tz) == noon + 1800
    assert config.cert_followups == (60.0,) and config.idle_nudges == ()
    off = ReminderConfig.from_settings(load_settings(make_env(tmp_path, QUIET_HOURS="off")))
    assert off.quiet is None


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize(("template", "context"), [
    ("reminder_cert_check", {"attempt": 2, "minutes": 10, "stage": 0, "elapsed": "10", "last": False}),
    ("reminder_cert_followup", {"attempt": 1, "minutes": 40, "stage": 1, "elapsed": "40", "last": False}),
    ("reminder_cert_followup", {"attempt": 1, "minutes": 130, "stage": 2, "elapsed": "130", "last": True}),
    ("handoff_claimed", {"name": "Li Lei", "step": 2, "started": True, "finished": False}),
    ("handoff_resolved", {"name": "", "step": 0, "started": False, "finished": False}),
    ("handoff_timeout", {"hours": 4, "claimed": False}),
    ("reminder_idle", {"step": {"number": 2, "title": "T"}, "item": {"n": 3, "text": "**do** it"}, "stage": 0,
                       "days": 3}),
    ("reminder_idle", {"step": {"number": 2, "title": "T"}, "item": None, "stage": 1, "days": 1}),
    ("notice_step_completed", {"user": "alice", "mention": "alice", "step": 1, "title": "A", "next_step": 2,
                               "next_title": "B"}),
    ("notice_all_done", {"user": "alice", "mention": None}),
    ("notice_cert_stuck", {"user": "alice", "mention": "alice", "staff": ["s1"], "minutes": 190, "attempt": 1,
                           "reminders_sent": 0, "muted": True}),
    ("notice_human", {"user": "alice", "mention": "alice", "staff": ["s1"], "step": 2, "title": "T",
                      "finished": False, "faq": False, "topic": None}),
    ("notice_human", {"user": "alice", "mention": None, "staff": [], "step": None, "title": None,
                      "finished": True, "faq": True, "topic": "t1"}),
    ("human", {"notified": False, "claimed": False, "again": False}),
    ("handoff_held", {"claimed": True}),
])
def test_templates_render_in_both_languages(settings, template, context, lang):
    renderer = Renderer(settings.templates_dir)
    markdown = renderer.render(Reply(template, context), lang, MARKDOWN)
    plain = renderer.render(Reply(template, context), lang, TEXT)
    assert markdown and "**" not in plain
    if template.startswith("reminder_cert"):
        commands = ((CERTIFICATION_PASSED, CERTIFICATION_FAILED) if lang == "zh"
                    else ("certification passed", "certification failed"))
        assert all(c in plain for c in commands)


def test_a_user_repeating_human_notifies_staff_once_per_window(harness, say):
    """Six "人工" in a minute must not use up the group webhook's 20 messages a minute."""
    from bot.core.records import Event
    from bot.worker.reminders.planning import HUMAN_NOTICE_WINDOW

    say("开始")
    planner = Planner(harness.ctx)
    base_ms = 1_790_000_000_000
    for i in range(6):
        planner.handle(ALICE, Event("human_requested", {}), f"{base_ms + i * 1000}-0")
    assert len([m for m in harness.take_outbox() if m.meta["kind"] == "notice_human"]) == 1
    planner.handle(ALICE, Event("human_requested", {}), f"{base_ms + HUMAN_NOTICE_WINDOW * 1000}-0")
    assert len([m for m in harness.take_outbox() if m.meta["kind"] == "notice_human"]) == 1  # the next window


def test_a_hand_off_plans_its_timeout_notice_and_resolving_cancels_it(harness, say, clock):
    from bot.core.handoffs import HandoffDesk
    from bot.worker.reminders.jobs import HANDOFF

    say("人工")
    harness.pump()
    assert harness.jobs()[job_id(HANDOFF, ALICE)]["due"] == clock() + 14400
    desk = HandoffDesk(harness.ctx.store, harness.ctx.guide, clock, 14400, harness.ctx.renderer)
    clock.advance(600)
    desk.claim(ALICE, "Li Lei")
    harness.pump()
    assert harness.jobs()[job_id(HANDOFF, ALICE)]["due"] == clock() + 14400  # a claim starts the clock again
    desk.resolve(ALICE, "Li Lei")
    harness.pump()
    assert job_id(HANDOFF, ALICE) not in harness.jobs()
    queued = [OutboxMessage.from_json(raw).meta.get("kind") for raw in harness.client.lrange(OUTBOX_QUEUE, 0, -1)]
    assert queued.count("handoff_claimed") == 1 and queued.count("handoff_resolved") == 1
