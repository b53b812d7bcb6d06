"""The paper's experimental configurations: the single source of truth.

Everything a chapter needs to name a trained network lives here: the five architectures of
claim S1 (plus the 784-200-200-10 pruning net of the technical note, claim P1), the activation
functions and regularizers of claim S2, the optimizer settings of claim S3, the number of seeds
of claim S4, the rule that chooses the number of training epochs by validation (the paper only
says "8 to 30 epochs, chosen per dataset and regularizer") and the run *profiles* (``ci``,
``quick``, ``paper``).
"""
from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field, replace

from .activations import ACTIVATIONS
from .checks import choice, positive_int
from .data import PREPROCESSINGS
from .datasets import DATASETS, get_dataset

REGULARIZERS: tuple[str, ...] = ("none", "l2", "dropout", "bn_dropout")
REGULARIZER_LABELS: dict[str, str] = {
    "none": "no regularization",
    "l2": "L2",
    "dropout": "Dropout",
    "bn_dropout": "BatchNorm + Dropout",
}
PROFILES: tuple[str, ...] = ("ci", "quick", "paper")

# How input pixels are preprocessed: the paper does not say (nbutils.data, nbutils.protocol).
PREPROCESSING_LABELS: dict[str, str] = {
    "unit": "pixels in [0, 1]",
    "standardized": "standardized per channel",
    "per_pixel": "standardized per pixel",
}
PREPROCESSING_SUFFIX: dict[str, str] = {"unit": "", "standardized": "std", "per_pixel": "pix"}
# The reading the book's chapters use unless told otherwise. It is changed only by the rule of
# nbutils.protocol.choose_preprocessing applied to the screen, and only once the paper-scale
# results of the chosen reading are shipped (see the chapter "What the paper left unsaid").
MAIN_PREPROCESSING = "unit"


@dataclass(frozen=True)
class Architecture:
    """A fully connected architecture ``input - hidden... - classes`` trained on ``dataset``."""

    name: str
    dataset: str
    input_dim: int
    hidden: tuple[int, ...]
    n_classes: int
    dropout: tuple[float, ...]  # Dropout probability per hidden layer (claim S2)
    momentum: float             # RMSprop momentum (claim S3)
    paper_seeds: int            # claim S4
    display: str = ""           # panel titles; default: the dataset's display name
    val_fraction: float | None = None  # held-out share of the training set; None: the paper's 20 %

    def __post_init__(self):
        choice(self.dataset, DATASETS, f"Architecture({self.name!r}).dataset")
        if self.input_dim != get_dataset(self.dataset).input_dim:
            raise ValueError(f"Architecture({self.name!r}): input_dim={self.input_dim} does not "
                             f"match {self.dataset} ({get_dataset(self.dataset).input_dim})")

    @property
    def title(self) -> str:
        """How figures name the network: ``"small FashionMNIST"``, ``"MNIST"``."""
        return self.display or get_dataset(self.dataset).display

    @property
    def widths(self) -> tuple[int, ...]:
        return (self.input_dim, *self.hidden, self.n_classes)

    @property
    def label(self) -> str:
        return "-".join(str(w) for w in self.widths)


# Claim S1 (architectures), S2 (Dropout probabilities), S3 (momentum), S4 (seeds).
ARCHITECTURES: dict[str, Architecture] = {
    a.name: a
    for a in (
        Architecture("mnist", "mnist", 784, (100, 100), 10, (0.3, 0.4), 0.01, 50),
        Architecture("fashionmnist", "fashionmnist", 784, (100, 100), 10, (0.3, 0.4), 0.01, 50),
        Architecture("fashionmnist_small", "fashionmnist", 784, (20, 20), 10, (0.3, 0.4), 0.01, 50,
                     display="small FashionMNIST"),
        Architecture("cifar10", "cifar10", 3072, (250, 500, 250, 500), 10,
                     (0.2, 0.4, 0.2, 0.4), 0.1, 35),
        Architecture("cifar10_funnel", "cifar10", 3072, (1000, 750, 500, 250), 10,
                     (0.2, 0.4, 0.2, 0.4), 0.1, 35, display="Funnel CIFAR-10"),
        # Technical note on pruning (claim P1): 784-200-200-10, sigmoid, Adam, L2.
        # Its split is 50 000 / 10 000 / 10 000: one sixth of the 60 000 training images held out.
        Architecture("pruning", "mnist", 784, (200, 200), 10, (0.3, 0.4), 0.0, 50,
                     display="MNIST 784-200-200-10", val_fraction=1 / 6),
    )
}

