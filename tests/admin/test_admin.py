"""The operator view: auth and CSRF, every page and its JSON twin, actions through the store, index-only queries."""

from __future__ import annotations

import json
import threading

import pytest

from bot.admin import actions as admin_actions
from bot.admin.queries import AdminQueries
from bot.config import load_settings
from bot.core.keys import DEAD_LETTERS, OUTBOX_QUEUE
from bot.core.progress import CERT_PENDING, FINISHED, Progress
from bot.core.records import Event
from bot.core.store import CERT_PENDING_INDEX, EVENTS_STREAM, step_index, step_since_index
from bot.infra.redis_conn import connect
from bot.outbound.entry import APP, USER, OutboxMessage
from bot.web.app import create_app
from bot.worker.reminders.jobs import CERT, IDLE, job_id
from bot.worker.scheduler import APS_RUN_TIMES_KEY
from tests.support.admin import TOKEN, csrf_of, login
from tests.support.environment import TEST_CORP_ID, make_env, redis_url_for_tests

HOUR = 3600.0


@pytest.fixture
def env(tmp_path):
    return make_env(tmp_path, ADMIN_TOKEN=TOKEN, SECRET_KEY="s" * 32)


@pytest.fixture
def store(runtime):
    return runtime.services.store


def key(user: str) -> str:
    return f"{TEST_CORP_ID}:{user}"


def seed(store, clock, user: str, step: int, *, idle: float = 0.0, on_step: float | None = None,
         cert: str | None = None, lang: str = "zh", history: list[str] = ()) -> Progress:
    """A user on ``step`` who last wrote ``idle`` seconds ago and entered the step ``on_step`` ago."""
    now = clock()
    p = Progress.new(TEST_CORP_ID, user, now - max(idle, on_step or 0) - 10)
    p.lang = lang
    p.move_to(step, now - (on_step if on_step is not None else idle))
    p.completed = list(range(1, min(step, 7)))
    p.last_seen = now - idle
    if cert:
        p.cert.state, p.cert.since, p.cert.attempts = cert, now - idle, 1
    for kind in history:
        p.record(kind, now - idle)
    store.save(p, None)
    return p


# -- access control --------------------------------------------------------------------------------------
PAGES = ["/admin/", "/admin/pending", "/admin/stuck", "/admin/unanswered", "/admin/dead-letters", "/admin/users",
         f"/admin/users/{key('alice')}"]
API = ["/admin/api/funnel", "/admin/api/pending", "/admin/api/stuck", "/admin/api/unanswered",
       "/admin/api/dead-letters", "/admin/api/users", f"/admin/api/users/{key('alice')}", "/admin/export.csv"]


def test_admin_is_off_without_a_token(tmp_path, redis_client, clock):
    app = create_app(load_settings(make_env(tmp_path)), client=redis_client, clock=clock)
    client = app.test_client()
    for path in [*PAGES, *API, "/admin/login"]:
        response = client.get(path)
        assert response.status_code == 503, path
    assert "ADMIN_TOKEN" in client.get("/admin/").get_data(as_text=True)
    assert client.post("/admin/login", data={"token": ""}).status_code == 503


def leaks(response, path: str) -> bool:
    """Does the body show any of alice's data (her id beyond the requested URL, her step's title)?"""
    body = response.get_data(as_text=True).replace(path, "")
    return "alice" in body or "关联腾讯云账号" in body


def test_without_login_pages_redirect_and_api_says_401_never_data(client, store, clock):
    seed(store, clock, "alice", 2)
    for path in PAGES:
        response = client.get(path)
        assert response.status_code == 302, path
        assert response.location.startswith("/admin/login"), path
        assert not leaks(response, path)
    for path in API:
        response = client.get(path)
        assert response.status_code == 401, path
        assert not leaks(response, path)
    for headers in ({"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {TOKEN}"},
                    {"Authorization": f"Bearer {TOKEN[:-1]}"}, {"Authorization": "Bearer "}):
        for path in [*API, *PAGES]:
            response = client.get(path, headers=headers)
            assert response.status_code in (401, 302, 429), (path, headers)  # 429: wrong bearers are throttled
            assert not leaks(response, path)


