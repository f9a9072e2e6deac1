"""Live pages: what one session changes in the classroom reaches every other open page.

Solara keeps each browser tab's state in its own virtual kernel; a change made by the
teacher's click (in the teacher's kernel, on its thread) does not re-render a student's page
by itself. Each page therefore subscribes to the classroom (``Classroom.subscribe``) when it
mounts and unsubscribes when it goes away. The classroom calls every subscriber after each
change; the callback only queues a refresh. A small pool of threads then, for each page,
enters that page's kernel context, reads what the page shows (``fetch``: the student's screen
or the teacher's) and sets it as the page's state. Reacton re-renders the page only when what
it shows has changed, and Solara sends only the widgets that changed over the page's
websocket, so a round's close reaches 60 phones in a fraction of a second.

Refreshes of one page coalesce: a burst of changes (60 students answering) costs that page one
or two refreshes, not 60. A page whose refresh raises is logged and skipped; the others go on
(one student's broken page never stops a round).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Hashable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import solara

logger = logging.getLogger(__name__)

#: Threads that refresh the phones' pages. Rendering is Python work (it holds the GIL), so more
#: threads would not make 60 refreshes faster on two cores; a few keep one slow page from
#: holding up the rest.
WORKERS = 3
#: The projector's page (figures to redraw) waits until the phones' refreshes are sent, then this
#: long more (the phones' browsers render what they got), at most PROJECTOR_DEFERS_SECONDS in all.
PROJECTOR_GRACE_SECONDS = 0.4
PROJECTOR_DEFERS_SECONDS = 2.0


class Lanes:
    """Where refreshes run: phones first, in a pool; the projector after them, in its own thread.

    The teacher's page redraws matplotlib figures (a quarter of a second on a busy machine),
    holding the GIL and a core; run alongside the phones' refreshes it would slow every one of
    them (measured with 5 students on the 2 shared cores: a round's close reached the phones in
    1.7 s median with the redraw alongside, 0.24 s without it). It starts once no phone refresh
    has been waiting for PROJECTOR_GRACE_SECONDS (or after PROJECTOR_DEFERS_SECONDS): the
    projector shows the round a moment after the phones do.
    """

    def __init__(self) -> None:
        self._phones = ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="classroom-push")
        self._projector = ThreadPoolExecutor(max_workers=1, thread_name_prefix="classroom-projector")
        self._lock = threading.Lock()
        self._pending = 0

    def submit(self, job: Callable[[], None], *, projector: bool) -> None:
        if projector:
            self._projector.submit(self._after_phones, job)
            return
        with self._lock:
            self._pending += 1
        self._phones.submit(self._phone, job)

    def _phone(self, job: Callable[[], None]) -> None:
        try:
            job()
        finally:
            with self._lock:
                self._pending -= 1

    def _after_phones(self, job: Callable[[], None]) -> None:
        deadline = time.monotonic() + PROJECTOR_DEFERS_SECONDS
        quiet_since = time.monotonic()
        while time.monotonic() < deadline:
            if self._pending:
                quiet_since = time.monotonic()
            elif time.monotonic() - quiet_since >= PROJECTOR_GRACE_SECONDS:
                break
            time.sleep(0.01)
        job()


LANES = Lanes()


class PageFeed:
    """One page's subscription: queues at most one refresh at a time (later changes coalesce)."""

    def __init__(self, context: Any, refresh: Callable[[], None], projector: bool = False) -> None:
        self.context = context
        self.refresh = refresh
        self.projector = projector
        self._lock = threading.Lock()
        self._queued = False
        self._again = False
        self.closed = False

    def notify(self, _version: int = 0) -> None:
        """Called by the classroom (any thread) after a change: queue a refresh of this page."""
        with self._lock:
            if self.closed:
                return
            if self._queued:
                self._again = True  # the queued refresh may already have read the old state
                return
            self._queued = True
        LANES.submit(self._run, projector=self.projector)

    def _run(self) -> None:
        while True:
            with self._lock:
                self._again = False
            if self.closed or getattr(self.context, "closed_event", threading.Event()).is_set():
                break
            try:
                with self.context:
                    self.refresh()
            except Exception:  # one page's failure must not stop the others (logged, skipped)
                logger.exception("classroom: refreshing one page failed; the other pages go on")
            with self._lock:
                if not self._again:
                    self._queued = False
                    return
        with self._lock:
            self._queued = False


def use_live[T](
    subscribe: Callable[[Callable[[int], None]], Callable[[], None]],
    fetch: Callable[[], T],
    key: Callable[[T], Hashable] | None = None,
    dependencies: list | None = None,
    projector: bool = False,
    gate: Callable[[], Hashable] | None = None,
) -> T:
    """What ``fetch()`` returns now, refreshed whenever the classroom changes.

    ``subscribe`` is ``Classroom.subscribe``; ``key`` says when two fetched values show the
    same thing (default: equality), so a change elsewhere in the class does not re-render a
    page that shows nothing new. ``projector``: the page is the teacher's (refreshed after the phones).
    ``gate``: a cheap reading of what the page depends on; while it stays the same, a change
    elsewhere costs the page nothing (no fetch): 60 students answering one by one would
    otherwise make every phone fetch its screen 60 times a round.
    """
    same = key or (lambda value: value)
    first = solara.use_memo(fetch, dependencies or [])
    value, set_value = solara.use_state(first, eq=lambda a, b: same(a) == same(b))
    fetch_ref = solara.use_ref(fetch)
    fetch_ref.current = fetch

    def connect():
        from solara.server import kernel_context

        context = kernel_context.get_current_context()
        seen = [object()]  # the gate's last reading (none yet)

        def refresh() -> None:
            if gate is not None:
                now = gate()
                if now == seen[0]:
                    return
                seen[0] = now
            set_value(fetch_ref.current())

        feed = PageFeed(context, refresh, projector)
        unsubscribe = subscribe(feed.notify)
        feed.notify()  # a change between the first render and now

        def disconnect():
            feed.closed = True
            unsubscribe()

        return disconnect

    solara.use_effect(connect, dependencies or [])
    return value
