#!/bin/sh
# scripts/gen-fixtures.sh — regenerate tests/fixtures/chip{1,2,3}.* (the embedder checks' data).
# Optional: the outputs are committed; re-run only to change or re-check them. Needs the
# reference copy (scripts/reference-setup, run here first: node + ONNX Runtime, network for
# `npm ci` unless cached) and models/samples/ (scripts/setup).
#
# For each chosen face-api sample photo (MIT licence): the reference's bin/embed.js --chip saves
# the aligned 112x112 RGB crop of the central face as binary PPM (tests/fixtures/chipN.ppm), then
# our bin/embed-chip.js (bench/ort/embed-chip.js) runs both embedders in ONNX Runtime on exactly
# those pixels and writes the raw outputs before L2 normalisation as little-endian float32:
# chipN.embA.f32 (192 values, MobileFaceNet.tflite converted, NHWC, (x-127.5)/128) and
# chipN.embB.f32 (512 values, fr_feature.onnx, NCHW, (x-127)/128).
set -eu

ROOT=$(cd "$(dirname "$0")/.." && pwd)
REF=$ROOT/build/reference
OUT=$ROOT/tests/fixtures
SAMPLES=$ROOT/models/samples
# chip number : sample photo (group photos; embed.js takes the central face, chosen for a clear,
# frontal face: detector score >= 0.999, O-Net score >= 0.99)
CHIPS="1:sample1.jpg 2:sample3.jpg 3:sample4.jpg"

die() { echo "gen-fixtures: $*" >&2; exit 1; }
"$ROOT/scripts/reference-setup" >&2 || die "scripts/reference-setup failed"
mkdir -p "$OUT"
export MIEN_MODELS="$REF/models" # the reference's models layout, not mien's models/
TMP=$(mktemp -d "${TMPDIR:-/tmp}/mien-fixtures.XXXXXX")
trap 'rm -rf "$TMP"' EXIT INT TERM

for c in $CHIPS; do
    n=${c%%:*} img=$SAMPLES/${c#*:}
    [ -f "$img" ] || die "$img missing (run scripts/setup)"
    (cd "$REF" && node bin/embed.js "$img" --chip "$OUT/chip$n.ppm") > "$TMP/embed$n.json" \
        || die "bin/embed.js failed on $img"
    (cd "$REF" && node bin/embed-chip.js "$OUT/chip$n.ppm" "$OUT/chip$n") > "$TMP/chip$n.json" \
        || die "bin/embed-chip.js failed on chip$n.ppm"
    # The raw outputs, normalised, must be the templates embed.js printed for the same face.
    node - "$TMP/embed$n.json" "$OUT/chip$n" "${c#*:}" <<'JS'
const fs = require('fs');
const [json, prefix, name] = process.argv.slice(2), j = JSON.parse(fs.readFileSync(json, 'utf8'));
const f = j.face, out = {chip: prefix.split('/').pop(), image: name, faces_found: j.faces_found,
  box: f.box.map(v => +v.toFixed(1)), score: +f.score.toFixed(4), landmark_score: +f.landmark_score.toFixed(4)};
for (const k of ['A', 'B']) {
  const b = fs.readFileSync(`${prefix}.emb${k}.f32`), raw = new Float32Array(b.buffer, b.byteOffset, b.length / 4);
  const t = j.embeddings[k], n = Math.hypot(...raw);
  let dot = 0; for (let i = 0; i < raw.length; i++) dot += raw[i] / n * t[i];
  if (raw.length !== t.length || !(dot > 0.999999)) { console.error(`${prefix}: embedder ${k} disagrees with embed.js (cos ${dot})`); process.exit(1); }
  out[`cos${k}_vs_embed_js`] = +dot.toFixed(7); out[`l2_${k}`] = +n.toFixed(4);
}
console.log(JSON.stringify(out));
JS
done
echo "gen-fixtures: wrote chipN.ppm, chipN.embA.f32, chipN.embB.f32 in tests/fixtures" >&2
