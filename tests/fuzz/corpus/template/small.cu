// kbreed-template: t
// family: f
// problems: p q
// seeds-from: matmul
// knob VEC: 1 2 4 | default 4 | category memory access | vector width
// knob THREADS: 128 256 | default 256 | category parallelism
__global__ void k() {}
