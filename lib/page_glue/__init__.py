"""Each page's Streamlit glue around the models: what is cached and shared across sessions, training
through the engine, and the verdicts a page writes.
"""
