"""App tests: a fake model family makes window tests fast and independent of the real models."""

import pytest

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
