"""``/admin``: the operator view's pages — who is stuck where, what the bot could not answer, what failed to send.

Thin views over ``bot.admin`` (queries and actions, no Flask there); the guard is ``bot.admin.guard``.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response as BaseResponse  # what redirect() returns

from bot.admin import teach_pages, trend_pages
from bot.admin.actions import UserNotFound
from bot.admin.blueprint import (
    MAX_LIMIT,
    PAGE_LIMIT,
    admin_actions,
    admin_queries,
    bp,
    current_operator,
    int_arg,
    refuse,
    runtime,
    stuck_after,
    stuck_args,
)
from bot.admin.present import step_title
from bot.core.keys import key_parts
from bot.core.store import UserBusy
from bot.understand.lexicon import squash
from bot.understand.reading import INTENTS
from bot.understand.staff_topics import StaffTopics
from bot.understand.teaching import Teaching

CONVERSATION_PAGE = 20  # messages per page of a user's conversation (41 used to run to ~10,000 px)


@bp.get("/")
def funnel():
    data = admin_queries().funnel(stuck_after())
    return render_template("admin/funnel.html", funnel=data, page="funnel", **trend_pages.trend_context())


@bp.get("/pending")
def pending():
    data = admin_queries().pending(int_arg("offset", 0), int_arg("limit", 100, 1, MAX_LIMIT))
    return render_template("admin/pending.html", data=data, page="pending")


@bp.get("/stuck")
def stuck():
    args = stuck_args()
    data = admin_queries().stuck(**args)
    return render_template("admin/stuck.html", data=data, args=args, step=request.args.get("step", ""),
                           hours=args["idle_seconds"] / 3600, page="stuck")


@bp.get("/users")
def users():
    q = (request.args.get("q") or "").strip()
    if q:
        key = q if ":" in q else key_parts(runtime().settings.corp_id, q)
        if runtime().services.store.load(key) is not None:
            return redirect(url_for("admin.user", user_key=key))
        flash(f"No user {q!r}.", "error")
    data = admin_queries().recent(int_arg("offset", 0), int_arg("limit", PAGE_LIMIT, 1, MAX_LIMIT))
    return render_template("admin/users.html", data=data, page="users")


@bp.get("/users/<path:user_key>")
def user(user_key: str):
    detail = admin_queries().user(user_key)
    if detail is None:
        return refuse(404, f"No user {user_key!r}.")
    preview = admin_actions().render_nudge(detail.progress)
    offset, limit = int_arg("offset", 0), int_arg("limit", CONVERSATION_PAGE, 1, MAX_LIMIT)
    items = detail.conversation[offset:offset + limit]
    conv = {"items": items, "offset": offset, "limit": limit, "total": len(detail.conversation),
            "has_next": offset + len(items) < len(detail.conversation)}
    return render_template("admin/user.html", d=detail, preview=preview, page="users", conv=conv,
                           topics=teach_pages.topic_choices())


@bp.post("/users/<path:user_key>/move")
def move(user_key: str):
    try:
        step = int(request.form.get("step", ""))
    except ValueError:
        return refuse(400, "Choose a step.")
    return _act(user_key, lambda: admin_actions().move(user_key, step, current_operator()),
                f"Moved to step {step} ({step_title(runtime().services.guide, step, 'en')}).")


@bp.post("/users/<path:user_key>/reset")
def reset(user_key: str):
    return _act(user_key, lambda: admin_actions().reset(user_key, current_operator()), "Progress reset.")


@bp.post("/users/<path:user_key>/nudge")
def nudge(user_key: str):
    note = request.form.get("note", "")
    return _act(user_key, lambda: admin_actions().nudge(user_key, current_operator(), note), "Nudge queued.")


def _act(user_key: str, action: Callable[[], object], done: str) -> BaseResponse:
    try:
        action()
    except UserNotFound:
        return refuse(404, f"No user {user_key!r}.")
    except UserBusy:
        flash("The bot is handling a message from this user right now; try again in a moment.", "error")
    except ValueError as exc:
        return refuse(400, str(exc))
    else:
        flash(done, "ok")
    return redirect(url_for("admin.user", user_key=user_key), code=303)


@bp.get("/unanswered")
def unanswered():
    data = admin_queries().unanswered(int_arg("offset", 0), int_arg("limit", 100, 1, MAX_LIMIT))
    taught = {squash(e["text"]): e["label"] for e in Teaching(runtime().services.store.redis).entries()}
    topics = getattr(runtime().services.knowledge, "topics", {}) or {}
    commands = [i for i in INTENTS if i not in ("question", "clarify")]
    staff = [t for t in StaffTopics(runtime().services.store.redis).all() if not t.retired]
    return render_template("admin/unanswered.html", data=data, page="unanswered", taught=taught, squash=squash,
                           topics=topics, staff_topics=staff, commands=commands)


@bp.get("/dead-letters")
def dead_letters():
    found = admin_queries()
    data = found.dead_letters(int_arg("offset", 0), int_arg("limit", 100, 1, MAX_LIMIT))
    depth, _ = found.outbox_depth()
    return render_template("admin/dead_letters.html", data=data, depth=depth,
                           corp_id=runtime().settings.corp_id, page="dead")


@bp.post("/dead-letters/retry")
def retry_dead_letter():
    if admin_actions().retry_dead_letter(request.form.get("id", "")):
        flash("Moved back to the outbox.", "ok")
    else:
        flash("That message is no longer in the dead letters (already retried?).", "error")
    return redirect(url_for("admin.dead_letters"), code=303)


@bp.post("/dead-letters/retry-all")
def retry_all_dead_letters():
    flash(f"Moved {admin_actions().retry_all_dead_letters()} message(s) back to the outbox.", "ok")
    return redirect(url_for("admin.dead_letters"), code=303)
