"""The box "Rerun this chapter" near the top of every chapter: the command that reproduces the
run the page shows, what it needs, and how long it takes on a 2-core CPU and on a GPU, from the
times measured for this book (README, "Expected run times" and "The whole paper on one GPU").

The pipeline writes the box into every chapter it executes (:func:`show_rerun_box`, from the
parameters papermill injected); ``python -m nbutils.pipeline --show-parameters NOTEBOOK`` writes
it into an executed notebook without running it. Every time the box quotes is a measurement of
this book's runs; where nothing was measured the box says "not measured".
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .chapters import Config, chapters
from .provenance import duration

TAG = "rerun-box"                   # the markdown cell holding the box
CPU = "2-core CPU"
GPU = "one H200 GPU"


@dataclass(frozen=True)
class Measured:
    """Measured seconds of ``python -m nbutils.precompute --profile paper --config NAME`` for one
    configuration: training and all the results of chapters 1-6 and 10 on the 2-core
    development CPU (one configuration at a time, some beside other jobs: upper bounds), and the
    whole command on one H200 (``None``: not measured)."""
    cpu_training: float | None = None
    cpu_results: float | None = None
    gpu: float | None = None


# README, "Expected run times" (2-core AMD EPYC, 2026-12-02 to 04) and "The whole paper on one
# GPU" (H200, torch 2.11, 2026-12-04): the paper profile, 50 seeds (CIFAR-10: 35).
PAPER_TIMES: dict[str, Measured] = {
    "mnist-relu-l2": Measured(466, 612, 9),
    "mnist-relu-dropout": Measured(635, 1791, 68),
    "mnist-relu-none": Measured(260, 10, 7),
    "mnist-relu-bn_dropout": Measured(1342, 1209),
    "mnist-sigmoid-l2": Measured(661, 2135),
    "mnist-sigmoid-dropout": Measured(1387, 2246),
    "mnist-sigmoid-none": Measured(327, 9),
    "mnist-sigmoid-bn_dropout": Measured(867, 10),
    "fashionmnist-relu-l2": Measured(636, 1485),
    "fashionmnist-relu-dropout": Measured(453, 216),
    "fashionmnist-relu-none": Measured(332, 98),
    "fashionmnist_small-relu-l2": Measured(240, 103),
    "fashionmnist_small-relu-dropout": Measured(265, 115),
    "fashionmnist_small-relu-none": Measured(153, 13),
    "cifar10-relu-l2": Measured(gpu=149),
    "cifar10_funnel-relu-l2": Measured(gpu=242),
}

# How a chapter that does not read precompute's results is rerun from scratch, and what it
# costs (measured, README's table "Expected run times").
OWN_RUN: dict[str, str] = {
    "07_layerwise_cifar10": (
        "At profile `quick` (2 seeds per network, `-p device cpu`) the chapter trains its three "
        "networks and computes its curves itself: 26 min of training and 43 min of ablation on "
        f"a {CPU}. The `paper` profile (35 seeds) is meant for a GPU; on {GPU}, `precompute` "
        "took 149 s for network (a) and 242 s for network (b), training and all results. "
        f"Network (c) (Dropout) ran on the {CPU} in seed shards, each shipped on its own and "
        "then merged (`precompute --config cifar10_funnel-relu-dropout --seeds 4-6 --ship`, "
        "then `--merge 1-3 4-6 7-10 --ship`): seeds 1-3 beside other jobs (training 60 min, "
        "curves 113 min), seeds 4-6 alone (training 15 min, curves 26 min, of which layer 1 "
        "20 min), seeds 7-10 alone (training 12 min, curves 30 min, of which layer 1 23 "
        "min); the chapter reads the merged 10 seeds (`-p seeds_c 10`). Its remaining 25 "
        "seeds have not run."),
    "08_counterexamples": (
        f"The chapter trains its small networks itself: about 20 s on a {CPU} (17 s at `quick`, "
        "28 s at `ci` with the test's second run)."),
    "01_setup": (
        "To train the networks instead of loading them, compute the results of every "
        "configuration (`python -m nbutils.precompute --profile paper --all`, chapters 1-6 and "
        f"10): measured one configuration at a time on a {CPU}, 2.2 h of training and 2.8 h of "
        f"results for the 14 MNIST and FashionMNIST configurations (upper bounds); on {GPU}, "
        "not measured as one run (`mnist-relu-l2` took 9 s). At `--profile quick` (8 seeds) "
        "training the 14 took 6699 s (1.9 h) on that CPU."),
    "09_pruning": (
        "The chapter trains its networks and computes its pruning curves itself, into the "
        f"results cache: about 55 min from an empty cache on a {CPU} at `quick` (an estimate "
        "from two runs: training 5 min, pruning curves 5 min, network-wide and layer-by-layer "
        "pruning 18 min, fine-tuning 26 min), 34 s from the cache; not measured on a GPU."),
    "11_unstated_choices": (
        "Its screen (17 configurations, 3 readings, 3 seeds; CIFAR-10 1 seed) ships in "
        "`results/`. Computing the 42 MNIST and FashionMNIST ensembles took about 45 min on a "
        f"{CPU} (`python -m nbutils.protocol screen --datasets mnist fashionmnist`), the 9 "
        f"CIFAR-10 ensembles 94 s on {GPU}."),
}


# The chapters that ran at `quick` from shipped results (the screen of chapter 11).
SHIPPED_QUICK = frozenset({"11_unstated_choices"})

# A chapter's run at `quick` on the 2-core CPU, from an empty results cache once chapter 1 had
# trained the networks (README, "Expected run times", 2026-12-02).
QUICK_CPU: dict[str, str] = {
    "02_measures": "82 s",
    "03_fig1_violins": "28 s",
    "04_whole_network_ablation": "682 s",
    "05_layerwise_mnist": "110 s (after chapter 4, whose curves it shares)",
    "06_layerwise_fashionmnist": "270 s",
}


def config_name(config: Config) -> str:
    """``("mnist", "relu", "l2")`` -> ``"mnist-relu-l2"``."""
    return "-".join(config)


def _duration(seconds: float | None) -> str:
    return "not measured" if seconds is None else duration(seconds)


def command(notebook: str, parameters: dict[str, Any], results_only: bool) -> str:
    """The pipeline command that executes ``notebook`` with ``parameters`` (papermill's, with
    ``profile``), as a reader types it from the repository's root."""
    extra = " ".join(f"-p {key} {_value(value)}" for key, value in sorted(parameters.items())
                     if key != "profile")
    env = "NBUTILS_RESULTS_ONLY=1 " if results_only else ""
    return (f"{env}.venv/bin/python -m nbutils.pipeline --profile "
            f"{parameters.get('profile', 'quick')} --chapters {notebook}"
            + (f" {extra}" if extra else ""))


