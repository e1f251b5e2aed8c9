#!/usr/bin/env node
'use strict';
// mien's addition to the reference; installed as build/reference/bin/embed-chip.js by
// scripts/reference-setup (source: bench/ort/embed-chip.js in the mien repo).
// Usage: bin/embed-chip.js CHIP.ppm OUT_PREFIX
// Runs both embedders in ONNX Runtime on an aligned 112x112 RGB chip exactly as the reference
// pipeline does (lib/embed.js: A = mobilefacenet192.onnx, [1,112,112,3] NHWC, (x-127.5)/128;
// B = fr_feature.onnx, [1,3,112,112] NCHW, (x-127)/128) and writes the raw network outputs,
// before L2 normalisation, as little-endian float32: OUT_PREFIX.embA.f32 (192 values) and
// OUT_PREFIX.embB.f32 (512 values). Prints one JSON line with the output sizes and L2 norms.
const fs = require('fs');
const os = require('os');
const I = require('../lib/image');
const M = require('../lib/models');
const {EMBEDDERS, embed} = require('../lib/embed');

(async () => {
  const [chipFile, prefix] = process.argv.slice(2);
  if (!chipFile || !prefix) { console.error('usage: embed-chip.js CHIP.ppm OUT_PREFIX'); process.exit(2); }
  if (os.endianness() !== 'LE') throw new Error('little-endian host expected');
  const chip = I.loadImage(chipFile);
  if (chip.w !== 112 || chip.h !== 112 || chip.c !== 3) throw new Error(`${chipFile}: expected a 112x112 RGB chip`);
  const info = {chip: chipFile};
  for (const which of ['A', 'B']) {
    const e = EMBEDDERS[which], sess = await M.session(e.model, 1);
    const {raw} = await embed(which, sess, chip);
    if (raw.length !== e.dim) throw new Error(`embedder ${which}: ${raw.length} values, expected ${e.dim}`);
    fs.writeFileSync(`${prefix}.emb${which}.f32`, Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength));
    info[which] = {file: `${prefix}.emb${which}.f32`, dim: raw.length, l2: +Math.hypot(...raw).toFixed(6)};
  }
  console.log(JSON.stringify(info));
})().catch(e => { console.error(e.message); process.exit(1); });
