"""A gallery of every view: the main window grabbed offscreen at projector sizes, in both themes.

Writes one PNG per view x theme x size x model (the shipped pretrained CNF and DDPM, so no
training is needed) and one contact sheet per theme, and prints a JSON line per sheet:

    .venv/bin/python tests/bench/gallery.py --out /tmp/gallery                     # everything
    .venv/bin/python tests/bench/gallery.py --out /tmp/gallery --themes dark --sizes 1280x720
    .venv/bin/python tests/bench/gallery.py --out /tmp/gallery --views guidance,kfp --models ddpm

Each view is opened once per model and left to finish its background work; the themes and sizes
are then switched live (as a person does from the View menu), which is also a check that they
apply to everything already drawn.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("FLOWSCOPE_THREADS", "1")
ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

PRE = ROOT / "assets" / "pretrained"
MODELS = {"cnf": PRE / "cnf_8gaussians.pt", "ddpm": PRE / "ddpm_8gaussians_conditional.pt"}
SIZES = ["1024x768", "1280x720", "1920x1080"]
THEMES = ["dark", "light"]


def _settle(app, lab, limit: float) -> None:  # type: ignore[no-untyped-def]
    """Let a view finish its background work (or give up after ``limit`` seconds)."""
    t0 = time.perf_counter()
    quiet = 0
    while time.perf_counter() - t0 < limit:
        app.processEvents()
        busy = lab is not None and lab.busy
        quiet = 0 if busy else quiet + 1
        if quiet > 20:
            return
        time.sleep(0.02)


def _size(text: str) -> tuple[int, int]:
    w, h = (int(v) for v in text.split("x"))
    return w, h


def shoot(out: Path, views: list[str], themes: list[str], sizes: list[str], models: list[str],
          settle_s: float, oversize: list[str], font_pt: int | None = None) -> dict[str, list[Path]]:
    """Grab every combination; returns the PNGs written, per theme. A window that cannot shrink to
    the size asked for is named in ``oversize`` (its controls would be cut off on that screen)."""
    # a private settings file: the gallery neither reads nor changes the user's choices
    os.environ["XDG_CONFIG_HOME"] = tempfile.mkdtemp(prefix="flowscope-gallery-")
    from app.application import create_application
    from app.main_window import MainWindow

    app = create_application()
    win = MainWindow(density="8gaussians", model="cnf")
    win.show()
    written: dict[str, list[Path]] = {t: [] for t in themes}
    try:
        for model in models:
            if not win.open_model(str(MODELS[model])):
                raise SystemExit(f"cannot open {MODELS[model]}")
            _settle(app, None, 1.0)
            for view in views:
                win.lab_tabs.show_view(view)
                _settle(app, win.lab_tabs.current_lab(), settle_s)
                t0 = time.perf_counter()
                while view == "training" and win.models.drawing and time.perf_counter() - t0 < settle_s:
                    app.processEvents()  # the model's picture, drawn once its page is seen
                    time.sleep(0.02)
                for theme in themes:
                    win.apply_look(theme, font_pt)
                    for size in sizes:
                        w, h = _size(size)
                        win.resize(w, h)
                        for _ in range(5):
                            app.processEvents()
                        _settle(app, win.lab_tabs.current_lab(), 2.0)
                        path = out / theme / f"{view}_{model}_{size}.png"
                        path.parent.mkdir(parents=True, exist_ok=True)
                        shot = win.grab()
                        shot.save(str(path))
                        if (shot.width(), shot.height()) != (w, h):
                            oversize.append(f"{theme}/{path.stem}: {shot.width()}x{shot.height()}")
                        written[theme].append(path)
    finally:
        win.close()
        app.processEvents()
    return written


def contact_sheet(paths: list[Path], dest: Path, thumb_w: int = 480) -> Path:
    """All ``paths`` side by side, four to a row, each captioned with its file name."""
    from PIL import Image, ImageDraw

    thumbs = []
    for p in paths:
        im = Image.open(p).convert("RGB")
        im.thumbnail((thumb_w, thumb_w))
        thumbs.append((p.stem, im))
    cols = 4
    cell_h = max(im.height for _, im in thumbs) + 22
    rows = (len(thumbs) + cols - 1) // cols
    sheet = Image.new("RGB", (cols * (thumb_w + 8), rows * cell_h), "#808080")
    draw = ImageDraw.Draw(sheet)
    for k, (name, im) in enumerate(thumbs):
        x, y = (k % cols) * (thumb_w + 8), (k // cols) * cell_h
        draw.text((x + 4, y + 4), name, fill="#000000")
        sheet.paste(im, (x, y + 20))
    sheet.save(dest)
    return dest


def main(argv: list[str] | None = None) -> int:
    from app.labs.registry import available_labs

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default="gallery", help="folder for the PNGs and the sheets (default ./gallery)")
    p.add_argument("--views", default="all", help="comma-separated view names, or all (with training)")
    p.add_argument("--themes", default=",".join(THEMES))
    p.add_argument("--sizes", default=",".join(SIZES))
    p.add_argument("--models", default=",".join(MODELS))
    p.add_argument("--settle", type=float, default=20.0, help="seconds a view may compute before it is grabbed")
    p.add_argument("--font-pt", type=int, default=None,
                   help="the text size in points (Ctrl+= steps of 1; default: the window's, 11)")
    a = p.parse_args(argv)
    views = ["training", *available_labs()] if a.views == "all" else a.views.split(",")
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    oversize: list[str] = []
    written = shoot(out, views, a.themes.split(","), a.sizes.split(","), a.models.split(","), a.settle, oversize,
                    a.font_pt)
    for theme, paths in written.items():
        sheet = contact_sheet(paths, out / f"sheet_{theme}.png")
        print(json.dumps({"theme": theme, "pictures": len(paths), "sheet": str(sheet),
                          "oversize": [o for o in oversize if o.startswith(f"{theme}/")],
                          "seconds": round(time.perf_counter() - t0, 1), "load": os.getloadavg()[0]}))
    return 0


if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    # a closed window's last worker (a model preview) may still be winding down: leave without
    # destroying Qt objects under it, which aborts the process after the work is all written
    os._exit(code)
