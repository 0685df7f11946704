"""The Fokker–Planck lab: a density under an SDE on a grid and as particles, side by side.

``view.py`` holds the lab (Qt), ``compute.py`` what it computes (no Qt).
"""
