"""The dynamics views ("labs"): each shows one piece of theory on the current density and model.

A lab is a QWidget built with a :class:`~app.labs.context.LabContext`; it draws with the
widgets package and computes with the engine, in the background for anything slow.
"""
