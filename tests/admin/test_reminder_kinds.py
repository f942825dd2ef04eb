"""The operator view lists every kind of reminder job there is: it reads the one list (``jobs.KINDS``).

A second list of kinds in the operator's queries once hid the hand-off reminder from the user page.
"""

from __future__ import annotations

from bot.admin.queries import AdminQueries
from bot.core.guide import Guide
from bot.core.keys import APS_RUN_TIMES_KEY
from bot.core.store import Store
from bot.worker.reminders.jobs import HANDOFF, KINDS, STAGES, job_id
from tests.support.environment import TEST_CORP_ID

ALICE = f"{TEST_CORP_ID}:alice"


def test_the_kinds_are_the_kinds_the_scheduler_runs():
    assert set(KINDS) == set(STAGES) and HANDOFF in KINDS


def test_the_user_page_shows_a_scheduled_reminder_of_every_kind(say, settings, redis_client, clock):
    say("开始")
    due = {kind: clock() + 600 * (n + 1) for n, kind in enumerate(KINDS)}
    redis_client.zadd(APS_RUN_TIMES_KEY, {job_id(kind, ALICE): at for kind, at in due.items()})
    queries = AdminQueries(Store(redis_client), Guide.load(settings.guide_file), clock)
    detail = queries.user(ALICE)
    assert detail is not None
    assert [(f.kind, f.due) for f in detail.followups] == sorted(due.items(), key=lambda item: item[1])
