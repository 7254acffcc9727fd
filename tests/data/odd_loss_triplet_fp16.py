"""Template test problem: triplet margin loss, margin 0.3, mean, of (45, 203)
fp16 tensors (rows of 203: the one-element path, a warp per row)."""
import torch
import torch.nn as nn

KBREED_OP = "triplet_margin_loss"
KBREED_NOTES = "odd-shaped loss for the loss_reduce template tests"


class Model(nn.Module):
    def __init__(self, margin):
        super().__init__()
        self.loss_fn = nn.TripletMarginLoss(margin=margin)

    def forward(self, anchor, positive, negative):
        return self.loss_fn(anchor, positive, negative)


def get_inputs():
    return [torch.randn(45, 203, dtype=torch.float16), torch.randn(45, 203, dtype=torch.float16),
            torch.randn(45, 203, dtype=torch.float16)]


def get_init_inputs():
    return [0.3]
