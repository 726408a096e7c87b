"""Floor 3, each page's Streamlit glue around the models: what is cached and shared across sessions
(and the background warm-up that fills it), training through the engine, and the verdicts a page
writes. The only floor that drives the engine's live training for a page.

May import: lib.engine, lib.data, lib.models, lib.app. Only the pages (app_pages/) and
streamlit_app.py import it.
"""
