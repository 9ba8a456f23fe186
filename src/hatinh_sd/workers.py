"""Worker-process set-up that must import nothing heavy: end a worker when its parent dies.

A local process pool's workers (:class:`concurrent.futures.ProcessPoolExecutor`,
``spawn``) would otherwise outlive a parent killed with ``kill -9`` for as
long as their current chunk runs. :func:`stop_with_parent` is the pool's
initialiser; it lives in this small module so that a worker reaches it
within a fraction of a second of starting, before importing the model.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time

__all__ = ["stop_with_parent"]


def stop_with_parent(parent: int) -> None:
    """End this process when process ``parent`` is no longer its parent.

    On Linux the kernel sends SIGKILL on the parent's death
    (``prctl(PR_SET_PDEATHSIG)``); everywhere a daemon thread also polls the
    parent id once a second. A parent that died before this ran ends the
    process at once.
    """
    if sys.platform.startswith("linux"):
        import ctypes

        try:
            ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        except OSError:  # pragma: no cover - no libc of that name
            pass
    if os.getppid() != parent:
        os._exit(1)

    def watch() -> None:
        while True:
            time.sleep(1.0)
            if os.getppid() != parent:
                os._exit(1)

    threading.Thread(target=watch, daemon=True, name="stop-with-parent").start()
