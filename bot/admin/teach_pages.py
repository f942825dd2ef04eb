"""Staff teach the bot from the operator view: "this question is topic X", "this message means command Y".

One click on the unanswered list (a form: the session and its CSRF token; the bearer token only reads,
``/admin/api/taught``) stores the lesson in Redis (bot.understand.teaching); every process retrains
within seconds, and ``python -m bot understand`` / ``faq`` see it. Routes on the operator view's
blueprint, so its guard covers them.
"""

from __future__ import annotations

from dataclasses import asdict

from flask import Response, flash, jsonify, redirect, render_template, request, url_for

from bot.admin.blueprint import bp, current_operator, refuse, runtime
from bot.understand.staff_topics import StaffTopicError, StaffTopics
from bot.understand.teaching import Teaching, TeachingError, label_for


def _teaching() -> Teaching:
    return Teaching(runtime().services.store.redis)


def _topics() -> frozenset[str]:
    return frozenset(getattr(runtime().services.knowledge, "topics", {}) or {})


def _lesson(text: str, intent: str | None, topic: str | None) -> str:
    label = label_for(intent=intent or None, topic=topic or None)
    _teaching().teach(text, label, by=current_operator().name, known_topics=_all_topics())
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


# -- "save as answer": a staff reply teaches the bot ---------------------------------------------------
def _staff_topics() -> StaffTopics:
    return StaffTopics(runtime().services.store.redis, runtime().services.clock)


@bp.post("/answers/save")
def save_answer():
    """Beside a staff reply on a user's page: add the question to a topic, or make a new topic of the two."""
    form = request.form
    question, choice, user_key = form.get("question", ""), form.get("label", ""), form.get("user_key", "")
    try:
        if choice == "new":
            topic = _staff_topics().create(title=form.get("title", ""), answer=form.get("answer", ""),
                                           step=form.get("step"), question=question, by=current_operator().name)
            done = f"New topic 「{topic.title}」 ({topic.id}): every process answers it within seconds."
        elif choice.startswith("topic:"):
            label = _lesson(question, None, choice[6:])
            done = f"Learned: 「{question[:60]}」 → {label}. Every process uses it within seconds."
        else:
            return refuse(400, "Choose a topic, or a new topic.")
    except (TeachingError, StaffTopicError) as exc:
        return refuse(400, f"Not saved: {exc}.")
    flash(done, "ok")
    if user_key:
        return redirect(url_for("admin.user", user_key=user_key), code=303)
    return redirect(url_for("admin.staff_topics"), code=303)


def topic_choices() -> list[tuple[str, str]]:
    """(id, title) of every topic a question can be added to: the files' and the staff's in use."""
    topics = getattr(runtime().services.knowledge, "topics", {}) or {}
    files = [(tid, t.title_zh) for tid, t in topics.items()]
    return files + [(t.id, t.title) for t in _staff_topics().all() if not t.retired]


def _all_topics() -> frozenset[str]:
    return _topics() | {t.id for t in _staff_topics().all() if not t.retired}


@bp.get("/topics")
def staff_topics():
    return render_template("admin/topics.html", topics=_staff_topics().all(), page="topics")


@bp.get("/api/topics")
def api_staff_topics():
    return jsonify(items=[asdict(t) for t in _staff_topics().all()])


@bp.post("/topics/<topic_id>")
def edit_staff_topic(topic_id: str):
    form = request.form
    phrasings = form.get("phrasings")
    try:
        topic = _staff_topics().update(topic_id, title=form.get("title", ""), answer=form.get("answer", ""),
                                       step=form.get("step"), source=form.get("source", ""),
                                       phrasings=phrasings.splitlines() if phrasings is not None else None)
    except StaffTopicError as exc:
        return refuse(400 if "no staff topic" not in str(exc) else 404, f"Not saved: {exc}.")
    flash(f"Saved 「{topic.title}」; every process answers with it within seconds.", "ok")
    return redirect(url_for("admin.staff_topics"), code=303)


@bp.post("/topics/<topic_id>/retire")
def retire_staff_topic(topic_id: str):
    retire = request.form.get("retire", "1") != "0"
    try:
        topic = _staff_topics().set_retired(topic_id, retire)
    except StaffTopicError as exc:
        return refuse(404, str(exc))
    flash(f"「{topic.title}」 {'retired: the bot no longer answers with it' if retire else 'answered again'}.", "ok")
    return redirect(url_for("admin.staff_topics"), code=303)


@bp.get("/topics/export.yaml")
def export_staff_topics():
    """Every topic in use, as entries for ``data/knowledge/`` (a reviewer fills in ``source`` first)."""
    body = "".join(t.to_yaml() for t in _staff_topics().all() if not t.retired)
    return Response(body or "[]\n", mimetype="text/yaml; charset=utf-8",
                    headers={"Content-Disposition": "attachment; filename=staff-topics.yaml"})


@bp.get("/topics/<topic_id>.yaml")
def export_staff_topic(topic_id: str):
    try:
        topic = _staff_topics().get(topic_id)
    except StaffTopicError as exc:
        return refuse(404, str(exc))
    return Response(topic.to_yaml(), mimetype="text/yaml; charset=utf-8",
                    headers={"Content-Disposition": f"attachment; filename={topic.id}.yaml"})
