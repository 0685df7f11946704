"""App tests: a fake model family makes window tests fast and independent of the real models."""

from collections.abc import Callable, Iterator

import pytest

from app.labs.base import Lab
from app.labs.context import LabContext
from app.labs.registry import make_lab
from engine import api


@pytest.fixture
def fake_models(monkeypatch):  # type: ignore[no-untyped-def]
    """Route every model kind to tests/app/fake_family.py."""
    for kind in list(api.FAMILIES):
        monkeypatch.setitem(api.FAMILIES, kind, "tests.app.fake_family")
    return api.FAMILIES


@pytest.fixture(autouse=True)
def dialogs(monkeypatch):  # type: ignore[no-untyped-def]
    """Message boxes would block a headless test: record their texts instead."""
    from PySide6 import QtWidgets

    shown: list[str] = []
    for name in ("warning", "information", "critical", "question"):
        monkeypatch.setattr(QtWidgets.QMessageBox, name, lambda *a, **k: shown.append(str(a[2])))
    return shown


@pytest.fixture
def open_lab(qtbot) -> Iterator[Callable[..., Lab]]:  # type: ignore[no-untyped-def]
    """``open_lab(name, ctx, size=(1000, 700))``: the lab, shown; shut down after the test."""
    made: list[Lab] = []

    def build(name: str, ctx: LabContext, size: tuple[int, int] = (1000, 700)) -> Lab:
        lab = make_lab(name, ctx)
        qtbot.addWidget(lab)
        lab.resize(*size)
        lab.show()
        made.append(lab)
        return lab

    yield build
    for lab in made:
        lab.shutdown()