def test_bearer_token_reads_the_api_but_cannot_post(client, store, clock):
    seed(store, clock, "alice", 2)
    auth = {"Authorization": f"Bearer {TOKEN}"}
    for path in API:
        assert client.get(path, headers=auth).status_code == 200, path
    assert client.get(f"/admin/api/users/{key('alice')}", headers=auth).get_json()["progress"]["step"] == 2
    response = client.post(f"/admin/users/{key('alice')}/move", data={"step": "5"}, headers=auth)
    assert response.status_code in (400, 401, 403)
    assert store.load(key("alice")).step == 2


def test_wrong_token_is_refused_and_sets_no_session(client):
    response = login(client, token="nope")
    assert response.status_code == 401
    assert client.get("/admin/").status_code == 302


def test_login_needs_the_csrf_token(client):
    client.get("/admin/login")
    assert client.post("/admin/login", data={"token": TOKEN}).status_code == 400
    assert client.post("/admin/login", data={"token": TOKEN, "csrf_token": "forged"}).status_code == 400
    assert client.get("/admin/").status_code == 302


def test_login_then_logout(client):
    response = login(client)
    assert response.status_code == 303 and response.location == "/admin/"
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and TOKEN not in cookie
    assert client.get("/admin/").status_code == 200
    csrf = csrf_of(client.get("/admin/").get_data(as_text=True))
    assert client.post("/admin/logout", data={"csrf_token": csrf}).status_code == 303
    assert client.get("/admin/").status_code == 302


def test_login_redirects_only_within_admin(client):
    page = client.get("/admin/login").get_data(as_text=True)
    response = client.post("/admin/login", data={"csrf_token": csrf_of(page), "token": TOKEN,
                                                 "next": "//evil.example/admin"})
    assert response.location == "/admin/"
    client.post("/admin/logout", data={"csrf_token": csrf_of(client.get("/admin/").get_data(as_text=True))})
    page = client.get("/admin/login?next=/admin/stuck").get_data(as_text=True)
    response = client.post("/admin/login", data={"csrf_token": csrf_of(page), "token": TOKEN,
                                                 "next": "/admin/stuck?hours=2"})
    assert response.location == "/admin/stuck?hours=2"


def test_session_expires_and_dies_with_a_rotated_token(client, clock, tmp_path, redis_client):
    login(client)
    clock.advance(11 * HOUR)
    assert client.get("/admin/").status_code == 200
    clock.advance(2 * HOUR)
    assert client.get("/admin/").status_code == 302
    # Same signing key, new token: the old cookie no longer proves a login.
    login(client)
    cookie = client.get_cookie("session").value
    rotated = create_app(load_settings(make_env(tmp_path, ADMIN_TOKEN="another-token", SECRET_KEY="s" * 32)),
                         client=redis_client, clock=clock).test_client()
    rotated.set_cookie("session", cookie)
    assert rotated.get("/admin/").status_code == 302


def test_failed_logins_are_throttled(client):
    for _ in range(10):
        assert login(client, token="guess").status_code == 401
    assert login(client).status_code == 429


def test_forms_without_a_valid_csrf_token_are_refused(admin, store, clock):
    seed(store, clock, "alice", 2)
    admin.application.extensions["weda"].redis.lpush(DEAD_LETTERS, OutboxMessage(APP, "x", to_user="a").to_json())
    forms = [(f"/admin/users/{key('alice')}/move", {"step": "5"}), (f"/admin/users/{key('alice')}/reset", {}),
             (f"/admin/users/{key('alice')}/nudge", {}), ("/admin/dead-letters/retry-all", {}),
             ("/admin/logout", {})]
    for path, data in forms:
        for token in (None, "", "forged", admin.csrf + "x"):
            payload = dict(data) if token is None else {**data, "csrf_token": token}
            response = admin.post(path, data=payload)
            assert response.status_code == 400, (path, token)
    assert store.load(key("alice")).step == 2
    assert store.redis.llen(OUTBOX_QUEUE) == 0
    assert admin.get("/admin/").status_code == 200  # still logged in


