"""Chapter 9's exercises as a course assignment, autograded with otter-grader.

Command line (from the repository root, inside the project's venv)::

    python -m nbutils.assignment                        # _build/assignment, profile ci
    python -m nbutils.assignment --out DIR --profile quick --no-run-tests

:func:`build_master` reads ``book/09_pruning.ipynb`` and writes an otter "master" notebook (otter
assign's format, v1): the chapter's parameters cell (at the profile asked for), the chapter's own
statements that define what the exercises use (:data:`SETUP_NAMES`), then one otter question per
exercise of the chapter (:data:`EXERCISES`): the exercise's statement, the chapter's solution
code between ``# BEGIN SOLUTION`` / ``# END SOLUTION`` followed by the answer lines the tests
read (``name = value  # SOLUTION``: ``name = ...`` in the student's notebook), a public test the
student sees and hidden tests that recompute the answer from the chapter's objects; a written
part, graded by hand, where the exercise asks for an explanation. The chapter itself carries no
otter markers, so the book renders unchanged.

:func:`make_assignment` runs ``otter assign`` on it: ``student/`` (the notebook with blanks and
the public tests), ``autograder/`` (the solution and the autograder zip, which holds every
test). Unless told not to, ``otter assign`` first executes the solution and checks that it
passes all its tests (minutes at profile ``ci``: it trains the ensemble if the cache lacks it).
The output folder is replaced as a whole (built beside it, then renamed), and only if it is
empty or was written by this module before (marker file :data:`MARKER`).
"""
from __future__ import annotations

import argparse
import ast
import builtins
import os
import re
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import nbformat
import yaml
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_raw_cell

from nbutils import checks
from nbutils.config import PROFILES, get_profile

ROOT = Path(__file__).resolve().parent.parent
CHAPTER = ROOT / "book" / "09_pruning.ipynb"
NAME = "ch09_pruning"                  # the notebooks' file name, without .ipynb
DEFAULT_OUT = ROOT / "_build" / "assignment"
DEFAULT_PROFILE = "ci"
MARKER = ".nbutils-assignment"         # says that an output folder was written here

# What the exercises' solutions use, defined by the chapter's own statements (in its order).
SETUP_NAMES = ("P", "exp", "summary", "data", "cfg", "intact", "HIDDEN", "COUNTS", "per_layer",
               "intact_mean", "within", "full", "scores")
SKIPPED_IMPORTS = ("myst_nb",)          # the book's glue: nothing to show outside the book


# ------------------------------------------------------------------------------ the exercises

@dataclass(frozen=True)
class Answer:
    """A variable the tests read: its name, what it holds, the solution's value (an expression
    on the names the chapter's solution code defines)."""

    name: str
    description: str
    solution: str


@dataclass(frozen=True)
class Exercise:
    """How one exercise of the chapter (``label``) becomes an otter question.

    ``public`` tests are in the student's notebook, ``hidden`` ones only in the autograder; each
    is Python code whose asserts must hold (and which prints nothing: otter compares output).
    ``written``: the prompt of a part graded by hand (question ``<question>_written``), whose
    solution is the chapter's solution text after the code; ``None``: that text stays in the
    solution of the autograded question."""

    label: str
    question: str
    points: int
    answers: tuple[Answer, ...]
    public: tuple[str, ...]
    hidden: tuple[str, ...]
    written: str | None = None


# Test code runs in the notebook's namespace: its own names start with "_t_" so that it never
# overwrites a student's variable. Reference values are recomputed from the chapter's objects
# (exp, data, cfg), never taken from the student's intermediate variables.
_SEED1_NET = """\
_t_net = exp.model.member(0).double()
_t_scores = prune.pruning_scores(_t_net, data.x_val.cpu().double(), data.y_val.cpu(),
                                 cfg.activation, exp.seeds[0])
"""

