"""The vector-field lab: the CNF's velocity or the diffusion model's score as arrows.

``view.py`` holds the lab (Qt), ``compute.py`` what it computes (no Qt).
"""