def test_a_csrf_token_from_another_session_is_refused(admin, app, store, clock):
    seed(store, clock, "alice", 2)
    other = app.test_client()
    login(other)
    other_csrf = csrf_of(other.get("/admin/").get_data(as_text=True))
    response = admin.post(f"/admin/users/{key('alice')}/move", data={"step": "5", "csrf_token": other_csrf})
    assert response.status_code == 400


def test_callbacks_are_not_subject_to_admin_auth_or_csrf(say, admin):
    assert say("开始")  # the signed callback still works while admin and its CSRF are on


def test_admin_pages_send_protective_headers(admin):
    response = admin.get("/admin/")
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["Cache-Control"] == "no-store"


# -- the funnel ----------------------------------------------------------------------------------------
def test_funnel_counts_users_per_step_seeded_through_chat(admin, say, store, clock):
    say("开始", "alice")
    say("开始", "bob")
    say("hi", "carol")  # not started
    seed(store, clock, "dave", 4)
    seed(store, clock, "erin", FINISHED)
    data = admin.get("/admin/api/funnel").get_json()
    counts = {s["step"]: s["users"] for s in data["steps"]}
    assert counts == {0: 1, 1: 2, 2: 0, 3: 0, 4: 1, 5: 0, 6: 0, 7: 1}
    assert data["total"] == 5
    html = admin.get("/admin/").get_data(as_text=True)
    assert 'data-testid="count-1">2<' in html
    assert 'data-testid="total-users">5<' in html
    assert "注册平台型第三方" in html


def funnel_step(data, n: int) -> dict:
    return next(s for s in data["steps"] if s["step"] == n)


def test_time_on_step_median_and_oldest_are_exact(admin, store, clock):
    for i, hours in enumerate([10, 1, 50, 3, 2]):  # saved out of order: the index ranks them
        seed(store, clock, f"u{i}", 2, idle=600, on_step=hours * HOUR)
    seed(store, clock, "solo", 5, on_step=30)
    data = admin.get("/admin/api/funnel").get_json()
    assert funnel_step(data, 2)["median_on_step"] == 3 * HOUR
    assert funnel_step(data, 2)["oldest_on_step"] == 50 * HOUR
    assert funnel_step(data, 5)["median_on_step"] == funnel_step(data, 5)["oldest_on_step"] == 30
    assert funnel_step(data, 3)["users"] == 0
    assert funnel_step(data, 3)["median_on_step"] is None and funnel_step(data, 3)["oldest_on_step"] is None
    assert "exact" not in funnel_step(data, 2) and "sampled" not in funnel_step(data, 2)

    seed(store, clock, "u5", 2, on_step=4 * HOUR)  # six users: the median averages the middle two
    assert funnel_step(admin.get("/admin/api/funnel").get_json(), 2)["median_on_step"] == 3.5 * HOUR
    html = admin.get("/admin/").get_data(as_text=True)
    assert "≈" not in html and "estimated" not in html


def test_time_on_step_follows_moves_and_the_clock(admin, store, clock):
    """Entry times come from Progress.move_to as users advance; the funnel reads them as the clock moves."""
    start = clock()
    for i in range(3):  # all three arrive on step 1 now, then two go on to step 2 at 1 h and 3 h
        p = Progress.new(TEST_CORP_ID, f"m{i}", start)
        p.move_to(1, start)
        store.save(p, None)

    def to_step_2(user: str) -> None:
        p = store.load(key(user))
        p.move_to(2, clock())
        p.last_seen = clock()
        store.save(p, 1)

    clock.advance(HOUR)
    to_step_2("m1")
    clock.advance(2 * HOUR)
    to_step_2("m2")
    clock.advance(HOUR)  # now: start + 4 h
    data = admin.get("/admin/api/funnel").get_json()
    assert (funnel_step(data, 1)["users"], funnel_step(data, 2)["users"]) == (1, 2)
    assert funnel_step(data, 1)["median_on_step"] == funnel_step(data, 1)["oldest_on_step"] == 4 * HOUR
    assert funnel_step(data, 2)["median_on_step"] == 2 * HOUR  # entered at +1 h and +3 h: 3 h and 1 h on step
    assert funnel_step(data, 2)["oldest_on_step"] == 3 * HOUR
    assert store.redis.zscore(step_since_index(1), key("m1")) is None  # moved on: gone from the old step