EXERCISES: tuple[Exercise, ...] = (
    Exercise(
        label="ex-ch9-balance", question="balance", points=3,
        answers=(
            Answer("removed", "the indices (0-199) of the 100 neurons of layer 2 you removed",
                   "gone"),
            Answer("balanced", "your smaller network with the balanced output bias, a "
                   "`torch.nn.Module` mapping images `(N, 784)` to outputs `(N, 10)`", "mine"),
        ),
        public=("""\
_t_removed = torch.as_tensor(removed).reshape(-1)
assert _t_removed.numel() == 100, "removed: 100 neurons"
assert len(set(_t_removed.tolist())) == 100, "removed: 100 distinct neurons"
assert 0 <= int(_t_removed.min()) and int(_t_removed.max()) < HIDDEN[1], "removed: 0..199"
_t_dtype = next(balanced.parameters()).dtype
_t_shape = tuple(balanced(data.x_test[:5].cpu().to(_t_dtype)).shape)
assert _t_shape == (5, 10), f"balanced: 5 images give outputs of shape {_t_shape}, not (5, 10)"
""",),
        hidden=(
            # the 100 lowest-MI neurons of layer 2 (any choice among tied scores)
            _SEED1_NET + """\
_t_mi = _t_scores[1]["mi"]
_t_removed = torch.as_tensor(removed).reshape(-1).long()
_t_kept = torch.ones(HIDDEN[1], dtype=torch.bool)
_t_kept[_t_removed] = False
assert float(_t_mi[_t_removed].max()) <= float(_t_mi[_t_kept].min()), "not the lowest MI"
""",
            # the same function as the library's bias balancing of those neurons (float32 or
            # float64 networks: logits of order 10 agree to far better than 1e-3, while a
            # missing or wrong balancing moves them by much more)
            """\
_t_net = exp.model.member(0).double()
_t_ref = prune.prune_layer(_t_net, 1, torch.as_tensor(removed).reshape(-1).long(), "balance",
                           x_train=data.x_train.cpu().double())
_t_x = data.x_test.cpu().double()
_t_dtype = next(balanced.parameters()).dtype
_t_out = balanced.eval()(_t_x.to(_t_dtype)).detach().double()
assert torch.allclose(_t_out, _t_ref(_t_x).detach(), atol=1e-3), "not bias balancing"
""",
        ),
    ),
    Exercise(
        label="ex-ch9-wide", question="wide", points=2,
        answers=(
            Answer("in_layer1", "how many of the 200 lowest-MI hidden neurons of the whole "
                   "network (seed 1) lie in layer 1, an `int`", "int(len(chosen[0]))"),
        ),
        public=("""\
assert int(in_layer1) == in_layer1, "in_layer1: a whole number"
assert 0 <= in_layer1 <= 200, "in_layer1: between 0 and 200"
""",),
        hidden=(
            # ties at the 200th lowest MI may go to either layer: any split of them is right
            _SEED1_NET + """\
_t_mi1, _t_mi2 = _t_scores[0]["mi"], _t_scores[1]["mi"]
_t_cut = torch.cat([_t_mi1, _t_mi2]).sort().values[199]
_t_below1, _t_below2 = int((_t_mi1 < _t_cut).sum()), int((_t_mi2 < _t_cut).sum())
_t_tied1, _t_tied2 = int((_t_mi1 == _t_cut).sum()), int((_t_mi2 == _t_cut).sum())
_t_rest = 200 - _t_below1 - _t_below2
_t_low = _t_below1 + max(0, _t_rest - _t_tied2)
_t_high = _t_below1 + min(_t_tied1, _t_rest)
assert _t_low <= in_layer1 <= _t_high, f"in_layer1 = {in_layer1}"
""",),
        written="Explain, with chapter 3 of the book, why network-wide pruning by mutual "
                "information picks its neurons this way, and what that does to the two layers "
                "(a few sentences, graded by hand).",
    ),
    Exercise(
        label="ex-ch9-layer", question="layer", points=2,
        answers=(
            Answer("tolerant_layer", "the layer (1 or 2) whose pruning curve under the random "
                   "ordering with bias balancing has the higher mean test accuracy",
                   'int(max(random_area, key=random_area.get).removeprefix("layer "))'),
        ),
        public=("""\
assert tolerant_layer in (1, 2), "tolerant_layer: 1 or 2"
""",),
        hidden=("""\
_t_means = [float(analysis.pruning_curves(exp, _t_l, COUNTS)["random/balance"].mean())
            for _t_l in range(len(HIDDEN))]
assert tolerant_layer == 1 + _t_means.index(max(_t_means)), f"tolerant_layer = {tolerant_layer}"
""",),
        written="Which layer did you expect to tolerate more pruning, and why? Does this "
                "network agree (a few sentences, graded by hand)?",
    ),
)


