"""Read-side queries for the operator view, answered from the Redis indexes.

Why this shape: a page must cost the same with 100 users or 100,000. So counts come from ZCARD /
ZCOUNT on the per-step indexes, lists are ranges on sorted sets (by score, with LIMIT), and only the
page being shown is loaded, with one MGET. Nothing here scans the key space.
"""

from __future__ import annotations

import heapq
import json
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from bot.core import conversation
from bot.core.guide import Guide
from bot.core.keys import (
    APS_RUN_TIMES_KEY,
    CERT_PENDING_INDEX,
    DEAD_LETTERS,
    OUTBOX_QUEUE,
    UNANSWERED,
    USERS_INDEX,
    step_index,
    step_since_index,
)
from bot.core.progress import FINISHED, NOT_STARTED, Progress
from bot.core.store import Store, step_entered_at
from bot.infra.redis_conn import scored
from bot.outbound.entry import OutboxMessage
from bot.worker.reminders.jobs import KINDS as REMINDER_KINDS
from bot.worker.reminders.jobs import job_id

from .models import (
    DeadLetter,
    Followup,
    Funnel,
    Page,
    PendingRow,
    Question,
    StepStat,
    UserDetail,
    UserRow,
)
from .present import step_title

ALL_STEPS = tuple(range(NOT_STARTED, FINISHED + 1))  # 0 not started, 1-6, 7 finished
OPEN_STEPS = tuple(range(NOT_STARTED, FINISHED))  # who can be stuck: everyone not finished
EXPORT_PAGE = 1000


