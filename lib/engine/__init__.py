"""Floor 0, the engine: live training and what every page shares to count and draw (the parameter
counter, the chart style, model diagrams), and the CPU sizing, the parse and graph locks, and the Keras
and Streamlit patches that let one process serve a room.

May import: nothing above it (not even lib.data, its neighbour on floor 0). Streamlit is imported
here only by `training` (the live engine) and `streamlit_patches`; lib.models uses the rest (params,
graph_lock) without importing Streamlit.
"""
