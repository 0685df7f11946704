"""flowscope's application layer: the only package that imports both the engine and Qt."""

from engine import __version__

__all__ = ["__version__"]
