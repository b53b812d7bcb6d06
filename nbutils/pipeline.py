"""Execute the book's chapters with papermill, in the order of ``_toc.yml``.

Command line (from the repository root, inside the project's venv)::

    python -m nbutils.pipeline --profile quick
    python -m nbutils.pipeline --profile ci --chapters 01_setup 03_fig1_violins --out /tmp/run
    python -m nbutils.pipeline --profile quick --chapters 05_layerwise_mnist -p activation sigmoid

Every chapter gets those of the parameters ``{"profile": PROFILE, **extras}`` that its cell
tagged ``parameters`` defines (papermill injects them after that cell; a chapter refuses a name
it does not define, so ``-p device cpu`` is not given to the claims page, which has no device),
runs in the kernel named ``python3`` (in the project venv: that venv's own interpreter) with the
notebook's folder as working directory, and is written to ``--out`` (default: ``book/``, i.e. in
place). An extra parameter that no chapter of the run defines is refused before any chapter runs
(with "did you mean" for a near miss). A chapter that fails leaves ``<name>.failed.ipynb`` in
the output folder (the notebook there is not overwritten) and stops the run. The pipeline does
not check parameter values: each chapter validates its own.

An executed chapter shows the parameters it ran with: the values papermill injected are written
into a copy of the chapter's parameters cell, shown in its place, with a comment naming the
defaults the run replaced; the cell of defaults is hidden (:func:`show_run_parameters`; so a page
that ran at ``paper`` does not show ``profile = "quick"``). ``--show-parameters NOTEBOOK ...``
does the same to executed notebooks without running them.
"""
from __future__ import annotations

import argparse
import ast
import os
import sys
import textwrap
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

KERNEL_NAME = "python3"
TOC_FILE = "_toc.yml"
# Pages that summarize the other chapters' executed notebooks: run after them, whatever their
# place in the toc, reading the chapters from the output folder (parameter ``chapters_dir``);
# the verdict changes first, since the claims dashboard reads its record (both readings).
SUMMARY_PAGES = ("verdict_changes", "claims", "findings")


def execution_order(chapters: list[Chapter]) -> list[Chapter]:
    """``chapters`` in the order they must run: toc order, the summary pages
    (:data:`SUMMARY_PAGES`) last, in the order of that list, since they read the others'
    executed notebooks."""
    summaries = sorted((c for c in chapters if c.name in SUMMARY_PAGES),
                       key=lambda c: SUMMARY_PAGES.index(c.name))
    return [c for c in chapters if c.name not in SUMMARY_PAGES] + summaries


class ChapterError(ValueError):
    """An unknown chapter name was asked for."""


@dataclass(frozen=True)
class Chapter:
    name: str      # file stem, e.g. "01_setup"
    path: Path     # the source notebook


@dataclass(frozen=True)
class ChapterRun:
    name: str
    output: Path
    seconds: float


