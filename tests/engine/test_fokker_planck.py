"""The Fokker–Planck grid solver against closed forms, particles, and a CNF's own density."""

import math

import numpy as np
import pytest
import torch

from engine.densities import get_density
from engine.device import configure_threads
from engine.errors import InputError
from engine.sde import FokkerPlanck, Grid, Reverse, Velocity, euler_maruyama, initial_density, make_sde
from engine.sde.kfp import total_variation

configure_threads()  # one torch thread: two spinning threads collapse on a shared 2-core machine


def grid_tv(p: np.ndarray, q: np.ndarray, grid: Grid) -> float:
    """Total variation between two normalised grid densities."""
    return float(0.5 * np.abs(np.asarray(p, np.float64) - q).sum() * grid.cell_area)


def evolve(sde, density, grid: Grid, times, **kw) -> list:  # type: ignore[no-untyped-def]
    return list(FokkerPlanck(sde, grid, **kw).solve(initial_density(density, grid), times))


def ou_reference(theta: float, sigma: float, m0: np.ndarray, c0: np.ndarray, t: float) -> tuple:  # type: ignore[type-arg]
    e = math.exp(-theta * t)
    return e * m0, e * e * c0 + sigma**2 / (2 * theta) * (1 - e * e) * np.eye(2)


def moment_errors(grid: Grid, p: np.ndarray, m_ref: np.ndarray, c_ref: np.ndarray) -> tuple[float, float]:
    """Relative errors: the mean against the larger of its norm and the spread; the covariance in norm."""
    m, c = grid.moments(p)
    scale = max(np.linalg.norm(m_ref), math.sqrt(np.trace(c_ref)))
    return np.linalg.norm(m - m_ref) / scale, np.linalg.norm(c - c_ref) / np.linalg.norm(c_ref)


# off-centre starts, so that the decay of the mean is tested too; the funnel's is anisotropic and heavy-tailed
OU_STARTS = [("banana", (-6.0, 6.0, -7.0, 5.0)), ("twomodes", (-6.0, 6.0, -6.0, 6.0)),
             ("funnel", (-7.0, 7.0, -6.0, 8.0))]


@pytest.mark.parametrize("name,box", OU_STARTS, ids=[s[0] for s in OU_STARTS])
def test_ou_grid_moments_match_the_closed_form(name: str, box: tuple) -> None:  # type: ignore[type-arg]
    theta, sigma = 1.2, 0.9
    grid = Grid(box, 96)
    frames = evolve(make_sde("ou", theta=theta, sigma=sigma), get_density(name), grid, [0.0, 0.3, 1.0])
    m0, c0 = grid.moments(frames[0].p)
    assert name == "funnel" or np.linalg.norm(m0) > 0.5
    for f in frames[1:]:
        err_m, err_c = moment_errors(grid, f.p, *ou_reference(theta, sigma, m0, c0, f.t))
        assert err_m < 0.02 and err_c < 0.02, (f.t, err_m, err_c)


def test_first_order_upwind_misses_the_ou_target() -> None:
    # the same check on the scheme without slope limiting: its numerical diffusion shows
    grid = Grid(OU_STARTS[0][1], 96)
    frames = evolve(make_sde("ou"), get_density("banana"), grid, [0.0, 1.0], limiter="upwind")
    m0, c0 = grid.moments(frames[0].p)
    err_m, err_c = moment_errors(grid, frames[-1].p, *ou_reference(1.0, 1.0, m0, c0, 1.0))
    assert max(err_m, err_c) > 0.02


@pytest.mark.parametrize("name", ["ou", "vp", "ve", "double-well", "langevin", "custom"])
def test_every_step_conserves_mass_and_stays_non_negative(name: str) -> None:
    d = get_density("8gaussians")
    options = {"drift_x": "y - x^3", "drift_y": "-x*(1 + sin(3*t))", "diffusion": "0.5 + t"} if name == "custom" else {}
    sde = make_sde(name, density=d, **options)
    grid = Grid((-6.0, 6.0, -6.0, 6.0), 64)
    fp = FokkerPlanck(sde, grid)
    p, t = torch.as_tensor(initial_density(d, grid)), 0.2
    for _ in range(40):
        mass = grid.mass(p)
        p, dt = fp.step(p, t)
        t += dt
        assert abs(grid.mass(p) - mass) < 1e-6
        assert float(p.min()) >= 0.0


def test_the_step_bound_matters() -> None:
    # from a single occupied cell, three times the positivity bound drives that cell negative
    grid = Grid((-2.0, 2.0, -2.0, 2.0), 33)
    fp = FokkerPlanck(make_sde("brownian"), grid)
    p = torch.zeros(33, 33)
    p[16, 16] = 1 / grid.cell_area
    ok, _ = fp.step(p, 0.0)
    assert float(ok.min()) >= 0.0
    bad, _ = fp.step(p, 0.0, 3 * fp.max_step(0.0))
    assert float(bad.min()) < 0.0


