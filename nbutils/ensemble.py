"""M independently seeded MLPs of one architecture, stored and run as one batched model.

Layer ``l`` of member ``m`` computes, as in the paper's Eq. (1),

    t^(l) = sigma( BN( t^(l-1) W_l[m] + b_l[m] ) ),     followed in training by Dropout,

with the weights of all members stacked into one tensor ``W_l`` of shape ``(M, n_{l-1}, n_l)``,
so one batched matmul (``torch.baddbmm``) serves the whole ensemble. The output layer is a plain
affine map to the class logits (the softmax lives in the loss). Member ``i`` is exactly the
``torch.nn`` MLP that :func:`build_reference_mlp` builds with seed ``seeds[i]``: the ensemble is
initialised from those networks and :meth:`EnsembleMLP.member` gives them back.
"""
from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .activations import get_activation
from .checks import positive_int
from .config import TrainConfig

BN_EPS = 1e-5
BN_MOMENTUM = 0.1


def build_reference_mlp(widths: Sequence[int], activation: str, seed: int, *,
                        dropout: Sequence[float] = (), batch_norm: bool = False) -> nn.Sequential:
    """The ordinary ``torch.nn`` MLP with PyTorch's default initialisation under ``seed``.

    Layout per hidden layer: ``Linear, [BatchNorm1d], ReLU|Sigmoid, [Dropout]``; then ``Linear``.
    The global RNG is left untouched (the seed is applied inside ``fork_rng``).

    Args:
        widths: layer widths ``(d, n_1, ..., n_H, C)``: input, the ``H`` hidden layers, classes.
        activation: ``"relu"`` or ``"sigmoid"`` (case ignored).
        seed: positive integer seed of the initialisation (member ``i`` of an
            :class:`EnsembleMLP` is this network with ``seed = seeds[i]``).
        dropout: one Dropout probability per hidden layer; default ``()``: no Dropout.
        batch_norm: a ``BatchNorm1d`` (eps 1e-5, momentum 0.1) after each hidden ``Linear``;
            default ``False``.

    Returns:
        ``nn.Sequential`` (in training mode) mapping inputs ``(N, d)`` to logits ``(N, C)``.

    Raises:
        ValueError: an unknown ``activation``, a ``seed`` that is not a positive integer, or
            ``dropout`` not of length ``H``.
    """
    act = get_activation(activation)
    positive_int(seed, "seed")
    n_hidden = len(widths) - 2
    if dropout and len(dropout) != n_hidden:
        raise ValueError(f"dropout={tuple(dropout)} needs one probability per hidden layer "
                         f"({n_hidden})")
    layers: list[nn.Module] = []
    with torch.random.fork_rng(devices=[]):
        # Seed only the CPU generator that nn.Linear's initialisation draws from
        # (torch.manual_seed would also queue a CUDA seeding, costly when repeated 50 times).
        torch.default_generator.manual_seed(seed)
        for l in range(n_hidden):
            layers.append(nn.Linear(widths[l], widths[l + 1]))
            if batch_norm:
                layers.append(nn.BatchNorm1d(widths[l + 1], eps=BN_EPS, momentum=BN_MOMENTUM))
            layers.append(act.module())
            if dropout:
                layers.append(nn.Dropout(dropout[l]))
        layers.append(nn.Linear(widths[-2], widths[-1]))
    return nn.Sequential(*layers)


