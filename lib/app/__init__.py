"""Floor 2, serving a page: the course map, settings links and presets, the upload box and the
shipped models' held-out figures.

May import: lib.engine, lib.data, lib.models. Page glue and the pages build on it; nothing here
imports them.
"""