def test_langevin_sde_keeps_p_while_brownian_motion_spreads_it() -> None:
    d = get_density("8gaussians")
    grid = Grid((-5.0, 5.0, -5.0, 5.0), 96)
    p0 = initial_density(d, grid)
    kept = evolve(make_sde("langevin", density=d), d, grid, [0.0, 1.0])[-1]
    spread = evolve(make_sde("brownian"), d, grid, [0.0, 1.0])[-1]
    assert kept.t == 1.0 and grid_tv(kept.p, p0, grid) <= 0.02
    assert grid_tv(spread.p, p0, grid) > 0.3


def test_forward_vp_of_a_mixture_matches_its_closed_form_marginal() -> None:
    d = get_density("8gaussians")
    sde = make_sde("vp")
    grid = Grid((-5.0, 5.0, -5.0, 5.0), 80)
    frames = evolve(sde, d, grid, [0.0, 0.1, 0.3, 1.0])
    for f in frames[1:]:
        exact = initial_density(sde.marginal(d, f.t), grid)
        assert grid_tv(f.p, exact, grid) <= 0.02, f.t
        assert grid_tv(frames[0].p, exact, grid) > 0.2  # the density did move
        assert abs(f.mass - 1) < 1e-5


def test_forward_ve_of_a_mixture_matches_its_closed_form_marginal() -> None:
    d = get_density("8gaussians")
    sde = make_sde("ve", sigma_max=1.5)
    grid = Grid((-7.0, 7.0, -7.0, 7.0), 96)
    for f in evolve(sde, d, grid, [0.5, 1.0]):
        assert grid_tv(f.p, initial_density(sde.marginal(d, f.t), grid), grid) <= 0.02, f.t


def test_particle_histograms_approach_the_grid_solution() -> None:
    d = get_density("8gaussians")
    sde = make_sde("ou")
    grid = Grid((-5.0, 5.0, -5.0, 5.0), 64)
    pde = evolve(sde, d, grid, [0.5])[-1]
    tvs = []
    for n in (1_000, 10_000, 100_000):
        (frame,) = euler_maruyama(sde, d.sample(n, seed=n).x, [0.5], dt=0.005, seed=n)
        tvs.append(total_variation(pde.p, grid.counts(frame.x), n, grid))
    assert tvs[0] > tvs[1] > tvs[2] and tvs[2] < 0.03, tvs


def linear_field_case(limiter: str) -> float:
    """g = 0 with v(x) = A x: p_t(x) = p_0(e^{−At} x) e^{−tr(A) t} exactly; the TV at t = 1."""
    d = get_density("banana")
    a = torch.tensor([[-0.2, 1.0], [-1.0, 0.1]], dtype=torch.float64)
    sde = Velocity(lambda x, t: x @ a.T.to(x.dtype), autonomous=True)
    grid = Grid((-6.0, 6.0, -6.0, 6.0), 128)
    (frame,) = evolve(sde, d, grid, [1.0], limiter=limiter)
    back = torch.linalg.matrix_exp(-a)
    lp = d.log_prob(torch.as_tensor(grid.centres(), dtype=torch.float64) @ back.T) - torch.trace(a)
    exact = grid.normalise(np.exp(lp.numpy()).reshape(grid.n, grid.n))
    assert grid_tv(initial_density(d, grid), exact, grid) > 0.5  # it rotated well away
    return grid_tv(frame.p, exact, grid)


def test_continuity_equation_of_a_linear_field_matches_change_of_variables() -> None:
    assert linear_field_case("mc") <= 0.02
    assert linear_field_case("upwind") > 0.05  # the test can tell a diffusive scheme


def test_continuity_equation_of_a_random_cnf_matches_its_own_log_density() -> None:
    try:
        from engine.cnf import CNF, VectorField
    except ImportError:
        pytest.skip("engine.cnf (the CNF issue) is not part of this build")
    torch.manual_seed(3)
    model = CNF(VectorField(width=32, depth=2)).eval()
    with torch.no_grad():
        for w in model.field.parameters():
            w.mul_(2.0)  # a livelier field than the initial one, so the density moves
    grid = Grid((-5.0, 5.0, -5.0, 5.0), 64)
    base = get_density("gaussian")  # the CNF's p at t = 0
    frames = evolve(Velocity(model.velocity), base, grid, [0.5, 1.0])
    centres = torch.as_tensor(grid.centres())
    for f in frames:
        own = grid.normalise(np.exp(model.log_prob_at(centres, f.t).double().numpy()).reshape(grid.n, grid.n))
        assert grid_tv(f.p, own, grid) <= 0.01, f.t
    assert grid_tv(frames[-1].p, initial_density(base, grid), grid) > 0.1