class BatchedAffine(torch.autograd.Function):
    """``h W_l + b_l`` for every member (``h`` ``(M, B, n_in)``; ``weight_t`` ``(M, n_out, n_in)``,
    the stored layout; ``bias`` ``(M, 1, n_out)``), with a backward that writes the weight
    gradient directly in the stored layout.

    Through ``baddbmm`` on the transposed view, autograd would compute the gradient of the view,
    ``h^T g`` ``(M, n_in, n_out)``, and copy it transposed into a new ``(M, n_out, n_in)`` tensor
    for the parameter: a strided copy of all weights in every step that took a third of the
    training step on a 2-core CPU. Here ``g^T h`` is one ``bmm`` whose result autograd hands to
    the optimizer as it is.

    With ``grad_out`` (a tensor the shape of ``weight_t``, normally ``weight_t.grad``) the weight
    gradient is written into it instead (``bmm(..., out=grad_out)``, overwriting it) and autograd
    gets none: a new gradient tensor of a wide layer is fresh memory from the operating system in
    every step, and its page faults cost as much as the product itself on a CPU.
    """

    @staticmethod
    def forward(ctx, h: Tensor, weight_t: Tensor, bias: Tensor,
                grad_out: Tensor | None = None) -> Tensor:
        """``h W + b`` for every member.

        Args:
            ctx: autograd's context.
            h: inputs ``(M, B, n_in)``.
            weight_t: weights in the stored layout ``(M, n_out, n_in)``.
            bias: biases ``(M, 1, n_out)``.
            grad_out: where the backward writes the weight gradient; ``None``: a new tensor.

        Returns:
            The pre-activations ``(M, B, n_out)``.
        """
        ctx.save_for_backward(h, weight_t)
        ctx.grad_out = grad_out
        return torch.baddbmm(bias, h, weight_t.transpose(1, 2))

    @staticmethod
    def backward(ctx, grad: Tensor):
        h, weight_t = ctx.saved_tensors
        grad_h = torch.bmm(grad, weight_t) if ctx.needs_input_grad[0] else None
        grad_w = None
        if ctx.needs_input_grad[1]:
            if ctx.grad_out is None:
                grad_w = torch.bmm(grad.transpose(1, 2), h)
            else:
                torch.bmm(grad.transpose(1, 2), h, out=ctx.grad_out)
        grad_b = grad.sum(dim=1, keepdim=True) if ctx.needs_input_grad[2] else None
        return grad_h, grad_w, grad_b, None


