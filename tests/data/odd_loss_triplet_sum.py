"""Template test problem: triplet margin loss, margin 2, eps 1e-4, summed, of
(19, 3008) fp32 tensors (long rows of whole words: the block per row)."""
import torch
import torch.nn as nn
import torch.nn.functional as F

KBREED_OP = "triplet_margin_loss"
KBREED_NOTES = "odd-shaped loss for the loss_reduce template tests"


class Model(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, anchor, positive, negative):
        return F.triplet_margin_loss(anchor, positive, negative, margin=2.0, eps=1e-4, reduction="sum")


def get_inputs():
    return [torch.randn(19, 3008), torch.randn(19, 3008), torch.randn(19, 3008)]


def get_init_inputs():
    return []