def test_grid_convention_rows_are_y() -> None:
    d = get_density("banana")  # mean (0, −1.5): the mass sits in the lower rows
    grid = Grid((-4.0, 4.0, -6.0, 2.0), 32)
    p = initial_density(d, grid)
    assert p.shape == (32, 32) and p.dtype == np.float32
    assert abs(p.sum() * grid.cell_area - 1) < 1e-6
    mean, _ = grid.moments(p)
    assert mean[1] == pytest.approx(-1.5, abs=0.05) and abs(mean[0]) < 0.01
    np.testing.assert_allclose(p, grid.normalise(d.density_grid(32, grid.box)), rtol=1e-4, atol=1e-30)


def test_frames_land_on_the_requested_times() -> None:
    d = get_density("8gaussians")
    grid = Grid((-5.0, 5.0, -5.0, 5.0), 32)
    frames = evolve(make_sde("ou"), d, grid, [0.0, 0.05, 0.05, 0.4])
    assert [f.t for f in frames] == [0.0, 0.05, 0.05, 0.4]
    assert frames[0].steps == 0 and frames[1].steps == frames[2].steps > 0
    assert all(f.p.shape == (32, 32) and f.p.dtype == np.float32 for f in frames)


def test_solver_refusals() -> None:
    d = get_density("gaussian")
    grid = Grid((-3.0, 3.0, -3.0, 3.0), 32)
    with pytest.raises(InputError, match="not finite"):
        evolve(make_sde("custom", drift_x="1/x"), d, Grid((-2.0, 2.0, -2.0, 2.0), 32), [0.1])  # a face at x = 0
    with pytest.raises(InputError, match="steps"):
        list(FokkerPlanck(make_sde("brownian", sigma=50.0), grid, max_steps=100).solve(initial_density(d, grid), [1.0]))
    with pytest.raises(InputError, match="shape"):
        list(FokkerPlanck(make_sde("ou"), grid).solve(np.ones((8, 8)), [0.1]))
    with pytest.raises(ValueError, match="choose one of upwind, minmod, mc"):
        FokkerPlanck(make_sde("ou"), grid, limiter="superbee")
    with pytest.raises(InputError):
        Grid((1.0, 0.0, 0.0, 1.0), 16)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device here")
def test_cuda_gives_the_cpu_answer() -> None:
    d = get_density("8gaussians")
    grid = Grid((-5.0, 5.0, -5.0, 5.0), 64)
    cpu = evolve(make_sde("ou"), d, grid, [0.5])[-1]
    gpu = evolve(make_sde("ou"), d, grid, [0.5], device="cuda")[-1]
    assert grid_tv(cpu.p, gpu.p, grid) < 1e-4


def test_reverse_vp_with_the_exact_score_retraces_the_marginals() -> None:
    d = get_density("8gaussians")
    vp = make_sde("vp")
    reverse = Reverse(vp, vp.marginal_score(d), t_start=1.0)
    grid = Grid((-5.0, 5.0, -5.0, 5.0), 48)
    frames = list(FokkerPlanck(reverse, grid).solve(initial_density(vp.marginal(d, 1.0), grid), [0.5, 0.8]))
    for f in frames:
        assert grid_tv(f.p, initial_density(vp.marginal(d, 1.0 - f.t), grid), grid) <= 0.02, f.t
    assert grid_tv(frames[-1].p, frames[0].p, grid) > 0.2


def test_double_well_keeps_its_stationary_law() -> None:
    sigma = 0.8
    sde = make_sde("double-well", sigma=sigma)
    grid = Grid((-3.5, 3.5, -3.5, 3.5), 80)
    c = grid.centres().astype(np.float64)
    u = sde.h * ((c[:, 0] / sde.a) ** 2 - 1) ** 2 + 0.5 * c[:, 1] ** 2
    p_inf = grid.normalise(np.exp(-2 * u / sigma**2).reshape(grid.n, grid.n))
    (frame,) = FokkerPlanck(sde, grid).solve(p_inf, [1.0])
    assert grid_tv(frame.p, p_inf, grid) <= 0.01
    (moved,) = FokkerPlanck(make_sde("double-well", sigma=1.5), grid).solve(p_inf, [1.0])
    assert grid_tv(moved.p, p_inf, grid) > 0.05  # another noise level has another stationary law


def test_kfp_frames_pair_the_grid_with_particles() -> None:
    from engine.sde import kfp_frames, pilot_box

    d, sde = get_density("banana"), make_sde("ou", sigma=0.7)
    grid = Grid(pilot_box(sde, d, 1.0), 48)
    frames = list(kfp_frames(sde, d, grid, [0.0, 0.5, 1.0], particles=20_000, keep=500))
    assert [f.t for f in frames] == [0.0, 0.5, 1.0]
    for f in frames:
        assert f.pde.shape == f.hist.shape == (48, 48) and f.particles.shape == (500, 2)
        assert abs(f.pde.sum() * grid.cell_area - 1) < 1e-5 and f.mass_error < 1e-6
        assert 0.999 * 20_000 <= f.hist.sum() <= 20_000 and f.tv < f.tv_floor + 0.02  # a few stray outside
