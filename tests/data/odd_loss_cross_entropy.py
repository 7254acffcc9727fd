"""Template test problem: cross-entropy of (37, 1003) fp32 logits against
int64 classes, mean over the rows whose class is not ignore_index (a few
rows are set to it)."""
import torch
import torch.nn as nn
import torch.nn.functional as F

KBREED_OP = "cross_entropy"
KBREED_NOTES = "odd-shaped loss for the loss_reduce template tests"


class Model(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, predictions, targets):
        return F.cross_entropy(predictions, targets, ignore_index=5)


def get_inputs():
    t = torch.randint(0, 1003, (37,))
    t[::7] = 5
    return [torch.randn(37, 1003), t]


def get_init_inputs():
    return []
