"""The operator view in a real headless Chromium: log in, read the funnel, open a user, move them, see it.

Runs the app on a real local port (werkzeug in a thread) against the test Redis. Skipped, with the
reason, when Playwright for Python or a Chromium binary is not installed.
"""

from __future__ import annotations

import os
import shutil
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from bot.core.progress import Progress
from bot.core.store import step_index
from tests.support.environment import TEST_CORP_ID, make_env
from tests.support.phrases import TICK_ITEM_1, WHERE_TO_SEE_THE_ORIGINAL_ID

pytestmark = pytest.mark.browser

TOKEN = "browser-test-admin-token-0123456789"
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def chromium_path() -> str | None:
    for candidate in (os.environ.get("CHROMIUM"), "/usr/bin/chromium", shutil.which("chromium"),
                      shutil.which("chromium-browser")):
        if candidate and Path(candidate).exists():
            return candidate
    return None


@pytest.fixture
def env(tmp_path):
    return make_env(tmp_path, ADMIN_TOKEN=TOKEN, SECRET_KEY="b" * 32)


@pytest.fixture
def browser():
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright (the Python package) is not installed")
    executable = chromium_path()
    if executable is None:
        pytest.skip("no Chromium binary (apt-get install chromium)")
    with sync_api.sync_playwright() as playwright:
        try:
            browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS, headless=True)
        except Exception as exc:  # a broken or incompatible Chromium: skip rather than fail the suite
            pytest.skip(f"Chromium did not start: {exc}")
        yield browser
        browser.close()


