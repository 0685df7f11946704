"""The dynamics views ("labs"): each shows one piece of theory on the current density and model.

A lab is a QWidget built with a :class:`~app.labs.context.LabContext`; it draws with the
widgets package and computes with the engine, in the background for anything slow. Each lab
is a package ``app/labs/<name>/``: ``view.py`` holds its :class:`~app.labs.base.Lab`,
``compute.py`` what it computes (no Qt); :mod:`app.labs.registry` names it, in one line.
"""
