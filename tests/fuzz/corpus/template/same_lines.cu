// kbreed-template: s
// family: conv
// problems: conv2d
// knob BK: 16 32 | default 16 | category memory access | depth
// knob BN: 32 64 96 128 | default 96 | category memory access | tile
// knob W: 0 1 | default 1 | category compute | path
// same: W=1 BK=16 as BK=32
// same: W=1 BN=32 as BN=64
// same: W=1 BN=96 as BN=128
// same: BN=64 as BN=32
__global__ void k() {}