@pytest.fixture
def live_url(app):
    """The app on 127.0.0.1:<free port>, served by werkzeug in a thread for the test's duration."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(5)


def seed(runtime, clock, say) -> None:
    for user in ("alice", "bob", "carol"):
        say("开始", user)
    say("完成", "bob")
    store = runtime.services.store
    for i, (step, idle_h) in enumerate([(2, 30), (3, 50), (3, 2), (4, 26), (5, 80), (6, 1), (7, 0), (0, 60)]):
        now = clock()
        p = Progress.new(TEST_CORP_ID, f"user{i}", now - idle_h * 3600 - 600)
        p.move_to(step, now - idle_h * 3600 - 300)
        p.completed = list(range(1, min(step, 7)))
        p.last_seen = now - idle_h * 3600
        p.record("activity", p.last_seen)
        store.save(p, None)


def test_log_in_see_funnel_open_user_move_them(browser, live_url, runtime, clock, say):
    seed(runtime, clock, say)
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))

    page.goto(f"{live_url}/admin/")
    assert "/admin/login" in page.url
    page.fill("#name", "Wang Fang")
    page.fill("#token", "wrong")
    page.click("button[type=submit]")
    assert "Wrong token" in page.content()
    assert page.input_value("#name") == "Wang Fang"  # kept for the second try
    problems.clear()  # the browser logs the 401 of that deliberate wrong login
    page.fill("#token", TOKEN)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_url}/admin/")
    assert "Wang Fang" in page.inner_text("header")
    assert page.inner_text("[data-testid=total-users]") == "11"
    assert page.text_content("[data-testid=count-1]") == "2"  # alice and carol
    assert page.text_content("[data-testid=count-2]") == "2"  # bob and user0

    page.click("svg a[data-step='1']")  # the bar links to the users on that step
    page.click("#stuck a:text('alice')")
    page.wait_for_url(f"**/admin/users/{TEST_CORP_ID}:alice")
    assert page.inner_text("[data-testid=current-step]").startswith("1.")
    page.select_option("select[name=step]", "4")
    page.click("button:text('Move')")
    page.wait_for_selector(".flash.ok")
    assert "Moved to step 4" in page.inner_text(".flash.ok")
    assert page.inner_text("[data-testid=current-step]").startswith("4.")
    assert "step_changed" in page.inner_text("#timeline")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "admin-e2e-user.png"), full_page=True)
    store = runtime.services.store
    assert store.load(f"{TEST_CORP_ID}:alice").step == 4
    assert store.redis.zscore(step_index(4), f"{TEST_CORP_ID}:alice") is not None

    page.on("dialog", lambda dialog: dialog.accept())  # the reset asks first (our nonce'd script)
    page.click("button:text('Reset progress')")
    page.wait_for_selector(".flash.ok")
    assert store.load(f"{TEST_CORP_ID}:alice").step == 0

    page.click("header a:text('Funnel')")
    assert page.text_content("[data-testid=count-1]") == "1"
    assert page.text_content("[data-testid=count-0]") == "2"  # user7 and now alice
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "admin-e2e.png"), full_page=True)
    page.click("header a:text('Stuck users')")
    assert page.locator("#stuck tbody tr").count() == 5  # idle > 24 h, unfinished: 80, 60, 50, 30, 26 h
    page.screenshot(path=str(ARTIFACTS / "admin-e2e-stuck.png"), full_page=True)
    assert problems == []  # no CSP violation, no script error


def _log_in(page, live_url: str, name: str = "Wang Fang") -> None:
    page.goto(f"{live_url}/admin/login")
    page.fill("#name", name)
    page.fill("#token", TOKEN)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_url}/admin/")


def test_hand_off_queue_claim_and_resolve(browser, live_url, runtime, clock, say):
    say("开始", "alice")
    say(WHERE_TO_SEE_THE_ORIGINAL_ID, "alice")
    say("人工", "alice")
    clock.advance(240)
    say("截图已经发到群里了", "alice")
    say("开始", "bob")
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    _log_in(page, live_url)

    page.click("header a:text('Hand-offs')")
    rows = page.locator("#handoffs tbody tr[data-user]")
    assert rows.count() == 1
    row = page.locator("#handoffs tr[data-user=alice]")
    assert "waiting" in row.inner_text() and "4 min" in row.inner_text()
    assert "截图已经发到群里了" in row.inner_text()  # the last messages
    assert "1. 注册平台型第三方" in row.inner_text()  # on which step
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "admin-handoffs-waiting.png"), full_page=True)

    row.locator("button:text('Claim')").click()
    page.wait_for_selector(".flash.ok")
    assert "claimed by Wang Fang" in page.inner_text("#handoffs tr[data-user=alice]")
    page.screenshot(path=str(ARTIFACTS / "admin-handoffs-claimed.png"), full_page=True)
    assert "客服正在跟进" in say("还有一个问题", "alice")  # the bot holds back while a person has her

    page.locator("#handoffs tr[data-user=alice] button:text('Resolved')").click()
    page.wait_for_selector(".flash.ok")
    assert page.locator("#handoffs tbody tr[data-user]").count() == 0
    assert "Nobody is waiting" in page.inner_text("#handoffs")
    assert runtime.services.store.load(f"{TEST_CORP_ID}:alice").handoff == {}
    assert problems == []


def test_conversation_view_on_the_user_page(browser, live_url, runtime, clock, say):
    say("开始", "carol")
    say(TICK_ITEM_1, "carol")
    clock.advance(60)
    say(WHERE_TO_SEE_THE_ORIGINAL_ID, "carol")
    clock.advance(60)
    say("2", "carol")  # the answer did not help
    say("我的 AppSecret: 0123456789abcdef0123456789abcdef 对吗", "carol")
    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    problems: list[str] = []
    page.on("pageerror", lambda e: problems.append(str(e)))
    _log_in(page, live_url)

    page.goto(f"{live_url}/admin/users/{TEST_CORP_ID}:carol")
    conversation = page.locator("#conversation tbody tr")
    assert conversation.count() == 5
    newest = conversation.nth(0).inner_text()
    assert "0123456789abcdef" not in newest and "AppSecret" in newest  # redacted as stored
    faq_row = conversation.nth(2).inner_text()
    assert WHERE_TO_SEE_THE_ORIGINAL_ID in faq_row and "FAQ:" in faq_row  # the reading: topic and score
    assert "intent: check 1" in conversation.nth(3).inner_text()
    assert "好的，我们开始" in conversation.nth(4).inner_text()  # the bot's answer, oldest last
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "admin-user-conversation.png"), full_page=True)

    page.click("header a:text('Unanswered')")
    assert "answer rejected" in page.inner_text("main") and WHERE_TO_SEE_THE_ORIGINAL_ID in page.inner_text("main")
    page.screenshot(path=str(ARTIFACTS / "admin-unanswered.png"), full_page=True)
    page.click("header a:text('Funnel')")
    assert page.locator("#trend rect.started").count() == 30
    page.screenshot(path=str(ARTIFACTS / "admin-funnel-trend.png"), full_page=True)
    assert problems == []


# -- every page, at the widths staff use: nothing overflows, nothing is squeezed -----------------------------
WIDTHS = (1400, 1000)
LONG_QUESTION = ("我们在微信开放平台创建第三方平台的时候，权限集到底要勾选哪些，"
                 "文档里写的和页面上看到的不一样，能不能具体说一下每一项")


def _seed_everything(runtime, clock, say, admin_actions_name: str = "Wang Fang") -> str:
    """A realistic state for every page: users on all steps, a hand-off with a staff reply, unanswered
    questions (one long), a staff topic, a dead letter, and one user with 41 messages."""
    from bot.admin.actions import AdminActions, Operator
    from bot.core.keys import DEAD_LETTERS
    from bot.outbound.entry import APP, OutboxMessage
    from bot.understand.staff_topics import StaffTopics

    seed(runtime, clock, say)
    say(LONG_QUESTION, "dora")
    say("人工", "dora")
    services = runtime.services
    AdminActions(services.store, services.renderer, services.guide, services.clock).reply(
        f"{TEST_CORP_ID}:dora", Operator(admin_actions_name), "您好，权限集按文档第1步的表格全选即可，" * 4)
    StaffTopics(services.store.redis).create(title="权限集勾选哪些", answer="按文档第1步的表格全选。" * 6, step=1,
                                             question=LONG_QUESTION, by=admin_actions_name)
    services.store.redis.lpush(DEAD_LETTERS, OutboxMessage(APP, "x" * 300, to_user="dora",
                                                           meta={"error": "errcode 81013 " + "y" * 200}).to_json())
    say("开始", "eric")
    for i in range(20):  # 41 messages: 开始 plus 20 questions and 20 commands
        clock.advance(30)
        say(f"第{i}个问题：上传密钥在哪里下载", "eric")
        say("进度", "eric")
    return f"{TEST_CORP_ID}:dora"


PAGES = ["/admin/", "/admin/pending", "/admin/stuck?hours=0", "/admin/handoffs", "/admin/unanswered",
         "/admin/dead-letters", "/admin/users", "/admin/topics", "/admin/taught",
         f"/admin/users/{TEST_CORP_ID}:dora", f"/admin/users/{TEST_CORP_ID}:eric"]


@pytest.mark.parametrize("width", WIDTHS)
def test_every_page_fits_the_window(browser, live_url, runtime, clock, say, width):
    _seed_everything(runtime, clock, say)
    page = browser.new_page(viewport={"width": width, "height": 900})
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    _log_in(page, live_url)
    ARTIFACTS.mkdir(exist_ok=True)
    for path in PAGES:
        response = page.goto(f"{live_url}{path}")
        assert response is not None and response.status == 200, path
        name = path.strip("/").replace("/", "-").replace(":", "_").replace("?", "_") or "admin"
        page.screenshot(path=str(ARTIFACTS / f"page-{name}-{width}.png"), full_page=True)
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{path} at {width} px is {overflow} px wider than the window"
    assert problems == []


def test_pages_are_laid_out_for_reading(browser, live_url, runtime, clock, say):
    dora = _seed_everything(runtime, clock, say)
    page = browser.new_page(viewport={"width": 1000, "height": 900})
    _log_in(page, live_url)

    page.goto(f"{live_url}/admin/unanswered")
    cell = page.locator("td.question", has_text=LONG_QUESTION[:10]).first
    assert cell.bounding_box()["width"] >= 200  # not four characters a line beside a wide select

    page.goto(f"{live_url}/admin/users/{dora}")
    font = page.evaluate("getComputedStyle(document.querySelector('pre.preview')).fontFamily")
    assert "monospace" not in font.lower()  # `font:13px/1.5 inherit` was invalid: it fell back to monospace
    assert "reply by Wang Fang" in page.inner_text("#conversation")
    assert page.locator("#reply textarea").count() == 1

    page.goto(f"{live_url}/admin/users/{TEST_CORP_ID}:eric")
    assert page.locator("#conversation tbody tr").count() == 20
    height = page.evaluate("document.documentElement.scrollHeight")
    assert height < 6000, height  # 41 messages used to run to ~10,000 px on one page
    page.click("main .pager a:text('next →')")
    assert page.locator("#conversation tbody tr").count() == 20
    page.click("main .pager a:text('next →')")
    assert page.locator("#conversation tbody tr").count() == 1  # the oldest: 开始

    page.goto(f"{live_url}/admin/users")
    assert "with Wang Fang" in page.inner_text("main")  # the hand-off state beside the user
    page.goto(f"{live_url}/admin/stuck?hours=0")
    assert "with Wang Fang" in page.inner_text("main")


def test_reply_and_save_as_answer_in_the_browser(browser, live_url, runtime, clock, say):
    say("开始", "fay")
    say("人工", "fay")
    say("认证费的发票在哪里开", "fay")
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    problems: list[str] = []
    page.on("pageerror", lambda e: problems.append(str(e)))
    _log_in(page, live_url)
    page.click("header a:text('Hand-offs')")
    row = page.locator("#handoffs tr[data-user=fay]")
    row.locator("textarea[name=text]").fill("在开放平台的资质认证页面申请发票。")
    row.locator("button:text('Send reply')").click()
    page.wait_for_selector(".flash.ok")
    assert "claimed by Wang Fang" in page.inner_text("#handoffs tr[data-user=fay]")  # replying claims it
    page.click("#handoffs tr[data-user=fay] a")
    page.click("details.save-answer summary")
    page.fill("details.save-answer input[name=title]", "认证费发票")
    page.click("details.save-answer button:text('Save')")
    page.wait_for_selector(".flash.ok")
    assert "New topic" in page.inner_text(".flash.ok")
    page.click("header a:text('Staff answers')")
    assert "认证费发票" in page.inner_text("main")
    page.screenshot(path=str(ARTIFACTS / "admin-staff-answers.png"), full_page=True)
    assert problems == []
