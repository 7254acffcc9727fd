// kbreed-template: s
// family: conv
// problems: conv2d
// knob BK: 16 32 | default 16 | category memory access | depth
// knob BN: 32 64 96 128 | default 96 | category memory access | tile
// knob W: 0 1 | default 1 | category compute | path
// start sm_90a: W=1 BN=128
// start sm_80: BK=32 BN=64 W=0
// same: W=1 BK=16 as BK=32
__global__ void k() {}
