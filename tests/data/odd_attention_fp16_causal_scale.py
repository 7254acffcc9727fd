"""Template test problem: causal SDPA with a scale of its own (0.3, not 1/sqrt(128)) in
fp16 on (2, 2, 600, 128) queries against 777 keys: fewer queries than keys (the keys
past the last query are never seen), lengths a multiple of nothing."""
import torch
import torch.nn as nn
import torch.nn.functional as F

KBREED_FAMILY = "attention"
KBREED_OP = "attention_fp16"
KBREED_NOTES = "odd-shaped causal attention with scale 0.3 (D = 128, Sq < Sk) for the template tests"
# What recognition writes for is_causal=True, scale=0.3 (src/recognize.c).
KBREED_DEFINES = {"ATTN_CAUSAL": 1, "ATTN_SCALE": 0.3}

batch_size = 2
num_heads = 2
seq_q = 600
seq_k = 777
head_dim = 128
scale = 0.3

# The products as if not causal: an upper bound.
KBREED_FLOPS = 4 * batch_size * num_heads * seq_q * seq_k * head_dim
# Every stressed kind but scale_up, as problems/attention_fp16.py says why.
KBREED_STRESS = ["scale_down", "shift", "ties", "clustered_max"]


class Model(nn.Module):
    """softmax(0.3 q k^T + causal mask) v: query i sees keys j <= i."""

    def __init__(self):
        super().__init__()

    def forward(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        if hasattr(F, "scaled_dot_product_attention"):
            return F.scaled_dot_product_attention(q, k, v, is_causal=True, scale=scale)
        # torch < 2.1 has no SDPA with a scale: the same mathematics, written out.
        scores = torch.matmul(q, k.transpose(-2, -1)) * scale
        keep = torch.ones(q.size(-2), k.size(-2), dtype=torch.bool, device=q.device).tril()
        scores = scores.masked_fill(~keep, float("-inf"))
        return torch.matmul(torch.softmax(scores, dim=-1), v)


def get_inputs():
    q = torch.randn(batch_size, num_heads, seq_q, head_dim).half()
    k = torch.randn(batch_size, num_heads, seq_k, head_dim).half()
    v = torch.randn(batch_size, num_heads, seq_k, head_dim).half()
    return [q, k, v]


def get_init_inputs():
    return []
