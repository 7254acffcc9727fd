"""Template test problem: causal SDPA in fp16 on (2, 3, 333, 64) queries against 250 keys:
more queries than keys (rows past the last key see every key), lengths a multiple of
nothing, so the causal edge crosses partial blocks."""
import torch
import torch.nn as nn
import torch.nn.functional as F

KBREED_FAMILY = "attention"
KBREED_OP = "attention_fp16"
KBREED_NOTES = "odd-shaped causal attention (D = 64, Sq > Sk) for the template tests"
# What recognition writes for is_causal=True (src/recognize.c).
KBREED_DEFINES = {"ATTN_CAUSAL": 1}

batch_size = 2
num_heads = 3
seq_q = 333
seq_k = 250
head_dim = 64

# The products as if not causal: an upper bound (the mask hides about a third).
KBREED_FLOPS = 4 * batch_size * num_heads * seq_q * seq_k * head_dim
# Every stressed kind but scale_up, as problems/attention_fp16.py says why.
KBREED_STRESS = ["scale_down", "shift", "ties", "clustered_max"]


class Model(nn.Module):
    """softmax(q k^T / sqrt(d) + causal mask) v: query i sees keys j <= i."""

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
    q = torch.randn(batch_size, num_heads, seq_q, head_dim).half()
    k = torch.randn(batch_size, num_heads, seq_k, head_dim).half()
    v = torch.randn(batch_size, num_heads, seq_k, head_dim).half()
    return [q, k, v]


def get_init_inputs():
    return []