# ------------------------------------------------------------------------ reading the chapter

@dataclass
class ChapterExercise:
    """One exercise of the chapter as its cells hold it: the statement (the directive's body),
    the solution's text before and after its code, and the code."""

    label: str
    statement: str
    before: str = ""
    code: str = ""
    after: str = ""


_DIRECTIVE = re.compile(r"```\{(exercise|solution-start|solution-end)\}([^\n]*)\n(.*?)```",
                        re.DOTALL)


def chapter_exercises(nb: nbformat.NotebookNode) -> dict[str, ChapterExercise]:
    """The chapter's exercises by label, read from its sphinx-exercise directives
    (``{exercise}``, ``{solution-start}`` / ``{solution-end}``) and the code cells between."""
    found: dict[str, ChapterExercise] = {}
    current: ChapterExercise | None = None     # the exercise whose solution is open

    def text(chunk: str) -> None:
        if current is not None and chunk.strip():
            if current.code:
                current.after += ("\n\n" if current.after else "") + chunk.strip()
            else:
                current.before += ("\n\n" if current.before else "") + chunk.strip()

    for cell in nb.cells:
        if cell.cell_type == "code":
            if current is not None:
                current.code += ("\n" if current.code else "") + cell.source.strip() + "\n"
            continue
        if cell.cell_type != "markdown":
            continue
        pos = 0
        for m in _DIRECTIVE.finditer(cell.source):
            text(cell.source[pos:m.start()])
            pos = m.end()
            kind, argument, body = m.group(1), m.group(2).strip(), m.group(3)
            if kind == "exercise":
                label = re.search(r"^:label:\s*(\S+)", body, re.MULTILINE)
                if label is None:
                    raise ValueError(f"an exercise of {CHAPTER.name} has no :label:")
                statement = "\n".join(line for line in body.splitlines()
                                      if not re.match(r"^:\w[\w-]*:", line)).strip()
                found[label.group(1)] = ChapterExercise(label.group(1), statement)
            elif kind == "solution-start":
                if argument not in found:
                    raise ValueError(f"{CHAPTER.name}: a solution of {argument!r}, which is "
                                     "not an exercise above it")
                current = found[argument]
            else:
                current = None
        text(cell.source[pos:])
    return found


def _statements(nb: nbformat.NotebookNode) -> Iterable[tuple[ast.stmt, str]]:
    """Every top-level statement of the chapter's code cells (and those inside a top-level
    ``with``, e.g. ``with timed(...):``), with its source lines, dedented."""
    for cell in nb.cells:
        if cell.cell_type != "code" or cell.source.lstrip().startswith("%"):
            continue
        lines = cell.source.splitlines()
        stack = list(ast.parse(cell.source).body)
        while stack:
            stmt = stack.pop(0)
            if isinstance(stmt, ast.With):
                stack[:0] = stmt.body
                continue
            chunk = lines[stmt.lineno - 1:stmt.end_lineno]
            indent = stmt.col_offset
            yield stmt, "\n".join(line[indent:] if line[:indent].isspace() else line
                                  for line in chunk)


def _assigned(stmt: ast.stmt) -> set[str]:
    """The names a statement assigns at its top level."""
    targets = stmt.targets if isinstance(stmt, ast.Assign) else (
        [stmt.target] if isinstance(stmt, ast.AnnAssign | ast.AugAssign) else [])
    return {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}


