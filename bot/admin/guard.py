"""The operator view's door: login and logout, the signed cookie session, Bearer tokens, CSRF, headers.

Everything under ``/admin`` passes one guard (:func:`_guard`): admin off (503) without ADMIN_TOKEN; a
signed-session login or an ``Authorization: Bearer`` token; a CSRF token on every POST. The guard is the
blueprint's own ``before_request``, so it never touches the ``/wecom/*`` callbacks. ``/metrics`` and its
callback timing hooks are installed here too (``bot.infra.metrics.install``), when the blueprint is registered.
"""

from __future__ import annotations

import secrets
from typing import Any

import redis
from flask import (
    Response,
    current_app,
    g,
    has_request_context,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.sessions import SecureCookieSessionInterface

from bot.admin import auth
from bot.admin.blueprint import bp, is_api, refuse, runtime
from bot.admin.present import duration, step_title, when, zone
from bot.admin.queries import ALL_STEPS
from bot.admin.sessions import AdminSessions
from bot.core.progress import FINISHED
from bot.infra import metrics

PUBLIC = {"admin.login", "admin.login_form"}


@bp.record_once
def _install(state) -> None:
    """/metrics and its hooks; and the session cookie's flags (only the operator view uses the session)."""
    metrics.install(state.app)
    config = state.app.config
    if config.get("SESSION_COOKIE_SAMESITE") is None:
        config["SESSION_COOKIE_SAMESITE"] = "Lax"
    settings = state.app.extensions["weda"].settings
    secure = settings.admin_cookie_secure  # None: auto
    if secure is True:
        config["SESSION_COOKIE_SECURE"] = True  # always, even if the app cannot tell it is behind HTTPS
    elif secure is None:
        state.app.session_interface = _SecureWhenHttps()


class _SecureWhenHttps(SecureCookieSessionInterface):
    """The cookie is ``Secure`` whenever the request came over HTTPS: directly, or through a proxy
    that gunicorn trusts (``X-Forwarded-Proto`` from ``--forwarded-allow-ips``, loopback by default)."""

    def get_cookie_secure(self, app) -> bool:
        return bool(app.config.get("SESSION_COOKIE_SECURE")) or (has_request_context() and request.is_secure)


@bp.before_request
def _guard():
    """Every /admin request: admin enabled? authenticated? and for POST, a valid CSRF token."""
    g.csp_nonce = secrets.token_urlsafe(16)
    settings = runtime().settings
    token = settings.admin_token
    if not token:
        body = render_template("admin/disabled.html") if not is_api() else '{"error": "admin disabled"}'
        return Response(body, status=503, mimetype="application/json" if is_api() else "text/html")
    presented = auth.bearer(request.headers.get("Authorization"))
    if request.endpoint not in PUBLIC and presented is not None:
        refused = _check_bearer(token, presented)
        if refused is not None:
            return refused
    if request.endpoint not in PUBLIC and not _authenticated(token, settings.secret_key):
        if is_api() or presented is not None:
            return Response('{"error": "unauthorized"}\n', status=401, mimetype="application/json",
                            headers={"WWW-Authenticate": 'Bearer realm="admin"'})
        return redirect(url_for("admin.login_form", next=request.full_path.rstrip("?")))
    if request.method == "POST" and not auth.csrf_matches(session.get("csrf"), request.form.get("csrf_token")):
        return refuse(400, "The form expired or did not come from this site (CSRF check failed). "
                            "Reload the page and try again.")
    return None


def _throttle() -> auth.LoginThrottle:
    return auth.LoginThrottle(runtime().redis)


def _sessions() -> AdminSessions:
    return AdminSessions(runtime().redis, runtime().settings.admin_session_hours * 3600)


def _check_bearer(token: str, presented: str) -> Response | None:
    """Bearer guesses count with failed logins: past the limit every attempt gets 429, right or wrong."""
    throttle, address = _throttle(), request.remote_addr or "?"
    if throttle.blocked(address):
        return Response('{"error": "too many failed attempts; wait 15 minutes"}\n', status=429,
                        mimetype="application/json", headers={"Retry-After": str(throttle.window)})
    if not auth.token_matches(token, presented):
        throttle.failed(address)
    return None


def _authenticated(token: str, secret_key: str) -> bool:
    presented = auth.bearer(request.headers.get("Authorization"))
    if presented is not None:
        # A bearer token is for reading (scripts, the API); forms need the session and its CSRF token.
        return request.method == "GET" and auth.token_matches(token, presented)
    if not auth.fingerprint_matches(secret_key, token, session.get("admin")):
        return False
    if not _sessions().valid(session.get("sid")):
        return False  # logged out (or never logged in here): the server-side session is gone
    max_age = runtime().settings.admin_session_hours * 3600
    logged_in = session.get("at")
    return isinstance(logged_in, int | float) and runtime().services.clock() - logged_in < max_age


@bp.errorhandler(redis.RedisError)
def _redis_down(exc: redis.RedisError) -> Response:
    current_app.logger.error("admin %s: redis unavailable: %s", request.path, type(exc).__name__)
    return refuse(503, "Redis is unavailable right now; the operator view needs it. Try again shortly.")


@bp.after_request
def _headers(response: Response) -> Response:
    """No framing (the buttons act), no caching of user data, only our own nonce'd script."""
    nonce = g.get("csp_nonce", "")
    response.headers["Content-Security-Policy"] = (
        f"default-src 'none'; style-src 'nonce-{nonce}'; script-src 'nonce-{nonce}'; img-src 'self' data:; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    )
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-store"
    return response


def _csrf_token() -> str:
    if "csrf" not in session:
        session["csrf"] = auth.new_csrf_token()
    return session["csrf"]


@bp.context_processor
def _template_helpers() -> dict[str, Any]:
    settings = runtime().settings
    tz = zone(settings.admin_timezone)
    guide = runtime().services.guide
    return {
        "csrf_token": _csrf_token,
        "nonce": g.get("csp_nonce", ""),
        "operator": session.get("op"),
        "duration": duration,
        "when": lambda ts: when(ts, tz),
        "step_title": lambda n, lang="zh": step_title(guide, n, lang),
        "all_steps": ALL_STEPS,
        "finished_step": FINISHED,
    }


# -- login --------------------------------------------------------------------------------------------
@bp.get("/login")
def login_form():
    return render_template("admin/login.html", next=request.args.get("next", ""), name="", error=None)


@bp.post("/login")
def login():
    settings = runtime().settings
    throttle = _throttle()
    address = request.remote_addr or "?"
    nxt, name = request.form.get("next", ""), (request.form.get("name") or "").strip()[:40]
    if throttle.blocked(address):
        return render_template("admin/login.html", next=nxt, name=name,
                               error="Too many failed attempts; wait 15 minutes."), 429
    if not auth.token_matches(settings.admin_token, request.form.get("token")):
        throttle.failed(address)
        return render_template("admin/login.html", next=nxt, name=name, error="Wrong token."), 401
    throttle.succeeded(address)
    session.clear()  # a fresh session (and CSRF token) on login: no fixation
    session["admin"] = auth.fingerprint(settings.secret_key, settings.admin_token or "")
    session["at"] = runtime().services.clock()
    session["op"] = name or "admin"
    session["sid"] = _sessions().create(session["op"])
    session["csrf"] = auth.new_csrf_token()
    return redirect(auth.safe_next(nxt, url_for("admin.funnel")), code=303)


@bp.post("/logout")
def logout():
    _sessions().revoke(session.get("sid"))  # a copy of the cookie saved before now no longer works
    session.clear()
    return redirect(url_for("admin.login_form"), code=303)
