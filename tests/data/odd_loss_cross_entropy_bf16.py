"""Template test problem: cross-entropy, summed, of (130, 10) bf16 logits
(level 1's ten classes: short rows, a warp per row, the one-element path)."""
import torch
import torch.nn as nn
import torch.nn.functional as F

KBREED_OP = "cross_entropy"
KBREED_NOTES = "odd-shaped loss for the loss_reduce template tests"


class Model(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, predictions, targets):
        return F.cross_entropy(predictions, targets, reduction="sum")


def get_inputs():
    return [torch.randn(130, 10).to(torch.bfloat16), torch.randint(0, 10, (130,))]


def get_init_inputs():
    return []