def chapter_setup(nb: nbformat.NotebookNode, names: Iterable[str] = SETUP_NAMES) -> str:
    """The chapter's imports (but :data:`SKIPPED_IMPORTS`) and, for each of ``names``, the first
    statement of the chapter that assigns it, in the chapter's order.

    Raises:
        ValueError: a name that no statement of the chapter assigns.
    """
    wanted, chosen = set(names), []
    for stmt, source in _statements(nb):
        if isinstance(stmt, ast.Import | ast.ImportFrom):
            module = stmt.module if isinstance(stmt, ast.ImportFrom) else stmt.names[0].name
            if (module or "").split(".")[0] not in SKIPPED_IMPORTS:
                chosen.append(source)
        elif _assigned(stmt) & wanted:
            wanted -= _assigned(stmt)
            chosen.append(source)
    if wanted:
        raise ValueError(f"{CHAPTER.name} no longer defines {sorted(wanted)}, which the "
                         "assignment's exercises use (nbutils.assignment.SETUP_NAMES)")
    imports = [s for s in chosen if s.startswith(("import ", "from "))]
    return "\n".join(imports) + "\n\n" + "\n".join(s for s in chosen if s not in imports) + "\n"


def drop_unused_imports(code: str, used: set[str]) -> str:
    """``code`` without the top-level imports of names that neither ``code`` nor ``used`` reads
    (a ``from`` import keeps the names that are read)."""
    tree = ast.parse(code)
    lines = code.splitlines()
    needed = _names(code)[0] | used
    for stmt in reversed(tree.body):
        if not isinstance(stmt, ast.Import | ast.ImportFrom):
            continue
        keep = [a for a in stmt.names if (a.asname or a.name).split(".")[0] in needed]
        if len(keep) == len(stmt.names):
            continue
        stmt.names = keep
        lines[stmt.lineno - 1:stmt.end_lineno] = [ast.unparse(stmt)] if keep else []
    return "\n".join(lines) + "\n"


def parameters_source(nb: nbformat.NotebookNode, profile: str) -> str:
    """The chapter's cell of parameters (tag ``parameters``) with ``profile`` set."""
    cells = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    if len(cells) != 1:
        raise ValueError(f"{CHAPTER.name} has {len(cells)} cells tagged 'parameters', not one")
    source, n = re.subn(r'^profile = ("\w+")', lambda m: f'profile = "{profile}"'.ljust(
        len(m.group(0))), cells[0].source, flags=re.MULTILINE)
    if n != 1:
        raise ValueError(f"{CHAPTER.name}: its parameters cell sets no profile = \"...\"")
    return source


def _names(code: str) -> tuple[set[str], set[str]]:
    """The names ``code`` reads and those it defines (assigned, arguments, imported)."""
    loaded, stored = set(), set()
    for node in ast.walk(ast.parse(code)):
        if isinstance(node, ast.Name):
            (loaded if isinstance(node.ctx, ast.Load) else stored).add(node.id)
        elif isinstance(node, ast.arg):
            stored.add(node.arg)
        elif isinstance(node, ast.alias):
            stored.add((node.asname or node.name).split(".")[0])
    return loaded, stored


def defined_names(code: str) -> set[str]:
    """Names that ``code`` defines (assigns anywhere, imports, takes as arguments)."""
    return _names(code)[1]


def free_names(code: str) -> set[str]:
    """Names that ``code`` reads but does not define (builtins aside)."""
    loaded, stored = _names(code)
    return loaded - stored - set(dir(builtins))


def _plain_links(text: str) -> str:
    """MyST cross-references as plain text (the assignment lives outside the book): a link to
    a page ``[chapter 3](03_x.ipynb)`` names its file, a role keeps its text."""
    text = re.sub(r"\[([^\]]+)\]\(([\w.-]+\.(?:ipynb|md))(#[\w-]+)?\)", r"\1 (`book/\2`)", text)
    text = re.sub(r"\{[\w:-]+\}`([^`<]*?)\s*<[^`>]+>`", r"\1", text)
    return re.sub(r"\{[\w:-]+\}`([^`]*)`", r"\1", text)


