"""Code conventions that a linter does not check."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "nbutils"


def _public_functions_with_many_parameters(minimum: int = 5):
    for path in sorted(PACKAGE.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef) and not node.name.startswith("_"):
                args = node.args
                names = [a.arg for a in (*args.posonlyargs, *args.args, *args.kwonlyargs)
                         if a.arg not in ("self", "cls")]
                if len(names) + (args.vararg is not None) >= minimum:
                    yield f"{path.name}:{node.name}", names, ast.get_docstring(node) or ""


FUNCTIONS = list(_public_functions_with_many_parameters())


def test_the_rule_applies_to_something():
    assert len(FUNCTIONS) >= 10


@pytest.mark.parametrize("where, names, doc", FUNCTIONS, ids=[f[0] for f in FUNCTIONS])
def test_many_parameters_mean_args_and_returns(where, names, doc):
    """A public function with five or more parameters documents each one and what it returns."""
    assert "Args:" in doc and ("Returns:" in doc or "Yields:" in doc), where
    args = doc.split("Args:", 1)[1]
    missing = [n for n in names if f"{n}:" not in args and f"{n} " not in args]
    assert not missing, f"{where}: Args does not describe {missing}"
