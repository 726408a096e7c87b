"""One process-wide lock around Keras graph construction: building, rewiring and loading models.

One process serves every session, and the background warm-up (lib/page_glue/warm_up.py) loads the shipped
models while sessions build theirs. Under AppTest, the warm-up's Transformer load once failed with
Keras's "Only input tensors may be passed as positional arguments" while the Attention page was
building its models in another thread. Keras 3 does not promise that its functional API may run in
two threads at once: its naming and scope state (`keras.src.backend.common.global_state`) is kept
per thread, but the layers are shared. Calling a layer on symbolic tensors (`Layer.__call__` →
`Operation.symbolic_call`) builds the layer, traces its `call` in a scratch TensorFlow graph and
appends a node to the layer's `_inbound_nodes`; `keras.Model(inputs, outputs)` walks those nodes;
`keras.saving.load_model` replays a saved graph by indexing into them (`deserialize_node`); and
the translators rewire the layers of a shared, cached model into their decoding models. (That
failure has not been reproduced since, with or without this lock: tests/test_concurrency.py.)

So every builder of lib/models that calls `keras.Input`, `keras.Model`, a layer on symbolic tensors,
`keras.models.clone_model` or `keras.saving.load_model` holds this lock (`builds_graph`): one thread
at a time builds or loads a graph. It is re-entrant, so a builder may call another. A build takes
milliseconds to a second and loading a shipped model about a second, so sessions seldom wait long.
Training (`fit`), prediction and decoding run outside the lock, in parallel as before.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import TypeVar

GRAPH_LOCK = threading.RLock()

Function = TypeVar("Function", bound=Callable)


def builds_graph(function: Function) -> Function:
    """Run `function` holding GRAPH_LOCK: one thread at a time builds or loads a Keras graph."""

    @functools.wraps(function)
    def locked(*args, **kwargs):
        with GRAPH_LOCK:
            return function(*args, **kwargs)

    return locked  # type: ignore[return-value]
