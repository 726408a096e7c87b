"""The live-training engine and what every page shares to count and draw: the parameter counter, the
chart style, model diagrams, and the CPU sizing and Keras and Streamlit patches that let one process
serve a room.
"""