# Number of training epochs (claim S3). The paper says only that it chose "between 8 and 30
# epochs, depending on the dataset and regularizer, for good accuracy without overfitting". We
# choose it per configuration by validation, with the usual early-stopping recipe: train at least
# MIN_EPOCHS and at most MAX_EPOCHS epochs; an epoch *improves* when the validation accuracy of the
# ensemble (mean over its seeds) beats the best so far by at least MIN_DELTA; stop PATIENCE epochs
# after the last improvement and keep the weights of that epoch (the chosen number of epochs).
MIN_EPOCHS = 8
MAX_EPOCHS = 30
PATIENCE = 3
MIN_DELTA = 0.0005  # 0.05 percentage points of mean validation accuracy

LEARNING_RATE = 1e-3
WEIGHT_DECAY = 1e-4
BATCH_SIZE = 32


@dataclass(frozen=True)
class TrainConfig:
    """Everything that determines how one network of an ensemble is trained."""

    arch: str
    activation: str
    regularizer: str
    epochs: int                          # the most epochs (the number, without early stopping)
    min_epochs: int | None = None        # None: exactly ``epochs``; else choose by validation
    patience: int = 0
    min_delta: float = 0.0
    optimizer: str = "rmsprop"          # "rmsprop" (paper) or "adam" (pruning note)
    lr: float = LEARNING_RATE
    momentum: float = 0.01
    weight_decay: float = 0.0
    dropout: tuple[float, ...] = ()      # empty: no Dropout
    batch_norm: bool = False
    batch_size: int = BATCH_SIZE
    preprocessing: str = "unit"          # input pixels (nbutils.data.PREPROCESSINGS)

    @property
    def architecture(self) -> Architecture:
        return ARCHITECTURES[self.arch]

    @property
    def dataset(self) -> str:
        return self.architecture.dataset

    @property
    def chooses_epochs(self) -> bool:
        """Whether training chooses its number of epochs by validation (early stopping)."""
        return self.min_epochs is not None and self.min_epochs < self.epochs

    @property
    def epochs_label(self) -> str:
        """``"12"`` or ``"8-30 (validation)"``."""
        if self.chooses_epochs:
            return f"{self.min_epochs}-{self.epochs} (validation)"
        return str(self.epochs)

    @property
    def name(self) -> str:
        """A short human-readable name, e.g. ``mnist-relu-dropout``, or with standardized
        inputs ``mnist-relu-dropout-std``."""
        suffix = PREPROCESSING_SUFFIX[self.preprocessing]
        return f"{self.arch}-{self.activation}-{self.regularizer}" + (f"-{suffix}" if suffix
                                                                       else "")

    @property
    def label(self) -> str:
        extra = ("" if self.preprocessing == "unit"
                 else f", {PREPROCESSING_LABELS[self.preprocessing]}")
        return (f"{self.architecture.label}, {self.activation}, "
                f"{REGULARIZER_LABELS[self.regularizer]}{extra}")

    def digest(self) -> str:
        """A stable hash of every field (part of the cache key). The preprocessing enters only
        when it is not ``"unit"``, so the keys of every result computed before it was a field
        (inputs in [0, 1]) stay valid."""
        fields = asdict(self)
        if fields["preprocessing"] == "unit":
            del fields["preprocessing"]
        return hashlib.sha256(repr(sorted(fields.items())).encode()).hexdigest()[:16]


