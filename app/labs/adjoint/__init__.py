"""The adjoint lab: the adjoint method against backprop through the solver, in accuracy, time and memory.

``view.py`` holds the lab (Qt), ``compute.py`` what it computes (no Qt).
"""
