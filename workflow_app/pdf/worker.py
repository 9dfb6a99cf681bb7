"""Lay out PDFs in recycled worker processes, with a time limit.

Why not in the app process:
- WeasyPrint's resident memory grows by ~0.3 MB per render and never shrinks (caches in
  Pango/fontconfig/cairo). A worker that renders PDF_RENDER_RECYCLE documents and then
  exits returns that memory to the system; the app process stays flat.
- Memory is also capped: each job runs under a data-segment limit (RLIMIT_DATA,
  PDF_RENDER_MAX_MB). A document that needs more fails with RenderFailed (503) and
  that worker is replaced, instead of the machine swapping or the OOM killer choosing.
- A hostile or pathological document can lay out for minutes. After PDF_RENDER_TIMEOUT
  seconds the worker is killed (SIGKILL: a render cannot be interrupted politely) and
  RenderTimeout (503) is raised, so the request's transaction rolls back.

Why not ProcessPoolExecutor: it cannot kill one stuck task, and with
``max_tasks_per_child`` on Python 3.11 a worker that exits while work is queued may not
be replaced until the next submit (cpython gh-115634). The pool here is a queue of
``size`` slots, each holding a worker process or None (started on demand).

Workers come from a forkserver that has imported WeasyPrint once, so a replacement
starts in milliseconds instead of re-importing everything (spawn), and no worker is a
fork of a multi-threaded app process (fork).
"""
from __future__ import annotations

import atexit
import gc
import logging
import multiprocessing
import os
import queue
import resource
import signal
import threading
from dataclasses import dataclass

from ..formats import vn_decimal
from ..workflow.errors import DomainError
from . import render
from .render import LayoutIncomplete

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 60.0  # seconds for one render
DEFAULT_RECYCLE = 50  # renders per worker process
DEFAULT_WORKERS = 1  # worker processes per app process
DEFAULT_MAX_MB = 1024  # data segment of a worker during a job (a decision needs ~120-250 MB); 0: no cap
START_TIMEOUT = 60.0  # a new worker must say "ready" within this (imports, forkserver start)
_PRELOAD = ["workflow_app.pdf.render"]


class RenderTimeout(DomainError):
    status, code = 503, "render_timeout"

    def __init__(self, seconds: float) -> None:
        super().__init__(
            f"Tạo tệp PDF quá thời gian cho phép ({vn_decimal(seconds, 'vi', 1)} giây); chưa có gì thay đổi. "
            "Vui lòng thử lại sau ít phút.",
            f"Producing the PDF took longer than allowed ({vn_decimal(seconds, 'en', 1)} s); nothing was changed. "
            "Please try again in a few minutes.",
        )


class RenderFailed(DomainError):
    """The worker died (killed for memory, crashed) or could not start."""

    status, code = 503, "render_failed"

    def __init__(self, detail: str) -> None:
        super().__init__(
            "Không tạo được tệp PDF do lỗi máy chủ; chưa có gì thay đổi. Vui lòng thử lại.",
            "The PDF could not be produced (server error); nothing was changed. Please try again.",
        )
        self.detail = detail


class _WorkerGone(Exception):
    """The worker was dead before the job could be sent (internal: retried)."""


@dataclass(frozen=True)
class WorkerReply:
    result: object  # what the job returned
    pid: int  # the worker process that ran it (tests watch it change on recycling)
    renders: int  # how many jobs that worker has run, this one included


# --- the worker process ------------------------------------------------------------

def _limit_memory(max_bytes: int | None) -> None:
    """Lower (or lift) this process's soft data limit; the hard limit stays, so a
    later job may raise it again. Allocations past it fail (MemoryError in Python,
    NULL in C)."""
    _soft, hard = resource.getrlimit(resource.RLIMIT_DATA)
    soft = hard if not max_bytes else max_bytes if hard == resource.RLIM_INFINITY else min(max_bytes, hard)
    resource.setrlimit(resource.RLIMIT_DATA, (soft, hard))


