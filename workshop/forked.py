"""``citygate serve <name>`` in a child forked from the launcher, which has imported the services' code once.

A service's process spends most of its start importing its libraries and its package (FastAPI,
SQLAlchemy, Pydantic, httpx, cryptography: about 1.3 s of CPU each here); thirteen services and two web
apps paid that fifteen times over on two cores. The launcher imports all of it once (``preload``),
freezes what it imported out of the garbage collector's reach (so the children do not copy those pages
by touching them), and forks one child per service: each child starts from the imported modules, takes
its own environment, its own log as stdout and stderr, the default signal handlers (uvicorn installs
its own), a parent-death signal, and runs exactly what ``citygate serve <name>`` runs.

Nothing is built before the fork: every app is made by its ``create_app(settings)`` in its own child,
from its own environment, after the fork (no shared event loop, thread, connection or key). The parent
must not have started a thread or an event loop when it forks: the launcher forks the services first,
and the web apps after health checks made with a synchronous client (no thread, no loop).
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import importlib
import os
import signal
import subprocess
import sys
import time
import traceback
from collections.abc import Callable, Iterable

import setproctitle

POLL_SECONDS = 0.05


def preload(packages: Iterable[str]) -> None:
    """Import what every ``citygate serve`` imports, and each package's settings and app modules."""
    importlib.import_module("uvicorn")
    importlib.import_module("workshop.cli")
    for package in packages:
        importlib.import_module(f"{package}.settings")
        importlib.import_module(f"{package}.app")
    gc.collect()
    gc.freeze()  # the children's collections leave the preloaded objects (and their pages) alone


class ForkedChild:
    """A forked child, with the part of ``subprocess.Popen``'s interface the launcher uses."""

    def __init__(self, pid: int, args: list[str]) -> None:
        self.pid = pid
        self.args = args
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None:
            try:
                pid, status = os.waitpid(self.pid, os.WNOHANG)
            except ChildProcessError:  # reaped elsewhere: it has exited, how is unknown
                self.returncode = -1
            else:
                if pid:
                    self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        while (code := self.poll()) is None:
            if deadline is not None and time.monotonic() >= deadline:
                raise subprocess.TimeoutExpired(self.args, timeout or 0)
            time.sleep(POLL_SECONDS)
        return code

    def send_signal(self, signum: int) -> None:
        if self.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signum)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)


def fork_serve(
    name: str, environment: dict[str, str], log: int, *, title: str, before: Callable[[], None] | None = None
) -> ForkedChild:
    """``citygate serve name`` in a forked child with ``environment``, stdout and stderr to the file
    descriptor ``log`` (the caller closes it), stdin from /dev/null, named ``title`` in ps and top;
    ``before`` runs first in the child (the parent-death signal)."""
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid:
        return ForkedChild(pid, title.split())
    code = 1
    try:
        # first: it rewrites the memory of argv and environ, which must still be the process's own
        setproctitle.setproctitle(title)  # in ps and top, not the launcher's command line
        if before is not None:
            before()
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(signum, signal.SIG_DFL)
        nothing = os.open(os.devnull, os.O_RDONLY)
        os.dup2(nothing, 0)
        os.close(nothing)
        os.dup2(log, 1)
        os.dup2(log, 2)
        os.close(log)
        os.environ.clear()
        os.environ.update(environment)
        from workshop.cli import serve

        code = serve(argparse.Namespace(service=name, regime=None))
    except BaseException:  # the child must never return into the launcher's code
        traceback.print_exc()
    finally:
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(code)
