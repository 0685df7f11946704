"""The guidance lab: how the scale γ steers a class-conditional diffusion model.

``view.py`` holds the lab (Qt), with its words in ``text.py`` and its sampling queue in
``queue.py``; ``compute.py`` what it computes (no Qt).
"""