def test_time_on_step_on_a_large_step(admin, store, clock):
    users = 300
    for i in range(users):
        seed(store, clock, f"u{i:04}", 1, on_step=(i + 1) * 60)
    s1 = funnel_step(admin.get("/admin/api/funnel").get_json(), 1)
    assert s1["users"] == users
    assert s1["median_on_step"] == (users + 1) / 2 * 60
    assert s1["oldest_on_step"] == users * 60


# -- stuck users -----------------------------------------------------------------------------------------
@pytest.fixture
def idle_crowd(store, clock):
    """Users idle 1..40 hours on assorted steps, plus a finished one idle for long."""
    users = {}
    for i, (step, hours) in enumerate([(1, 30), (2, 25), (3, 40), (1, 5), (6, 26), (0, 48), (2, 1), (4, 24.5)]):
        users[f"s{i}"] = seed(store, clock, f"s{i}", step, idle=hours * HOUR)
    seed(store, clock, "done", FINISHED, idle=100 * HOUR)
    return users


def ids(page) -> list[str]:
    return [item["user_id"] for item in page["items"]]


def test_stuck_users_idle_beyond_24h_longest_first(admin, idle_crowd):
    page = admin.get("/admin/api/stuck").get_json()
    assert ids(page) == ["s5", "s2", "s0", "s4", "s1", "s7"]  # 48, 40, 30, 26, 25, 24.5 h; not the finished one
    assert page["total"] == 6
    assert ids(admin.get("/admin/api/stuck?dir=asc").get_json()) == ["s7", "s1", "s4", "s0", "s2", "s5"]
    assert ids(admin.get("/admin/api/stuck?hours=26").get_json()) == ["s5", "s2", "s0", "s4"]


def test_stuck_users_sorted_by_step_and_filtered(admin, idle_crowd):
    by_step = admin.get("/admin/api/stuck?sort=step&dir=asc").get_json()
    assert [(i["step"], i["user_id"]) for i in by_step["items"]] == [
        (0, "s5"), (1, "s0"), (2, "s1"), (3, "s2"), (4, "s7"), (6, "s4")]
    assert ids(admin.get("/admin/api/stuck?sort=step").get_json())[0] == "s4"  # step 6 first when descending
    assert ids(admin.get("/admin/api/stuck?step=1&hours=0").get_json()) == ["s0", "s3"]
    assert ids(admin.get("/admin/api/stuck?step=7&hours=0").get_json()) == ["done"]


@pytest.mark.parametrize("sort", ["idle", "step"])
def test_stuck_pages_cover_everyone_once(admin, idle_crowd, sort):
    whole = ids(admin.get(f"/admin/api/stuck?hours=0&sort={sort}&limit=100").get_json())
    paged = []
    for offset in range(0, 12, 3):
        paged += ids(admin.get(f"/admin/api/stuck?hours=0&sort={sort}&limit=3&offset={offset}").get_json())
    assert paged == whole and len(whole) == 8


def test_stuck_page_renders_and_sorts(admin, idle_crowd):
    html = admin.get("/admin/stuck").get_data(as_text=True)
    assert html.index(">s5<") < html.index(">s2<") < html.index(">s7<")
    assert ">s3<" not in html and ">done<" not in html
    assert "2 d" in html  # 48 h idle


