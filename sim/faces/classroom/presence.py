"""Who is online in class mode: each student's open pages, and whether any is still connected.

A student is "connected" while any of their pages is: a reload opens the new page before the old
one closes. A page closed properly (a tab closed, a navigation) closes its Solara kernel, which
runs the page's clean-up at once. A page whose connection dropped without closing (a phone
locked or out of signal, a browser killed) keeps its kernel until Solara culls it, a day later
by default; so every :data:`CHECK_SECONDS` a watcher reads the connection status Solara keeps
for each open page (``VirtualKernelContext.page_status``): the teacher sees such a student offline
within seconds, and online again when the page reconnects to its kernel.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from typing import Any

from solara.server.kernel_context import PageStatus

from sim.faces.classroom.session import Classroom

#: How often the watcher reads the pages' connection status, in seconds.
CHECK_SECONDS = 2.0


def is_connected(context: Any) -> bool:
    """Whether a page's kernel context has a connected page.

    A closed context has none. A context that has never recorded a page (no server behind it,
    as when a page is rendered in a test) says nothing against the page: it counts as connected.
    """
    closed = getattr(context, "closed_event", None)
    if closed is not None and closed.is_set():
        return False
    statuses = tuple(getattr(context, "page_status", {}).values())
    return not statuses or PageStatus.CONNECTED in statuses


class OpenPages:
    """The open pages of every student, by rejoin code, with a watcher of their connections."""

    def __init__(self, check_seconds: float = CHECK_SECONDS) -> None:
        self.check_seconds = check_seconds
        self._lock = threading.Lock()
        self._pages: dict[str, tuple[Classroom, list[Any]]] = {}
        self._watcher: threading.Thread | None = None

    def opened(self, classroom: Classroom, code: str, context: Any) -> None:
        """A page of this student opened (in the kernel ``context``)."""
        with self._lock:
            self._pages.setdefault(code, (classroom, []))[1].append(context)
            if self._watcher is None:
                self._watcher = threading.Thread(target=self._watch, name="classroom-presence", daemon=True)
                self._watcher.start()
        classroom.set_connected(code, True)

    def closed(self, classroom: Classroom, code: str, context: Any) -> None:
        """A page of this student closed: offline unless another of their pages is connected."""
        with self._lock:
            _, pages = self._pages.get(code, (classroom, []))
            if context in pages:
                pages.remove(context)
            if not pages:
                self._pages.pop(code, None)
            still = _any_connected(pages)
        if not still:
            classroom.set_connected(code, False)

    def check(self) -> None:
        """Mark every student with open pages online or offline, as their pages' connections are now."""
        with self._lock:
            states = [(room, code, _any_connected(pages)) for code, (room, pages) in self._pages.items()]
        for room, code, connected in states:
            room.set_connected(code, connected)  # outside the lock: it notifies the pages

    def _watch(self) -> None:
        """Check every few seconds while any page is open; the next page to open starts a new watcher."""
        while True:
            time.sleep(self.check_seconds)
            self.check()
            with self._lock:
                if not self._pages:
                    self._watcher = None
                    return


def _any_connected(pages: Iterable[Any]) -> bool:
    return any(is_connected(page) for page in pages)


#: The pages of this server's classes.
OPEN_PAGES = OpenPages()
