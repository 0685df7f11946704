"""flowscope's views: PySide6 + pyqtgraph widgets that draw numpy arrays.

Nothing here imports torch or the engine: a view is given arrays and draws them.
"""

import pyqtgraph as pg

# One place for global pyqtgraph settings: images are (row = y) arrays, as everywhere in flowscope.
pg.setConfigOptions(imageAxisOrder="row-major", antialias=True)
