"""Floor 0, the data: what the pages learn from and how translations are scored against it (the
translation grammar and vocabularies, the real digits, the Mackey-Glass and temperature series, the
checks an uploaded text file passes, BLEU), and the room's store (what a workshop room shares, in SQLite
or Redis).

May import: nothing above it (not even lib.engine, its neighbour on floor 0). No Streamlit and no
Keras: every loader, validator and store runs and is tested without a page.
"""