# -- pending certifications ---------------------------------------------------------------------------------
def test_pending_certifications_with_elapsed_time_and_next_followup(admin, say, store, clock):
    say("开始", "alice")
    say("我已提交认证", "alice")
    say("是", "alice")  # before step 3 the bot asks once
    assert store.load(key("alice")).cert.state == CERT_PENDING
    clock.advance(25 * 60)
    seed(store, clock, "bob", 3, cert=CERT_PENDING, idle=5 * 60)
    page = admin.get("/admin/api/pending").get_json()
    assert [r["user"]["user_id"] for r in page["items"]] == ["alice", "bob"]
    assert page["items"][0]["elapsed"] == pytest.approx(25 * 60)
    assert page["items"][0]["next_followup"] is None
    html = admin.get("/admin/pending").get_data(as_text=True)
    assert "25 min" in html and "—" in html

    due = clock() + 10 * 60
    store.redis.zadd(APS_RUN_TIMES_KEY, {job_id(CERT, key("alice")): due, job_id(IDLE, key("alice")): due + 3600})
    page = admin.get("/admin/api/pending").get_json()
    assert page["items"][0]["next_followup"] == {"kind": "cert", "due": due}
    assert "cert ·" in admin.get("/admin/pending").get_data(as_text=True)


# -- unanswered questions ------------------------------------------------------------------------------------
def test_unanswered_questions_newest_first_with_best_guess_escaped(admin, store, clock):
    p = seed(store, clock, "alice", 2)
    for i, text in enumerate(["第一个问题", "<script>alert(1)</script> 为什么失败"]):
        clock.advance(60)
        p.last_seen = clock()
        store.save(p, p.step, [Event("faq_unsure", {"text": text, "best_guess": f"topic-{i}", "score": 0.2 + i / 10})])
    page = admin.get("/admin/api/unanswered").get_json()
    assert [q["text"] for q in page["items"]] == ["<script>alert(1)</script> 为什么失败", "第一个问题"]
    assert page["items"][0]["best_guess"] == "topic-1"
    html = admin.get("/admin/unanswered").get_data(as_text=True)
    assert "<script>alert(1)" not in html and "&lt;script&gt;alert(1)" in html
    assert html.index("为什么失败") < html.index("第一个问题")


# -- outbox failures ------------------------------------------------------------------------------------------
def dead(redis, text: str, attempts: int = 5) -> OutboxMessage:
    message = OutboxMessage(APP, text, to_user="alice", attempts=attempts, meta={"error": "errcode 45009"})
    redis.lpush(DEAD_LETTERS, message.to_json())
    return message


def test_dead_letters_listed_and_retried_once(admin, store):
    first, second = dead(store.redis, "hello"), dead(store.redis, "again")
    store.redis.lpush(DEAD_LETTERS, "not json")
    store.redis.lpush(DEAD_LETTERS, json.dumps({"raw": "{broken", "error": "unreadable: Expecting value"}))
    html = admin.get("/admin/dead-letters").get_data(as_text=True)
    assert "errcode 45009" in html and "hello" in html and "not json" in html
    assert "{broken" in html and "unreadable: Expecting value" in html
    for _ in range(2):  # a double click retries once
        response = admin.post("/admin/dead-letters/retry", data={"id": first.id, "csrf_token": admin.csrf})
        assert response.status_code == 303
    queued = [OutboxMessage.from_json(raw) for raw in store.redis.lrange(OUTBOX_QUEUE, 0, -1)]
    assert [(m.id, m.attempts, m.text) for m in queued] == [(first.id, 0, "hello")]
    assert queued[0].meta["previous_error"] == "errcode 45009" and "error" not in queued[0].meta
    assert store.redis.llen(DEAD_LETTERS) == 3
    assert admin.get("/admin/api/dead-letters").get_json()["total"] == 3
    admin.post("/admin/dead-letters/retry-all", data={"csrf_token": admin.csrf})
    assert {OutboxMessage.from_json(r).id for r in store.redis.lrange(OUTBOX_QUEUE, 0, -1)} == {first.id, second.id}
    assert len(store.redis.lrange(DEAD_LETTERS, 0, -1)) == 2  # unreadable ones stay for a person to look at