def find_root(start: Path | None = None) -> Path:
    """The book's root: ``start`` (default: the working directory) or the first parent holding
    ``_toc.yml``, else the folder above this package (an editable install of the repository)."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / TOC_FILE).is_file():
            return folder
    package_root = Path(__file__).resolve().parent.parent
    if (package_root / TOC_FILE).is_file():
        return package_root
    raise FileNotFoundError(f"no {TOC_FILE} in {here} or its parents, nor in {package_root}")


def _toc_files(entries: Iterable[dict]) -> Iterable[str]:
    """The ``file`` entries of a jupyter-book toc, depth first (parts, chapters, sections)."""
    for entry in entries or ():
        if "file" in entry:
            yield entry["file"]
        for key in ("parts", "chapters", "sections"):
            yield from _toc_files(entry.get(key, ()))


def list_chapters(root: Path | str | None = None, *, must_exist: bool = True) -> list[Chapter]:
    """The notebooks listed in ``_toc.yml``, in toc order (the root page and ``.md`` pages are
    not chapters to execute). A listed notebook that is missing is an error if ``must_exist``."""
    root = Path(root).resolve() if root is not None else find_root()
    toc = yaml.safe_load((root / TOC_FILE).read_text())
    chapters = []
    for entry in _toc_files([toc]):
        path = root / entry
        if path.suffix == "":   # jupyter-book allows the suffix to be left out
            md = path.with_suffix(".md")
            path = md if md.is_file() and not path.with_suffix(".ipynb").is_file() \
                else path.with_suffix(".ipynb")
        if path.suffix != ".ipynb":
            continue
        if must_exist and not path.is_file():
            raise FileNotFoundError(f"{TOC_FILE} lists {entry!r} but {path} does not exist")
        chapters.append(Chapter(path.stem, path))
    return chapters


def select_chapters(available: list[Chapter], names: Iterable[str] | None) -> list[Chapter]:
    """The chapters called ``names`` (file stems, ``.ipynb`` and folders allowed), in toc order;
    all when ``names`` is None."""
    if names is None:
        return list(available)
    wanted = [Path(n).name.removesuffix(".ipynb") for n in names]
    known = {c.name for c in available}
    unknown = [n for n in wanted if n not in known]
    if unknown:
        raise ChapterError(f"unknown chapter(s) {unknown}; available (in {TOC_FILE}): "
                           f"{', '.join(c.name for c in available)}")
    return [c for c in available if c.name in wanted]


def declared_parameters(notebook: Path) -> list[str]:
    """The names a notebook's cell tagged ``parameters`` assigns ([] without such a cell)."""
    import nbformat

    from .params import assigned_names

    for cell in nbformat.read(notebook, as_version=4).cells:
        if cell.cell_type == "code" and "parameters" in cell.metadata.get("tags", []):
            return assigned_names(cell.source) or []
    return []


def check_extras(chapters: list[Chapter], parameters: dict[str, Any]) -> None:
    """Every name of ``parameters`` is a parameter of at least one of ``chapters``; else a
    :class:`nbutils.params.ParameterError` naming it (with "did you mean") and the names the
    chapters define."""
    from .params import unknown_parameter

    declared = list(dict.fromkeys(name for c in chapters for name in declared_parameters(c.path)))
    unknown = [name for name in parameters if name not in declared]
    if unknown:
        raise unknown_parameter(unknown, declared, "(no chapter of this run defines it)")