def _display_last(code: str) -> str:
    """``code`` with a last bare expression wrapped in ``display()``: answer lines follow it."""
    tree = ast.parse(code)
    last = tree.body[-1] if tree.body else None
    if not isinstance(last, ast.Expr) or (isinstance(last.value, ast.Call)
                                          and getattr(last.value.func, "id", "") == "print"):
        return code
    lines = code.rstrip("\n").splitlines()
    head, tail = lines[:last.lineno - 1], lines[last.lineno - 1:last.end_lineno]
    tail[0] = "display(" + tail[0]
    tail[-1] += ")"
    return "\n".join(head + tail) + "\n"


# -------------------------------------------------------------------------- the master notebook

def _raw(*lines: str) -> nbformat.NotebookNode:
    return new_raw_cell("\n".join(lines))


def _tests(sources: Iterable[str], hidden: bool) -> list[nbformat.NotebookNode]:
    return [new_code_cell(("# HIDDEN\n" if hidden else "") + s.rstrip("\n")) for s in sources]


def _question(ex: Exercise, chapter: ChapterExercise) -> list[nbformat.NotebookNode]:
    """The otter cells of one exercise: its autograded question, then its written part."""
    answers = "\n".join(f"- `{a.name}`: {a.description};" for a in ex.answers)
    prompt = (f"### Exercise `{ex.question}` ({ex.points} points)\n\n"
              f"{_plain_links(chapter.statement)}\n\n"
              f"**Your answer**, in the cell below (the tests read these names):\n\n{answers}")
    code = ("# BEGIN SOLUTION\n" + _display_last(chapter.code) + "# END SOLUTION\n"
            + "".join(f"{a.name} = {a.solution}  # SOLUTION\n" for a in ex.answers))
    solution = [new_markdown_cell(_plain_links(chapter.before))] if chapter.before else []
    solution.append(new_code_cell(code.rstrip("\n")))
    if ex.written is None and chapter.after:
        solution.append(new_markdown_cell(_plain_links(chapter.after)))
    cells = [_raw("# BEGIN QUESTION", f"name: {ex.question}", f"points: {ex.points}"),
             new_markdown_cell(prompt), _raw("# BEGIN SOLUTION"), *solution,
             _raw("# END SOLUTION"), _raw("# BEGIN TESTS"), *_tests(ex.public, False),
             *_tests(ex.hidden, True), _raw("# END TESTS"), _raw("# END QUESTION")]
    if ex.written is not None:
        cells += [_raw("# BEGIN QUESTION", f"name: {ex.question}_written", "manual: true",
                       "points: 1"),
                  new_markdown_cell(f"#### Written part of `{ex.question}` (1 point)\n\n"
                                    + ex.written),
                  _raw("# BEGIN SOLUTION"),
                  new_markdown_cell(_plain_links(chapter.after)),
                  _raw("# END SOLUTION"), _raw("# END QUESTION")]
    return cells


def _intro(profile: str) -> str:
    description = textwrap.fill(
        f"- It runs at profile `{profile}` ({get_profile(profile).description}). The first run "
        "trains the networks and computes the pruning curves; later runs load them from the "
        "cache (`NBUTILS_CACHE`).", width=96, subsequent_indent="  ")
    return f"""\
# Chapter 9: pruning with bias balancing, exercises

This notebook is the course assignment made from the exercises of the book's chapter 9
(`book/09_pruning.ipynb`, "Pruning with bias balancing") by `python -m nbutils.assignment`.
Read the chapter first: the exercises use its network, its pruning curves and `nbutils.prune`.

- It needs the book's Python environment (the package `nbutils`, see the book's README) and
  MNIST: set `NBUTILS_DATA` to a folder holding it, or leave it unset to download it once.
{description}
- Run the cells in order. Replace each `...` with your code and give the variables named under
  **Your answer** their values. `grader.check("name")` runs a question's public tests; more
  tests, hidden here, run when your notebook is graded. Written parts are graded by hand.
"""


