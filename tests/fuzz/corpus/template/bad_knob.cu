// kbreed-template: t
// family: f
// problems: p
// knob vec: 1 2 | default 3 | lower case and a default outside
