"""Template test problem: KL divergence with batchmean of (33, 517) fp32
distributions, the log of the predictions taken in the graph (as level 1's
98_KLDivLoss)."""
import torch
import torch.nn as nn
import torch.nn.functional as F

KBREED_OP = "kl_div"
KBREED_NOTES = "odd-shaped loss for the loss_reduce template tests"


class Model(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, predictions, targets):
        return F.kl_div(torch.log(predictions), targets, reduction="batchmean")


def get_inputs():
    return [torch.randn(33, 517).softmax(dim=-1), torch.rand(33, 517).softmax(dim=-1)]


def get_init_inputs():
    return []