def _out_of_memory(exc: BaseException | None) -> bool:
    """A MemoryError, or an error raised while handling or because of one."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, MemoryError):
            return True
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return False


def _serve(conn) -> None:
    """Worker main loop: receive (function name, argument, memory cap in bytes), reply
    ("ok", result) or ("error", exception); None or a closed pipe ends the process,
    and so does running out of memory (after saying so)."""
    # Ctrl-C in a terminal reaches the whole process group; the parent decides when we stop.
    signal.signal(signal.SIGINT, signal.SIG_IGN)

    jobs = {"layout": render.layout_pdf}
    render.enable_process_caches()
    # Garbage collection happens between jobs, not during one: a layout makes ~200,000
    # objects and would trigger several collections (5-8 ms) while the caller waits.
    # What the imports made is frozen out of every collection. A job's memory is
    # bounded (one document) and the whole process goes away after PDF_RENDER_RECYCLE.
    gc.collect()
    gc.freeze()
    gc.disable()
    conn.send(("ready", os.getpid()))
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return
        if message is None:
            return
        name, argument, max_bytes = message
        try:
            _limit_memory(max_bytes)
            reply = ("ok", jobs[name](argument))
        except Exception as exc:  # noqa: BLE001 - every failure goes back to the caller
            reply = ("error", exc)
        finally:
            _limit_memory(None)  # the cap is for the job, not for pickling its reply
        if reply[0] == "error" and _out_of_memory(reply[1]):
            # Whatever the job held is garbage now; the caches may be half-built: say so and go.
            conn.send(("error", MemoryError()))
            return
        try:
            conn.send(reply)
        except Exception as exc:  # noqa: BLE001 - an exception that does not pickle
            conn.send(("error", RuntimeError(f"{type(reply[1]).__name__}: {reply[1]}; ({exc})")))
        del reply
        gc.collect()  # the caller has its reply: idle time


# --- the app side ------------------------------------------------------------------

def _context():
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(_PRELOAD)  # no effect once the forkserver runs
    return ctx


class _Worker:
    def __init__(self) -> None:
        ctx = _context()
        self.conn, child = ctx.Pipe(duplex=True)
        self.process = ctx.Process(target=_serve, args=(child,), name="pdf-render", daemon=True)
        self.process.start()
        child.close()
        self.renders = 0
        if not self.conn.poll(START_TIMEOUT):
            self.kill()
            raise RenderFailed(f"render worker did not start within {START_TIMEOUT:g} s")
        try:
            _tag, self.pid = self.conn.recv()
        except (EOFError, OSError) as exc:
            self.kill()
            raise RenderFailed(f"render worker died at start: {exc}") from exc
        log.debug("render worker %d started", self.pid)

    def run(self, name: str, argument, timeout: float, max_bytes: int | None = None) -> WorkerReply:
        try:
            self.conn.send((name, argument, max_bytes))
        except OSError as exc:  # died while idle (OOM killer, an operator): nothing was done
            self.kill()
            raise _WorkerGone(str(exc)) from exc
        try:
            ready = self.conn.poll(timeout)
        except (OSError, EOFError) as exc:
            self.kill()
            raise RenderFailed(f"render worker {self.pid} is gone: {exc}") from exc
        if not ready:
            log.warning("render worker %d exceeded %g s: killed", self.pid, timeout)
            self.kill()
            raise RenderTimeout(timeout)
        try:
            status, value = self.conn.recv()
        except (EOFError, OSError) as exc:
            code = self.kill()
            # Past the memory cap, C code (GLib's g_malloc) aborts rather than failing a call.
            cap = f", memory cap {max_bytes // (1024 * 1024)} MB" if max_bytes else ""
            log.error("render worker %d died (exit code %s%s)", self.pid, code, cap)
            raise RenderFailed(f"render worker {self.pid} died (exit code {code}{cap})") from exc
        self.renders += 1
        if status == "error" and isinstance(value, MemoryError):
            self.kill()  # it is on its way out
            log.error("render worker %d ran out of memory (limit %s bytes): replaced", self.pid, max_bytes)
            raise RenderFailed(f"render worker {self.pid} ran out of memory (PDF_RENDER_MAX_MB)")
        if status == "error" and isinstance(value, SystemError):
            # C code failed without saying why (seen near the memory cap): its state is
            # not to be trusted with the next document, so the process goes.
            self.kill()
            cap = f" (memory cap {max_bytes // (1024 * 1024)} MB)" if max_bytes else ""
            log.error("render worker %d failed inside C code: %s%s; replaced", self.pid, value, cap)
            raise RenderFailed(f"render worker {self.pid} failed inside C code{cap}")
        if status == "error" and isinstance(value, LayoutIncomplete):
            log.error("render worker %d: WeasyPrint reported errors, document refused: %s", self.pid, value)
            raise RenderFailed(f"layout incomplete: {value}") from value
        if status == "error":
            raise value
        return WorkerReply(value, self.pid, self.renders)

    def alive(self) -> bool:
        return self.process.is_alive()

    def stop(self) -> None:
        """Let the worker exit on its own (recycling); kill it if it does not."""
        try:
            self.conn.send(None)
        except OSError:
            pass
        self.process.join(5)
        self.kill()

    def kill(self) -> int | None:
        if self.process.is_alive():
            self.process.kill()
        self.process.join()
        self.conn.close()
        code = self.process.exitcode
        self.process.close()
        return code


class RenderPool:
    """``size`` worker slots shared by the app's threads; workers start on demand."""

    def __init__(self, size: int) -> None:
        if size < 1:
            raise ValueError("PDF_RENDER_WORKERS must be at least 1")
        self.size = size
        self._slots: queue.LifoQueue[_Worker | None] = queue.LifoQueue()
        for _ in range(size):
            self._slots.put(None)
        self._all: set[_Worker] = set()
        self._lock = threading.Lock()

    def run(self, name: str, argument, *, timeout: float, recycle: int,
            max_bytes: int | None = None) -> WorkerReply:
        try:
            # Waiting for a free worker counts against the same limit: a queue behind a
            # stuck render must not hold the request forever either.
            worker = self._slots.get(timeout=timeout)
        except queue.Empty:
            raise RenderTimeout(timeout) from None
        try:
            if worker is not None and not worker.alive():
                self._forget(worker, kill=True)
                worker = None
            for attempt in (1, 2):
                if worker is None:
                    worker = _Worker()
                    with self._lock:
                        self._all.add(worker)
                try:
                    reply = worker.run(name, argument, timeout, max_bytes)
                    break
                except _WorkerGone:
                    # Its death may not have been noticed yet when we picked it; the
                    # job never reached it, so a new worker may safely take it, once.
                    self._forget(worker, kill=False)
                    worker = None
                    if attempt == 2:
                        raise RenderFailed("render worker gone before the job reached it") from None
                except (RenderTimeout, RenderFailed):
                    self._forget(worker, kill=False)  # already killed
                    worker = None
                    raise
            if worker.renders >= recycle:
                log.debug("render worker %d recycled after %d renders", worker.pid, worker.renders)
                self._forget(worker, kill=False)
                worker.stop()
                worker = None
            return reply
        finally:
            self._slots.put(worker)

    def _forget(self, worker: _Worker, *, kill: bool) -> None:
        with self._lock:
            self._all.discard(worker)
        if kill:
            worker.kill()

    def close(self) -> None:
        with self._lock:
            workers, self._all = list(self._all), set()
        for worker in workers:
            try:
                worker.stop()
            except ValueError:  # already closed by a concurrent kill
                pass


