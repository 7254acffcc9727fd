"""Template test problem: KL divergence, summed, of log-probabilities with
log_target=True, (7, 11, 131) fp32 (the input is the log itself)."""
import torch
import torch.nn as nn
import torch.nn.functional as F

KBREED_OP = "kl_div"
KBREED_NOTES = "odd-shaped loss for the loss_reduce template tests"


class Model(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, log_p, log_q):
        return F.kl_div(log_p, log_q, reduction="sum", log_target=True)


def get_inputs():
    return [torch.randn(7, 11, 131).log_softmax(dim=-1), torch.randn(7, 11, 131).log_softmax(dim=-1)]


def get_init_inputs():
    return []
