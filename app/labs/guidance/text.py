"""The guidance lab's words: its equations (one per kind of guidance), explanation and messages."""

from __future__ import annotations

from engine.checkpoint import TrainedModel
from engine.densities import Density

from .compute import PARTICLES, PanelSamples

__all__ = ["EQUATIONS", "EXPLANATION", "TARGET", "TARGET_IN_FULL", "missing_model_message", "status_text"]

_TILT = ("∇ log p<sub>γ</sub>(x<sub>t</sub> | y) = ∇ log p(x<sub>t</sub>) + γ ∇ log p(y | x<sub>t</sub>)")

EQUATIONS = {
    "cfg": ("ε̂ = γ ε<sub>θ</sub>(x<sub>t</sub>, y) + (1 − γ) ε<sub>θ</sub>(x<sub>t</sub>, ∅)"
            f"&nbsp;&nbsp;&nbsp;⇔&nbsp;&nbsp;&nbsp;{_TILT}"),
    "classifier": ("ε̂ = ε<sub>θ</sub>(x<sub>t</sub>) − γ √(1 − ᾱ<sub>t</sub>) ∇ log p(y | x<sub>t</sub>)"
                   f"&nbsp;&nbsp;&nbsp;⇔&nbsp;&nbsp;&nbsp;{_TILT}"),
    "fm": ("v̂ = γ v<sub>θ</sub>(x<sub>t</sub>, t, y) + (1 − γ) v<sub>θ</sub>(x<sub>t</sub>, t, ∅)"
           "&nbsp;&nbsp;&nbsp;(flow matching: τ = 1 − t)"),
}

TARGET = "grey ∝ p(x) p(y|x)<sup>γ</sup>"
TARGET_IN_FULL = ("Grey heatmap and contours (50% of the mass solid, 90% dashed): the naive target "
                  "p(x) p(y | x)<sup>γ</sup> / Z at each panel's γ")

EXPLANATION = """
<p><b>The scale γ.</b> γ = 0 samples the unconditional model, γ = 1 the conditional one, γ &gt; 1
sharpens the class (samples crowd where the classifier is most sure), and γ &lt; 0 pushes away
from the class. (Papers that write the weight as 1 + w use w = γ − 1.)</p>
<p><b>Classifier-free guidance</b> runs one network twice, with the label and with the empty
label ∅ it was trained with by label dropout, and extrapolates between the two noise
predictions. <b>Classifier guidance</b> adds the gradient of a classifier trained on noisy
points, scaled by the noise level √(1 − ᾱ<sub>t</sub>) that turns a score into a noise.</p>
<p><b>Where do guided samples go?</b> Both rules follow the score of
p(x<sub>t</sub>) p(y | x<sub>t</sub>)<sup>γ</sup> at <i>every</i> noise level. The grey heatmaps and
white contours show the tempting guess, the data-level tilt p(x) p(y | x)<sup>γ</sup>. It is not the law of the
guided samples: tilting and then noising is not the same as noising and then tilting, so for
γ ≠ 0, 1 the particles do not settle exactly on the heatmap (watch them leave the outer parts
of a mode for large γ).</p>
<p><b>Panels.</b> All three start from the same noise x<sub>T</sub> and draw the same random numbers
on the way, so γ = 0 reproduces the unconditional panel particle for particle. Every panel is
sampled with DPM-Solver++ (the probability-flow ODE, deterministic), fast enough that what the guided
panel shows while γ moves is the sample that stays when it rests. The time bar moves
through the reverse process (τ = 1 − t); the right-hand map is the classifier's
p(y | x<sub>τ</sub>) at that τ, flat at pure noise and sharp near the data. Particles are
coloured by the class of the region they end in.</p>
"""


def missing_model_message(trained: TrainedModel | None, density: Density | None) -> str:
    """What to do to use the lab, given what is loaded now."""
    how = ("Pick a density with classes (8gaussians, moons, pinwheel, checkerboard …), choose DDPM, NCSN or "
           "flow matching, tick “Class-conditional”, and train.")
    if density is not None and density.num_classes < 2:
        how = (f"“{density.name}” has no classes: pick one that has (8gaussians, moons, pinwheel …), "
               "choose DDPM, tick “Class-conditional”, and train.")
    if trained is None:
        return f"The guidance lab needs a class-conditional diffusion or flow-matching model.\n\n{how}"
    if trained.kind == "cnf":
        return f"A CNF models one unconditional density, so there is nothing to guide.\n\n{how}"
    return f"This {trained.kind.upper()} was trained without classes, so it cannot be guided.\n\n{how}"


_NAMES = {"dpm++": "DPM-Solver++", "ddim": "DDIM", "rk4": "RK4", "midpoint": "midpoint", "euler": "Euler"}


def status_text(ps: PanelSamples, waited_ms: float, preview_ms: float | None) -> str:
    """The status line after the guided panel is drawn: which sampler, and how long the user waited."""
    sampler = f"{_NAMES.get(ps.sampler, ps.sampler)} {ps.steps} steps, {PARTICLES:,} particles"
    if ps.request.preview:
        return f"γ = {ps.request.guidance:g} ({sampler}): {waited_ms:.0f} ms after the slider moved"
    answer = "" if preview_ms is None else f" · the slider's last answer: {preview_ms:.0f} ms"
    return f"Sample ({sampler}, one seed for all panels): {waited_ms:.0f} ms{answer}"
