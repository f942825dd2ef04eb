"""The operator view's test credentials and how a test client logs in (with the page's CSRF token)."""

from __future__ import annotations

import re

TOKEN = "admin-token-for-tests-0123456789"
CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    match = CSRF_RE.search(html)
    assert match, "no CSRF field on the page"
    return match.group(1)


def login(client, token: str = TOKEN, name: str = "Li Lei"):
    page = client.get("/admin/login").get_data(as_text=True)
    return client.post("/admin/login", data={"csrf_token": csrf_of(page), "token": token, "name": name})
