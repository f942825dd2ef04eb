"""The funnel's trend: started and finished per day over 30 days and the median time per step,
counted at commit time and drawn as SVG on the server."""

from __future__ import annotations

import re
from datetime import datetime

import pytest

from bot.admin.trend_chart import nice_max
from bot.core import trends
from tests.support.admin import TOKEN
from tests.support.environment import make_env
from tests.support.phrases import CERTIFICATION_PASSED, SUBMITTED_CERTIFICATION

DAY = 86400
BEARER = {"Authorization": f"Bearer {TOKEN}"}  # the clock moves past the session's 12 hours


@pytest.fixture
def env(tmp_path):
    return make_env(tmp_path, ADMIN_TOKEN=TOKEN, SECRET_KEY="s" * 32)


def _register_all_steps(say, clock, user: str, minutes_per_step: int) -> None:
    say("开始", user)
    for step in range(1, 7):
        clock.advance(minutes_per_step * 60)
        if step == 3:
            say(SUBMITTED_CERTIFICATION, user)
            say(CERTIFICATION_PASSED, user)
        else:
            say("完成", user)


def test_started_and_finished_per_day_and_median_time_per_step(admin, say, clock):
    clock.now = datetime(2026, 9, 22, 9, 0, tzinfo=trends.DAYS_TZ).timestamp()  # the morning: one day's work
    first_day = trends.day_of(clock())
    _register_all_steps(say, clock, "amy", 10)
    _register_all_steps(say, clock, "ben", 30)
    clock.advance(DAY)
    say("开始", "cat")
    data = admin.get("/admin/api/trends", headers=BEARER).get_json()
    assert len(data["days"]) == 30 and data["days"][-1] == trends.day_of(clock())
    by_day = dict(zip(data["days"], zip(data["started"], data["finished"], strict=True), strict=True))
    assert by_day[first_day] == (2, 2) and by_day[data["days"][-1]] == (1, 0)
    assert sum(data["started"]) == 3 and sum(data["finished"]) == 2
    assert data["median_step_seconds"]["1"] == 20 * 60  # 10 and 30 minutes
    assert data["median_step_seconds"]["4"] == 20 * 60


def test_the_funnel_page_draws_the_trend_as_inline_svg(admin, say, clock):
    _register_all_steps(say, clock, "amy", 10)
    html = admin.get("/admin/").get_data(as_text=True)
    trend = html.split('<svg id="trend"')[1].split("</svg>")[0]
    assert f"{trends.day_of(clock())}: 1 started" in trend and f"{trends.day_of(clock())}: 1 finished" in trend
    assert len(re.findall(r"<rect class=\"started\"", trend)) == 30
    steps = html.split('<svg id="step-times"')[1].split("</svg>")[0]
    assert "step 1: median 10 min" in steps
    assert "<script src" not in html  # nothing loaded from elsewhere


def test_old_completions_leave_the_median_window(admin, say, clock):
    _register_all_steps(say, clock, "amy", 10)
    clock.advance(31 * DAY)
    data = admin.get("/admin/api/trends", headers=BEARER).get_json()
    assert data["median_step_seconds"]["1"] is None and sum(data["started"]) == 0


@pytest.mark.parametrize(("value", "expected"), [(0, 1), (1, 1), (3, 5), (7, 10), (11, 20), (120, 200)])
def test_axis_maximum_is_round(value, expected):
    assert nice_max(value) == expected



def test_a_median_of_zero_seconds_is_shown_as_such_not_as_no_data():
    from bot.admin.trend_chart import step_times

    chart = step_times({1: 0.0, 2: None, 3: 90.0}, {1: "a", 2: "b", 3: "c"})
    values = [label.text for label in chart.labels][1::2]  # each step: its title, then its median
    assert values == ["0 s", "no data", "1 min"]