def build_master(profile: str = DEFAULT_PROFILE,
                 chapter: Path = CHAPTER) -> nbformat.NotebookNode:
    """The otter master notebook of chapter 9's exercises, run at ``profile``.

    Raises:
        ValueError: an unknown profile, or a chapter that no longer has what the assignment
            needs (an exercise of :data:`EXERCISES`, a name of :data:`SETUP_NAMES`, an answer
            variable or a name its solution code uses).
    """
    profile = checks.choice(profile, PROFILES, "profile")
    nb = nbformat.read(chapter, as_version=4)
    exercises = chapter_exercises(nb)
    parameters = parameters_source(nb, profile)
    used = set().union(*(_names(exercises[ex.label].code)[0] for ex in EXERCISES
                         if ex.label in exercises),
                       *(_names(t)[0] for ex in EXERCISES for t in ex.public + ex.hidden))
    setup = drop_unused_imports(chapter_setup(nb), used)
    defined = defined_names(parameters + "\n" + setup)
    cells = [_raw("# ASSIGNMENT CONFIG", yaml.safe_dump(_assignment_config(), sort_keys=False)),
             new_markdown_cell(_intro(profile)),
             new_code_cell(parameters, metadata={"tags": ["parameters"]}),
             new_code_cell(f"# The statements of {chapter.name} that define what the "
                           "exercises use\n" + setup.rstrip("\n"))]
    for ex in EXERCISES:
        if ex.label not in exercises or not exercises[ex.label].code:
            raise ValueError(f"{chapter.name} has no exercise {ex.label!r} with solution code "
                             f"(its exercises: {sorted(exercises)})")
        code = exercises[ex.label].code
        missing = free_names(code) - defined
        if missing:
            raise ValueError(f"the solution of {ex.label} uses {sorted(missing)}, which neither "
                             "the assignment's setup nor an earlier exercise defines")
        defined |= defined_names(code)
        if ex.written is not None and not exercises[ex.label].after:
            raise ValueError(f"{ex.label} has a written part but the chapter's solution has no "
                             "text after its code to be its solution")
        unknown = {a.name for a in ex.answers if free_names(a.solution) - defined}
        if unknown:
            raise ValueError(f"{ex.label}: the answers {sorted(unknown)} use names its "
                             "solution code does not define")
        cells += _question(ex, exercises[ex.label])
    return new_notebook(cells=cells, metadata={"kernelspec": dict(nb.metadata.kernelspec),
                                               "language_info": {"name": "python"}})


def _assignment_config() -> dict:
    """otter assign's configuration: tests in the notebooks' metadata (public ones only in the
    student's), no PDFs (no LaTeX needed), a check-all cell and a submission zip."""
    return {"name": NAME, "init_cell": True, "check_all_cell": True,
            "export_cell": {"pdf": False, "run_tests": False,
                            "instructions": "Submit the zip file (or the notebook) as your "
                                            "course asks."},
            "generate": {"pdf": False, "show_stdout": True},
            "tests": {"files": False, "ok_format": True},
            "solutions_pdf": False, "show_question_points": False}


# ------------------------------------------------------------------------- otter assign, output

@dataclass(frozen=True)
class AssignmentFiles:
    """What :func:`make_assignment` wrote (absolute paths) and how long ``otter assign`` took."""

    out: Path
    master: Path
    student: Path
    solution: Path
    autograder_zip: Path
    seconds: float


def check_out(out: Path | str) -> Path:
    """The output folder, absolute, if it may be (re)written.

    Raises:
        ValueError: ``out`` is a file, a folder neither empty nor written by this module
            (:data:`MARKER`), or inside ``book/`` (the book would render its notebooks).
    """
    out = Path(out).expanduser().resolve()
    if out.is_relative_to(ROOT / "book"):
        raise checks.fail("out", str(out), "a folder outside book/ (the book would render the "
                          "assignment's notebooks); default _build/assignment")
    if out.exists() and not out.is_dir():
        raise checks.fail("out", str(out), "a folder (this is a file)")
    if out.is_dir() and any(out.iterdir()) and not (out / MARKER).exists():
        raise checks.fail("out", str(out), f"a new or empty folder, or one this command wrote "
                          f"before (it has a {MARKER} file); this one holds other files")
    return out


