"""Package discovery for setuptools; everything else is configured in pyproject.toml.

The packages of app/, engine/ and widgets/ are found (a new one needs no entry anywhere), and
the repository's top-level assets/ folder (shipped scenes and pretrained models) installs as
the package app.assets, which app/scenes.py reads with importlib.resources.
"""

from setuptools import find_packages, setup

CODE = ["app", "app.*", "engine", "engine.*", "widgets", "widgets.*"]
ASSETS = ["app.assets", "app.assets.pretrained", "app.assets.scenes"]

setup(packages=find_packages(include=CODE) + ASSETS, package_dir={"app.assets": "assets"})
