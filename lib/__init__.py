"""Everything the pages use, in floors: each floor imports only the floors below it (tests/test_floors.py).

    4  app_pages       the pages, and streamlit_app.py           may import every floor below
    3  lib.page_glue   each page's Streamlit glue, the warm-up   lib.engine, lib.data, lib.models, lib.app
    2  lib.app         serving a page: course, links, uploads    lib.engine, lib.data, lib.models
    1  lib.models      the Keras models and their experiments    lib.engine, lib.data (no Streamlit)
    0  lib.engine      live training, counting, charts, patches  nothing above it
    0  lib.data        the data and how translations are scored  nothing above it (no Streamlit)

Modules of one package import each other, in no cycle; no module imports another's private (`_name`) names.
"""