def execute_chapters(profile: str, out_dir: Path | str, chapters: Iterable[str] | None = None,
                     parameters: dict[str, Any] | None = None, *, root: Path | str | None = None,
                     cwd: Path | str | None = None, kernel_name: str = KERNEL_NAME,
                     log_output: bool = False,
                     log: Callable[[str], None] = print) -> list[ChapterRun]:
    """Execute chapters (all of ``_toc.yml`` by default) in toc order with papermill; the
    summary pages (:data:`SUMMARY_PAGES`, the claims dashboard) last, reading the chapters
    from ``out_dir``.

    Each chapter receives those of ``{"profile": profile, **parameters}`` that it defines
    (:func:`declared_parameters`) and is written to
    ``out_dir/<name>.ipynb``; ``cwd`` is the kernel's working directory (default: the source
    notebook's folder). Stops at the first failing chapter: its partial notebook is kept as
    ``out_dir/<name>.failed.ipynb`` and papermill's ``PapermillExecutionError`` is raised.

    Args:
        profile: the ``profile`` parameter of every chapter (``"ci"``, ``"quick"`` or
            ``"paper"``; not checked here, each chapter validates it).
        out_dir: output folder, created if missing.
        chapters: names of the chapters to run (file stems; a ``.ipynb`` suffix and leading
            folders are allowed), run in toc order; default ``None``: all.
        parameters: extra papermill parameters for every chapter (not ``"profile"``);
            default ``None``: none.
        root: the book root holding ``_toc.yml``; default ``None``: :func:`find_root`.
        cwd: the kernel's working directory; default ``None``: each notebook's folder.
        kernel_name: the Jupyter kernel; default ``"python3"``.
        log_output: stream the chapters' cell outputs (papermill's ``log_output``).
        log: called with one progress line per chapter and a total; default ``print``.

    Returns:
        One :class:`ChapterRun` (name, output path, seconds) per chapter executed, in toc
        order.

    Raises:
        ValueError: ``parameters`` contains ``"profile"``.
        ChapterError: an unknown chapter name (a ``ValueError``).
        ParameterError: a parameter no selected chapter defines (a ``ValueError``), raised
            before any chapter runs.
        FileNotFoundError: no ``_toc.yml`` found, or a notebook it lists is missing.
        PapermillExecutionError: a chapter failed (other errors of the run propagate too).
    """
    parameters = dict(parameters or {})
    if "profile" in parameters:
        raise ValueError("give the profile as `profile`, not inside `parameters`")
    selected = execution_order(select_chapters(list_chapters(root), chapters))
    check_extras(selected, parameters)
    parameters = {"profile": profile, **parameters}

    import papermill as pm  # imported late: listing chapters needs no kernel machinery

    out = Path(out_dir).resolve()
    out.mkdir(parents=True, exist_ok=True)
    runs: list[ChapterRun] = []
    log(f"[pipeline] {len(selected)} chapter(s), parameters {parameters}, kernel "
        f"{kernel_name!r}, output {out}")
    for chapter in selected:
        target = out / f"{chapter.name}.ipynb"
        partial = out / f".{chapter.name}.partial.ipynb"
        failed = out / f"{chapter.name}.failed.ipynb"
        start = time.perf_counter()
        try:
            kernel_dir = Path(cwd if cwd is not None else chapter.path.parent).resolve()
            # a summary page reads the chapters from `out`; in place (out is the page's own
            # folder and the kernel runs there) the default "." says so without a machine's path
            extra = ({"chapters_dir": str(out)}
                     if chapter.name in SUMMARY_PAGES and out != kernel_dir else {})
            declared = declared_parameters(chapter.path)
            given = {k: v for k, v in {**parameters, **extra}.items() if k in declared}
            pm.execute_notebook(str(chapter.path), str(partial), parameters=given,
                                kernel_name=kernel_name,
                                cwd=str(cwd if cwd is not None else chapter.path.parent),
                                progress_bar=False, log_output=log_output)
        except BaseException:
            seconds = time.perf_counter() - start
            if partial.exists():
                os.replace(partial, failed)
            log(f"[pipeline] {chapter.name}: FAILED after {seconds:.1f} s "
                f"(partial notebook: {failed})")
            raise
        _record_output_path(partial, target)
        os.replace(partial, target)
        failed.unlink(missing_ok=True)
        seconds = time.perf_counter() - start
        runs.append(ChapterRun(chapter.name, target, seconds))
        log(f"[pipeline] {chapter.name}: ok in {seconds:.1f} s -> {target}")
    total = sum(r.seconds for r in runs)
    log(f"[pipeline] done: {len(runs)} chapter(s) in {total:.1f} s")
    return runs


def _record_output_path(notebook: Path, final: Path) -> None:
    """papermill records the file it wrote in the notebook's metadata: name the final file.
    The cell of the parameters the chapter ran with is shown in place of its defaults
    (:func:`show_run_parameters`)."""
    import nbformat

    nb = nbformat.read(notebook, as_version=4)
    from . import rerun  # imports the chapters' modules (torch): only once a chapter ran

    nb.metadata.setdefault("papermill", {})["output_path"] = str(final)
    show_run_parameters(nb)
    rerun.show_rerun_box(nb, final.stem)
    nbformat.write(nb, notebook)


# a parameters cell hidden by show_run_parameters (its own tags are restored without it)
DEFAULTS_HIDDEN = "defaults-shown-as-run-parameters"
RUN_PARAMETERS_HEADER = "# Parameters of this run (papermill)"


