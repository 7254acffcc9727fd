// conv_geometry.cuh - a convolution's hyper-parameters per axis (D, H, W),
// for the templates that serve 1-, 2- and 3-D convolutions alike:
//   CONV_DIMS                 1, 2 or 3 (from the axis names where not given)
//   STRIDE_A, PAD_A, DIL_A    per axis A (CONV_STRIDE_A, or the bare
//                             CONV_STRIDE; PAD required, DIL 1 by default)
//   OPAD_A                    the output padding (transposed only; 0)
//   CONV_GROUPS (1), CONV_TRANSPOSED (0) where not given.
// Recognition writes CONV_DIMS and each axis's CONV_STRIDE_A, CONV_PAD_A,
// CONV_DIL_A (CONV_OUT_PAD_A when transposed), with the bare name where the
// axes agree; a file that declares its own KBREED_DEFINES may give the bare
// names only (then it is 2-D unless an axis name says otherwise). Axes the
// problem does not have are 1 wide: STRIDE 1, PAD 0, DIL 1, OPAD 0.
// Not a template: kbreed inlines this file in place of the marker line that
// names it (src/template.h), so that a candidate stays one file.
#ifndef KBREED_COMMON_CONV_GEOMETRY_CUH
#define KBREED_COMMON_CONV_GEOMETRY_CUH

#ifndef CONV_DIMS
#if defined(CONV_STRIDE_D) || defined(CONV_PAD_D)
#define CONV_DIMS 3
#elif defined(CONV_STRIDE_H) || defined(CONV_PAD_H)
#define CONV_DIMS 2
#elif defined(CONV_STRIDE_W) || defined(CONV_PAD_W)
#define CONV_DIMS 1
#else
#define CONV_DIMS 2
#endif
#endif
#ifndef CONV_GROUPS
#define CONV_GROUPS 1
#endif
#ifndef CONV_TRANSPOSED
#define CONV_TRANSPOSED 0
#endif

#if defined(CONV_STRIDE_W)
#define STRIDE_W CONV_STRIDE_W
#elif defined(CONV_STRIDE)
#define STRIDE_W CONV_STRIDE
#else
#error "CONV_STRIDE is not defined (recognition writes it, or the problem file's KBREED_DEFINES)"
#endif
#if CONV_DIMS < 2
#define STRIDE_H 1
#elif defined(CONV_STRIDE_H)
#define STRIDE_H CONV_STRIDE_H
#else
#define STRIDE_H CONV_STRIDE
#endif
#if CONV_DIMS < 3
#define STRIDE_D 1
#elif defined(CONV_STRIDE_D)
#define STRIDE_D CONV_STRIDE_D
#else
#define STRIDE_D CONV_STRIDE
#endif

#if defined(CONV_PAD_W)
#define PAD_W CONV_PAD_W
#elif defined(CONV_PAD)
#define PAD_W CONV_PAD
#else
#error "CONV_PAD is not defined (recognition writes it, or the problem file's KBREED_DEFINES)"
#endif
#if CONV_DIMS < 2
#define PAD_H 0
#elif defined(CONV_PAD_H)
#define PAD_H CONV_PAD_H
#else
#define PAD_H CONV_PAD
#endif
#if CONV_DIMS < 3
#define PAD_D 0
#elif defined(CONV_PAD_D)
#define PAD_D CONV_PAD_D
#else
#define PAD_D CONV_PAD
#endif

#if defined(CONV_DIL_W)
#define DIL_W CONV_DIL_W
#elif defined(CONV_DIL)
#define DIL_W CONV_DIL
#else
#define DIL_W 1
#endif
#if CONV_DIMS < 2
#define DIL_H 1
#elif defined(CONV_DIL_H)
#define DIL_H CONV_DIL_H
#elif defined(CONV_DIL)
#define DIL_H CONV_DIL
#else
#define DIL_H 1
#endif
#if CONV_DIMS < 3
#define DIL_D 1
#elif defined(CONV_DIL_D)
#define DIL_D CONV_DIL_D
#elif defined(CONV_DIL)
#define DIL_D CONV_DIL
#else
#define DIL_D 1
#endif

#if defined(CONV_OUT_PAD_W)
#define OPAD_W CONV_OUT_PAD_W
#elif defined(CONV_OUT_PAD)
#define OPAD_W CONV_OUT_PAD
#else
#define OPAD_W 0
#endif
#if CONV_DIMS < 2
#define OPAD_H 0
#elif defined(CONV_OUT_PAD_H)
#define OPAD_H CONV_OUT_PAD_H
#elif defined(CONV_OUT_PAD)
#define OPAD_H CONV_OUT_PAD
#else
#define OPAD_H 0
#endif
#if CONV_DIMS < 3
#define OPAD_D 0
#elif defined(CONV_OUT_PAD_D)
#define OPAD_D CONV_OUT_PAD_D
#elif defined(CONV_OUT_PAD)
#define OPAD_D CONV_OUT_PAD
#else
#define OPAD_D 0
#endif

#endif
