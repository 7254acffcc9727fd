"""Template test problem: non-causal SDPA in fp16 with the suite's head dim, D = 128, on
(2, 2, 1000, 128) queries against 777 keys: query and key lengths differ and neither is
a multiple of any block size."""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

KBREED_FAMILY = "attention"
KBREED_OP = "attention_fp16"
KBREED_NOTES = "odd-shaped attention (D = 128, Sq != Sk) for the template tests"

batch_size = 2
num_heads = 2
seq_q = 1000
seq_k = 777
head_dim = 128

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