def _assignments(source: str) -> dict[str, ast.Assign | ast.AnnAssign]:
    """The top-level assignments of one name in ``source``, by name (the last one wins)."""
    out = {}
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 \
                and isinstance(node.targets[0], ast.Name):
            out[node.targets[0].id] = node
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) \
                and node.value is not None:
            out[node.target.id] = node
    return out


def run_parameters_source(defaults: str, injected: str) -> str:
    """The chapter's parameters cell ``defaults`` with the values of papermill's ``injected``
    cell written in place of their defaults (each line keeps its comment), under a comment that
    names the defaults replaced; an injected name the cell does not assign is added at the end.
    """
    lines = defaults.splitlines()
    assigned = _assignments(defaults)
    changed, extra = [], []
    # replace from the last assignment up, so that earlier positions stay valid
    values = {name: node for name, node in _assignments(injected).items()}
    spans = []
    for name, node in values.items():
        new = ast.get_source_segment(injected, node.value)
        if name not in assigned:
            extra.append(f"{name} = {new}")
            continue
        old_node = assigned[name].value
        old = ast.get_source_segment(defaults, old_node)
        if old == new:
            continue
        changed.append(f"{name} = {' '.join(old.split())}")
        spans.append((old_node.lineno, old_node.col_offset, old_node.end_lineno,
                      old_node.end_col_offset, new))
    for start, col, end, end_col, new in sorted(spans, reverse=True):
        # ast offsets are in UTF-8 bytes
        first = lines[start - 1].encode()
        last = lines[end - 1].encode()
        rest = last[end_col:].decode()
        gap = len(rest) - len(rest.lstrip(" "))
        if start == end and gap and rest.lstrip(" ").startswith("#"):   # keep the comment's column
            shift = (end_col - col) - len(new.encode())
            rest = " " * max(1, gap + shift) + rest.lstrip(" ")
        merged = first[:col].decode() + new + rest
        lines[start - 1:end] = [merged]
    header = RUN_PARAMETERS_HEADER + (
        f"; the chapter's defaults: {', '.join(changed)}" if changed else
        ": the chapter's defaults")
    header_lines = textwrap.wrap(header, width=99, subsequent_indent="#   ",
                                 break_long_words=False, break_on_hyphens=False)
    return "\n".join([*header_lines, *lines, *extra])


def show_run_parameters(nb) -> bool:
    """Show the parameters an executed notebook ran with instead of its defaults: papermill's
    cell tagged ``injected-parameters`` gets the whole parameters cell with the injected values
    in place (:func:`run_parameters_source`) and that cell's display tags (shown where the
    defaults were); the cell of defaults (tagged ``parameters``, which papermill and
    :func:`declared_parameters` read) is kept, unchanged, tagged ``remove-cell``. Idempotent;
    a notebook without injected parameters gets its parameters cell shown as it was. Returns
    whether the notebook has a cell of run parameters."""
    params = next((c for c in nb.cells if c.cell_type == "code"
                   and "parameters" in c.metadata.get("tags", [])), None)
    injected = next((c for c in nb.cells if c.cell_type == "code"
                     and "injected-parameters" in c.metadata.get("tags", [])), None)
    if params is None:
        return False
    tags = list(params.metadata.get("tags", []))
    if DEFAULTS_HIDDEN in tags:   # hidden by an earlier call: its own tags
        tags = [t for t in tags if t not in (DEFAULTS_HIDDEN, "remove-cell")] + \
            list(params.metadata.get("nbutils_defaults_tags", []))
        params.metadata.pop("nbutils_defaults_tags", None)
    own = [t for t in tags if t != "parameters"]
    if injected is None:
        params.metadata["tags"] = ["parameters", *own]
        return False
    source = injected.source
    if source.startswith(RUN_PARAMETERS_HEADER):   # already shown: the injected values only
        source = _injected_values(source, params.source)
    injected.source = run_parameters_source(params.source, source)
    injected.metadata["tags"] = ["injected-parameters", *own]
    extra = [t for t in own if t == "remove-cell"]
    params.metadata["tags"] = ["parameters", *[t for t in own if t != "remove-cell"],
                               "remove-cell", DEFAULTS_HIDDEN]
    if extra:
        params.metadata["nbutils_defaults_tags"] = extra
    return True