# -- one user: timeline and actions ----------------------------------------------------------------------------
def test_user_timeline_shows_history_newest_first(admin, say):
    say("开始", "alice")
    say("完成", "alice")
    html = admin.get(f"/admin/users/{key('alice')}").get_data(as_text=True)
    assert 'data-testid="current-step">2.' in html
    assert html.index("<td>step_completed</td>") < html.index("<td>started</td>")
    assert admin.get("/admin/users/nobody:here").status_code == 404
    assert admin.get("/admin/users?q=alice").location == f"/admin/users/{key('alice')}"


def test_move_goes_through_the_store_and_keeps_indexes_right(admin, say, store, clock):
    say("开始", "alice")
    say("我已提交认证", "alice")
    say("是", "alice")  # step 3, certification pending
    last_seen = store.load(key("alice")).last_seen
    clock.advance(HOUR)
    response = admin.post(f"/admin/users/{key('alice')}/move", data={"step": "5", "csrf_token": admin.csrf})
    assert response.status_code == 303
    p = store.load(key("alice"))
    assert (p.step, p.completed, p.cert.state, p.last_seen) == (5, [1, 2, 3, 4], "passed", last_seen)
    assert store.redis.zscore(step_index(5), key("alice")) == last_seen
    assert store.redis.zscore(step_index(3), key("alice")) is None
    assert store.redis.zscore(CERT_PENDING_INDEX, key("alice")) is None
    assert p.history[-1] == {"at": clock(), "kind": "step_changed", "step": 5, "from": 3, "by": "Li Lei"}
    last_event = json.loads(store.redis.xrevrange(EVENTS_STREAM, count=1)[0][1]["event"])
    assert last_event["kind"] == "step_changed" and last_event["data"]["by"] == "Li Lei"
    html = admin.get(response.location).get_data(as_text=True)
    assert "Moved to step 5" in html and 'data-testid="current-step">5.' in html
    response = admin.post(f"/admin/users/{key('alice')}/move", data={"step": "9", "csrf_token": admin.csrf})
    assert response.status_code == 400


def test_reset_keeps_identity_and_history(admin, say, store):
    say("开始", "alice")
    admin.post(f"/admin/users/{key('alice')}/reset", data={"csrf_token": admin.csrf})
    p = store.load(key("alice"))
    assert p.step == 0 and p.completed == [] and p.history[-1]["kind"] == "reset"
    assert any(h["kind"] == "started" for h in p.history)
    assert store.redis.zscore(step_index(0), key("alice")) is not None
    assert store.redis.zscore(step_index(1), key("alice")) is None


@pytest.mark.parametrize(("lang", "phrase"), [("zh", "你目前在第 2/6 步"), ("en", "You are on step 2/6")])
def test_nudge_queues_a_message_in_the_users_language_and_notes_it(admin, store, clock, lang, phrase):
    seed(store, clock, "alice", 2, lang=lang)
    response = admin.post(f"/admin/users/{key('alice')}/nudge", data={"csrf_token": admin.csrf, "note": "<b>hi</b>"})
    assert response.status_code == 303
    (raw,) = store.redis.lrange(OUTBOX_QUEUE, 0, -1)
    message = OutboxMessage.from_json(raw)
    assert (message.channel, message.to_user, message.fmt) == (USER, "alice", "text")
    assert phrase in message.text and "<b>hi</b>" in message.text and "**" not in message.text
    entry = store.load(key("alice")).history[-1]
    assert entry["kind"] == "nudge_sent" and entry["message"] == message.id


def test_actions_wait_for_the_users_lock(admin, store, clock, monkeypatch):
    monkeypatch.setattr(admin_actions, "LOCK_WAIT", 0.2)
    seed(store, clock, "alice", 2)
    with store.user_lock(key("alice")):
        response = admin.post(f"/admin/users/{key('alice')}/move", data={"step": "4", "csrf_token": admin.csrf})
        assert response.status_code == 303
    assert store.load(key("alice")).step == 2
    assert "handling a message from this user" in admin.get(response.location).get_data(as_text=True)


