// conv_axes.cuh - the 2-D convolution templates' per-axis geometry, from
// the bare names where only those are given (recognition writes both):
//   CONV_KERNEL_W (CONV_KERNEL_H), CONV_STRIDE_H/_W (CONV_STRIDE; 1),
//   CONV_PAD_H/_W (CONV_PAD; 0), CONV_DIL_H/_W (CONV_DIL; 1), CONV_BIAS (0).
// Included after the template's own stand-alone defaults (CONV_KERNEL_H at
// least). Not a template: kbreed inlines this file in place of the marker
// line that names it (src/template.h), so that a candidate stays one file.
#ifndef KBREED_COMMON_CONV_AXES_CUH
#define KBREED_COMMON_CONV_AXES_CUH

#ifndef CONV_KERNEL_W
#define CONV_KERNEL_W CONV_KERNEL_H
#endif
/* Per-axis values, from the bare name where only that is given. */
#ifndef CONV_STRIDE
#define CONV_STRIDE 1
#endif
#ifndef CONV_STRIDE_H
#define CONV_STRIDE_H CONV_STRIDE
#endif
#ifndef CONV_STRIDE_W
#define CONV_STRIDE_W CONV_STRIDE
#endif
#ifndef CONV_PAD
#define CONV_PAD 0
#endif
#ifndef CONV_PAD_H
#define CONV_PAD_H CONV_PAD
#endif
#ifndef CONV_PAD_W
#define CONV_PAD_W CONV_PAD
#endif
#ifndef CONV_DIL
#define CONV_DIL 1
#endif
#ifndef CONV_DIL_H
#define CONV_DIL_H CONV_DIL
#endif
#ifndef CONV_DIL_W
#define CONV_DIL_W CONV_DIL
#endif
#ifndef CONV_BIAS
#define CONV_BIAS 0
#endif

#endif
