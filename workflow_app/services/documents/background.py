"""Work done after the answer has left: one thread per app process runs the jobs
queued by requests, one after another, each in an app context of the app that queued
it (its own database session and connections). after_commit.py queues the renders of
the papers a request issued here, so the person acting does not wait for them.

- `later(app, job, *args)`: run ``job(*args)`` on the thread. The thread starts on
  first use; a forked process (gunicorn --preload) starts its own and never runs
  its parent's queue.
- `drain(timeout)`: wait until everything queued has run (tests, process exit);
  True when nothing is left.
- At process exit the queue is drained for up to EXIT_WAIT seconds. The exit handler
  is registered when the thread starts, after the render workers' own (pdf/worker.py,
  imported with the app): handlers run last-registered first, so the workers are
  still there for the renders and stop after them. A job
  still queued then, or lost with a killed process, is not run: a paper left without
  its PDF is rendered by its first download.
- A job that raises is logged and the thread goes on with the next one.
"""
from __future__ import annotations

import atexit
import logging
import os
import threading
import time
from collections import deque
from collections.abc import Callable

from flask import Flask

log = logging.getLogger(__name__)

EXIT_WAIT = 25.0  # seconds at exit; gunicorn kills a worker 30 s after asking it to stop


class _Thread:
    """The queue and the thread that empties it, for one process."""

    def __init__(self) -> None:
        self.pid = os.getpid()
        self._jobs: deque[tuple[Flask, Callable, tuple]] = deque()
        self._changed = threading.Condition()
        self._unfinished = 0  # queued or running
        self._thread = threading.Thread(target=self._run, name="after-the-answer", daemon=True)
        self._thread.start()

    def put(self, app: Flask, job: Callable, args: tuple) -> None:
        with self._changed:
            self._jobs.append((app, job, args))
            self._unfinished += 1
            self._changed.notify_all()

    def wait(self, timeout: float | None) -> int:
        """Wait until nothing is queued or running, at most ``timeout`` seconds; how many are left."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._changed:
            while self._unfinished:
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    break
                self._changed.wait(remaining)
            return self._unfinished

    def _run(self) -> None:
        while True:
            with self._changed:
                while not self._jobs:
                    self._changed.wait()
                app, job, args = self._jobs.popleft()
            try:
                with app.app_context():
                    job(*args)
            except Exception:  # noqa: BLE001 - one job's failure must not stop the others
                log.exception("%s%r, run after the answer, failed", getattr(job, "__name__", job), args[:1])
            finally:
                with self._changed:
                    self._unfinished -= 1
                    self._changed.notify_all()


_current: _Thread | None = None
_exit_handler_of: int | None = None  # the process that registered _at_exit
_lock = threading.Lock()


def _this_process(start: bool) -> _Thread | None:
    global _current, _exit_handler_of
    with _lock:
        if _current is not None and _current.pid != os.getpid():
            _current = None  # a fork's copy: its thread did not come along
        if _current is None and start:
            _current = _Thread()
            if _exit_handler_of != _current.pid:
                atexit.register(_at_exit)
                _exit_handler_of = _current.pid
        return _current


def later(app: Flask, job: Callable, *args) -> None:
    """Run ``job(*args)`` on this process's thread, in an app context of ``app``."""
    _this_process(start=True).put(app, job, args)


def drain(timeout: float | None = None) -> bool:
    """Wait until every job queued in this process has run (at most ``timeout``
    seconds; None: as long as it takes). True when none is left."""
    queue = _this_process(start=False)
    return queue is None or queue.wait(timeout) == 0


def pending() -> int:
    """Jobs queued or running in this process."""
    queue = _this_process(start=False)
    return 0 if queue is None else queue.wait(0)


def _at_exit() -> None:
    queue = _this_process(start=False)
    if queue is None:
        return
    left = queue.wait(EXIT_WAIT)
    if left:
        log.warning("%d job(s) queued after the answer were not run before exit (a paper without its PDF is "
                    "rendered at its first download)", left)
