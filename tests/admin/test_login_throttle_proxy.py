"""Throttle the guesser, not the team: wrong tokens are counted per client address, read behind a proxy.

Every request here reaches the app from one reverse proxy (REMOTE_ADDR 10.0.0.1); the proxy appends
the address it saw to X-Forwarded-For. With PROXY_FIX_X_FOR=1 the client address is that last entry,
so a guesser is throttled and an operator elsewhere logs in; what a client writes in the header itself
does not change its address.
"""

from __future__ import annotations

import pytest

from bot.admin.auth import LOGIN_MAX_FAILURES
from tests.support.admin import TOKEN, csrf_of
from tests.support.environment import make_env

PROXY = "10.0.0.1"
GUESSER, OPERATOR = "203.0.113.9", "198.51.100.7"


@pytest.fixture
def env(tmp_path):
    return make_env(tmp_path, ADMIN_TOKEN=TOKEN, SECRET_KEY="s" * 32, PROXY_FIX_X_FOR="1")


def _login(app, client_address: str, token: str, claimed: str | None = None) -> int:
    """Log in through the proxy from ``client_address`` (which may claim another address in the header)."""
    forwarded = f"{claimed}, {client_address}" if claimed else client_address
    client = app.test_client()
    base = {"REMOTE_ADDR": PROXY}
    headers = {"X-Forwarded-For": forwarded}
    page = client.get("/admin/login", environ_base=base, headers=headers).get_data(as_text=True)
    response = client.post("/admin/login", data={"csrf_token": csrf_of(page), "token": token, "name": "op"},
                           environ_base=base, headers=headers)
    return response.status_code


def test_an_operator_at_another_address_logs_in_while_a_guesser_is_throttled(app):
    for i in range(LOGIN_MAX_FAILURES):
        assert _login(app, GUESSER, f"guess-{i}") == 401
    assert _login(app, GUESSER, "guess-again") == 429
    assert _login(app, GUESSER, TOKEN) == 429  # throttled, right or wrong: guessing learns nothing
    assert _login(app, OPERATOR, TOKEN) == 303  # the team is not locked out


def test_a_guesser_cannot_choose_its_address_in_the_header(app):
    for i in range(LOGIN_MAX_FAILURES):
        assert _login(app, GUESSER, f"guess-{i}", claimed=f"192.0.2.{i}") == 401
    assert _login(app, GUESSER, "guess", claimed="192.0.2.200") == 429
    assert _login(app, OPERATOR, TOKEN) == 303


def test_bearer_guesses_are_counted_per_client_address_too(app):
    client = app.test_client()
    for address in [GUESSER] * LOGIN_MAX_FAILURES:
        response = client.get("/admin/api/funnel", headers={"Authorization": "Bearer guess",
                                                            "X-Forwarded-For": address},
                              environ_base={"REMOTE_ADDR": PROXY})
        assert response.status_code == 401
    blocked = client.get("/admin/api/funnel", headers={"Authorization": f"Bearer {TOKEN}", "X-Forwarded-For": GUESSER},
                         environ_base={"REMOTE_ADDR": PROXY})
    assert blocked.status_code == 429
    fine = client.get("/admin/api/funnel", headers={"Authorization": f"Bearer {TOKEN}", "X-Forwarded-For": OPERATOR},
                      environ_base={"REMOTE_ADDR": PROXY})
    assert fine.status_code == 200


def test_without_proxy_fix_the_header_is_ignored(tmp_path, redis_client, clock):
    """PROXY_FIX_X_FOR=0 (no proxy): X-Forwarded-For is the client's own word, so it counts for nothing."""
    from bot.config import load_settings
    from bot.web.app import create_app

    app = create_app(load_settings(make_env(tmp_path, ADMIN_TOKEN=TOKEN, SECRET_KEY="s" * 32)),
                     client=redis_client, clock=clock)
    for i in range(LOGIN_MAX_FAILURES):
        assert _login(app, f"192.0.2.{i}", "guess") == 401  # a new "address" each time: all from 10.0.0.1
    assert _login(app, "192.0.2.99", TOKEN) == 429
