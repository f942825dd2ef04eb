"""Staff teach the bot from the operator view: "this question is topic X", "this message means command Y".

One click on the unanswered list (a form: the session and its CSRF token; the bearer token only reads,
``/admin/api/taught``) stores the lesson in Redis (bot.understand.teaching); every process retrains
within seconds, and ``python -m bot understand`` / ``faq`` see it. Routes on the operator view's
blueprint, so its guard covers them.
"""

from __future__ import annotations

from flask import flash, jsonify, redirect, render_template, request, url_for

from bot.understand.teaching import Teaching, TeachingError, label_for
from bot.web.admin_common import bp, current_operator, refuse, runtime


def _teaching() -> Teaching:
    return Teaching(runtime().services.store.redis)


def _topics() -> frozenset[str]:
    return frozenset(getattr(runtime().services.knowledge, "topics", {}) or {})


def _lesson(text: str, intent: str | None, topic: str | None) -> str:
    label = label_for(intent=intent or None, topic=topic or None)
    _teaching().teach(text, label, by=current_operator().name, known_topics=_topics())
    return label


@bp.post("/teach")
def teach():
    form = request.form
    choice = form.get("label", "")
    intent, topic = (None, choice[6:]) if choice.startswith("topic:") else (choice, None)
    try:
        label = _lesson(form.get("text", ""), intent, topic)
    except TeachingError as exc:
        return refuse(400, f"Not learned: {exc}.")
    flash(f"Learned: 「{form.get('text', '')[:60]}」 → {label}. Every process uses it within seconds.", "ok")
    return redirect(url_for("admin.unanswered"), code=303)


@bp.post("/taught/forget")
def forget():
    _teaching().forget(request.form.get("text", ""))
    flash("Forgotten.", "ok")
    return redirect(url_for("admin.taught"), code=303)


@bp.get("/taught")
def taught():
    return render_template("admin/taught.html", entries=list(reversed(_teaching().entries())), page="unanswered")


@bp.get("/api/taught")
def api_taught():
    return jsonify(items=_teaching().entries())
