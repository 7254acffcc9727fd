# expect: rejected
# Returns at once and leaves a thread to do the work later, where the timer
# does not look.
import threading
import time

import torch.nn as nn
import torch.nn.functional as F


class ModelNew(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, x):
        out = x.new_empty(x.shape)

        def later():
            time.sleep(0.05)
            out.copy_(F.gelu(x))

        threading.Thread(target=later, daemon=True).start()
        return out
