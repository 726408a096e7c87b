"""Serving a page: the course map, settings links and presets, validated uploads, the background
warm-up and the shipped models' held-out figures.
"""