def test_actions_on_unknown_users_are_404(admin):
    for action in ("move", "reset", "nudge"):
        response = admin.post(f"/admin/users/nobody:x/{action}", data={"csrf_token": admin.csrf, "step": "1"})
        assert response.status_code == 404


# -- export ------------------------------------------------------------------------------------------------------
def test_csv_export_has_everyone_and_defuses_formulas(admin, store, clock):
    for i in range(2500):  # more than one export page, many with the same last_seen
        p = Progress.new(TEST_CORP_ID, f"user{i:05}", clock())
        p.move_to(i % 8, clock())
        store.save(p, None)
    seed(store, clock, "=HYPERLINK(1)", 3)
    response = admin.get("/admin/export.csv")
    assert response.headers["Content-Disposition"].startswith("attachment")
    lines = response.get_data(as_text=True).splitlines()
    assert lines[0].startswith("user_key,corp_id,user_id,step")
    assert len(lines) == 1 + 2501
    assert len({line.split(",")[0] for line in lines[1:]}) == 2501
    assert any(",'=HYPERLINK(1)," in line for line in lines)


# -- cost: indexes only -----------------------------------------------------------------------------------------
def _commands_during(action) -> list[list[str]]:
    """Every command our test DB received while ``action`` ran (Redis MONITOR, filtered to this DB)."""
    db = redis_url_for_tests().rsplit("/", 1)[-1].split("db=")[-1]
    monitor_client = connect(redis_url_for_tests(), socket_timeout=10)
    seen: list[list[str]] = []
    with monitor_client.monitor() as monitor:
        ready, stop = threading.Event(), "admin-test-monitor-stop"

        def read():
            ready.set()
            while True:
                command = monitor.next_command()
                if command["db"] != int(db):
                    continue
                parts = command["command"].split(" ")
                if stop in command["command"]:
                    return
                seen.append(parts)

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        ready.wait()
        action()
        connect(redis_url_for_tests()).echo(stop)
        reader.join(10)
    return seen


def test_pages_use_the_indexes_not_scans(admin, store, clock):
    pipe = store.redis.pipeline(transaction=False)
    for i in range(1500):
        p = Progress.new(TEST_CORP_ID, f"user{i:05}", clock() - i * 600)
        p.move_to(i % 7, clock() - i * 600)
        store._write_progress(pipe, p, None)  # exactly the keys and indexes Store.save writes
    pipe.execute()

    def pages():
        for path in ("/admin/", "/admin/stuck", "/admin/stuck?sort=step", "/admin/users", "/admin/pending"):
            assert admin.get(path).status_code == 200

    commands = _commands_during(pages)
    names = [c[0].strip('"').lower() for c in commands]
    assert not {"scan", "keys", "smembers", "zscan"} & set(names)
    loaded = sum(len(c) - 1 for c in commands if c[0].strip('"').lower() in ("mget", "get"))
    assert loaded <= 4 * 50  # one page per list; the funnel loads no user at all
    funnel = _commands_during(lambda: admin.get("/admin/"))
    funnel_names = [c[0].strip('"').lower() for c in funnel]
    assert not {"get", "mget", "scan", "keys", "zrandmember"} & set(funnel_names)
    assert funnel_names.count("zrange") <= 2 * 8  # median and oldest by rank, per step


def test_redis_down_gives_a_clear_503(tmp_path, clock):
    dead = connect("redis://127.0.0.1:1/0", socket_timeout=0.2)
    app = create_app(load_settings(make_env(tmp_path, ADMIN_TOKEN=TOKEN)), client=dead, clock=clock)
    response = app.test_client().get("/admin/api/funnel", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 503 and "Redis is unavailable" in response.get_json()["error"]


def test_queries_work_without_flask(store, clock, runtime):
    seed(store, clock, "alice", 1, idle=30 * HOUR)
    queries = AdminQueries(store, runtime.services.guide, clock)
    assert [r.user_id for r in queries.stuck(24 * HOUR).items] == ["alice"]
    assert queries.funnel(24 * HOUR).stuck == 1
