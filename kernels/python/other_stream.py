# expect: rejected
# Does the work on a stream of its own and returns without waiting: the
# events on PyTorch's current stream see nothing, the worker's wait for the
# whole device after the stream's end event (the tail, judged above the
# Python worker's own floor) and the host clock see it all.
# The GELU is computed REPEAT times, each time into a temporary and copied
# into the output (which ends right), so that the hidden work is far longer
# than the Python between its launch and the worker's wait: on the H200 one
# GELU of tests/data/mid_gelu.py (64 MB) takes about 0.036 ms and ended
# inside that overhead, leaving nothing to see, and the solution was judged
# correct; REPEAT of them (each a GELU and a copy, about 1 ms in all) keep
# the device busy well past the stream's end.
import torch
import torch.nn as nn
import torch.nn.functional as F

REPEAT = 16


class ModelNew(nn.Module):
    def __init__(self):
        super().__init__()
        self.side = torch.cuda.Stream()

    def forward(self, x):
        out = torch.empty_like(x)
        with torch.cuda.stream(self.side):
            for _ in range(REPEAT):
                out.copy_(F.gelu(x))
        return out
