"""Worker processes that end with the process that started them.

A process pool's workers outlive a parent killed with SIGKILL: they finish the jobs already queued to them
and then stay alive, blocked on a queue nobody writes to, holding their memory (~550 MB each) until killed by
hand.
:func:`exit_with_parent`, a pool's (or a multiprocessing manager's) initializer, starts a thread in the worker
that ends it as soon as its parent is gone (its parent process id changes when it is re-parented), so a killed
run or sweep leaves nothing behind. A sweep's unfinished job leaves only a staging directory, which the next
run of the sweep removes, so resuming still gives the numbers of an uninterrupted sweep.
"""

from __future__ import annotations

import os
import threading
import time

__all__ = ["exit_with_parent"]

POLL_SECONDS = 0.5


def exit_with_parent() -> None:
    """Start a daemon thread that ends this process (``os._exit``) within ``POLL_SECONDS`` of its parent's
    death."""
    parent = os.getppid()

    def watch() -> None:
        while True:
            time.sleep(POLL_SECONDS)
            if os.getppid() != parent:
                os._exit(1)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()
