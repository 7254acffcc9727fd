// kbreed-template: a
// kbreed-template: b
// family: f
// family: g
// problems: p
// problems: q