def make_config(arch: str, activation: str, regularizer: str, *,
                epochs: int | None = None, preprocessing: str | None = None) -> TrainConfig:
    """The paper's training configuration for one architecture, activation and regularizer.

    Args:
        arch: an architecture of :data:`ARCHITECTURES`.
        activation: ``"relu"`` or ``"sigmoid"``.
        regularizer: one of :data:`REGULARIZERS`.
        epochs: ``None`` (default): the number of epochs is chosen by validation between
            :data:`MIN_EPOCHS` and :data:`MAX_EPOCHS` (see above); a number fixes it (a profile
            may shorten training, e.g. ``ci``, and tests do).
        preprocessing: one of :data:`nbutils.data.PREPROCESSINGS`; ``None`` (default):
            :data:`MAIN_PREPROCESSING`.

    Returns:
        The :class:`TrainConfig`.
    """
    preprocessing = choice(MAIN_PREPROCESSING if preprocessing is None else preprocessing,
                           PREPROCESSINGS, "preprocessing")
    arch = choice(arch, ARCHITECTURES, "arch")
    activation = choice(activation, ACTIVATIONS, "activation")
    regularizer = choice(regularizer, REGULARIZERS, "regularizer")
    a = ARCHITECTURES[arch]
    if epochs is None:
        schedule = dict(epochs=MAX_EPOCHS, min_epochs=MIN_EPOCHS, patience=PATIENCE,
                        min_delta=MIN_DELTA)
    else:
        schedule = dict(epochs=positive_int(epochs, "epochs"))
    cfg = TrainConfig(
        arch=arch, activation=activation, regularizer=regularizer, **schedule,
        momentum=a.momentum,
        weight_decay=WEIGHT_DECAY if regularizer == "l2" else 0.0,
        dropout=a.dropout if regularizer in ("dropout", "bn_dropout") else (),
        batch_norm=regularizer == "bn_dropout",
        preprocessing=preprocessing,
    )
    if arch == "pruning":  # technical note: Adam, lr 1e-3, batch 32, cross-entropy + L2
        cfg = replace(cfg, optimizer="adam", momentum=0.0)
    return cfg


@dataclass(frozen=True)
class Profile:
    """How much of the paper a run reproduces.

    ``seeds`` maps an architecture to the number of seeds; the ``limit_*`` fields cut the data
    splits (``None``: full data); ``epochs`` fixes the number of epochs (``None``: chosen by
    validation within 8-30).
    """

    name: str
    seeds: dict[str, int]
    epochs: int | None = None
    limit_train: int | None = None
    limit_val: int | None = None
    limit_test: int | None = None
    random_draws: int = 5  # random orderings per seed for the random-ablation baseline
    # the grid on which wide layers' ablation curves are read (nbutils.ablation.k_grid): every
    # k in the first and last ``dense`` neurons, every ``step``-th in between
    ablation_grid: tuple[int, int] = (50, 10)
    description: str = ""
    configs: tuple[tuple[str, str, str], ...] = field(default=())

    def n_seeds(self, arch: str) -> int:
        return self.seeds[arch]

    @property
    def data_limits(self) -> dict[str, int | None]:
        return {"limit_train": self.limit_train, "limit_val": self.limit_val,
                "limit_test": self.limit_test}


def _seeds(mnist: int, cifar: int) -> dict[str, int]:
    return {name: (cifar if a.dataset == "cifar10" else mnist) for name, a in ARCHITECTURES.items()}


PROFILE_REGISTRY: dict[str, Profile] = {
    "ci": Profile("ci", _seeds(3, 2), epochs=1, limit_train=2048, limit_val=1000,
                  limit_test=1000, random_draws=2, ablation_grid=(5, 100),
                  description="a smoke test: 3 seeds (2 for CIFAR-10), 2048 training images, "
                              "1000 validation and 1000 test images, one epoch"),
    "quick": Profile("quick", _seeds(8, 2), random_draws=5,
                     description="full data, epochs chosen by validation (8-30), 8 seeds "
                                 "(2 for CIFAR-10)"),
    "paper": Profile("paper", {n: a.paper_seeds for n, a in ARCHITECTURES.items()},
                     random_draws=5,
                     description="the paper's scale: 50 seeds (35 for CIFAR-10), full data, "
                                 "epochs chosen by validation (8-30)"),
}


def get_profile(name: str) -> Profile:
    """The profile called ``name`` (one of ``ci``, ``quick``, ``paper``)."""
    return PROFILE_REGISTRY[choice(name, PROFILES, "profile")]


