"""Everything the pages use, grouped by concern: the training engine and drawing (`engine`), serving a
page (`app`), data (`data`), models and their measurements (`models`) and each page's Streamlit glue
(`page_glue`).
"""
