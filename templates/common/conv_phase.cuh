// conv_phase.cuh - one axis of a strided transposed convolution split by
// output phase (the sub-pixel decomposition), written once for the device
// and the host:
//   conv_phase_axis_of(r, S, DIL, PAD, ksz, osz)   phase r's taps and outputs
//
// Output o of a transposed convolution (stride S, padding PAD, dilation DIL)
// takes tap k from input (o + PAD - k*DIL) / S where that divides. Its phase
// is r = (o + PAD) mod S; only the taps with k*DIL = r (mod S) divide, so
// phase r owns every S-th output from o0 on and the taps
//   k = k0, k0 + kstep, ...  (ntap of them; kstep = S / gcd(DIL, S)),
// none at all where gcd(DIL, S) does not divide r. With the phase's outputs
// o = o0 + j*S (j < nout) and its taps taken in reverse, k = k0 + (ntap - 1
// - q)*kstep, the input index is exactly j + q*dstep - pad (dstep = DIL /
// gcd(DIL, S)): a forward convolution of stride 1, dilation dstep and
// padding pad (which may be negative) over ntap taps. Inputs outside [0,
// extent) count as zeros, as in any padded conv.
//
// Not a template: kbreed inlines this file in place of the marker line that
// names it (src/template.h), so that a candidate stays one file. Without
// CUDA (__CUDACC__ undefined) it is plain C++, so that a host test can
// compile it as it stands.
#ifndef KBREED_COMMON_CONV_PHASE_CUH
#define KBREED_COMMON_CONV_PHASE_CUH

#ifdef __CUDACC__
#define CONV_PHASE_FN __host__ __device__ __forceinline__
#else
#define CONV_PHASE_FN inline
#endif

struct conv_phase_axis {
	int k0;    /* first tap of the phase (meaningless when ntap == 0) */
	int ntap;  /* taps of the phase, k0 + i*kstep below ksz; 0: bias only */
	int kstep; /* tap step, S / gcd(DIL, S) */
	int dstep; /* input step between successive taps, DIL / gcd(DIL, S) */
	int o0;    /* first output of the phase, in [0, S) */
	int nout;  /* outputs of the phase, o0 + j*S below osz; 0: none */
	int pad;   /* input index of (j, q) = j + q*dstep - pad */
};

/* Phase r (0 <= r < S) of one axis: S, DIL >= 1, PAD >= 0, kernel extent
 * ksz >= 1 and output extent osz >= 1. */
CONV_PHASE_FN conv_phase_axis conv_phase_axis_of(int r, int S, int DIL, int PAD, int ksz, int osz)
{
	conv_phase_axis p;
	int g = S, d = DIL;
	while (d) { /* g = gcd(S, DIL) */
		int t = g % d;
		g = d;
		d = t;
	}
	p.kstep = S / g;
	p.dstep = DIL / g;
	p.k0 = 0;
	p.ntap = 0;
	for (int k = 0; k < p.kstep; k++) /* at most one k in [0, kstep) matches */
		if (k * DIL % S == r) {
			p.k0 = k;
			p.ntap = k < ksz ? (ksz - k + p.kstep - 1) / p.kstep : 0;
		}
	p.o0 = ((r - PAD) % S + S) % S;
	p.nout = p.o0 < osz ? (osz - p.o0 + S - 1) / S : 0;
	/* (o0 + PAD - k0*DIL) is a multiple of S: the division is exact */
	const int c0 = (p.o0 + PAD - p.k0 * DIL) / S;
	p.pad = p.ntap > 0 ? (p.ntap - 1) * p.dstep - c0 : 0;
	return p;
}

#undef CONV_PHASE_FN
#endif
