"""Fill ``wb:idx:step_since:{n}`` for users saved before Store kept it (``python -m bot.admin.backfill``).

Why: the funnel reads time on step exactly from that index once it holds every user of a step, and
estimates from a sample until then. Running this once after the Store change makes it exact at once
instead of as users come back. Safe to re-run and to run while the bot serves: it walks the users
index in pages and writes with ZADD (a user who moves meanwhile is rewritten by Store anyway).
"""

from __future__ import annotations

from bot.admin.queries import ALL_STEPS, iter_users
from bot.store import Store, step_since_index


def since(progress) -> float:
    return progress.step_started_at.get(str(progress.step)) or progress.created_at or progress.last_seen


def backfill_step_since(store: Store, page: int = 1000) -> int:
    written = 0
    batch = store.redis.pipeline(transaction=False)
    for progress in iter_users(store, page):
        for step in ALL_STEPS:
            if step != progress.step:
                batch.zrem(step_since_index(step), progress.user_key)
        batch.zadd(step_since_index(progress.step), {progress.user_key: since(progress)})
        written += 1
        if written % page == 0:
            batch.execute()
    batch.execute()
    return written


def main() -> None:
    from bot.config import load_settings
    from bot.services import redis_client

    store = Store(redis_client(load_settings()))
    print(f"step-since index: {backfill_step_since(store)} users written")


if __name__ == "__main__":
    main()
