"""``/admin/export.csv``: every user's progress as CSV, streamed, with spreadsheet formulas defused."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Any

from flask import Response, stream_with_context

from bot.admin.blueprint import admin_queries, bp, runtime
from bot.admin.present import iso, step_title

EXPORT_COLUMNS = ("user_key", "corp_id", "user_id", "step", "step_title", "completed", "cert_state", "cert_since",
                  "cert_attempts", "lang", "muted", "step_started_at", "created_at", "last_seen")


@bp.get("/export.csv")
def export_csv():
    found = admin_queries()
    guide = runtime().services.guide

    def rows() -> Iterator[str]:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(EXPORT_COLUMNS)
        for p in found.all_users():
            writer.writerow([_cell(v) for v in (
                p.user_key, p.corp_id, p.user_id, p.step, step_title(guide, p.step, "en"),
                " ".join(map(str, p.completed)), p.cert.state, iso(p.cert.since), p.cert.attempts, p.lang,
                int(p.muted), iso(p.step_started_at.get(str(p.step))), iso(p.created_at), iso(p.last_seen))])
            if buffer.tell() > 64 * 1024:
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
        yield buffer.getvalue()

    return Response(stream_with_context(rows()), mimetype="text/csv",
                    headers={"Content-Disposition": "attachment; filename=weda-progress.csv"})


def _cell(value: Any) -> Any:
    """Defuse spreadsheet formulas in user-supplied text (CSV injection)."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value
