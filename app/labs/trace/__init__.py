"""The trace lab: the exact divergence against Hutchinson's estimate, its variance and its cost.

``view.py`` holds the lab (Qt), ``compute.py`` what it computes (no Qt).
"""
