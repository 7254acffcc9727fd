"""Template test problem: causal SDPA in bf16 on (2, 2, 517, 128): as many queries as keys
(the usual causal shape), a length that is a multiple of nothing, so the diagonal crosses
partial blocks."""
import torch
import torch.nn as nn
import torch.nn.functional as F

KBREED_FAMILY = "attention"
KBREED_OP = "attention_bf16"
KBREED_NOTES = "odd-shaped causal attention in bf16 (D = 128, Sq = Sk) for the template tests"
batch_size = 2
num_heads = 2
seq = 517
head_dim = 128

# What recognition writes for bf16 with is_causal=True (src/recognize.c).
KBREED_DEFINES = {"ATTN_BF16": 1, "ATTN_CAUSAL": 1, "ATTN_HEAD_DIM": head_dim}

# The products as if not causal: an upper bound (the mask hides about half).
KBREED_FLOPS = 4 * batch_size * num_heads * seq * seq * head_dim
# Every stressed kind but scale_up, as problems/attention_fp16.py says why.
KBREED_STRESS = ["scale_down", "shift", "ties", "clustered_max"]


class Model(nn.Module):
    """softmax(q k^T / sqrt(d) + causal mask) v in bf16: query i sees keys j <= i."""

    def __init__(self):
        super().__init__()

    def forward(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        if hasattr(F, "scaled_dot_product_attention"):
            return F.scaled_dot_product_attention(q, k, v, is_causal=True)
        # torch < 2.0 has no SDPA: the same mathematics, written out.
        scores = torch.matmul(q, k.transpose(-2, -1)) / q.size(-1) ** 0.5
        keep = torch.ones(q.size(-2), k.size(-2), dtype=torch.bool, device=q.device).tril()
        scores = scores.masked_fill(~keep, float("-inf"))
        return torch.matmul(torch.softmax(scores, dim=-1), v)


def get_inputs():
    q = torch.randn(batch_size, num_heads, seq, head_dim).bfloat16()
    k = torch.randn(batch_size, num_heads, seq, head_dim).bfloat16()
    v = torch.randn(batch_size, num_heads, seq, head_dim).bfloat16()
    return [q, k, v]


def get_init_inputs():
    return []
