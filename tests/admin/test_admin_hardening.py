"""The operator view under attack: odd query values, header splitting, token guessing, stolen cookies."""

from __future__ import annotations

import pytest

from bot.admin.auth import LOGIN_MAX_FAILURES
from bot.config import load_settings
from bot.web.app import create_app
from tests.support.admin import TOKEN, csrf_of, login
from tests.support.environment import make_env


@pytest.fixture
def env(tmp_path):
    return make_env(tmp_path, ADMIN_TOKEN=TOKEN, SECRET_KEY="s" * 32)


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.parametrize("query", ["step=%C2%B2", "step=%D9%A3", "hours=inf", "hours=-inf", "hours=1e309",
                                   "hours=nan", "hours=1e300", "offset=99999999999999999999999", "limit=%C2%B2",
                                   "offset=" + "9" * 5000, "offset=-5", "sort=%00", "dir=%0d%0a"])
@pytest.mark.parametrize("path", ["/admin/stuck", "/admin/api/stuck", "/admin/", "/admin/api/funnel"])
def test_odd_query_values_never_500(client, path, query):
    response = client.get(f"{path}?{query}", headers=_bearer(TOKEN))
    assert response.status_code == 200, (path, query, response.status_code)


@pytest.mark.parametrize("nxt", ["/admin/\r\nSet-Cookie: x=1", "/admin/%0d%0a", "/admin/\nx", "/admin/ x",
                                 "/admin/\x00"])
def test_login_next_with_control_characters_goes_home(client, nxt):
    page = client.get("/admin/login").get_data(as_text=True)
    response = client.post("/admin/login", data={"csrf_token": csrf_of(page), "token": TOKEN, "next": nxt})
    assert response.status_code == 303
    assert response.location in ("/admin/", "/admin/%0d%0a")
    assert "x=1" not in response.headers.get("Set-Cookie", "").split(";")[0]


def test_login_form_with_a_crlf_next_renders(client):
    assert client.get("/admin/login?next=%2Fadmin%0D%0ASet-Cookie:%20x=1").status_code == 200


def test_wrong_bearer_tokens_are_throttled_with_429(client):
    for _ in range(LOGIN_MAX_FAILURES):
        assert client.get("/admin/api/funnel", headers=_bearer("guess")).status_code == 401
    assert client.get("/admin/api/funnel", headers=_bearer("guess")).status_code == 429
    assert client.get("/admin/api/funnel", headers=_bearer(TOKEN)).status_code == 429  # blocked, right or wrong
    assert login(client).status_code == 429  # the login form shares the count


def test_right_bearer_tokens_are_not_counted(client):
    for _ in range(LOGIN_MAX_FAILURES * 2):
        assert client.get("/admin/api/funnel", headers=_bearer(TOKEN)).status_code == 200


def test_logout_ends_the_session_for_every_copy_of_the_cookie(app, client):
    assert login(client).status_code == 303
    saved = client.get_cookie("session").value
    csrf = csrf_of(client.get("/admin/").get_data(as_text=True))
    assert client.post("/admin/logout", data={"csrf_token": csrf}).status_code == 303
    thief = app.test_client()
    thief.set_cookie("session", saved)
    assert thief.get("/admin/").status_code == 302


def test_a_cookie_is_secure_when_served_over_https(app):
    https = app.test_client()
    page = https.get("/admin/login", base_url="https://bot.example").get_data(as_text=True)
    response = https.post("/admin/login", base_url="https://bot.example",
                          data={"csrf_token": csrf_of(page), "token": TOKEN})
    assert "; Secure" in response.headers["Set-Cookie"]
    plain = app.test_client()
    assert "; Secure" not in login(plain).headers["Set-Cookie"]


def test_admin_cookie_secure_forces_it_even_over_http(tmp_path, redis_client, clock):
    app = create_app(load_settings(make_env(tmp_path, ADMIN_TOKEN=TOKEN, SECRET_KEY="s" * 32,
                                            ADMIN_COOKIE_SECURE="1")), client=redis_client, clock=clock)
    assert "; Secure" in login(app.test_client()).headers["Set-Cookie"]


@pytest.mark.slow
def test_the_cookie_is_secure_behind_a_tls_proxy_under_gunicorn(tmp_path, redis_client):
    """As deployed: a proxy on loopback says ``X-Forwarded-Proto: https``; gunicorn trusts it by default."""
    import requests

    from tests.support.servers import Gunicorn

    bot = Gunicorn(make_env(tmp_path, ADMIN_TOKEN=TOKEN, SECRET_KEY="s" * 32)).start(tmp_path / "gunicorn.log")
    try:
        for proto, secure in (("https", True), ("http", False)):
            # the login page starts a session (its CSRF token): its cookie is what a proxy's client keeps
            response = requests.get(bot.url + "/admin/login", headers={"X-Forwarded-Proto": proto}, timeout=10)
            assert response.status_code == 200
            assert ("; Secure" in response.headers["Set-Cookie"]) is secure, (proto, response.headers["Set-Cookie"])
    finally:
        bot.stop()