def _injected_values(shown: str, defaults: str) -> str:
    """The assignments of a cell of run parameters that differ from the defaults (what
    papermill injected), as papermill writes them."""
    mine, theirs = _assignments(shown), _assignments(defaults)
    out = []
    for name, node in mine.items():
        value = ast.get_source_segment(shown, node.value)
        if name not in theirs or ast.get_source_segment(defaults, theirs[name].value) != value:
            out.append(f"{name} = {value}")
    return "\n".join(out)


def parse_value(text: str) -> Any:
    """A ``-p`` value as papermill's own ``-p`` reads it: ``True``/``False``/``None``, an int, a
    float, else the string; in addition ``[...]`` and ``{...}`` are read as YAML (lists, dicts)."""
    if text in ("True", "False"):
        return text == "True"
    if text == "None":
        return None
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    if text[:1] in "[{":
        try:
            return yaml.safe_load(text)
        except yaml.YAMLError:
            pass
    return text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m nbutils.pipeline",
        description="Execute the book's chapters (in _toc.yml order) with papermill.")
    parser.add_argument("--profile", default="quick",
                        help="profile passed to every chapter: ci, quick or paper (default quick)")
    parser.add_argument("--chapters", nargs="+", metavar="NAME",
                        help="chapters to run (file stems such as 01_setup); default: all")
    parser.add_argument("--out", default=None,
                        help="output folder (default: book/, i.e. the chapters are updated in "
                             "place)")
    parser.add_argument("-p", "--parameter", nargs=2, action="append", default=[],
                        metavar=("KEY", "VALUE"),
                        help="extra chapter parameter, e.g. -p device cpu -p seeds 4 "
                             "(values read like papermill -p; [a, b] is a list)")
    parser.add_argument("--root", default=None, help="book root holding _toc.yml (default: found)")
    parser.add_argument("--log-output", action="store_true",
                        help="stream the chapters' cell outputs to the terminal")
    parser.add_argument("--list", action="store_true", help="list the chapters and exit")
    parser.add_argument("--show-parameters", nargs="+", metavar="NOTEBOOK",
                        help="in executed notebooks, show the parameters each ran with in place "
                             "of the defaults and write the box 'Rerun this chapter' (nothing "
                             "is executed), then exit")
    args = parser.parse_args(argv)

    if args.show_parameters:
        import nbformat

        from . import rerun

        for path in args.show_parameters:
            nb = nbformat.read(path, as_version=4)
            shown = show_run_parameters(nb)
            boxed = rerun.show_rerun_box(nb, Path(path).stem)
            nbformat.write(nb, path)
            print(f"{path}: {'run parameters shown' if shown else 'no injected parameters'}"
                  + (", box 'Rerun this chapter' written" if boxed else ""))
        return 0

    try:
        root = find_root(Path(args.root)) if args.root else find_root()
        available = list_chapters(root)
        if args.list:
            print("\n".join(c.name for c in available))
            return 0
        select_chapters(available, args.chapters)  # fail on unknown names before any work
    except (ChapterError, FileNotFoundError) as err:
        parser.exit(2, f"{parser.prog}: error: {err}\n")
    extras = {}
    for key, value in args.parameter:
        if key == "profile":
            parser.exit(2, f"{parser.prog}: error: give the profile with --profile, not -p\n")
        extras[key] = parse_value(value)
    try:
        check_extras(select_chapters(available, args.chapters), extras)
    except ValueError as err:
        parser.exit(2, f"{parser.prog}: error: {err}\n")
    out = Path(args.out) if args.out else root / "book"
    try:
        execute_chapters(args.profile, out, args.chapters, extras, root=root,
                         log_output=args.log_output)
    except Exception as err:  # papermill's error already names the cell and the traceback
        print(f"[pipeline] stopped: {type(err).__name__}: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
