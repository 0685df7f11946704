"""Safe arithmetic formulas in ``x``, ``y`` and ``t``, for SDEs that a user types.

The text is split into tokens and parsed by hand (recursive descent) into a small tree
of tuples; the tree is then walked with torch or numpy operations. No part of the text
ever reaches ``eval``, ``exec`` or ``compile``, and anything that is not arithmetic on
the allowed names is refused with an :class:`~engine.errors.InputError` that names the
offending token and its position (counted from 1).

Grammar, from the loosest binding to the tightest. ``^`` is right-associative and binds
tighter than a unary minus, so ``-x^2`` is ``-(x^2)`` and ``2^-1`` is ``0.5``::

    expr  := term (("+" | "-") term)*
    term  := unary (("*" | "/") unary)*
    unary := ("+" | "-") unary | power
    power := atom ("^" unary)?
    atom  := NUMBER | x | y | t | pi | FUNC "(" expr ")" | "(" expr ")"

>>> f = parse_formula("-x + 0.5*sin(pi*t)")
>>> sorted(f.variables)
['t', 'x']
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Union

import numpy as np
import torch

from ..errors import InputError

__all__ = ["FUNCTIONS", "MAX_DEPTH", "MAX_LENGTH", "VARIABLES", "Formula", "parse_formula"]

VARIABLES = ("x", "y", "t")
FUNCTIONS = ("sin", "cos", "exp", "log", "sqrt", "tanh", "abs")
CONSTANTS = {"pi": math.pi}
MAX_LENGTH = 500
MAX_DEPTH = 40

_MATH: dict[str, Callable[[float], float]] = {
    "sin": math.sin, "cos": math.cos, "exp": math.exp, "log": math.log, "sqrt": math.sqrt, "tanh": math.tanh,
    "abs": abs}
_TORCH = {name: getattr(torch, name) for name in FUNCTIONS}
_NUMPY = {name: getattr(np, name) for name in FUNCTIONS}

# ASCII only: str.isdigit() would accept superscripts and other scripts' digits
_NUMBER = re.compile(r"(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_NAME = re.compile(r"[A-Za-z_][A-Za-z_0-9]*")
_SYMBOLS = "+-*/^()"

Node = tuple[Any, ...]
Value = Union[torch.Tensor, np.ndarray, float]


@dataclass(frozen=True)
class _Token:
    kind: str  # "num", "name", "op", "end"
    text: str
    pos: int  # 1-based column


def _fail(text: str, message: str) -> InputError:
    # one printable line, whatever was typed
    shown = text if len(text) <= 60 else text[:57] + "..."
    shown = shown.encode("unicode_escape").decode("ascii")
    return InputError(f"formula '{shown}': {message}")


def _tokenize(text: str) -> list[_Token]:
    tokens, i = [], 0
    while i < len(text):
        ch = text[i]
        if ch in " \t":
            i += 1
            continue
        if text.startswith("**", i):
            raise _fail(text, f"'**' at position {i + 1}: write powers with ^")
        m = _NUMBER.match(text, i)
        if m:
            tokens.append(_Token("num", m.group(), i + 1))
        else:
            m = _NAME.match(text, i)
            if m:
                tokens.append(_Token("name", m.group(), i + 1))
            elif ch in _SYMBOLS:
                tokens.append(_Token("op", ch, i + 1))
                i += 1
                continue
            else:
                raise _fail(text, f"unexpected character {ch!r} at position {i + 1}; only numbers, "
                                  f"x y t pi, {' '.join(FUNCTIONS)}, + - * / ^ and parentheses are allowed")
        i = m.end()
    tokens.append(_Token("end", "", len(text) + 1))
    return tokens


class _Parser:
    """Recursive descent over the token list; the depth limit keeps Python's stack safe."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokenize(text)
        self.i = 0
        self.depth = 0

    def peek(self) -> _Token:
        return self.tokens[self.i]

    def take(self) -> _Token:
        tok = self.tokens[self.i]
        self.i += 1
        return tok

    def unexpected(self, tok: _Token) -> InputError:
        if tok.kind == "end":
            return _fail(self.text, "ends too early; a number, name or '(' is missing")
        hint = "; write multiplication with *" if tok.kind in ("name", "num") or tok.text == "(" else ""
        return _fail(self.text, f"unexpected '{tok.text}' at position {tok.pos}{hint}")

    def enter(self, tok: _Token) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise _fail(self.text, f"nested more than {MAX_DEPTH} levels deep at position {tok.pos}")

    def parse(self) -> Node:
        node = self.expr()
        tok = self.peek()
        if tok.kind != "end":
            raise self.unexpected(tok)
        return node

    def expr(self) -> Node:
        node = self.term()
        while self.peek().text in ("+", "-") and self.peek().kind == "op":
            op = self.take().text
            node = ("bin", op, node, self.term())
        return node

    def term(self) -> Node:
        node = self.unary()
        while self.peek().text in ("*", "/") and self.peek().kind == "op":
            op = self.take().text
            node = ("bin", op, node, self.unary())
        return node

    def unary(self) -> Node:
        tok = self.peek()
        self.enter(tok)
        if tok.kind == "op" and tok.text in ("+", "-"):
            self.take()
            inner = self.unary()
            node = inner if tok.text == "+" else ("neg", inner)
        else:
            node = self.power()
        self.depth -= 1
        return node

    def power(self) -> Node:
        base = self.atom()
        if self.peek().kind == "op" and self.peek().text == "^":
            self.take()
            return ("bin", "^", base, self.unary())
        return base

    def atom(self) -> Node:
        tok = self.take()
        if tok.kind == "num":
            value = float(tok.text)
            if not math.isfinite(value):
                raise _fail(self.text, f"number '{tok.text}' at position {tok.pos} is too large")
            return ("num", value)
        if tok.kind == "name":
            return self.name(tok)
        if tok.kind == "op" and tok.text == "(":
            return self.group(tok)
        raise self.unexpected(tok)

    def group(self, opening: _Token) -> Node:
        self.enter(opening)
        node = self.expr()
        closing = self.take()
        if closing.kind != "op" or closing.text != ")":
            if closing.kind == "end":
                raise _fail(self.text, f"'(' at position {opening.pos} is never closed")
            raise self.unexpected(closing)
        self.depth -= 1
        return node

    def name(self, tok: _Token) -> Node:
        if tok.text in VARIABLES:
            return ("var", tok.text)
        if tok.text in CONSTANTS:
            return ("num", CONSTANTS[tok.text])
        if tok.text in FUNCTIONS:
            opening = self.take()
            if opening.kind != "op" or opening.text != "(":
                raise _fail(self.text, f"function '{tok.text}' at position {tok.pos} must be followed by '('")
            return ("call", tok.text, self.group(opening))
        raise _fail(self.text, f"unknown name '{tok.text}' at position {tok.pos}; allowed names are "
                               f"{', '.join(VARIABLES)}, pi and the functions {', '.join(FUNCTIONS)}")


