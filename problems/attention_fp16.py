"""Non-causal scaled dot-product attention in fp16 (KernelBench level 1, 97_ScaledDotProductAttention style)."""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

KBREED_FAMILY = "attention"
KBREED_NOTES = "F.scaled_dot_product_attention, not causal, 16 batch x 16 heads x 4096 tokens x 128 dims, fp16"

batch_size = 16
num_heads = 16
seq_len = 4096
head_dim = 128

KBREED_FLOPS = 4 * batch_size * num_heads * seq_len * seq_len * head_dim
# The head dim, as recognition writes it for an attention it recognises: the
# flash templates then compile only the kernels of this head dim.
KBREED_DEFINES = {"ATTN_HEAD_DIM": head_dim}

# Stressed inputs (docs/EVALUATION.md), all but scale_up: q and k times 1e3
# give scores of about 1e6 whose top two in a row lie within fp32's rounding
# of each other in a few of the 2^20 rows, so the attention weights there
# depend on the order of the sums (in the reference as in any kernel), and
# an honest kernel would fail by chance. PyTorch's own output is finite, so
# the bridge cannot tell: the problem says so.
KBREED_STRESS = ["scale_down", "shift", "ties", "clustered_max"]


class Model(nn.Module):
    """softmax(q k^T / sqrt(d)) v."""

    def __init__(self):
        super().__init__()

    def forward(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        if hasattr(F, "scaled_dot_product_attention"):
            return F.scaled_dot_product_attention(q, k, v)
        # torch < 2.0 has no SDPA: the same mathematics, written out.
        scores = torch.matmul(q, k.transpose(-2, -1)) / math.sqrt(q.size(-1))
        return torch.matmul(torch.softmax(scores, dim=-1), v)


def get_inputs():
    q = torch.randn(batch_size, num_heads, seq_len, head_dim).half()
    k = torch.randn(batch_size, num_heads, seq_len, head_dim).half()
    v = torch.randn(batch_size, num_heads, seq_len, head_dim).half()
    return [q, k, v]


def get_init_inputs():
    return []