class EnsembleMLP(nn.Module):
    """``M`` MLPs with stacked parameters.

    Parameters: ``weight_t[l]`` ``(M, n_{l+1}, n_l)`` (read them as ``weights[l]``,
    ``(M, n_l, n_{l+1})`` views), ``biases[l]`` ``(M, 1, n_{l+1})``; with
    batch norm, ``bn_weight[l]``/``bn_bias[l]`` ``(M, 1, n)`` and buffers ``running_mean_l``,
    ``running_var_l`` for each hidden layer ``l``.
    """

    def __init__(self, widths: Sequence[int], activation: str, n_members: int, *,
                 dropout: Sequence[float] = (), batch_norm: bool = False):
        super().__init__()
        self._sigma = get_activation(activation).fn
        positive_int(n_members, "n_members")
        self.widths = tuple(int(w) for w in widths)
        self.activation = activation
        self.n_members = n_members
        self.dropout = tuple(float(p) for p in dropout)
        self.batch_norm = bool(batch_norm)
        # Set by training: per layer the tensor the backward writes the weight gradient into
        # (see BatchedAffine); None: autograd stores a new gradient tensor, as usual.
        self.weight_grad_out: list[Tensor] | None = None
        n_layers = len(self.widths) - 1
        M = n_members
        # Stored like nn.Linear, (M, out, in): both the forward product and the weight
        # gradient then run through the faster bmm layouts; ``weights`` gives (M, in, out) views.
        self.weight_t = nn.ParameterList(
            [nn.Parameter(torch.empty(M, self.widths[l + 1], self.widths[l]))
             for l in range(n_layers)])
        self.biases = nn.ParameterList(
            [nn.Parameter(torch.zeros(M, 1, self.widths[l + 1])) for l in range(n_layers)])
        if self.batch_norm:
            self.bn_weight = nn.ParameterList(
                [nn.Parameter(torch.ones(M, 1, n)) for n in self.hidden_widths])
            self.bn_bias = nn.ParameterList(
                [nn.Parameter(torch.zeros(M, 1, n)) for n in self.hidden_widths])
            for l, n in enumerate(self.hidden_widths):
                self.register_buffer(f"running_mean_{l}", torch.zeros(M, 1, n))
                self.register_buffer(f"running_var_{l}", torch.ones(M, 1, n))

    # ----------------------------------------------------------------------------- structure
    @property
    def weights(self) -> list[Tensor]:
        """Per layer the weights ``W_l`` as ``(M, n_l, n_{l+1})`` views (``t W_l`` in Eq. 1)."""
        return [w.transpose(1, 2) for w in self.weight_t]

    @property
    def hidden_widths(self) -> tuple[int, ...]:
        return self.widths[1:-1]

    @property
    def n_hidden(self) -> int:
        return len(self.widths) - 2

    @classmethod
    def from_config(cls, config: TrainConfig, seeds: Sequence[int]) -> EnsembleMLP:
        """The untrained ensemble whose member ``i`` is the reference MLP with ``seeds[i]``."""
        arch = config.architecture
        mlps = [build_reference_mlp(arch.widths, config.activation, s, dropout=config.dropout,
                                    batch_norm=config.batch_norm) for s in seeds]
        return cls.from_members(mlps, config.activation, dropout=config.dropout,
                                batch_norm=config.batch_norm)

    @classmethod
    def from_members(cls, mlps: Sequence[nn.Sequential], activation: str, *,
                     dropout: Sequence[float] = (), batch_norm: bool = False) -> EnsembleMLP:
        """Stack ordinary MLPs (as built by :func:`build_reference_mlp`) into one ensemble."""
        linears = [[m for m in mlp if isinstance(m, nn.Linear)] for mlp in mlps]
        widths = [linears[0][0].in_features] + [lin.out_features for lin in linears[0]]
        ens = cls(widths, activation, len(mlps), dropout=dropout, batch_norm=batch_norm)
        with torch.no_grad():
            for l in range(len(widths) - 1):
                ens.weight_t[l].copy_(torch.stack([lins[l].weight for lins in linears]))
                ens.biases[l].copy_(torch.stack([lins[l].bias[None] for lins in linears]))
            if batch_norm:
                bns = [[m for m in mlp if isinstance(m, nn.BatchNorm1d)] for mlp in mlps]
                for l in range(ens.n_hidden):
                    ens.bn_weight[l].copy_(torch.stack([b[l].weight[None] for b in bns]))
                    ens.bn_bias[l].copy_(torch.stack([b[l].bias[None] for b in bns]))
                    ens.running_mean(l).copy_(torch.stack([b[l].running_mean[None] for b in bns]))
                    ens.running_var(l).copy_(torch.stack([b[l].running_var[None] for b in bns]))
        return ens

    def member(self, i: int) -> nn.Sequential:
        """Member ``i`` as an ordinary ``torch.nn`` MLP (in eval mode, on the CPU)."""
        if not 0 <= i < self.n_members:
            raise IndexError(f"member index {i} out of range 0..{self.n_members - 1}")
        mlp = build_reference_mlp(self.widths, self.activation, 1, dropout=self.dropout,
                                  batch_norm=self.batch_norm).to(self.weight_t[0].dtype)
        linears = [m for m in mlp if isinstance(m, nn.Linear)]
        bns = [m for m in mlp if isinstance(m, nn.BatchNorm1d)]
        with torch.no_grad():
            for l, lin in enumerate(linears):
                lin.weight.copy_(self.weight_t[l][i].cpu())
                lin.bias.copy_(self.biases[l][i, 0].cpu())
            for l, bn in enumerate(bns):
                bn.weight.copy_(self.bn_weight[l][i, 0].cpu())
                bn.bias.copy_(self.bn_bias[l][i, 0].cpu())
                bn.running_mean.copy_(self.running_mean(l)[i, 0].cpu())
                bn.running_var.copy_(self.running_var(l)[i, 0].cpu())
        return mlp.eval()

    def running_mean(self, l: int) -> Tensor:
        return getattr(self, f"running_mean_{l}")

    def running_var(self, l: int) -> Tensor:
        return getattr(self, f"running_var_{l}")

    # ------------------------------------------------------------------------------- forward
    def affine(self, h: Tensor, l: int) -> Tensor:
        """Pre-activation ``h W_l + b_l`` of layer ``l+1``; ``h`` is ``(M, B, n)`` or shared
        ``(B, n)``."""
        if h.dim() == 2:
            return torch.matmul(h, self.weights[l]) + self.biases[l]
        out = None if self.weight_grad_out is None else self.weight_grad_out[l]
        return BatchedAffine.apply(h, self.weight_t[l], self.biases[l], out)

    def normalize(self, z: Tensor, l: int) -> Tensor:
        """Batch norm of hidden layer ``l`` (batch statistics in training, running ones in eval)."""
        if not self.batch_norm:
            return z
        if self.training:
            mean = z.mean(dim=1, keepdim=True)
            var = z.var(dim=1, unbiased=False, keepdim=True)
            with torch.no_grad():
                n = z.shape[1]
                self.running_mean(l).mul_(1 - BN_MOMENTUM).add_(mean, alpha=BN_MOMENTUM)
                self.running_var(l).mul_(1 - BN_MOMENTUM).add_(
                    var * (n / max(n - 1, 1)), alpha=BN_MOMENTUM)
        else:
            mean, var = self.running_mean(l), self.running_var(l)
        return (z - mean) * torch.rsqrt(var + BN_EPS) * self.bn_weight[l] + self.bn_bias[l]

    def hidden_output(self, z: Tensor, l: int) -> Tensor:
        """Neuron outputs ``t^(l+1)`` of hidden layer ``l`` from its pre-activation ``z``."""
        return self._sigma(self.normalize(z, l))

    def forward(self, x: Tensor, dropout_masks: Sequence[Tensor] | None = None) -> Tensor:
        """Logits ``(M, B, C)``. ``x``: ``(M, B, d)`` (one batch per member) or shared ``(B, d)``.

        ``dropout_masks[l]`` ``(M, B, n_l)`` multiplies hidden layer ``l`` (already scaled by
        ``1/(1-p)``); pass them in training when the configuration uses Dropout.
        """
        h = x
        for l in range(self.n_hidden):
            h = self.hidden_output(self.affine(h, l), l)
            if dropout_masks is not None:
                h = h * dropout_masks[l]
        return self.affine(h, self.n_hidden)

    def layer_output(self, x: Tensor, layer: int) -> Tensor:
        """Outputs ``t^(layer+1)`` ``(M, B, n)`` of hidden layer ``layer`` (0-based) for inputs
        ``x``, without Dropout; ``layer = -1`` gives ``x`` back."""
        h = x
        for l in range(layer + 1):
            h = self.hidden_output(self.affine(h, l), l)
        return h

    def logits_from(self, t: Tensor, layer: int) -> Tensor:
        """Logits ``(M, B, C)`` from the outputs ``t`` of hidden layer ``layer`` (0-based),
        without Dropout: the rest of :meth:`forward` above that layer."""
        h = t
        for l in range(layer + 1, self.n_hidden):
            h = self.hidden_output(self.affine(h, l), l)
        return self.affine(h, self.n_hidden)

    @torch.no_grad()
    def hidden_activations(self, x: Tensor, chunk: int = 4096) -> list[Tensor]:
        """Eval-mode outputs of every hidden layer for shared inputs ``x`` ``(N, d)``.

        Returns one ``(M, N, n_l)`` tensor per hidden layer (computed in sample chunks).
        """
        outs: list[list[Tensor]] = [[] for _ in range(self.n_hidden)]
        for start in range(0, x.shape[0], chunk):
            h = x[start:start + chunk]
            for l in range(self.n_hidden):
                h = self.hidden_output(self.affine(h, l), l)
                outs[l].append(h)
        return [torch.cat(o, dim=1) for o in outs]

    @torch.no_grad()
    def accuracy(self, x: Tensor, y: Tensor, chunk: int = 4096) -> Tensor:
        """Eval-mode accuracy per member, ``(M,)``, on shared inputs."""
        was_training = self.training
        self.eval()
        correct = torch.zeros(self.n_members, device=x.device)
        for start in range(0, x.shape[0], chunk):
            logits = self(x[start:start + chunk])
            correct += (logits.argmax(-1) == y[start:start + chunk]).sum(-1)
        self.train(was_training)
        return correct / max(x.shape[0], 1)


