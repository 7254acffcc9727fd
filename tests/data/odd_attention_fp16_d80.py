"""Template test problem: non-causal SDPA in fp16 with a head dim no kernel is instantiated
for, D = 80 (flash_mma runs it as 96, flash_wgmma as 128, the columns past 80 zero), on
(2, 3, 301, 80) queries against 333 keys."""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

KBREED_FAMILY = "attention"
KBREED_OP = "attention_fp16"
KBREED_NOTES = "odd-shaped attention (D = 80, padded by the kernels) for the template tests"

batch_size = 2
num_heads = 3
seq_q = 301
seq_k = 333
head_dim = 80

KBREED_FLOPS = 4 * batch_size * num_heads * seq_q * seq_k * head_dim
# Every stressed kind but scale_up, as problems/attention_fp16.py says why.
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
    q = torch.randn(batch_size, num_heads, seq_q, head_dim).half()
    k = torch.randn(batch_size, num_heads, seq_k, head_dim).half()
    v = torch.randn(batch_size, num_heads, seq_k, head_dim).half()
    return [q, k, v]


def get_init_inputs():
    return []