class AdminQueries:
    """Every read the operator view makes; ``now`` is the app's clock so tests can move time."""

    def __init__(self, store: Store, guide: Guide, now: Callable[[], float], knowledge: object | None = None) -> None:
        self.store = store
        self.redis = store.redis
        self.guide = guide
        self.now = now
        self.knowledge = knowledge

    # -- the funnel ---------------------------------------------------------------------------------
    def funnel(self, stuck_after: float) -> Funnel:
        now = self.now()
        pipe = self.redis.pipeline(transaction=False)
        for step in ALL_STEPS:
            pipe.zcard(step_index(step))
        pipe.zcard(USERS_INDEX)
        pipe.zcard(CERT_PENDING_INDEX)
        for step in OPEN_STEPS:
            pipe.zcount(step_index(step), "-inf", now - stuck_after)
        res = pipe.execute()
        counts = dict(zip(ALL_STEPS, res[: len(ALL_STEPS)], strict=True))
        total, pending = res[len(ALL_STEPS)], res[len(ALL_STEPS) + 1]
        stuck = sum(res[len(ALL_STEPS) + 2 :])
        times = self._times_on_step(counts, now)
        steps = [
            StepStat(step, step_title(self.guide, step), step_title(self.guide, step, "en"), counts[step],
                     *times.get(step, (None, None)))
            for step in ALL_STEPS
        ]
        return Funnel(now, total, steps, pending, stuck, stuck_after)

    def _times_on_step(self, counts: dict[int, int], now: float) -> dict[int, tuple[float, float]]:
        """Median and oldest time on step by rank on the since-index: two small ZRANGEs per non-empty step."""
        steps = [step for step in ALL_STEPS if counts[step]]
        if not steps:
            return {}
        pipe = self.redis.pipeline(transaction=False)
        for step in steps:
            n = counts[step]
            pipe.zrange(step_since_index(step), (n - 1) // 2, n // 2, withscores=True)
            pipe.zrange(step_since_index(step), 0, 0, withscores=True)
        res = pipe.execute()
        out = {}
        for i, step in enumerate(steps):
            middle, first = res[2 * i], res[2 * i + 1]
            if not middle or not first:  # the step emptied between the two round trips
                continue
            median_since = sum(score for _, score in middle) / len(middle)
            out[step] = (max(0.0, now - median_since), max(0.0, now - first[0][1]))
        return out

    # -- lists of users -----------------------------------------------------------------------------
    def stuck(self, idle_seconds: float, steps: Sequence[int] = OPEN_STEPS, sort: str = "idle",
              descending: bool = True, offset: int = 0, limit: int = 50) -> Page:
        """Users idle for at least ``idle_seconds`` on ``steps``, a page at a time.

        ``sort="idle"`` (longest idle first, or shortest with ``descending=False``) merges the per-step
        ranges; ``sort="step"`` walks the steps in order, longest idle first within a step.
        """
        now = self.now()
        cutoff = now - idle_seconds
        steps = [s for s in ALL_STEPS if s in set(steps)]
        pipe = self.redis.pipeline(transaction=False)
        for step in steps:
            pipe.zcount(step_index(step), "-inf", cutoff)
        counts = dict(zip(steps, pipe.execute(), strict=True))
        total = sum(counts.values())
        if sort == "step":
            entries = self._by_step(steps, counts, cutoff, descending, offset, limit)
        else:
            entries = self._by_idle(steps, cutoff, descending, offset, limit)
        return Page(self._rows([key for key, _ in entries], now), total, offset, limit)

    def _by_idle(self, steps: Sequence[int], cutoff: float, longest_first: bool, offset: int,
                 limit: int) -> list[tuple[str, float]]:
        need = offset + limit
        pipe = self.redis.pipeline(transaction=False)
        for step in steps:
            if longest_first:
                pipe.zrangebyscore(step_index(step), "-inf", cutoff, start=0, num=need, withscores=True)
            else:
                pipe.zrevrangebyscore(step_index(step), cutoff, "-inf", start=0, num=need, withscores=True)
        runs = pipe.execute()
        sign = 1 if longest_first else -1
        return list(heapq.merge(*runs, key=lambda e: sign * e[1]))[offset:need]

    def _by_step(self, steps: Sequence[int], counts: dict[int, int], cutoff: float, descending: bool,
                 offset: int, limit: int) -> list[tuple[str, float]]:
        order = list(reversed(steps)) if descending else list(steps)
        out: list[tuple[str, float]] = []
        skip = offset
        for step in order:
            if len(out) >= limit:
                break
            if skip >= counts[step]:
                skip -= counts[step]
                continue
            out += scored(self.redis.zrangebyscore(step_index(step), "-inf", cutoff, start=skip,
                                                   num=limit - len(out), withscores=True))
            skip = 0
        return out

    def recent(self, offset: int = 0, limit: int = 50) -> Page:
        """Everyone, most recently active first."""
        pipe = self.redis.pipeline(transaction=False)
        pipe.zcard(USERS_INDEX)
        pipe.zrevrange(USERS_INDEX, offset, offset + limit - 1)
        total, keys = pipe.execute()
        return Page(self._rows(keys, self.now()), total, offset, limit)

    def pending(self, offset: int = 0, limit: int = 100) -> Page:
        """Certifications waiting for a result, longest waiting first, with the next follow-up."""
        now = self.now()
        pipe = self.redis.pipeline(transaction=False)
        pipe.zcard(CERT_PENDING_INDEX)
        pipe.zrange(CERT_PENDING_INDEX, offset, offset + limit - 1, withscores=True)
        total, entries = pipe.execute()
        rows = {row.user_key: row for row in self._rows([k for k, _ in entries], now)}
        followups = self._followups([k for k, _ in entries])
        items = [
            PendingRow(rows[key], since, max(0.0, now - since),
                       None if _cannot_fire(rows[key]) else next(iter(followups.get(key, ())), None))
            for key, since in entries
            if key in rows
        ]
        return Page(items, total, offset, limit)

    def user(self, user_key: str) -> UserDetail | None:
        progress = self.store.load(user_key)
        if progress is None:
            return None
        row = self._row(progress, self.now())
        followups = self._followups([user_key]).get(user_key, [])
        return UserDetail(row, progress, followups, list(reversed(progress.history)),
                          conversation.recent(self.redis, user_key))

    def _rows(self, keys: Sequence[str], now: float) -> list[UserRow]:
        """Load exactly the users on the page (one MGET), in the given order."""
        return [self._row(p, now) for p in self.store.load_many(keys)]

    def _row(self, p: Progress, now: float) -> UserRow:
        return UserRow(
            user_key=p.user_key,
            user_id=p.user_id,
            step=p.step,
            step_title=step_title(self.guide, p.step),
            idle=max(0.0, now - p.last_seen),
            on_step=max(0.0, now - step_entered_at(p)),
            last_seen=p.last_seen,
            cert_state=p.cert.state,
            cert_attempts=p.cert.attempts,
            cert_since=p.cert.since,
            lang=p.lang,
            muted=p.muted,
            last_event=p.history[-1]["kind"] if p.history else None,
            with_person=bool(p.handoff.get("since")),
            handoff_state=p.handoff.get("state") if p.handoff.get("since") else None,
            handoff_by=p.handoff.get("claimed_by"),
        )

    def _followups(self, keys: Sequence[str]) -> dict[str, list[Followup]]:
        """Scheduled follow-ups per user, soonest first, read from the scheduler's own job store."""
        if not keys:
            return {}
        pipe = self.redis.pipeline(transaction=False)
        for key in keys:
            for kind in REMINDER_KINDS:
                pipe.zscore(APS_RUN_TIMES_KEY, job_id(kind, key))
        res = iter(pipe.execute())
        out: dict[str, list[Followup]] = {}
        for key in keys:
            items = [Followup(kind, float(due)) for kind in REMINDER_KINDS if (due := next(res)) is not None]
            out[key] = sorted(items, key=lambda f: f.due)
        return out

    # -- what the bot could not answer, what it could not send ---------------------------------------
    def unanswered(self, offset: int = 0, limit: int = 100) -> Page:
        """Low-confidence questions, newest first, with the bot's best guess."""
        pipe = self.redis.pipeline(transaction=False)
        pipe.llen(UNANSWERED)
        pipe.lrange(UNANSWERED, offset, offset + limit - 1)
        total, raws = pipe.execute()
        items = []
        for raw in raws:
            try:
                rec = json.loads(raw)
            except ValueError:
                continue
            guess = rec.get("best_guess")
            items.append(Question(str(rec.get("user", "")), rec.get("at"), str(rec.get("text", "")), guess,
                                  self._topic_title(guess), rec.get("score"), str(rec.get("reason") or "unsure")))
        return Page(items, total, offset, limit)

    def _topic_title(self, topic_id: str | None) -> str | None:
        topics = getattr(self.knowledge, "topics", None)
        topic = topics.get(topic_id) if topic_id and isinstance(topics, dict) else None
        return getattr(topic, "title_zh", None) if topic is not None else None

    def dead_letters(self, offset: int = 0, limit: int = 100) -> Page:
        pipe = self.redis.pipeline(transaction=False)
        pipe.llen(DEAD_LETTERS)
        pipe.lrange(DEAD_LETTERS, offset, offset + limit - 1)
        total, raws = pipe.execute()
        return Page([parse_dead_letter(raw) for raw in raws], total, offset, limit)

    def outbox_depth(self) -> tuple[int, int]:
        pipe = self.redis.pipeline(transaction=False)
        pipe.llen(OUTBOX_QUEUE)
        pipe.llen(DEAD_LETTERS)
        depth, dead = pipe.execute()
        return depth, dead

    # -- the export -----------------------------------------------------------------------------------
    def all_users(self, page: int = EXPORT_PAGE) -> Iterator[Progress]:
        return iter_users(self.store, page)


def _cannot_fire(row: UserRow) -> bool:
    """A follow-up to the user does not go out to a muted user, nor while a person has them."""
    return row.muted or row.with_person


def iter_users(store: Store, page: int = EXPORT_PAGE) -> Iterator[Progress]:
    """Every user, least recently active first, ``page`` at a time.

    Walks the users index by score (not rank), so a user who writes during the export is not
    skipped; one who moves ahead of the cursor is not repeated either (seen set).
    """
    score: float | str = "-inf"
    at_score, seen = 0, set()
    while True:
        entries = scored(store.redis.zrangebyscore(USERS_INDEX, score, "+inf", start=at_score, num=page,
                                                   withscores=True))
        if not entries:
            return
        fresh = [key for key, _ in entries if key not in seen]
        seen.update(fresh)
        yield from store.load_many(fresh)
        last = entries[-1][1]
        if last == score:  # the whole page sat on the cursor's score: step past it within the tie
            at_score += len(entries)
        else:
            score, at_score = last, sum(1 for _, s in entries if s == last)
        if len(entries) < page:
            return


def parse_dead_letter(raw: str) -> DeadLetter:
    """A dead letter for display; a malformed one is still shown (raw), never dropped silently."""
    try:
        msg = OutboxMessage.from_json(raw)
    except (ValueError, TypeError):
        try:  # the sender dead-letters an unreadable outbox entry as {"raw": ..., "error": ...}
            data = json.loads(raw)
        except ValueError:
            data = None
        if isinstance(data, dict) and "raw" in data:
            return DeadLetter(None, None, None, "", 0, str(data.get("error") or "unreadable entry"), None, {},
                              str(data["raw"]))
        return DeadLetter(None, None, None, "", 0, "unreadable entry", None, {}, raw)
    meta = dict(msg.meta or {})
    error = meta.get("error") or meta.get("last_error")
    failed_at = meta.get("failed_at") or meta.get("dead_at")
    return DeadLetter(msg.id, msg.channel, msg.to_user, msg.text, msg.attempts,
                      str(error) if error is not None else None,
                      float(failed_at) if isinstance(failed_at, int | float) else None, meta)


def as_json(value: Any) -> Any:
    """Dataclasses (and pages of them) as plain JSON-able data for the API."""
    if isinstance(value, Page):
        return {"items": [as_json(i) for i in value.items], "total": value.total, "offset": value.offset,
                "limit": value.limit}
    if isinstance(value, Progress):
        data = json.loads(value.to_json())
        data.pop("response_url", None)  # a live reply URL into the user's chat: not for export
        return data
    if hasattr(value, "__dataclass_fields__"):
        return {k: as_json(getattr(value, k)) for k in value.__dataclass_fields__}
    if isinstance(value, list):
        return [as_json(v) for v in value]
    return value

