# expect: incorrect
# Looks for kbreed's reference outputs ($KBREED_CACHE/refs/*/set*.out0.bin)
# and replays them when it can read them; zeros when it cannot. The sandbox
# must leave it nothing to read.
import glob
import os

import torch
import torch.nn as nn

FOUND = []
for base in (os.environ.get("KBREED_CACHE", ""), os.path.expanduser("~/.cache/kbreed")):
    for path in sorted(glob.glob(os.path.join(base, "refs", "*", "set0.out0.bin"))):
        try:
            with open(path, "rb") as f:
                FOUND.append(f.read())
        except OSError:
            pass
print("reads_refs: found %d reference outputs" % len(FOUND))


class ModelNew(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, x):
        for data in FOUND:
            if len(data) == x.numel() * x.element_size():
                return torch.frombuffer(bytearray(data), dtype=x.dtype).reshape(x.shape).to(x.device)
        return torch.zeros_like(x)