def _fold(node: Node, text: str) -> Node:
    """Evaluate variable-free subtrees once, so that every function later sees an array."""
    kind = node[0]
    if kind in ("num", "var"):
        return node
    kids = [_fold(k, text) for k in node[1:] if isinstance(k, tuple)]
    if any(k[0] != "num" for k in kids):
        if kind == "neg":
            return ("neg", kids[0])
        if kind == "call":
            return ("call", node[1], kids[0])
        return ("bin", node[1], kids[0], kids[1])
    try:
        if kind == "neg":
            value = -kids[0][1]
        elif kind == "call":
            value = _MATH[node[1]](kids[0][1])
        else:
            value = _binary(node[1], kids[0][1], kids[1][1])
        value = float(value)
    except (ArithmeticError, ValueError):
        value = math.nan
    if not math.isfinite(value):
        raise _fail(text, "a constant part of it is not a finite number (division by zero, log of a "
                          "negative number, or overflow)")
    return ("num", value)


def _binary(op: str, a: Any, b: Any) -> Any:
    if op == "+":
        return a + b
    if op == "-":
        return a - b
    if op == "*":
        return a * b
    if op == "/":
        return a / b
    return a**b


def _walk(node: Node, env: dict[str, Any], funcs: dict[str, Any]) -> Any:
    kind = node[0]
    if kind == "num":
        return node[1]
    if kind == "var":
        return env[node[1]]
    if kind == "neg":
        return -_walk(node[1], env, funcs)
    if kind == "call":
        return funcs[node[1]](_walk(node[2], env, funcs))
    return _binary(node[1], _walk(node[2], env, funcs), _walk(node[3], env, funcs))


def _variables(node: Node) -> frozenset[str]:
    if node[0] == "var":
        return frozenset([node[1]])
    return frozenset().union(*(_variables(k) for k in node[1:] if isinstance(k, tuple)))


@dataclass(frozen=True)
class Formula:
    """A parsed formula; call :meth:`torch` or :meth:`numpy` to evaluate it elementwise.

    Arguments:
        text: the formula as typed.
        tree: its parse tree (tuples of ``num``, ``var``, ``neg``, ``call``, ``bin``).
    """

    text: str
    tree: Node = field(repr=False)

    @property
    def variables(self) -> frozenset[str]:
        """The subset of ``x``, ``y``, ``t`` that the formula uses."""
        return _variables(self.tree)

    def torch(self, x: torch.Tensor, y: torch.Tensor, t: float | torch.Tensor) -> torch.Tensor:
        """Values at points ``(x, y)`` (tensors of one shape) and time ``t``, with ``x``'s shape."""
        t_ = torch.as_tensor(t, dtype=x.dtype, device=x.device)
        out = _walk(self.tree, {"x": x, "y": y, "t": t_}, _TORCH)
        return torch.as_tensor(out, dtype=x.dtype, device=x.device).expand(x.shape)

    def numpy(self, x: np.ndarray, y: np.ndarray, t: float) -> np.ndarray:
        """Values at points ``(x, y)`` (float arrays of one shape) and time ``t``, with ``x``'s shape."""
        x = np.asarray(x, np.float64)
        with np.errstate(all="ignore"):  # log(-1) is nan here, as in torch
            out = _walk(self.tree, {"x": x, "y": np.asarray(y, np.float64), "t": np.float64(t)}, _NUMPY)
        return np.broadcast_to(np.asarray(out, np.float64), x.shape)


def parse_formula(text: str) -> Formula:
    """Parse a user formula; refuse anything that is not arithmetic on x, y, t and pi.

    Raises:
        InputError: naming the offending token and its position.
    """
    if not isinstance(text, str):
        raise InputError(f"a formula must be text, not {type(text).__name__}")
    if len(text) > MAX_LENGTH:
        raise InputError(f"formula of {len(text)} characters: the limit is {MAX_LENGTH}")
    shown = text.replace("\u2212", "-")  # the minus sign of typeset text
    if not shown.strip():
        raise InputError("empty formula: write a number or an expression in x, y and t")
    return Formula(text, _fold(_Parser(shown).parse(), shown))