def _value(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        return '"[' + ", ".join(str(v) for v in value) + ']"'
    return str(value)


def _times_table(configs: tuple[Config, ...]) -> list[str]:
    rows = ["| configuration | " + CPU + " (training + results) | " + GPU + " |",
            "| --- | --- | --- |"]
    cpu_total, gpu_total, cpu_known, gpu_known = 0.0, 0.0, True, True
    for config in configs:
        t = PAPER_TIMES.get(config_name(config), Measured())
        if t.cpu_training is None or t.cpu_results is None:
            cpu, cpu_known = "not measured", False
        else:
            cpu_total += t.cpu_training + t.cpu_results
            cpu = (f"{_duration(t.cpu_training + t.cpu_results)} ({t.cpu_training:.0f} s + "
                   f"{t.cpu_results:.0f} s)")
        gpu_known &= t.gpu is not None
        gpu_total += t.gpu or 0.0
        rows.append(f"| `{config_name(config)}` | {cpu} | {_duration(t.gpu)} |")
    if len(configs) > 1:
        rows.append(f"| all {len(configs)} | "
                    f"{_duration(cpu_total) if cpu_known else 'not measured for all'} | "
                    f"{_duration(gpu_total) if gpu_known else 'not measured for all'} |")
    return rows


def box(notebook: str, parameters: dict[str, Any]) -> str:
    """The box's Markdown (a MyST dropdown admonition) for ``notebook`` executed with
    ``parameters`` (papermill's, ``profile`` included)."""
    module = next((ch for ch in chapters() if ch.NOTEBOOK == notebook), None)
    if module is None:
        names = ", ".join(ch.NOTEBOOK for ch in chapters())
        raise ValueError(f"notebook must be one of the chapters ({names}), got {notebook!r}")
    profile = parameters.get("profile", "quick")
    shipped = profile == "paper" or notebook in SHIPPED_QUICK
    lines = [":::{admonition} Rerun this chapter", ":class: tip, dropdown",
             "From the repository's root, after `make venv` and with the data at hand (README, "
             "sections \"Two commands\" and \"Data\"), this command executes the chapter as this "
             "page shows it and writes it into `book/`:", "",
             "```bash", command(notebook, parameters, results_only=shipped), "```", ""]
    if shipped and (module.CONFIGS or notebook in SHIPPED_QUICK):
        lines += ["It reads the results shipped in `results/` and trains nothing: it takes "
                  "about as long as the note \"About this run\" above says.", ""]
    if notebook in OWN_RUN:
        lines.append(OWN_RUN[notebook])
    elif module.CONFIGS:
        first = ("Without shipped results, compute them first (the chapter's "
                 f"{len(module.CONFIGS)} network ensemble(s), {profile} profile; `--device cuda` "
                 "on a GPU), then run the command above without `NBUTILS_RESULTS_ONLY=1`:"
                 if shipped else
                 "The command trains the networks the caches lack and computes the chapter's "
                 "results; to compute them ahead (`--device cuda` on a GPU):")
        lines += [
            first, "",
            "```bash",
            f".venv/bin/python -m nbutils.precompute --profile {profile} --config "
            + " ".join(config_name(c) for c in module.CONFIGS), "```", "",
            *_times_table(module.CONFIGS), "",
            f"Measured for this book, one configuration at a time; the {CPU} times are upper "
            "bounds (some ran beside other jobs)."]
        if notebook in QUICK_CPU:
            lines.append("At `--profile quick` (8 seeds, nothing shipped needed) the chapter "
                         f"took {QUICK_CPU[notebook]} on the {CPU}, once chapter 1 had trained "
                         "the 14 configurations at that profile (1.9 h).")
    lines += ["", "On another kind of machine a retraining gives statistically equal results, "
              "not the same bits (README, \"Caches and GPUs\").", ":::"]
    return "\n".join(lines)


def show_rerun_box(nb, notebook: str) -> bool:
    """Write (or replace) the box as the second cell of the executed notebook ``nb``, from the
    parameters papermill recorded in its metadata. Returns False for a page that is not a
    chapter (no box)."""
    import nbformat

    if notebook not in {ch.NOTEBOOK for ch in chapters()}:
        return False
    parameters = nb.metadata.get("papermill", {}).get("parameters", {})
    text = box(notebook, parameters)
    cell = next((c for c in nb.cells if TAG in c.metadata.get("tags", [])), None)
    if cell is None:
        cell = nbformat.v4.new_markdown_cell(text, metadata={"tags": [TAG]})
        cell.id = TAG
        nb.cells.insert(1, cell)
    cell.source = text
    return True
