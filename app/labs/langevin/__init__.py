"""The Langevin lab: plain, annealed and Metropolis-adjusted Langevin sampling with the true or learned score.

``view.py`` holds the lab (Qt), ``compute.py`` what it computes (no Qt).
"""
