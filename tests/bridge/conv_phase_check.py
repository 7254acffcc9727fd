"""tests/bridge/conv_phase_check.py HEADER PROBLEM.py... - the index
arithmetic of conv_igemm's phase split (PHASES=1), checked on the CPU.

HEADER is templates/common/conv_phase.cuh; it is compiled as it stands with
the host's C++ compiler into a small table printer, so that the arithmetic
checked here is the template's own, not a copy. For every transposed
convolution among the PROBLEM files (the module's stride, padding, dilation,
output padding and groups; small inputs of a few sizes, one so small that
some phases have no outputs), y is rebuilt phase by phase the way the kernel
computes it: phase r's outputs o0 + j*S, its taps k0 + (ntap - 1 - q)*kstep
(reversed, as the weight re-layout lays them out), input j + q*dstep - pad
(zero outside), bias alone where a phase has no taps. Each output must be
written by exactly one phase, and the result must match the module's own
output in float64. Prints one line per problem; exits 1 on any mismatch,
2 when it cannot run.
"""
import importlib.util
import itertools
import os
import subprocess
import sys
import tempfile

import torch
import torch.nn as nn

DRIVER = r"""
#include <stdio.h>
#include "%s"
int main(void)
{
	int r, S, dil, pad, ksz, osz;
	while (scanf("%%d %%d %%d %%d %%d %%d", &r, &S, &dil, &pad, &ksz, &osz) == 6) {
		conv_phase_axis p = conv_phase_axis_of(r, S, dil, pad, ksz, osz);
		printf("%%d %%d %%d %%d %%d %%d %%d\n", p.k0, p.ntap, p.kstep, p.dstep, p.o0, p.nout, p.pad);
	}
	return 0;
}
"""
FIELDS = ("k0", "ntap", "kstep", "dstep", "o0", "nout", "pad")


def build_driver(header, tmp):
    src = os.path.join(tmp, "phase_table.cpp")
    exe = os.path.join(tmp, "phase_table")
    with open(src, "w") as f:
        f.write(DRIVER % os.path.abspath(header))
    cxx = os.environ.get("CXX", "c++")
    subprocess.run([cxx, "-std=c++11", "-Wall", "-Werror", "-o", exe, src], check=True)
    return exe


def phase_tables(exe, queries):
    """queries: (r, S, dil, pad, ksz, osz) tuples -> dicts of the header's fields."""
    text = "".join("%d %d %d %d %d %d\n" % q for q in queries)
    out = subprocess.run([exe], input=text, capture_output=True, text=True, check=True).stdout
    rows = [dict(zip(FIELDS, map(int, line.split()))) for line in out.splitlines()]
    if len(rows) != len(queries):
        raise RuntimeError("table printer answered %d of %d queries" % (len(rows), len(queries)))
    return rows


