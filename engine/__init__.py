"""flowscope's engine: densities, models, samplers and solvers in torch + numpy only.

Nothing here imports Qt, so it can be used from a notebook or a script.
"""

__version__ = "0.1.0"