def make_assignment(out: Path | str = DEFAULT_OUT, profile: str = DEFAULT_PROFILE,
                    run_tests: bool = True) -> AssignmentFiles:
    """Build the master notebook and run ``otter assign`` on it into ``out``.

    ``run_tests``: let otter assign execute the solution and check that it passes every test
    (needs the data; minutes at profile ``ci``). The folder is built beside ``out`` and renamed
    into place, so a failure leaves ``out`` as it was.

    Raises:
        ValueError: a bad ``profile`` or ``out`` (:func:`check_out`).
        RuntimeError: ``otter assign`` failed (its output is in the message).
    """
    profile = checks.choice(profile, PROFILES, "profile")
    out = check_out(out)
    if not isinstance(run_tests, bool):
        raise checks.fail("run_tests", run_tests, "True or False")
    master_nb = build_master(profile)
    out.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{out.name}.partial-", dir=out.parent))
    try:
        master = work / "master" / f"{NAME}.ipynb"
        master.parent.mkdir()
        nbformat.write(master_nb, master)
        cmd = [sys.executable, "-m", "otter", "assign", "--no-pdfs", str(master), str(work)]
        if not run_tests:
            cmd.insert(4, "--no-run-tests")
        start = time.perf_counter()
        proc = subprocess.run(cmd, cwd=work, capture_output=True, text=True,
                              env={**os.environ, "PYTHONPATH": os.pathsep.join(
                                  filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))})
        seconds = time.perf_counter() - start
        if proc.returncode != 0:
            raise RuntimeError(f"otter assign failed (exit code {proc.returncode}):\n"
                               f"{proc.stdout[-5000:]}\n{proc.stderr[-5000:]}")
        (work / MARKER).write_text(f"written by python -m nbutils.assignment, profile "
                                   f"{profile}\n")
        _replace(work, out)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    zips = sorted((out / "autograder").glob(f"{NAME}-autograder_*.zip"))
    if len(zips) != 1:
        raise RuntimeError(f"otter assign wrote {len(zips)} autograder zips in {out}/autograder")
    return AssignmentFiles(out, out / "master" / f"{NAME}.ipynb",
                           out / "student" / f"{NAME}.ipynb",
                           out / "autograder" / f"{NAME}.ipynb", zips[0], seconds)


def _replace(new: Path, out: Path) -> None:
    """Put the folder ``new`` at ``out`` (a folder :func:`check_out` allowed), by renames."""
    old = None
    if out.exists():
        old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
        out.rename(old / "out")
    new.rename(out)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m nbutils.assignment",
        description="Chapter 9's exercises as an otter-grader assignment: student/ (blanks, "
                    "public tests) and autograder/ (solution, autograder zip).")
    parser.add_argument("--out", default=str(DEFAULT_OUT),
                        help="output folder (default: %(default)s)")
    parser.add_argument("--profile", default=DEFAULT_PROFILE, choices=PROFILES,
                        help="the profile the assignment's notebook runs at (default: "
                             "%(default)s: minutes on a laptop CPU)")
    parser.add_argument("--no-run-tests", action="store_true",
                        help="do not execute the solution to check it passes its tests")
    args = parser.parse_args(argv)
    try:
        files = make_assignment(args.out, args.profile, run_tests=not args.no_run_tests)
    except (ValueError, RuntimeError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(textwrap.dedent(f"""\
        otter assign: {files.seconds:.0f} s
        student notebook:   {files.student}
        solution notebook:  {files.solution}
        autograder zip:     {files.autograder_zip}
        grade a submission: otter run -a {files.autograder_zip} SUBMISSION.ipynb"""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
