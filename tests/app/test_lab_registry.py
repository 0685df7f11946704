"""The lab contract: one registry line makes a lab a tab, a render view and a scene view; the base animates it."""

import importlib.util
import json
import subprocess
import sys

import pytest
from PySide6 import QtWidgets

from app.cli import build_parser, main
from app.lab_tabs import LabTabs
from app.labs import base
from app.labs.base import STATUS_EVERY_S, Lab
from app.labs.context import LabContext
from app.labs.registry import LABS, LabEntry, available_labs, lab_class, make_lab
from app.scenes import load_scene
from engine.densities import get_density
from engine.errors import InputError


class NinthLab(Lab):
    """A lab written for this test: one label that shows its setting and the time."""

    equation = "x = 9"

    def __init__(self, ctx: LabContext, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(ctx, parent)
        self.colour = "#3355ff"
        self.label = QtWidgets.QLabel()
        QtWidgets.QVBoxLayout(self.body).addWidget(self.label)

    def settings(self) -> dict[str, object]:
        return {"colour": self.colour}

    def configure(self, colour: str | None = None, **_: object) -> None:
        if colour is not None:
            self.colour = colour

    def refresh(self) -> None:
        self.label.setStyleSheet(f"background: {self.colour};")
        self.label.setText(f"t = {self.ctx.t:.2f}")


class TickingLab(NinthLab):
    """An animated lab: the base's timer ticks it while it is active and not paused."""

    tick_ms = 5

    def __init__(self, ctx: LabContext, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(ctx, parent)
        self.ticks, self.paused = 0, False

    def animating(self) -> bool:
        return not self.paused

    def on_tick(self) -> None:
        self.ticks += 1


@pytest.fixture
def ninth(monkeypatch):  # type: ignore[no-untyped-def]
    """The one line a ninth lab adds to the registry."""
    monkeypatch.setitem(LABS, "ninth", LabEntry("Ninth lab", __name__, "NinthLab"))
    return "ninth"


def context() -> LabContext:
    ctx = LabContext()
    ctx.set_density(get_density("8gaussians"), "8gaussians")
    return ctx


def test_every_registered_lab_is_a_lab_with_its_own_settings() -> None:
    assert available_labs() == list(LABS)
    for name in LABS:
        cls = lab_class(name)
        assert issubclass(cls, Lab), name
        assert cls.settings is not Lab.settings and cls.configure is not Lab.configure, name


def test_every_lab_is_a_package_whose_compute_module_needs_no_qt() -> None:
    for name, entry in LABS.items():
        assert entry.module == f"app.labs.{name}.view", name
        assert importlib.util.find_spec(f"app.labs.{name}.compute") is not None, name
    imports = "; ".join(f"import app.labs.{name}.compute" for name in LABS)
    qt = "{'PySide6', 'pyqtgraph', 'widgets'}"
    code = f"import sys; {imports}; print(sorted({{m.split('.')[0] for m in sys.modules}} & {qt}))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_an_unknown_lab_is_refused_naming_the_known_ones() -> None:
    with pytest.raises(InputError, match="'nope'.*path, trajectories"):
        make_lab("nope", context())


def test_a_registered_lab_gets_a_tab_with_its_title(qtbot, ninth) -> None:  # type: ignore[no-untyped-def]
    tabs = LabTabs(context(), QtWidgets.QWidget())
    qtbot.addWidget(tabs)
    titles = [tabs.tabs.tabText(i) for i in range(tabs.tabs.count())]
    assert titles[0] == "Training" and titles[-1] == "Ninth lab"
    assert titles[1:-1] == [e.title for e in LABS.values()][:-1]
    tabs.show_view(ninth)
    lab = tabs.current_lab()
    assert isinstance(lab, NinthLab) and lab.active and tabs.current_name() == ninth
    assert lab.label.text() == "t = 1.00"
    tabs.shutdown()


def test_the_render_command_and_scenes_offer_a_registered_lab(tmp_path, ninth) -> None:  # type: ignore[no-untyped-def]
    args = build_parser().parse_args(["render", "m.pt", "--view", ninth, "--out", "x.png"])
    assert args.view == ninth
    scene = tmp_path / "ninth.json"
    scene.write_text(json.dumps({"flowscope_scene": 1, "density": "8gaussians",
                                 "view": {"name": ninth, "settings": {"colour": "#ff0000"}}}))
    assert load_scene(str(scene)).view == ninth
    out = tmp_path / "ninth.png"
    assert main(["render", "--scene", str(scene), "--frames", "2", "--size", "200x160", "--quiet",
                 "--out", str(out)]) == 0
    import imageio.v2 as imageio

    img = imageio.imread(out)
    red = (img[..., 0] > 200) & (img[..., 1] < 60) & (img[..., 2] < 60)
    assert red.mean() > 0.2  # the scene's setting reached the lab through configure()


def test_a_view_that_is_not_registered_is_refused(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    scene = tmp_path / "tenth.json"
    scene.write_text(json.dumps({"flowscope_scene": 1, "view": {"name": "tenth"}}))
    with pytest.raises(InputError, match="'tenth' is not one of training, path"):
        load_scene(str(scene))
    assert main(["render", "m.pt", "--view", "tenth", "--out", str(tmp_path / "x.png")]) == 2
    assert "invalid choice: 'tenth'" in capsys.readouterr().err


def test_the_base_runs_an_animation_only_while_the_lab_is_active_and_animating(qtbot) -> None:  # type: ignore[no-untyped-def]
    still, lab = NinthLab(context()), TickingLab(context())
    qtbot.addWidget(still)
    qtbot.addWidget(lab)
    still.activate()
    assert not still.timer.isActive()  # no tick_ms: no animation
    assert not lab.timer.isActive()
    lab.activate()
    assert lab.timer.isActive()
    qtbot.waitUntil(lambda: lab.ticks >= 3)
    lab.paused = True
    lab.sync_timer()
    assert not lab.timer.isActive()
    lab.paused = False
    lab.sync_timer()
    assert lab.timer.isActive()
    lab.deactivate()
    assert not lab.timer.isActive()
    lab.activate()
    lab.shutdown()
    assert not lab.timer.isActive()


def test_the_status_line_is_throttled_and_the_frame_rate_hidden_while_recording(qtbot, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    clock = [100.0]
    monkeypatch.setattr(base.time, "monotonic", lambda: clock[0])
    lab = NinthLab(context())
    qtbot.addWidget(lab)
    assert lab.frames_per_second() == 0.0
    for _ in range(11):  # 11 frames 0.1 s apart: 10 frames per second
        lab.count_frame()
        clock[0] += 0.1
    assert lab.frames_per_second() == pytest.approx(10.0)
    with lab.recording():
        assert lab.frames_per_second() == 0.0
    assert lab.frames_per_second() == pytest.approx(10.0)
    shown = [lab.throttled_status(lambda: "first")]
    clock[0] += STATUS_EVERY_S / 2
    shown.append(lab.throttled_status(lambda: "too soon"))
    assert lab.header.status.text() == "first"
    shown.append(lab.throttled_status(lambda: "forced", force=True))
    clock[0] += STATUS_EVERY_S * 1.5
    shown.append(lab.throttled_status(lambda: "later"))
    assert shown == [True, False, True, True] and lab.header.status.text() == "later"
    lab.reset_frame_rate()
    assert lab.frames_per_second() == 0.0