_pool: RenderPool | None = None
_pool_pid: int | None = None
_pool_lock = threading.Lock()


def pool(size: int = DEFAULT_WORKERS) -> RenderPool:
    """This process's pool, made on first use. A forked child (gunicorn --preload) gets
    its own: pipes to the parent's workers must not be shared."""
    global _pool, _pool_pid
    with _pool_lock:
        if _pool is None or _pool_pid != os.getpid():
            _pool, _pool_pid = RenderPool(size), os.getpid()
        return _pool


def run(name: str, argument, *, timeout: float | None = None, recycle: int | None = None,
        workers: int | None = None, max_mb: int | None = None) -> WorkerReply:
    """Run job ``name`` in a worker. Settings not given take the module defaults; the
    app passes its PDF_RENDER_* configuration (printing.py)."""
    max_mb = int(DEFAULT_MAX_MB if max_mb is None else max_mb)
    timeout = float(timeout or DEFAULT_TIMEOUT)
    recycle = int(recycle or DEFAULT_RECYCLE)
    workers = int(workers or DEFAULT_WORKERS)
    if timeout <= 0 or recycle < 1 or max_mb < 0:
        raise ValueError("PDF_RENDER_TIMEOUT must be > 0, PDF_RENDER_RECYCLE >= 1 and PDF_RENDER_MAX_MB >= 0")
    return pool(workers).run(name, argument, timeout=timeout, recycle=recycle,
                             max_bytes=max_mb * 1024 * 1024 if max_mb else None)


@atexit.register
def _shutdown() -> None:
    if _pool is not None and _pool_pid == os.getpid():
        _pool.close()
