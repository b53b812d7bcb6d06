"""Chapter 9's exercises as an otter-grader assignment (``nbutils.assignment``).

Without data: the master notebook is built from the chapter (its exercises, statements and
solution code, its own setup statements), ``otter assign`` (without running the tests) makes a
student notebook with blanks and only the public tests, and bad input is refused. With data
(``NBUTILS_DATA``; in CI a failure without it, like the chapter tests): ``otter assign`` runs the
solution against every test at profile ``ci``, then ``otter run`` grades three notebooks against
the autograder zip: the solution (every question full marks), the blank student notebook (every
question zero) and the solution with wrong answers (public tests pass, hidden tests fail).
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import nbformat
import pytest

from nbutils import assignment
from nbutils.assignment import EXERCISES, MARKER, NAME

ROOT = Path(__file__).resolve().parent.parent
CHAPTER = ROOT / "book" / "09_pruning.ipynb"


def chapter() -> nbformat.NotebookNode:
    return nbformat.read(CHAPTER, as_version=4)


def answer_line(ex, a) -> str:
    return f"{a.name} = {a.solution}  # SOLUTION"


# --------------------------------------------------------------------- built from the chapter

def test_every_exercise_of_the_chapter_is_a_question():
    """The chapter's exercise labels, read with a plain regex, are exactly the assignment's."""
    text = "\n".join(c.source for c in chapter().cells if c.cell_type == "markdown")
    labels = re.findall(r"```\{exercise\}\s*\n:label:\s*(\S+)", text)
    assert labels == [ex.label for ex in EXERCISES], (
        "the chapter's exercises and nbutils.assignment.EXERCISES differ: add or remove the "
        "exercise there too")


def test_master_is_built_from_the_chapter():
    nb = chapter()
    master = assignment.build_master("ci")
    md = [c.source for c in master.cells if c.cell_type == "markdown"]
    code = [c.source for c in master.cells if c.cell_type == "code"]
    chapter_md = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    chapter_code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    found = assignment.chapter_exercises(nb)
    for ex in EXERCISES:
        statement = found[ex.label].statement
        # the statement is the chapter's text (one line of it, e.g., verbatim in the chapter)
        assert statement.splitlines()[0] in chapter_md
        prompt = [m for m in md if m.startswith(f"### Exercise `{ex.question}`")]
        assert len(prompt) == 1
        assert assignment._plain_links(statement) in prompt[0]
        for a in ex.answers:
            assert f"`{a.name}`" in prompt[0]          # the student is told the names
        solution = [c for c in code if "# BEGIN SOLUTION" in c
                    and answer_line(ex, ex.answers[0]) in c]
        assert len(solution) == 1, ex.label
        body = solution[0].split("# BEGIN SOLUTION\n")[1].split("# END SOLUTION")[0]
        for line in found[ex.label].code.strip().splitlines()[:-1]:
            assert line in body.splitlines()           # the chapter's solution code, verbatim
        for a in ex.answers:
            assert answer_line(ex, a) in solution[0].splitlines()
        hidden = [c for c in code if c.startswith("# HIDDEN\n")]
        for t in ex.hidden:
            assert "# HIDDEN\n" + t.rstrip("\n") in hidden
        for t in ex.public:
            assert t.rstrip("\n") in code
    # the parameters cell is the chapter's, at the profile asked for; every statement of the
    # setup is one of the chapter's lines (only the comment above them is new)
    params = [c for c in master.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(params) == 1 and re.search(r'^profile = "ci" ', params[0].source, re.MULTILINE)
    setup = code[code.index(params[0].source) + 1]
    chapter_lines = {line.strip() for line in chapter_code.splitlines()}
    for line in setup.splitlines()[1:]:
        if line.strip() and not line.startswith(("import ", "from ")):
            assert line.strip() in chapter_lines, line
    assert "glue" not in setup                         # the book's glue stays in the book
    assert re.search(r'^profile = "quick" ', assignment.build_master("quick").cells[2].source,
                     re.MULTILINE)


def test_chapter_exercises_reads_statement_and_solution_parts():
    found = assignment.chapter_exercises(chapter())
    balance = found["ex-ch9-balance"]
    assert balance.statement.startswith("Implement bias balancing for the **second**")
    assert ":label:" not in balance.statement
    assert balance.before.startswith("The second hidden layer's output feeds")
    assert "prune.prune_layer(net, 1, gone" in balance.code and balance.after == ""
    assert found["ex-ch9-wide"].after.startswith("In the paper's networks mutual information")
    assert "{solution-end}" not in found["ex-ch9-wide"].after


def test_helpers_on_small_inputs():
    assert (assignment._plain_links("see [chapter 3](03_fig1_violins.ipynb) and "
                                    "{ref}`Eq. 1 <eq-neuron>`, {term}`MG@k`")
            == "see chapter 3 (`book/03_fig1_violins.ipynb`) and Eq. 1, MG@k")
    assert assignment._display_last("x = 1\nx +\\\n 1\n") == "x = 1\ndisplay(x +\\\n 1)\n"
    assert assignment._display_last("print(1)\n") == "print(1)\n"
    assert assignment._display_last("y = 2\n") == "y = 2\n"
    assert assignment.free_names("a = b + len(c)\n[d for d in a]") == {"b", "c"}
    assert (assignment.drop_unused_imports("import os\nfrom x import a, b\nb()\n", {"os"})
            == "import os\nfrom x import b\nb()\n")


# ---------------------------------------------------------------------------------- otter assign

def stored_tests(nb_path: Path) -> dict[str, list[bool]]:
    """Per question, the ``hidden`` flag of each test case stored in a notebook."""
    tests = nbformat.read(nb_path, as_version=4).metadata["otter"]["tests"]
    return {q: [c["hidden"] for s in t["suites"] for c in s["cases"]] for q, t in tests.items()}


def test_otter_assign_makes_blanks_and_hides_the_hidden_tests(tmp_path):
    start = time.perf_counter()
    files = assignment.make_assignment(tmp_path / "out", "ci", run_tests=False)
    print(f"otter assign (no tests run): {time.perf_counter() - start:.1f} s")
    assert (files.out / MARKER).is_file() and files.master.is_file()
    student = nbformat.read(files.student, as_version=4)
    text = "\n".join(c.source for c in student.cells)
    found = assignment.chapter_exercises(chapter())
    for ex in EXERCISES:
        for line in found[ex.label].code.splitlines():
            if len(line.strip()) > 12:                 # no line of any solution is left
                assert line.strip() not in text, line
        for a in ex.answers:                           # blanks where the answers go
            assert f"\n{a.name} = ...\n" in f"\n{text}\n"
        for part in (found[ex.label].before, found[ex.label].after):
            assert not part or part.splitlines()[0][:40] not in text   # nor any solution text
        assert f'grader.check("{ex.question}")' in text
        assert not any(t.splitlines()[0] in text for t in ex.hidden)
    # the student's notebook holds the public tests only; the autograder zip every test
    assert stored_tests(files.student) == {ex.question: [False] * len(ex.public)
                                                for ex in EXERCISES}
    assert stored_tests(files.solution) == {
        ex.question: [False] * len(ex.public) + [True] * len(ex.hidden) for ex in EXERCISES}
    with zipfile.ZipFile(files.autograder_zip) as z:
        for ex in EXERCISES:
            assert z.read(f"tests/{ex.question}.py").decode().count("'hidden': True") == len(
                ex.hidden)
    # the written parts are questions graded by hand, with an answer cell for the student
    assert text.count("_Type your answer here, replacing this text._") == sum(
        ex.written is not None for ex in EXERCISES)
    # writing again into the same folder replaces it
    again = assignment.make_assignment(files.out, "ci", run_tests=False)
    assert again.student.is_file() and len(list(files.out.glob("autograder/*.zip"))) == 1


# ------------------------------------------------------------------------------------ bad input

def test_bad_input_is_refused_with_clear_errors(tmp_path, capsys):
    with pytest.raises(ValueError, match=r"profile='fast' is not allowed: one of \['ci', "):
        assignment.build_master("fast")
    with pytest.raises(ValueError, match=r"profile='fast' is not allowed"):
        assignment.make_assignment(tmp_path / "x", "fast", run_tests=False)
    a_file = tmp_path / "file.txt"
    a_file.write_text("mine")
    with pytest.raises(ValueError, match=r"^out=.*file\.txt.*a folder \(this is a file\)"):
        assignment.make_assignment(a_file, run_tests=False)
    foreign = tmp_path / "notes"
    foreign.mkdir()
    (foreign / "keep.md").write_text("mine")
    with pytest.raises(ValueError, match=r"^out=.*notes.*holds other files"):
        assignment.make_assignment(foreign, run_tests=False)
    assert [p.name for p in foreign.iterdir()] == ["keep.md"]   # untouched
    with pytest.raises(ValueError, match=r"^out=.*outside book/"):
        assignment.check_out(ROOT / "book" / "assignment")
    with pytest.raises(ValueError, match=r"run_tests='no' is not allowed: True or False"):
        assignment.make_assignment(tmp_path / "y", run_tests="no")
    assert not (tmp_path / "x").exists() and not (tmp_path / "y").exists()
    # the command line says the same and exits with 2; argparse refuses an unknown profile
    assert assignment.main(["--out", str(foreign), "--no-run-tests"]) == 2
    assert "holds other files" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        assignment.main(["--profile", "fast"])
    assert "invalid choice: 'fast'" in capsys.readouterr().err


def _changed_chapter(tmp_path, cell_type: str, *edits: tuple[str, str]):
    """A copy of chapter 9 with ``edits`` (old, new) applied to its cells of ``cell_type``."""
    nb = chapter()
    for cell in nb.cells:
        if cell.cell_type == cell_type:
            for old, new in edits:
                cell.source = cell.source.replace(old, new)
    changed = tmp_path / "09_pruning.ipynb"
    nbformat.write(nb, changed)
    return changed


def test_a_chapter_without_an_exercise_is_refused(tmp_path):
    changed = _changed_chapter(tmp_path, "markdown",
                               (":label: ex-ch9-layer", ":label: ex-ch9-other"),
                               ("{solution-start} ex-ch9-layer", "{solution-start} ex-ch9-other"))
    with pytest.raises(ValueError, match=r"no exercise 'ex-ch9-layer' with solution code"):
        assignment.build_master("ci", chapter=changed)


def test_a_chapter_that_no_longer_defines_a_setup_name_is_refused(tmp_path):
    changed = _changed_chapter(tmp_path, "code", ("scores = prune.pruning_scores(",
                                                  "layer_scores = prune.pruning_scores("))
    with pytest.raises(ValueError, match=r"no longer defines \['scores'\]"):
        assignment.build_master("ci", chapter=changed)


# ------------------------------------------------------ grading: solution, blank, wrong answers

def grade(notebook: Path, zip_path: Path, out: Path) -> dict[str, dict]:
    """``otter run`` (no Docker) of ``notebook`` against the autograder zip: per test entry of
    results.json (one per question, and "Public Tests"), the entry."""
    out.mkdir()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    proc = subprocess.run([sys.executable, "-m", "otter", "run", "--no-logo", "-a", str(zip_path),
                           "-o", str(out), str(notebook)], capture_output=True, text=True,
                          env=env, timeout=1800)
    assert proc.returncode == 0, f"otter run failed:\n{proc.stdout[-5000:]}\n{proc.stderr[-5000:]}"
    return {t["name"]: t for t in json.loads((out / "results.json").read_text())["tests"]}


# wrong answers that look right: the right types and ranges (public tests pass), wrong values
WRONG = {"balanced": 'prune.prune_layer(net, 1, gone, "remove")',   # removal, no balancing
         "in_layer1": "200 - int(len(chosen[0]))",                  # layer 2's count
         "tolerant_layer": "3 - int(max(random_area, key=random_area.get).removeprefix("
                           '"layer "))'}


def with_wrong_answers(solution: Path, dest: Path) -> Path:
    nb = nbformat.read(solution, as_version=4)
    replaced = set()
    for cell in nb.cells:
        for ex in EXERCISES:
            for a in ex.answers:
                if a.name in WRONG and answer_line(ex, a) in cell.source:
                    cell.source = cell.source.replace(answer_line(ex, a),
                                                      f"{a.name} = {WRONG[a.name]}")
                    replaced.add(a.name)
    assert replaced == set(WRONG)
    nbformat.write(nb, dest)
    return dest


def test_solution_passes_every_test_and_the_blank_notebook_fails(real_root, tmp_path,
                                                                 monkeypatch):
    monkeypatch.setenv("NBUTILS_CACHE", str(tmp_path / "cache"))   # trains the ci networks
    monkeypatch.delenv("NBUTILS_RESULTS", raising=False)
    monkeypatch.delenv("NBUTILS_RESULTS_ONLY", raising=False)
    start = time.perf_counter()
    # otter assign executes the solution and fails unless it passes every test
    files = assignment.make_assignment(tmp_path / "out", "ci", run_tests=True)
    print(f"otter assign, solution run against every test: {files.seconds:.0f} s")
    questions = {ex.question: ex for ex in EXERCISES}

    solution = grade(files.solution, files.autograder_zip, tmp_path / "solution")
    for q in questions:
        assert solution[q]["score"] == solution[q]["max_score"] == questions[q].points, q
    assert solution["Public Tests"]["status"] == "passed"

    blank = grade(files.student, files.autograder_zip, tmp_path / "blank")
    for q in questions:
        assert blank[q]["score"] == 0 and blank[q]["max_score"] == questions[q].points, q
    assert blank["Public Tests"]["status"] == "failed"

    wrong = grade(with_wrong_answers(files.solution, tmp_path / f"{NAME}.ipynb"),
                  files.autograder_zip, tmp_path / "wrong")
    assert wrong["Public Tests"]["status"] == "passed"      # the public tests cannot tell ...
    for q in questions:                                     # ... the hidden ones can
        assert 0 < wrong[q]["score"] < wrong[q]["max_score"], (q, wrong[q]["output"])
    print(f"assignment built, solution, blank and wrong answers graded: "
          f"{time.perf_counter() - start:.0f} s")
