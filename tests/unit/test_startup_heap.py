"""What start-up made is kept out of the garbage collector's full collections."""

from __future__ import annotations

import gc

from tidings.app import freeze_startup_heap


def test_the_startup_heap_is_frozen_and_collections_skip_it() -> None:
    gc.unfreeze()
    try:
        freeze_startup_heap()
        frozen = gc.get_freeze_count()
        assert frozen > 10_000  # the modules of the daemon, at least
        # A full collection now looks at what came after, a small part of the heap.
        assert len(gc.get_objects()) < frozen
    finally:
        gc.unfreeze()