def profile_config(profile: Profile | str, arch: str, activation: str,
                   regularizer: str, preprocessing: str | None = None) -> TrainConfig:
    """The training configuration of one network under a profile (profile epochs override).

    Args:
        profile: a profile name or :class:`Profile`.
        arch: an architecture of :data:`ARCHITECTURES`.
        activation: ``"relu"`` or ``"sigmoid"``.
        regularizer: one of :data:`REGULARIZERS`.
        preprocessing: as in :func:`make_config`.

    Returns:
        The :class:`TrainConfig` (:func:`make_config` with the profile's epochs).
    """
    prof = get_profile(profile) if isinstance(profile, str) else profile
    return make_config(arch, activation, regularizer, epochs=prof.epochs,
                       preprocessing=preprocessing)


# The configurations each chapter of the book uses: (architecture, activation, regularizer).
CHAPTER_CONFIGS: dict[str, tuple[tuple[str, str, str], ...]] = {
    "fig1": tuple(("mnist", act, reg) for act in ACTIVATIONS for reg in ("l2", "dropout"))
    + (("fashionmnist", "relu", "l2"), ("fashionmnist", "relu", "dropout")),
    # Fig. 2 is six panels (chapter 4): (a) MNIST and (b) FashionMNIST, ReLU + L2; (c) MNIST and
    # (d) FashionMNIST, ReLU + Dropout; (e, f) sigmoid (the text does not name their dataset).
    "fig2": (("mnist", "relu", "l2"), ("fashionmnist", "relu", "l2"),
             ("mnist", "relu", "dropout"), ("fashionmnist", "relu", "dropout"),
             ("mnist", "sigmoid", "l2"), ("mnist", "sigmoid", "dropout")),
    "fig3": (("mnist", "relu", "dropout"), ("mnist", "relu", "bn_dropout"),
             ("mnist", "sigmoid", "l2"), ("mnist", "sigmoid", "dropout")),  # see below
    # Fig. 4 (chapter 6): large L2, small L2, small Dropout; Sec. V-D also speaks of training
    # "without regularization", so the large and small nets without regularizer are trained too.
    "fig4": (("fashionmnist", "relu", "l2"), ("fashionmnist_small", "relu", "l2"),
             ("fashionmnist_small", "relu", "dropout"), ("fashionmnist", "relu", "none"),
             ("fashionmnist_small", "relu", "none")),
    # F1a claims the increase for "all combinations of activation functions and regularization
    # techniques" on MNIST (chapter 3).
    "mnist_all": tuple(("mnist", act, reg) for act in ACTIVATIONS for reg in REGULARIZERS),
    "fig5": (("cifar10", "relu", "l2"), ("cifar10_funnel", "relu", "l2"),
             ("cifar10_funnel", "relu", "dropout")),
    "pruning": (("pruning", "sigmoid", "l2"),),
    # Chapter 10 (beyond the paper): the networks of Fig. 3 and of Fig. 4's panels (a)-(c).
    "importance": (("mnist", "relu", "dropout"), ("mnist", "relu", "bn_dropout"),
                   ("mnist", "sigmoid", "l2"), ("mnist", "sigmoid", "dropout"),
                   ("fashionmnist", "relu", "l2"), ("fashionmnist_small", "relu", "l2"),
                   ("fashionmnist_small", "relu", "dropout")),
}


# What Fig. 3's panels (a)-(d) set ablated neurons to (claim S6): panel (c) ablates to the mean.
FIG3_ABLATION_VALUES: tuple[str, ...] = ("zero", "zero", "mean", "zero")


def all_chapter_configs() -> list[tuple[str, str, str]]:
    """Every (architecture, activation, regularizer) any chapter needs, without repeats."""
    seen: dict[tuple[str, str, str], None] = {}
    for configs in CHAPTER_CONFIGS.values():
        for c in configs:
            seen.setdefault(c, None)
    return list(seen)


def seed_list(n_seeds: int) -> list[int]:
    """Seeds 1..n (member i of an ensemble is the network trained with seed i+1)."""
    return list(range(1, positive_int(n_seeds, "seeds", "number of seeds") + 1))
