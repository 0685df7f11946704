"""The custom-SDE formula parser: arithmetic evaluates like numpy; everything else is refused."""

import builtins
import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.device import configure_threads
from engine.errors import InputError
from engine.sde import parse_formula
from engine.sde.formula import MAX_DEPTH, MAX_LENGTH

configure_threads()  # one torch thread: two spinning threads collapse on a shared 2-core machine


RNG = np.random.default_rng(0)
X, Y = RNG.uniform(0.1, 2.0, 50), RNG.uniform(-2.0, 2.0, 50)
T = 0.7

VALID = [
    ("x", lambda x, y, t: x),
    ("-x + 2*y - 3", lambda x, y, t: -x + 2 * y - 3),
    ("-x^2", lambda x, y, t: -(x**2)),
    ("2^3^2", lambda x, y, t: np.full_like(x, 512.0)),
    ("2^-1*x", lambda x, y, t: 0.5 * x),
    ("1 - 2 - 3 + x", lambda x, y, t: x - 4),
    ("8 / 4 / 2 * y", lambda x, y, t: y),
    ("--x", lambda x, y, t: x),
    ("sin(pi*t) * cos(x) - exp(-y^2)", lambda x, y, t: np.sin(np.pi * t) * np.cos(x) - np.exp(-(y**2))),
    ("log(x) + sqrt(x) + tanh(y) + abs(y)", lambda x, y, t: np.log(x) + np.sqrt(x) + np.tanh(y) + np.abs(y)),
    ("x - x^3 + 0.5*y*t", lambda x, y, t: x - x**3 + 0.5 * y * t),
    ("1.5e-1*x + .5 + 5.", lambda x, y, t: 0.15 * x + 5.5),
    ("(x + y) * (x - y) / (1 + t)", lambda x, y, t: (x + y) * (x - y) / (1 + t)),
    ("x ^ 0.5", lambda x, y, t: np.sqrt(x)),
    ("3", lambda x, y, t: np.full_like(x, 3.0)),
    ("sqrt(2) * pi", lambda x, y, t: np.full_like(x, math.sqrt(2) * math.pi)),
    ("\u2212x", lambda x, y, t: -x),  # the typeset minus sign
]


@pytest.mark.parametrize("text,reference", VALID, ids=[v[0] for v in VALID])
def test_valid_formulas_match_numpy(text, reference) -> None:  # type: ignore[no-untyped-def]
    f = parse_formula(text)
    want = reference(X, Y, T)
    np.testing.assert_allclose(f.numpy(X, Y, T), want, rtol=1e-12, atol=1e-12)
    got = f.torch(torch.from_numpy(X), torch.from_numpy(Y), T)
    assert got.shape == (50,)
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-12, atol=1e-12)


def test_variables_and_time_as_tensor() -> None:
    f = parse_formula("x*t + 1")
    assert f.variables == {"x", "t"}
    assert parse_formula("2*pi").variables == frozenset()
    out = f.torch(torch.ones(3, dtype=torch.float32), torch.zeros(3, dtype=torch.float32), torch.tensor(2.0))
    assert out.dtype == torch.float32 and out.tolist() == [3.0, 3.0, 3.0]


def test_parsing_never_reaches_eval(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("eval, exec or compile was called")

    for name in ("eval", "exec", "compile"):
        monkeypatch.setattr(builtins, name, refuse)
    assert parse_formula("sin(x) + y^2*t").numpy(np.array([0.0]), np.array([2.0]), 0.5)[0] == 2.0


HOSTILE = [
    "__import__('os').system('ls')",
    "__import__(os)",
    "x.real",
    "x.__class__",
    "().__class__.__bases__",
    "open(x)",
    "eval(x)",
    "exec",
    "lambda: 0",
    "lambda x: x",
    "x, y",
    "sin(x, y)",
    "'a'",
    '"x"',
    "[x]",
    "{x}",
    "x if y else t",
    "x = 1",
    "x; y",
    "x # comment",
    "x\ny",
    "x\x00",
    "z",
    "X",
    "e",
    "pi()",
    "sin",
    "sin x",
    "2x",
    "x(1)",
    "x**2",
    "x @ y",
    "x % 2",
    "x & y",
    "~x",
    "!x",
    "1e999",
    "log(0)",
    "1/0",
    "",
    "   ",
    "()",
    "(x",
    "x)",
    "x +",
    "* x",
    "x²",
    "١",  # an Arabic-Indic digit: not ASCII
    "(" * (MAX_DEPTH + 1) + "x" + ")" * (MAX_DEPTH + 1),
    "-" * (MAX_DEPTH + 1) + "x",
    "2^" * (MAX_DEPTH + 1) + "2",
    "x+" * (MAX_LENGTH // 2) + "x",
]


@pytest.mark.parametrize("text", HOSTILE, ids=[repr(h)[:40] for h in HOSTILE])
def test_hostile_formulas_are_refused_with_one_line(text: str) -> None:
    with pytest.raises(InputError) as err:
        parse_formula(text)
    message = str(err.value)
    assert "\n" not in message and len(message) < 400


def test_refusals_name_the_token_and_position() -> None:
    with pytest.raises(InputError, match=r"unknown name '__import__' at position 1"):
        parse_formula("__import__(os)")
    with pytest.raises(InputError, match=r"unexpected character ',' at position 2"):
        parse_formula("x,y")
    with pytest.raises(InputError, match=r"unexpected character '\.' at position 2"):
        parse_formula("x.real")
    with pytest.raises(InputError, match=r"unknown name 'lambda'"):
        parse_formula("lambda + x")
    with pytest.raises(InputError, match="nested more than"):
        parse_formula("(" * 60 + "x" + ")" * 60)
    with pytest.raises(InputError, match="the limit is"):
        parse_formula("x" * (MAX_LENGTH + 1))


def test_non_text_is_refused() -> None:
    with pytest.raises(InputError):
        parse_formula(42)  # type: ignore[arg-type]


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("xyt()+-*/^.,_'\"ab12e pisnclogqrt[]{}:;=<>!@#$%&|~\\\t\n")),
               max_size=80))
def test_random_text_parses_or_is_refused(text: str) -> None:
    try:
        f = parse_formula(text)
    except InputError as e:
        assert "\n" not in str(e)
        return
    out = f.numpy(X[:5], Y[:5], T)  # whatever parses evaluates elementwise
    assert out.shape == (5,)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=120))
def test_arbitrary_unicode_never_escapes_input_error(text: str) -> None:
    try:
        parse_formula(text)
    except InputError:
        pass
