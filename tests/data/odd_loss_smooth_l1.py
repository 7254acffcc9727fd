"""Template test problem: smooth L1 loss, beta 0.5, summed, of (29, 77, 13)
fp32 tensors (both branches of the term are taken)."""
import torch
import torch.nn as nn
import torch.nn.functional as F

KBREED_OP = "huber_loss"
KBREED_NOTES = "odd-shaped loss for the loss_reduce template tests"


class Model(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, predictions, targets):
        return F.smooth_l1_loss(predictions, targets, reduction="sum", beta=0.5)


def get_inputs():
    return [torch.randn(29, 77, 13), torch.randn(29, 77, 13)]


def get_init_inputs():
    return []
