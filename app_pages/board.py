"""The room's board (#24): what the whole workshop found, live, for the instructor's key only.

One course page at a time: every participant's runs overlaid (one colour per setting label, not per
person), the setting that varies across the room against what the runs measured, the predictions
tallied against what happened, and a control that sends the room the instructor's next setting
(lib/page_glue/board.py). A participant's link, or a wrong key, shows why the board stays closed.
"""

import streamlit as st

from lib.page_glue.board import draw_board

st.title("Workshop room board")
draw_board()
