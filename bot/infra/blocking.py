"""Run blocking C work off the gevent hub when the process is monkey-patched.

Under gunicorn's gevent workers every connection of a worker is a greenlet on one OS thread, so a
15-70 ms sentence embedding (C code called through ctypes) would stall every other request of that
worker while it runs. ctypes releases the GIL during the call, so gevent's hub threadpool can run it
in a real thread while the hub keeps serving the other greenlets. Without gevent (sync workers, the
worker process, the CLI and the tests) it is a plain call.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def gevent_active() -> bool:
    """True when gevent has patched ``threading`` (gunicorn's gevent worker does, before our code loads)."""
    monkey = sys.modules.get("gevent.monkey")
    return bool(monkey is not None and monkey.is_module_patched("threading"))


def run_blocking(fn: Callable[..., T], *args: object) -> T:
    """``fn(*args)``, in the hub's threadpool when gevent is active (the calling greenlet waits, others run)."""
    if not gevent_active():
        return fn(*args)
    import gevent

    return gevent.get_hub().threadpool.apply(fn, args)