def ensemble_loss(logits: Tensor, y: Tensor, reduction: str = "sum_of_means") -> Tensor:
    """Sum over members of each member's mean cross-entropy (member gradients stay separate).

    ``reduction="none"`` returns the per-sample losses ``(M, B)`` instead.
    """
    M, B, C = logits.shape
    per_sample = F.cross_entropy(logits.reshape(M * B, C), y.reshape(M * B), reduction="none")
    per_sample = per_sample.view(M, B)
    return per_sample if reduction == "none" else per_sample.mean(dim=1).sum()


def param_count(widths: Sequence[int]) -> int:
    """Weights and biases of one MLP with the given layer widths."""
    return sum(a * b + b for a, b in zip(widths[:-1], widths[1:]))


def forward_flops_per_sample(widths: Sequence[int]) -> int:
    """Floating-point operations of one forward pass of the affine layers, per sample: 2 per
    weight (a multiply and an add); biases and activations left out."""
    return sum(2 * a * b for a, b in zip(widths[:-1], widths[1:]))


def train_flops_per_sample(widths: Sequence[int]) -> float:
    """Model FLOPs of one training sample: 2 (forward) + 4 (backward) per weight, except that the
    first layer needs no gradient with respect to the input (2 + 2)."""
    macs = [a * b for a, b in zip(widths[:-1], widths[1:])]
    return 4.0 * macs[0] + 6.0 * sum(macs[1:])
