"""The few-step lab: one noise batch sampled with 1, 2, 4 and 8 Euler steps beside an accurate
reference, the training pairs of independent and OT couplings, and reflow.

``view.py`` holds the lab (Qt), ``compute.py`` what it computes (no Qt).
"""
