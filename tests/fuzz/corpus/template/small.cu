// kbreed-template: t
// family: f
// problems: p q
// seeds-from: matmul
// knob VEC: 1 2 4 | default 4 | vector width
// knob THREADS: 128 256 | default 256
__global__ void k() {}
