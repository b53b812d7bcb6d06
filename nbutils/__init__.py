"""nbutils: the small library behind the book replicating Amjad, Liu & Geiger (IEEE TNNLS 2021),
"Understanding Neural Networks and Individual Neuron Importance via Information-Ordered
Cumulative Ablation".

Modules, one job each (CONTRIBUTING.md says where each kind of change goes):

- ``config``       the paper's configurations (architectures, regularizers, epochs, seeds), profiles
- ``datasets``     the registry of datasets (files, checksums, class names, split)
- ``activations``  the table of activation functions (function, module, one-bit threshold)
- ``checks``       input checks shared by every module (one wording for bad values)
- ``data``         loading and verifying MNIST / FashionMNIST / CIFAR-10, the 80/20 split
- ``ensemble``     M independently seeded MLPs stored as one batched model
- ``train``        training an ensemble (RMSprop / Adam, batch 32)
- ``steps``        the training step: eager, or captured once in a CUDA graph and replayed
- ``cache``        atomic, keyed on-disk memoization of trained ensembles and small results
- ``experiment``   a trained ensemble: identity, cache paths, model, accuracies and history
- ``shards``       seed shards: a configuration's seeds trained and analysed in parts
- ``merge``        merging shards into the results of the whole ensemble
- ``measures``     quantizers, the information measures of Eqs. (2)-(5) and their registry
- ``orderings``    the one registry of orderings (measures, random, the field's scores, He et
                   al.'s criteria: label, short name, colour) and ablation orderings' tensors
- ``ablation``     exact incremental cumulative ablation
- ``analysis``     measures and ablation curves of a trained ensemble, memoized
- ``stats``        mean gaps, Wilcoxon and Kolmogorov-Smirnov p-values
- ``counts``       numbers of neurons read off measures and curves (active, to strip, to keep)
- ``cost``         parameter counts and FLOP estimates of training and ablation
- ``importance``   neuron-importance scores beyond the paper's measures (class selectivity,
                   output statistics, weight norms, Taylor, single-neuron drop)
- ``activity``     dead, always-on and varying neurons of a layer
- ``protocol``     the screen of the input preprocessings and the rule that chose the main one
- ``prune``        pruning with bias balancing (the technical note)
- ``verdicts``     the verdict rules and thresholds (numbers in, verdict words out)
- ``claims``       a claims row as data: claim, measurement, verdict, reasons
- ``report``       claims and findings tables as the book draws them
- ``provenance``   the "About this run" note of a chapter (profile, machine, times, sources)
- ``chapters``     the book layer: per chapter its networks, the results it requests, its claims
- ``dashboard``    every claim's verdict, read back from the executed chapters
- ``precompute``   every result the chapters read, computed (and shipped) per configuration
- ``plots``        the paper's figures
- ``params``       validation of the chapters' papermill parameters
- ``pipeline``     executing the chapters in book order (papermill)
- ``counterexamples``  Examples 1-4 of the paper as explicit networks
"""
__version__ = "0.2.0"
