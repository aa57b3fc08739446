"""The grader's own process and its memory: what its garbage collections walk, and handing freed
memory back to the system. (The sandboxed workers' memory is bounded by their limits: grader.sandbox.)

A batch and a single grade run inside processes that may live long and hold a great deal: the
grader's command holds little besides its modules, but a test session, a notebook kernel running
the self-check or a service that grades holds everything it ever kept, and each full collection
of Python's garbage collector walks all of it.
"""
from __future__ import annotations

import contextlib
import ctypes
import gc
import threading
from typing import Iterator


class _Freeze:
    """The blocks of `collecting_only_new_objects` running now, in any thread: the collector's
    freeze is theirs while there is one. One per process, as the collector state it mirrors."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.holders = 0

    def enter(self) -> bool:
        """Join, freezing if first; False when the process froze objects itself (left alone)."""
        with self._lock:
            if self.holders == 0 and gc.get_freeze_count():
                return False
            if self.holders == 0:
                gc.freeze()
            self.holders += 1
            return True

    def leave(self) -> None:
        with self._lock:
            self.holders -= 1
            if self.holders == 0:
                gc.unfreeze()


_FREEZE = _Freeze()


def blocks_running() -> int:
    """How many `collecting_only_new_objects` blocks run now in this process, in any thread."""
    return _FREEZE.holders


@contextlib.contextmanager
def collecting_only_new_objects() -> Iterator[None]:
    """Leave the objects that existed before this block out of the garbage collections made
    inside it (gc.freeze), and hand them back to the collector when it ends, however it ends.

    What existed before a batch or a grade is not its garbage. Measured in this project's test
    session: the two collections of a batch (`give_back_memory`) cost ~0.1-0.3 s each while they
    walked the whole process, and the test processes spent 30.6 s collecting garbage, 13.0 s once
    batches froze what came before them, ~7 s once single grades did too.

    Blocks nest and overlap across threads (a batch's grades run inside the batch's block): the
    first to enter freezes, the last to leave unfreezes, and entering or leaving a block inside
    another costs nothing (`gc.get_freeze_count` walks every frozen object: asked once per grade
    inside a batch, it cost more than the collections it spared). A process that froze objects
    itself (before forking, say), asked only when no block of ours runs, keeps its own policy:
    nothing is changed. A process forked inside a block (the batch's writer) inherits the freeze:
    its own collections do not touch, and so do not copy, the pages of what it shares with its
    parent.
    """
    ours = _FREEZE.enter()
    try:
        yield
    finally:
        if ours:
            _FREEZE.leave()


M_MMAP_THRESHOLD = -3      # glibc's mallopt parameter


def bound_heap() -> None:
    """Make large buffers (event lines, decoded answers) go to the system and back when freed.

    glibc raises its mmap threshold after the first large buffer is freed (up to 32 MB); from then
    on buffers of a few megabytes come from the heap, and what a grading thread frees there stays
    resident: with four threads reading answers of the largest size, ~110 MB more. A fixed
    threshold of 1 MB keeps the grader's own memory to what is in use. Elsewhere (no glibc) this
    does nothing.
    """
    try:
        ctypes.CDLL(None).mallopt(M_MMAP_THRESHOLD, 1 << 20)
    except (OSError, AttributeError):
        pass


def give_back_memory() -> None:
    """Return the memory freed so far to the system (glibc's `malloc_trim`; elsewhere nothing).

    A large class's pages are built one after another, each freeing its working memory when done;
    glibc keeps freed heap pages for reuse, so without this each step's peak would stack on the
    last one's in the process's resident size."""
    gc.collect()
    try:
        ctypes.CDLL(None).malloc_trim(0)
    except (OSError, AttributeError):
        pass
