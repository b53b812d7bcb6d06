"""nbutils: the small library behind the book replicating Amjad, Liu & Geiger (IEEE TNNLS 2021),
"Understanding Neural Networks and Individual Neuron Importance via Information-Ordered
Cumulative Ablation".

Modules, one job each:

- ``config``    the paper's configurations (architectures, regularizers, epochs, seeds) and profiles
- ``data``      MNIST / FashionMNIST / CIFAR-10 loading, the 80/20 train/validation split
- ``ensemble``  M independently seeded MLPs stored as one batched model
- ``train``     training an ensemble (RMSprop / Adam, batch 32)
- ``cache``     atomic, keyed on-disk memoization of trained ensembles and small results
- ``measures``  quantizers and the information measures of Eqs. (2)-(5)
- ``ablation``  exact incremental cumulative ablation
- ``stats``     mean gaps, Wilcoxon and Kolmogorov-Smirnov p-values
- ``plots``     the paper's figures
"""
__version__ = "0.2.0"
