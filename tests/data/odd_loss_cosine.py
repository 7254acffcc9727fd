"""Template test problem: cosine-similarity loss mean(1 - cos(x, y)) along the
last dim of (41, 97) fp32 tensors (rows of 97: the one-element path)."""
import torch
import torch.nn as nn
import torch.nn.functional as F

KBREED_OP = "cosine_similarity_loss"
KBREED_NOTES = "odd-shaped loss for the loss_reduce template tests"


class Model(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, predictions, targets):
        return torch.mean(1 - F.cosine_similarity(predictions, targets, dim=1))


def get_inputs():
    return [torch.randn(41, 97), torch.randn(41, 97)]


def get_init_inputs():
    return []