def load_module(path):
    spec = importlib.util.spec_from_file_location("problem", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    model = mod.Model(*mod.get_init_inputs())
    for m in model.modules():
        if isinstance(m, (nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d)):
            return m
    return None


def phased(exe, conv, x):
    """y of conv(x) rebuilt phase by phase, how often each output was
    written, and how many phases had no taps (bias alone)."""
    dims = x.dim() - 2
    w, b = conv.weight.detach(), conv.bias
    G = conv.groups
    cin, coutg = w.shape[0], w.shape[1]
    cg = cin // G
    S, P, D = conv.stride, conv.padding, conv.dilation
    ksz = w.shape[2:]
    isz = x.shape[2:]
    osz = [(isz[a] - 1) * S[a] - 2 * P[a] + D[a] * (ksz[a] - 1) + conv.output_padding[a] + 1 for a in range(dims)]
    n = x.shape[0]
    y = torch.zeros((n, coutg * G) + tuple(osz), dtype=x.dtype)
    hits = torch.zeros(tuple(osz), dtype=torch.int64)
    notap = 0
    queries = [(r, S[a], D[a], P[a], ksz[a], osz[a]) for a in range(dims) for r in range(S[a])]
    rows = phase_tables(exe, queries)
    table, i = [], 0
    for a in range(dims):
        table.append(rows[i:i + S[a]])
        i += S[a]
    for phase in itertools.product(*[range(S[a]) for a in range(dims)]):
        ax = [table[a][phase[a]] for a in range(dims)]
        if any(p["nout"] == 0 for p in ax):
            continue
        for a, p in enumerate(ax):
            if not 0 <= p["o0"] < S[a] or p["o0"] + (p["nout"] - 1) * S[a] >= osz[a]:
                raise ValueError("phase %s axis %d: outputs %d + j*%d, j < %d, leave [0, %d)" %
                                 (phase, a, p["o0"], S[a], p["nout"], osz[a]))
        nout = [p["nout"] for p in ax]
        yp = torch.zeros((n, coutg * G) + tuple(nout), dtype=x.dtype)
        if b is not None:
            yp += b.detach().view((1, -1) + (1,) * dims)
        notap += any(p["ntap"] == 0 for p in ax)
        if all(p["ntap"] > 0 for p in ax):
            for q in itertools.product(*[range(p["ntap"]) for p in ax]):
                k = tuple(p["k0"] + (p["ntap"] - 1 - qa) * p["kstep"] for p, qa in zip(ax, q))
                # input index of phase-local output j for this tap, zero outside
                xs = x
                mask = torch.ones(tuple(nout), dtype=x.dtype)
                for a, (p, qa) in enumerate(zip(ax, q)):
                    idx = torch.arange(p["nout"]) + qa * p["dstep"] - p["pad"]
                    inside = (idx >= 0) & (idx < isz[a])
                    xs = xs.index_select(2 + a, idx.clamp(0, isz[a] - 1))
                    shape = [1] * dims
                    shape[a] = -1
                    mask = mask * inside.to(x.dtype).view(shape)
                xs = xs * mask
                for g in range(G):
                    wk = w[(slice(g * cg, (g + 1) * cg), slice(None)) + k]  # (cg, coutg)
                    yp[:, g * coutg:(g + 1) * coutg] += torch.einsum(
                        "nc...,co->no...", xs[:, g * cg:(g + 1) * cg], wk)
        sl = tuple(slice(p["o0"], p["o0"] + (p["nout"] - 1) * S[a] + 1, S[a]) for a, p in enumerate(ax))
        y[(slice(None), slice(None)) + sl] = yp
        hits[sl] += 1
    return y, hits, notap


def sizes(conv, dims):
    """Input extents to try: small ones, and one of 1 so that (where the
    output is then shorter than the stride) some phases have no outputs."""
    out = []
    for base in ((5, 4, 7), (3, 6, 2), (1, 1, 1)):
        s = tuple(base[:dims]) if dims > 1 else (base[0] + 6,)
        ok = all((s[a] - 1) * conv.stride[a] - 2 * conv.padding[a] + conv.dilation[a] * (conv.kernel_size[a] - 1) +
                 conv.output_padding[a] + 1 >= 1 for a in range(dims))
        if ok:
            out.append(s)
    return out


def main(argv):
    if len(argv) < 3:
        print(__doc__.strip().splitlines()[0], file=sys.stderr)
        return 2
    torch.manual_seed(0)
    bad = 0
    with tempfile.TemporaryDirectory() as tmp:
        exe = build_driver(argv[1], tmp)
        for path in argv[2:]:
            name = os.path.basename(path)[:-3]
            conv = load_module(path)
            if conv is None:
                print("skip %s: no transposed convolution" % name)
                continue
            conv = conv.double()
            dims = conv.weight.dim() - 2
            tried, worst, empty, notap, bad0 = 0, 0.0, 0, 0, bad
            for s in sizes(conv, dims):
                x = torch.randn((2, conv.in_channels) + s, dtype=torch.float64)
                tried += 1
                with torch.no_grad():
                    want = conv(x)
                    try:
                        got, hits, nt = phased(exe, conv, x)
                    except ValueError as e:
                        print("not ok %s %s: %s" % (name, s, e))
                        bad += 1
                        continue
                if hits.min().item() != 1 or hits.max().item() != 1:
                    print("not ok %s %s: outputs written %d..%d times, not once" %
                          (name, s, hits.min().item(), hits.max().item()))
                    bad += 1
                    continue
                if got.shape != want.shape:
                    print("not ok %s %s: shape %s, torch %s" % (name, s, tuple(got.shape), tuple(want.shape)))
                    bad += 1
                    continue
                err = (got - want).abs().max().item() / (1.0 + want.abs().max().item())
                worst = max(worst, err)
                if not err < 1e-10:
                    print("not ok %s %s: max error %.3g" % (name, s, err))
                    bad += 1
                notap += nt
                empty += sum(1 for a in range(dims) if want.shape[2 + a] < conv.stride[a])
            print("%s %s: stride %s dilation %s kernel %s, %d input sizes, max error %.1e%s%s" %
                  ("ok" if bad == bad0 else "not ok", name, tuple(conv.stride), tuple(conv.dilation), tuple(conv.kernel_size), tried, worst,
                   ", phases with no outputs" if empty else "", ", phases with no taps" if notap else ""))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
