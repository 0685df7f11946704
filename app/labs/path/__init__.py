"""The probability-path lab: p_t as a heatmap with particles on top, following the time bar.

``view.py`` holds the lab (Qt), ``compute.py`` what it computes (no Qt).
"""
