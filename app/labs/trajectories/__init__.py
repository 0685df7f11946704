"""The trajectories lab: particles with trails along the model's ODE or SDE, and one clicked point's story.

``view.py`` holds the lab (Qt), ``compute.py`` what it computes (no Qt).
"""
