"""Garbage-collector settings for a long-running server process."""

import gc

# Container allocations (net of frees) between young-generation collections; Python's
# default is 700. A catalog request makes thousands of short-lived objects, nearly all
# freed by reference counting: with many requests in flight the default collected about
# once per request and walked every live request's objects (README, Performance).
YOUNG_THRESHOLD = 20_000

_tuned = False


def tune_for_serving() -> None:
    """Keep the objects that live as long as the process out of every later collection,
    and collect the young generation less often."""
    global _tuned
    if _tuned:
        return
    _tuned = True
    gc.collect()
    # Modules, the schema and the engine are never freed: a full collection that walks
    # them finds nothing.
    gc.freeze()
    gc.set_threshold(YOUNG_THRESHOLD, *gc.get_threshold()[1:])
