#!/bin/sh
# test_cli.sh — the `mien` command line as a person uses it: exit codes, messages, JSON.
# Usage: tests/cli/test_cli.sh PATH/TO/mien     (run from the repository root; MIEN_MODELS
# defaults to ./models). Ends with "N passed, N failed".
set -u
MIEN=${1:?usage: test_cli.sh PATH/TO/mien}
export MIEN_MODELS=${MIEN_MODELS:-$(pwd)/models}
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE}
OUT=$(mktemp) ERR=$(mktemp)
# A picture with exactly one face: tests/fixtures/chip1.ppm's pixels as a PNG, made here (the
# decoders read no PPM; no photo is kept in the tree as a PNG too). Debian's python3, stdlib only.
ONE_FACE_DIR=$(mktemp -d)
ONE_FACE="$ONE_FACE_DIR/one_face.png"
/usr/bin/python3 - "$(dirname "$0")/../fixtures/chip1.ppm" "$ONE_FACE" <<'PY' ||
import struct, sys, zlib
data = open(sys.argv[1], "rb").read()
magic, w, h, maxval = data.split(None, 4)[:4]
assert magic == b"P6" and maxval == b"255"
w, h = int(w), int(h)
rgb = data[len(data) - 3 * w * h:]
rows = b"".join(b"\0" + rgb[y * 3 * w:(y + 1) * 3 * w] for y in range(h))
def chunk(kind, body):
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
open(sys.argv[2], "wb").write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
                              + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))
PY
    { echo "test_cli: cannot make $ONE_FACE from chip1.ppm"; exit 1; }
# the stores: SQLite files, or fresh PostgreSQL databases when $MIEN_TEST_STORE names a server
TEST_STORE_LIB=$(dirname "$0")/../pg/store-lib.sh
# shellcheck source=tests/pg/store-lib.sh
. "$TEST_STORE_LIB"
unset MIEN_KEY_FILE MIEN_AUDIT_HEAD MIEN_STORE
test_store_is_pg && echo "stores: PostgreSQL databases on $MIEN_TEST_STORE"
trap 'rm -f "$OUT" "$ERR"; rm -rf "$ONE_FACE_DIR"' EXIT
passed=0 failed=0

# check NAME WANT_EXIT COMMAND... : runs the command, compares its exit status
check() {
    name=$1 want=$2
    shift 2
    "$@" >"$OUT" 2>"$ERR"
    got=$?
    if [ "$got" -eq "$want" ]; then
        passed=$((passed + 1))
        echo "  ok $name"
        return 0
    fi
    failed=$((failed + 1))
    echo "  FAILED $name: exit $got, want $want"
    sed 's/^/    stderr: /' "$ERR" | head -5
    return 1
}

# expect NAME FILE PATTERN : FILE (stdout or stderr of the last check) matches PATTERN
expect() {
    if grep -q -- "$3" "$2"; then
        passed=$((passed + 1))
        echo "  ok $1"
    else
        failed=$((failed + 1))
        echo "  FAILED $1: no '$3' in:"
        head -5 "$2" | sed 's/^/    /'
    fi
}

check "help" 0 "$MIEN" --help
expect "help lists models" "$OUT" "models"
check "no command" 2 "$MIEN"
check "unknown command" 2 "$MIEN" frobnicate
expect "unknown command named" "$ERR" "frobnicate"
check "unknown option" 2 "$MIEN" models --bogus
check "bad --threads" 2 "$MIEN" models --threads zero
check "missing models folder" 1 "$MIEN" models --models /nonexistent/models
expect "missing folder message" "$ERR" "/nonexistent/models"

if [ -f "$MIEN_MODELS/MobileFaceNet.tflite" ]; then
    check "models" 0 "$MIEN" models
    expect "models shows provenance" "$OUT" "sirius-ai/MobileFaceNet_TF"
    check "models --json" 0 "$MIEN" models --json
    lines=$(grep -c '^{"model":' "$OUT")
    if [ "$lines" -eq 6 ]; then passed=$((passed + 1)); echo "  ok six models"; else
        failed=$((failed + 1)); echo "  FAILED six models: $lines lines"; fi
    expect "sha256 of embedder B" "$OUT" '"sha256":"87aacdfe57510db2af90c0251df680e8eec88f122ee94712121d09bcaaaf3581"'
    check "bench --json" 0 "$MIEN" bench models --runs 3 --warmup 1 --json
    # the timing, then how it ran: precision, mien's ISA level, oneDNN's, the plan's steps
    lines=$(grep -c '^{"model":"[a-zA-Z]*","ms_median":[0-9.]*,"ms_min":[0-9.]*,"runs":3,"threads":1,"precision":"[a-z0-9-]*","isa":"[a-z0-9_]*","backend_isa":"[a-z0-9_]*",.*}$' "$OUT")
    if [ "$lines" -eq 6 ]; then passed=$((passed + 1)); echo "  ok bench lines"; else
        failed=$((failed + 1)); echo "  FAILED bench lines: $lines"; cat "$OUT"; fi
    check "bench one model" 0 "$MIEN" bench models --model rnet --runs 2
    expect "bench table" "$OUT" "rnet"
    check "bench bad --runs" 2 "$MIEN" bench models --runs abc
    check "bench without models" 2 "$MIEN" bench
else
    echo "  skip: models not found in $MIEN_MODELS (run scripts/setup)"
fi

# mien eval: a tiny pair list written here from the sample photos (no LFW data needed).
check "eval without a sub-command" 2 "$MIEN" eval
check "eval unknown sub-command" 2 "$MIEN" eval frobnicate
check "eval lfw without data" 1 "$MIEN" eval lfw --data /nonexistent/data
expect "eval lfw names the folder" "$ERR" "/nonexistent/data"
check "eval lfw bad --limit-folds" 2 "$MIEN" eval lfw --limit-folds 11
check "eval clustering without data" 1 "$MIEN" eval clustering --data /nonexistent/data
expect "eval clustering names the folder" "$ERR" "/nonexistent/data"
check "eval clustering bad --method" 2 "$MIEN" eval clustering --method kmeans
expect "eval clustering names the methods" "$ERR" "chinese_whispers or components"
if [ -f "$MIEN_MODELS/samples/sample2.jpg" ]; then
    EVAL_DIR=$(mktemp -d)
    printf 'sample1.jpg\tsample1.jpg\t1\t0\nsample1.jpg\tsample2.jpg\t0\t0\n' >"$EVAL_DIR/list.tsv"
    check "eval pairs" 0 "$MIEN" eval pairs "$EVAL_DIR/list.tsv" --root "$MIEN_MODELS/samples" \
        --threads 2 --json --roc "$EVAL_DIR/roc.svg"
    expect "eval pairs accuracy" "$OUT" '^{"profile":"fast","accuracy":1.000000,'
    for key in std tar_at_far_1e-3 tar_at_far_1e-2 failures_to_detect ms_per_image pairs threads; do
        expect "eval pairs JSON has $key" "$OUT" "\"$key\":"
    done
    expect "eval pairs ROC written" "$EVAL_DIR/roc.svg" "<polyline"
    printf 'sample1.jpg\tsample1.jpg\t1\t0\nsample1.jpg\tsample2.jpg\tmaybe\t0\n' >"$EVAL_DIR/bad.tsv"
    check "eval pairs bad line" 2 "$MIEN" eval pairs "$EVAL_DIR/bad.tsv"
    expect "eval pairs bad line number" "$ERR" "bad.tsv:2:"
    printf 'sample1.jpg\tsample1.jpg\t1\t0\nsample1.jpg\tmissing.jpg\t0\t0\n' >"$EVAL_DIR/gone.tsv"
    check "eval pairs unreadable image" 0 "$MIEN" eval pairs "$EVAL_DIR/gone.tsv" \
        --root "$MIEN_MODELS/samples" --json
    expect "eval pairs counts the unreadable image" "$OUT" '"unreadable":1'
    expect "eval pairs names the unreadable image" "$ERR" "missing.jpg"
    check "eval pairs missing list" 1 "$MIEN" eval pairs "$EVAL_DIR/none.tsv"
    # eval groups (issue 13 item 13): known numbers. Group A: one genuine pair of the same
    # photo (accepted) and one impostor pair (rejected); group B: one genuine pair with a
    # missing image (a false non-match); one impostor pair across A and B (overall only).
    printf 'sample1.jpg\tsample1.jpg\t1\t0\nsample1.jpg\tsample2.jpg\t0\t0\nsample3.jpg\tmissing.jpg\t1\t0\nsample1.jpg\tsample3.jpg\t0\t0\n' >"$EVAL_DIR/groups.tsv"
    printf '# illustration only: labels a user supplies\nsample1.jpg A\nsample2.jpg A\nsample3.jpg B\nmissing.jpg B\n' >"$EVAL_DIR/groups.txt"
    check "eval groups" 0 "$MIEN" eval groups "$EVAL_DIR/groups.tsv" "$EVAL_DIR/groups.txt" \
        --root "$MIEN_MODELS/samples" --threads 2 --json
    expect "eval groups counts" "$OUT" '^{"profile":"fast","pairs":4,"images_without_face":1,"unlabelled_pairs":0,"cross_group_impostors":1,'
    expect "eval groups overall" "$OUT" '"at_fmr":0.001,"threshold":[0-9.]*,"overall":{"fnmr":{"trials":2,"errors":1,"rate":0.5,"ci95":\[0.0945312,0.905469\],"ratio":1},"fmr":{"trials":2,"errors":0,"rate":0,"ci95":\[0,0.65762\],"ratio":null}}'
    expect "eval groups A" "$OUT" '{"group":"A","fnmr":{"trials":1,"errors":0,"rate":0,"ci95":\[0,0.793451\],"ratio":0},"fmr":{"trials":1,"errors":0,"rate":0,"ci95":\[0,0.793451\],"ratio":null}}'
    expect "eval groups B" "$OUT" '{"group":"B","fnmr":{"trials":1,"errors":1,"rate":1,"ci95":\[0.206549,1\],"ratio":2},"fmr":{"trials":0,'
    expect "eval groups at 1e-4 too" "$OUT" '"at_fmr":0.0001,'
    check "eval groups table" 0 "$MIEN" eval groups "$EVAL_DIR/groups.tsv" "$EVAL_DIR/groups.txt" \
        --root "$MIEN_MODELS/samples" --threads 2
    expect "eval groups table row" "$OUT" '^B  *1  *1.0000 \[0.2065, 1.0000\]  *2.00'
    printf 'sample1.jpg A extra\n' >"$EVAL_DIR/badgroups.txt"
    check "eval groups bad groups line" 2 "$MIEN" eval groups "$EVAL_DIR/groups.tsv" \
        "$EVAL_DIR/badgroups.txt" --root "$MIEN_MODELS/samples"
    expect "eval groups names the line" "$ERR" "badgroups.txt:1:"
    check "eval groups needs GROUPS" 2 "$MIEN" eval groups "$EVAL_DIR/groups.tsv"
    rm -rf "$EVAL_DIR"
else
    echo "  skip: eval pairs needs $MIEN_MODELS/samples (run scripts/setup)"
fi

# small faces (src/face/detect_small.c)
if [ -f "$MIEN_MODELS/pnet.tflite" ] && [ -f "$MIEN_MODELS/samples/sample1.jpg" ]; then
    check "detect --small-faces" 0 "$MIEN" detect --small-faces "$MIEN_MODELS/samples/sample1.jpg"
    expect "detect --small-faces finds faces" "$OUT" "faces"
else
    echo "  skip: models or samples not found in $MIEN_MODELS (run scripts/setup)"
fi

# annotated pictures, folders of images, the progress bar (src/cli/draw.c, files.c,
# progress.c; the pixels of the drawing are checked by tests/cli/test_draw.c)
if [ -f "$MIEN_MODELS/MobileFaceNet.tflite" ] && [ -f "$MIEN_MODELS/samples/sample1.jpg" ]; then
    DRAW=$(mktemp -d)
    SAMPLES=$MIEN_MODELS/samples
    check "detect --draw a JPEG" 0 "$MIEN" detect "$SAMPLES/sample1.jpg" --draw "$DRAW/one.jpg"
    check "the drawn JPEG decodes" 0 "$MIEN" detect "$DRAW/one.jpg" --json
    expect "the drawn JPEG keeps the input's size" "$OUT" '"width":1920,"height":1280'
    check "detect --draw a PNG" 0 "$MIEN" detect "$SAMPLES/sample1.jpg" --draw "$DRAW/one.png"
    if [ "$(head -c 4 "$DRAW/one.png" | od -An -c | tr -d ' ')" = '211PNG' ]; then
        passed=$((passed + 1)); echo "  ok --draw .png writes a PNG"
    else failed=$((failed + 1)); echo "  FAILED --draw .png writes a PNG"; fi
    check "the drawn PNG decodes" 0 "$MIEN" detect "$DRAW/one.png" --json
    expect "the drawn PNG keeps the input's size" "$OUT" '"width":1920,"height":1280'
    # a large JPEG is detected on a reduced decode, drawn at full size
    BIG=${MIEN_DATA:-../shared/data}/galleries/deepface_testset/img40.jpg
    if [ -f "$BIG" ]; then
        check "detect --draw a large JPEG" 0 "$MIEN" detect "$BIG" --draw "$DRAW/big.jpg"
        check "the large picture decodes" 0 "$MIEN" detect "$DRAW/big.jpg" --json
        expect "the large picture keeps its size" "$OUT" '"width":3061,"height":4600'
    fi
    # a picture without faces is drawn unchanged: PNG in, PNG out, same pixels
    check "detect --draw without faces" 0 "$MIEN" detect "$(dirname "$0")/../fixtures/blank.png" --draw "$DRAW/blank.png"
    check "the drawn blank decodes" 0 "$MIEN" detect "$DRAW/blank.png"
    expect "no face drawn in" "$OUT" "0 faces"
    check "--draw of unknown extension" 2 "$MIEN" detect "$SAMPLES/sample1.jpg" --draw "$DRAW/one.bmp"
    expect "--draw names the extensions" "$ERR" ".jpg, .jpeg or .png"
    check "--draw where it cannot write" 1 "$MIEN" detect "$SAMPLES/sample1.jpg" --draw "$DRAW/none/one.jpg"
    expect "--draw says it cannot write" "$ERR" "$DRAW/none/one.jpg: cannot write"
    check "--draw one file for two images" 2 "$MIEN" detect "$SAMPLES/sample1.jpg" \
        "$SAMPLES/sample2.jpg" --draw "$DRAW/one.jpg"
    expect "--draw asks for a folder" "$ERR" "draw DIR/"
    # a folder: every image under it, sorted by path, hidden names and other files skipped
    mkdir -p "$DRAW/in/b" "$DRAW/in/a" "$DRAW/in/.hidden"
    cp "$SAMPLES/sample2.jpg" "$DRAW/in/b/two.jpg"
    cp "$SAMPLES/sample1.jpg" "$DRAW/in/a/one.jpg"
    cp "$ONE_FACE" "$DRAW/in/z.png"
    cp "$SAMPLES/sample3.jpg" "$DRAW/in/.hidden/three.jpg"
    printf 'notes' >"$DRAW/in/notes.txt"
    check "detect a folder" 0 "$MIEN" detect "$DRAW/in" --draw "$DRAW/out/"
    if [ "$(grep -o '^[^ ]*: [0-9]* faces\{0,1\}$' "$OUT" | cut -d: -f1 | tr '\n' ' ')" = \
        "$DRAW/in/a/one.jpg $DRAW/in/b/two.jpg $DRAW/in/z.png " ]; then
        passed=$((passed + 1)); echo "  ok detect DIR lists every image, sorted"
    else failed=$((failed + 1)); echo "  FAILED detect DIR lists every image:"; cat "$OUT"; fi
    if [ "$(ls "$DRAW/out" | tr '\n' ' ')" = "one.jpg two.jpg z.png " ]; then
        passed=$((passed + 1)); echo "  ok --draw DIR/ writes one picture per image"
    else failed=$((failed + 1)); echo "  FAILED --draw DIR/: $(ls "$DRAW/out")"; fi
    check "embed a folder" 0 "$MIEN" embed "$DRAW/in" --json
    if [ "$(grep -c '^{"image":' "$OUT")" -eq 3 ]; then
        passed=$((passed + 1)); echo "  ok embed DIR: one line per image"
    else failed=$((failed + 1)); echo "  FAILED embed DIR: $(grep -c '^{"image":' "$OUT") lines"; fi
    # enroll --subject with a folder: every image under it, for that one subject
    ESTORE=$(test_store "sqlite:$DRAW/e.db") || exit 1
    check "collection for a folder" 0 test_store_with "$DRAW/e.db" "$MIEN" collection create folk \
        --purpose p --legal-basis test --consent not-needed --store "$ESTORE"
    check "enroll a folder" 0 test_store_with "$DRAW/e.db" "$MIEN" enroll folk --subject Z \
        --force "$DRAW/in/a" "$DRAW/in/b" --store "$ESTORE"
    check "enrolled from the folder" 0 test_store_with "$DRAW/e.db" "$MIEN" subjects folk \
        --store "$ESTORE" --json
    expect "one subject, two faces" "$OUT" '"subject":"Z","display_name":"","faces":2,'
    mkdir "$DRAW/empty"
    check "detect a folder without images" 2 "$MIEN" detect "$DRAW/empty"
    expect "the empty folder named" "$ERR" "no JPEG, PNG or WebP file"
    # the bar: none when stderr is a file (six images here), one on a terminal
    check "detect six images, stderr a file" 0 "$MIEN" detect "$SAMPLES" --json
    if [ -s "$ERR" ]; then failed=$((failed + 1)); echo "  FAILED no bar in a file:"; od -c "$ERR" | head -3
    else passed=$((passed + 1)); echo "  ok no progress output when stderr is a file"; fi
    if command -v script >/dev/null 2>&1; then
        script -qec "'$MIEN' detect '$SAMPLES' 2>'$DRAW/tty.err' >/dev/null </dev/null; \
            '$MIEN' detect '$SAMPLES' --json >'$DRAW/tty.out' </dev/null" "$DRAW/json.ts" \
            >/dev/null 2>&1 </dev/null
        script -qec "'$MIEN' detect '$SAMPLES' >/dev/null" "$DRAW/bar.ts" >/dev/null 2>&1 </dev/null
        expect "a bar on a terminal" "$DRAW/bar.ts" "6/6"
        if [ -s "$DRAW/tty.err" ] || grep -q '6/6' "$DRAW/json.ts" ||
            [ "$(grep -c '^{"image":' "$DRAW/tty.out")" -ne 6 ]; then
            failed=$((failed + 1)); echo "  FAILED no bar with stderr a file, nor with --json"
        else passed=$((passed + 1)); echo "  ok no bar with stderr a file, nor with --json"; fi
    fi
    rm -rf "$DRAW"
else
    echo "  skip: models or samples not found in $MIEN_MODELS (run scripts/setup)"
fi

# grouping (src/cli/cmd_group.c): the face_recognition example photos (knn_examples, in
# $MIEN_DATA/galleries when present) give one person per folder; bad input is refused
FIX=$(dirname "$0")/../fixtures
check "group without images" 2 "$MIEN" group
expect "group says no images" "$ERR" "no images to group"
check "group --json and --csv" 2 "$MIEN" group --json --csv "$FIX/blank.png"
check "group bad --method" 2 "$MIEN" group --method kmeans "$FIX/blank.png"
check "group bad --fmr" 2 "$MIEN" group --fmr 2 "$FIX/blank.png"
EMPTY_DIR=$(mktemp -d)
check "group an empty folder" 2 "$MIEN" group --from-dir "$EMPTY_DIR"
expect "group names the empty folder" "$ERR" "no JPEG, PNG or WebP file under $EMPTY_DIR"
check "group a missing folder" 1 "$MIEN" group --from-dir "$EMPTY_DIR/none"
expect "group names the missing folder" "$ERR" "cannot read the folder"
printf 'not an image' >"$EMPTY_DIR/notes.jpg"
check "group a non-image" 1 "$MIEN" group "$EMPTY_DIR/notes.jpg" "$ONE_FACE"
expect "group names the non-image" "$ERR" "notes.jpg"
rm -rf "$EMPTY_DIR"
if [ -f "$MIEN_MODELS/MobileFaceNet.tflite" ]; then
    check "group no faces" 1 "$MIEN" group "$FIX/blank.png" "$FIX/blank.png"
    expect "group says no faces" "$ERR" "at least two faces; 0 found in 2 images"
    check "group one face" 1 "$MIEN" group "$ONE_FACE" "$FIX/blank.png"
    expect "group says one face" "$ERR" "at least two faces; 1 found in 2 images"
    check "group the same face twice" 0 "$MIEN" group "$ONE_FACE" "$ONE_FACE" \
        --json
    expect "group: one person of two faces" "$OUT" '"people":\[{"person":1,"size":2,'
    expect "group: nobody messy" "$OUT" '"messy":\[\]}$'
fi
KNN=${MIEN_DATA:-../shared/data}/galleries/face_recognition_examples/examples/knn_examples
if [ -f "$MIEN_MODELS/MobileFaceNet.tflite" ] && [ -d "$KNN/train" ]; then
    for profile in fast accurate; do
        check "group the knn examples ($profile)" 0 "$MIEN" group --from-dir "$KNN/train" \
            --profile $profile --csv
        # one person per folder: every folder's faces share one person number that no other
        # folder uses (alex_lacamoire has one photo: messy); biden2.jpg's second face, a
        # stranger in the background, is messy too
        awk -F, 'NR > 1 && $7 != "messy" { split($1, p, "/"); who = p[length(p) - 1];
                     if ((who in num) && num[who] != $7) bad = 1;
                     if (($7 in owner) && owner[$7] != who) bad = 1;
                     num[who] = $7; owner[$7] = who; people++ }
                 NR > 1 && $7 == "messy" { messy++ }
                 END { n = 0; for (k in num) n++;
                       print (bad ? "mixed" : "clean"), n " people", messy " messy" }' \
            "$OUT" >"$ERR"
        expect "group: one person per folder ($profile)" "$ERR" "^clean 4 people 2 messy"
    done
else
    echo "  skip: group of the face_recognition examples needs $KNN and the models"
fi

# galleries: collection, enroll, search, verify, review, subjects, erase, purge, audit and
# keys rotate-data on a temporary store, and the accountability rules of issue 6 as a person
# meets them at the command line (docs/cli.md; docs/responsible-use.md)
check "collection without an action" 2 "$MIEN" collection
check "enroll without a collection" 2 "$MIEN" enroll
check "search without an image" 2 "$MIEN" search people
check "erase without --subject" 2 "$MIEN" erase people
check "enroll bad --face" 2 "$MIEN" enroll people --subject A --face x some.jpg
check "verify without --subject" 2 "$MIEN" verify people some.jpg --purpose p
check "review without an id" 2 "$MIEN" review
check "review decision without --reviewer" 2 "$MIEN" review 0123 confirm 1
expect "review names --reviewer" "$ERR" "reviewer"
check "review confirm without a rank" 2 "$MIEN" review 0123 confirm --reviewer alice
check "audit without an action" 2 "$MIEN" audit
check "audit export bad --from" 2 "$MIEN" audit export --from yesterday
check "purge stray argument" 2 "$MIEN" purge everything
if [ -f "$MIEN_MODELS/samples/sample2.jpg" ]; then
    GAL_DIR=$(mktemp -d)
    DB="$GAL_DIR/g.db"
    STORE=$(test_store "sqlite:$DB") || exit 1
    test_store_key "$DB" # PostgreSQL: the key file is $DB.key all the same
    S1="$MIEN_MODELS/samples/sample1.jpg"
    S2="$MIEN_MODELS/samples/sample2.jpg"
    # sample1.jpg's face 2 and sample2.jpg's face 0 are two different people, quality high
    BASIS="consent, GDPR Art. 9(2)(a)"
    check "collection create without --purpose" 2 "$MIEN" collection create people \
        --legal-basis "consent" --store "$STORE"
    expect "no purpose: says --purpose" "$ERR" "--purpose P"
    check "collection create without --legal-basis" 2 "$MIEN" collection create people \
        --purpose access_control --store "$STORE"
    expect "no legal basis: says --legal-basis" "$ERR" "--legal-basis TEXT"
    check "collection create bad --retention" 2 "$MIEN" collection create people \
        --purpose access_control --legal-basis "$BASIS" --retention 3weeks --store "$STORE"
    check "collection create bad --review" 2 "$MIEN" collection create people \
        --purpose access_control --legal-basis "$BASIS" --review three --store "$STORE"
    check "collection create bad purpose" 1 "$MIEN" collection create people \
        --purpose "Lost Child" --legal-basis consent --store "$STORE"
    rm -f "$DB" "$DB".* # the refusals above opened (so created) the store
    STORE=$(test_store "sqlite:$DB") || exit 1
    check "collection create" 0 "$MIEN" collection create people \
        --purpose access_control,lost_child --legal-basis "$BASIS" --review two-person \
        --store "$STORE" --description "CLI test"
    expect "collection create names it" "$OUT" "people"
    expect "collection create shows the purposes" "$OUT" "purposes access_control,lost_child"
    expect "first use warns: key file created" "$ERR" "created key file $DB.key (mode 0600): back it up"
    if [ "$(stat -c %a "$DB.key")" = 600 ]; then passed=$((passed + 1)); echo "  ok key file mode 0600"
    else failed=$((failed + 1)); echo "  FAILED key file mode $(stat -c %a "$DB.key")"; fi
    check "collection create twice" 1 "$MIEN" collection create people \
        --purpose access_control --legal-basis "$BASIS" --store "$STORE"
    expect "collection exists message" "$ERR" "already exists"
    if grep -q "created key file" "$ERR"; then
        failed=$((failed + 1)); echo "  FAILED key file warning repeated"
    else passed=$((passed + 1)); echo "  ok key file warning only once"; fi
    check "collection list --json" 0 "$MIEN" collection list --store "$STORE" --json
    expect "collection list JSON" "$OUT" '"collection":"people","profile":"fast"'
    expect "collection list JSON policy" "$OUT" '"policy":{"purposes":\["access_control","lost_child"\],"legal_basis":"consent, GDPR Art. 9(2)(a)","consent":"required","retention_s":31536000,"review":"two_person","verification_only":false,"max_fmr":0.01,"max_candidates":50}'
    check "collection info text" 0 "$MIEN" collection info people --store "$STORE"
    expect "collection info text policy" "$OUT" "consent required; retention 365d; review two-person"
    expect "collection info text caps" "$OUT" "a search returns at most 50 candidates, at FMR <= 0.01"
    check "enroll without consent" 3 "$MIEN" enroll people --subject A --force "$S1" --store "$STORE"
    expect "enroll without consent says why" "$ERR" "only with their consent.*--consent REF"
    check "enroll refuses a group photo" 1 "$MIEN" enroll people --subject A "$S1" --consent F-1 \
        --store "$STORE"
    expect "enroll says why" "$ERR" "faces: say which with --face N"
    check "enroll bad --expires" 2 "$MIEN" enroll people --subject A --force "$S1" --consent F-1 \
        --expires 1999-01-01 --store "$STORE"
    check "enroll --force" 0 "$MIEN" enroll people --subject A --force "$S1" --consent F-1 \
        --store "$STORE"
    # one rule in both modes: an image already enrolled is skipped, and that is no failure
    check "enroll the same image again: skipped, exit 0" 0 "$MIEN" enroll people --subject A \
        --force "$S1" --consent F-1 --store "$STORE"
    expect "enroll again says already enrolled" "$OUT" "^skipped .*sample1.jpg: already enrolled as A"
    check "subjects: one subject" 0 "$MIEN" subjects people --store "$STORE"
    expect "1 subject, not 1 subjects" "$OUT" "^1 subject in people$"
    expect "1 face, not 1 faces" "$OUT" "^A  *1 face  *created"
    check "enroll unknown collection" 1 "$MIEN" enroll nope --subject A --force "$S1" \
        --consent F-1 --store "$STORE"
    expect "enroll names the collection" "$ERR" "no collection 'nope'"
    check "enroll a second person" 0 "$MIEN" enroll people --subject B --face 0 "$S2" \
        --consent F-2 --expires 2099-12-31 --store "$STORE"
    check "subjects" 0 "$MIEN" subjects people --store "$STORE" --json
    expect "subjects lists A" "$OUT" '{"subject":"A","display_name":"","faces":1,'
    expect "subjects shows consent and expiry" "$OUT" '"subject":"B",.*"consent_ref":"F-2","expires_at":"2099-12-31T00:00:00Z"}'
    check "subjects unknown collection" 1 "$MIEN" subjects nope --store "$STORE"

    # purpose and case: every search declares why, and every refusal is audited
    check "search without --purpose" 2 "$MIEN" search people "$S1" --case-ref C-1 --store "$STORE"
    expect "search without purpose says so" "$ERR" "declares its purpose"
    check "search without --case-ref" 2 "$MIEN" search people "$S1" --purpose lost_child \
        --store "$STORE"
    check "search for an undeclared purpose" 3 "$MIEN" search people "$S1" --purpose marketing \
        --case-ref C-1 --store "$STORE"
    expect "undeclared purpose named" "$ERR" "purpose 'marketing' is not one"
    check "audit export" 0 "$MIEN" audit export --store "$STORE"
    expect "refusal without purpose audited" "$OUT" '"action":"search","collection":"people","purpose":"","case_ref":"C-1",.*"outcome":"refused"'
    expect "refusal without case audited" "$OUT" '"action":"search","collection":"people","purpose":"lost_child","case_ref":"",.*"outcome":"refused"'
    expect "refusal of a purpose audited" "$OUT" '"action":"search","collection":"people","purpose":"marketing","case_ref":"C-1",.*"outcome":"refused"'
    expect "audit names the CLI actor" "$OUT" '"actor":"cli:[^"]*","action":"enrol"'
    check "search" 0 "$MIEN" search people "$S1" --purpose lost_child --case-ref C-2 \
        --store "$STORE" --json
    expect "search finds A at rank 1" "$OUT" '"candidates":\[{"rank":1,"subject":"A","similarity":1.000000,'
    expect "search opens a two-person review" "$OUT" '"review_id":"[0-9a-f]\{32\}","reviews_required":2,"audit_seq":[0-9]'
    expect "search lists the candidate's faces" "$OUT" '"face_id":[0-9]*,"faces":\[{"face_id":[0-9]*,"similarity":1.000000}'
    REVIEW=$(sed -n 's/.*"review_id":"\([0-9a-f]*\)".*/\1/p' "$OUT")
    SEQ=$(sed -n 's/.*"audit_seq":\([0-9]*\)}$/\1/p' "$OUT")
    if command -v sha256sum >/dev/null; then
        SHA=$(sha256sum "$S1" | cut -c1-64)
        expect "search JSON has the image digest" "$OUT" "\"image_sha256\":\"$SHA\""
        check "audit export after search" 0 "$MIEN" audit export --store "$STORE"
        expect "search audited with purpose, case and image digest" "$OUT" "^{\"seq\":$SEQ,.*\"action\":\"search\",\"collection\":\"people\",\"purpose\":\"lost_child\",\"case_ref\":\"C-2\",\"input_sha256\":\"$SHA\",\"outcome\":\"ok\""
    fi
    check "audit never holds a subject id" 0 "$MIEN" audit export --store "$STORE"
    if grep -q '"subject":"[AB]"' "$OUT"; then
        failed=$((failed + 1)); echo "  FAILED the audit log names a subject"
    else passed=$((passed + 1)); echo "  ok the audit log names subjects only by hash"; fi
    check "search text" 0 "$MIEN" search people "$S1" --top 3 --fmr 1e-4 --purpose lost_child \
        --case-ref C-3 --store "$STORE"
    expect "search text rank 1" "$OUT" "   1  A "
    expect "search text says candidates" "$OUT" "^candidates for review"
    expect "search text review" "$OUT" "^review [0-9a-f]\{32\}: needs 2 confirmations by two different reviewers"
    if grep -qi "match" "$OUT"; then
        failed=$((failed + 1)); echo "  FAILED search output says match"
    else passed=$((passed + 1)); echo "  ok search says candidates, never matches"; fi
    check "search --aggregate best" 0 "$MIEN" search people "$S1" --aggregate best \
        --purpose lost_child --case-ref C-2 --store "$STORE" --json
    expect "search --aggregate best finds A" "$OUT" '"candidates":\[{"rank":1,"subject":"A",'
    check "search --aggregate bogus" 2 "$MIEN" search people "$S1" --aggregate bogus \
        --purpose lost_child --case-ref C-2 --store "$STORE" --json
    check "search unknown collection" 1 "$MIEN" search nope "$S1" --purpose lost_child \
        --case-ref C-1 --store "$STORE"
    check "search bad --fmr" 2 "$MIEN" search people "$S1" --fmr 7 --store "$STORE"
    # the collection's caps (default FMR 1e-2, 50 candidates): an explicit over-ask is refused
    check "search --top over the cap" 3 "$MIEN" search people "$S1" --top 10000 --fmr 1 \
        --purpose lost_child --case-ref C-4 --store "$STORE"
    expect "the refusal names the cap" "$ERR" "at most 50 candidates"
    check "search --fmr over the cap" 3 "$MIEN" search people "$S1" --fmr 0.5 \
        --purpose lost_child --case-ref C-4 --store "$STORE"
    expect "the refusal names the rate cap" "$ERR" "false-match rate of at most 0.01"

    # two-person review (EU AI Act Art. 14(5))
    check "review show" 0 "$MIEN" review "$REVIEW" --store "$STORE"
    expect "review pending" "$OUT" "status pending: 0 of 2 confirmations"
    check "review first confirmation" 0 "$MIEN" review "$REVIEW" confirm 1 --reviewer alice \
        --store "$STORE" --json
    expect "review still pending" "$OUT" '"status":"pending","required":2,"confirmations":1,'
    check "review same reviewer twice" 3 "$MIEN" review "$REVIEW" confirm 1 --reviewer alice \
        --store "$STORE"
    expect "same reviewer refused" "$ERR" "already decided"
    # issue 13: reviewers are normalised names recorded with the OS account: "Alice" is alice
    check "review same reviewer, other case" 3 "$MIEN" review "$REVIEW" confirm 1 \
        --reviewer " Alice " --store "$STORE"
    expect "Alice is alice" "$ERR" "reviewer 'cli:alice@unix:.*' already decided"
    check "review bad rank" 1 "$MIEN" review "$REVIEW" confirm 9 --reviewer bob --store "$STORE"
    check "review second reviewer" 0 "$MIEN" review "$REVIEW" confirm 1 --reviewer bob \
        --note "ID card checked" --store "$STORE" --json
    expect "two reviewers confirm" "$OUT" '"status":"confirmed","required":2,"confirmations":2,"confirmed_rank":1,'
    check "review closed" 1 "$MIEN" review "$REVIEW" reject --reviewer carol --store "$STORE"
    check "review unknown id" 1 "$MIEN" review 00000000000000000000000000000000 --store "$STORE"
    check "audit export reviews" 0 "$MIEN" audit export --store "$STORE"
    expect "review decision audited with the reviewer as actor" "$OUT" '"actor":"cli:bob@unix:[^"]*","action":"review",.*"status":"confirmed"'
    expect "refused review audited" "$OUT" '"actor":"cli:alice@unix:[^"]*","action":"review",.*"outcome":"refused"'

    # verification-only: 1:N refused (and audited), 1:1 allowed
    check "collection create --verification-only" 0 "$MIEN" collection create doors \
        --purpose access_control --legal-basis "contract" --consent not-needed \
        --verification-only --store "$STORE"
    expect "verification-only shown" "$OUT" "verification only"
    check "enroll without consent where none is needed" 0 "$MIEN" enroll doors --subject A \
        --force "$S1" --store "$STORE"
    check "search a verification-only collection" 3 "$MIEN" search doors "$S1" \
        --purpose access_control --case-ref C-4 --store "$STORE"
    expect "verification-only refusal says why" "$ERR" "verification-only"
    check "audit export verification-only" 0 "$MIEN" audit export --store "$STORE"
    expect "verification-only refusal audited" "$OUT" '"action":"search","collection":"doors",.*"outcome":"refused"'
    check "verify" 0 "$MIEN" verify doors --subject A "$S1" --purpose access_control \
        --store "$STORE"
    expect "verify accepts A" "$OUT" "decision at FMR 1e-04: same person"
    check "verify another person" 0 "$MIEN" verify doors --subject A "$S2" --face 0 \
        --purpose access_control --store "$STORE" --json
    expect "verify rejects B as A" "$OUT" '"accepted":false'
    check "verify without --purpose" 2 "$MIEN" verify doors --subject A "$S1" --store "$STORE"
    check "verify undeclared purpose" 3 "$MIEN" verify doors --subject A "$S1" \
        --purpose marketing --store "$STORE"
    check "verify unknown subject" 1 "$MIEN" verify doors --subject Z "$S1" \
        --purpose access_control --store "$STORE"

    # templates are encrypted at rest: A's template (9-digit floats from embed --json are its
    # exact float32 values; the search above found it at similarity 1.000000) is nowhere in
    # the database files, not even 4 floats of it in a row
    if command -v python3 >/dev/null; then
        "$MIEN" embed "$S1" --json >"$GAL_DIR/a.json" 2>/dev/null
        cat >"$GAL_DIR/find.py" <<'PY'
import json, struct, sys
v = json.load(open(sys.argv[1]))["embedding_a"]
raw = struct.pack("<%df" % len(v), *v)
blob = b"".join(open(p, "rb").read() for p in sys.argv[2:])
hits = [k for k in range(0, len(raw) - 15, 4) if raw[k:k + 16] in blob]
print("%d floats, %d of %d 16-byte runs found" % (len(v), len(hits), len(raw) // 4 - 3))
sys.exit(1 if hits else 0)
PY
        python3 -c 'import json,struct,sys; v=json.load(open(sys.argv[1]))["embedding_a"]; open(sys.argv[2],"wb").write(b"x"*99+struct.pack("<%df"%len(v),*v)+b"y"*7)' \
            "$GAL_DIR/a.json" "$GAL_DIR/plain.bin"
        check "the byte search finds a plaintext template (control)" 1 python3 "$GAL_DIR/find.py" \
            "$GAL_DIR/a.json" "$GAL_DIR/plain.bin"
        check "no template bytes in the database files" 0 python3 "$GAL_DIR/find.py" \
            "$GAL_DIR/a.json" "$DB"*
    else
        echo "  skip: template bytes test needs python3"
    fi

    # a face given to another subject: re-sealed for it, searched under its new name, audited
    check "enroll M" 0 "$MIEN" enroll people --subject M --force "$S1" --consent F-9 \
        --store "$STORE" --json
    MFACE=$(sed -n 's/.*"face_id":\([0-9]*\).*/\1/p' "$OUT" | head -n 1)
    check "move M's face to N" 0 "$MIEN" move people --face "$MFACE" --to N --case-ref MOVE-1 \
        --store "$STORE" --json
    expect "move answer" "$OUT" "\"face_id\":$MFACE,\"subject\":\"N\",\"faces_left\":0"
    check "move without --to" 2 "$MIEN" move people --face "$MFACE" --store "$STORE"
    check "move an unknown face" 1 "$MIEN" move people --face 999999 --to N --store "$STORE"
    check "subjects after the move" 0 "$MIEN" subjects people --store "$STORE" --json
    expect "N has the face" "$OUT" '"subject":"N","display_name":"","faces":1'
    check "audit export after the move" 0 "$MIEN" audit export --store "$STORE"
    expect "the move is in the chain" "$OUT" '"action":"face.move",.*"case_ref":"MOVE-1"'
    check "erase M (left without faces)" 0 "$MIEN" erase people --subject M --store "$STORE" --json
    expect "M had no face left" "$OUT" '"faces_deleted":0'
    check "erase N" 0 "$MIEN" erase people --subject N --store "$STORE" --json

    # erasure receipt
    check "erase" 0 "$MIEN" erase people --subject A --case-ref ERASE-1 --store "$STORE" --json
    # the three searches for A's photo (two, and --aggregate best) each opened a review naming
    # A (issue 13 item 10)
    expect "erase counts" "$OUT" '"faces_deleted":1,"crops_deleted":0,"reviews_deleted":3'
    expect "erase receipt" "$OUT" '"subject_hash":"[0-9a-f]\{64\}","erased_at":"[0-9T:Z-]*","erased_at_unix":[0-9]*,"audit_seq":[0-9]*,"audit_hash":"[0-9a-f]\{64\}"}'
    RECEIPT_HASH=$(sed -n 's/.*"audit_hash":"\([0-9a-f]*\)".*/\1/p' "$OUT")
    check "the erased subject's review is gone, notes and all" 1 "$MIEN" review "$REVIEW" \
        --store "$STORE"
    check "audit export after erase" 0 "$MIEN" audit export --store "$STORE"
    expect "receipt's entry is in the chain" "$OUT" "\"action\":\"erase\",.*\"case_ref\":\"ERASE-1\",.*\"hash\":\"$RECEIPT_HASH\"}"
    check "search after erase" 0 "$MIEN" search people "$S1" --purpose lost_child \
        --case-ref C-5 --store "$STORE" --json
    expect "no candidates after erase" "$OUT" '"candidates":\[\],"review_id":null,"reviews_required":0'
    check "erase again" 1 "$MIEN" erase people --subject A --store "$STORE"
    check "erase text receipt" 0 "$MIEN" erase doors --subject A --store "$STORE"
    expect "erase text shows the receipt" "$OUT" "^receipt: erased at .*; subject hash [0-9a-f]\{64\}; audit entry [0-9]*, hash [0-9a-f]\{64\}"

    # keys rotate-data: the templates move to a new data key and stay searchable
    check "enroll A again" 0 "$MIEN" enroll people --subject A --force "$S1" --consent F-3 \
        --store "$STORE"
    check "keys rotate-data" 0 "$MIEN" keys rotate-data --store "$STORE"
    expect "rotate-data counts" "$OUT" "re-encrypted 2 templates"
    check "search after rotation" 0 "$MIEN" search people "$S1" --purpose lost_child \
        --case-ref C-6 --store "$STORE" --json
    expect "rotation keeps A findable" "$OUT" '"candidates":\[{"rank":1,"subject":"A","similarity":1.000000,'

    # retention: purge with the clock moved past expiry (MIEN_NOW is the test hook)
    check "collection create short retention" 0 "$MIEN" collection create short \
        --purpose lost_child --legal-basis "vital interests" --consent not-needed \
        --retention 1d --review none --store "$STORE"
    check "enroll into short" 0 "$MIEN" enroll short --subject A --force "$S1" --store "$STORE"
    check "enroll a longer expiry" 0 "$MIEN" enroll short --subject B --face 0 "$S2" \
        --expires +30d --store "$STORE"
    check "search before purge" 0 "$MIEN" search short "$S1" --purpose lost_child \
        --case-ref C-7 --store "$STORE" --json
    expect "A found before purge" "$OUT" '"candidates":\[{"rank":1,"subject":"A",'
    expect "opted-out review" "$OUT" '"review_id":null,"reviews_required":0'
    check "purge now (nothing expired)" 0 "$MIEN" purge --store "$STORE" --json
    expect "purge nothing" "$OUT" '^{"purged":0,'
    LATER=$(($(date +%s) + 2 * 86400))
    check "purge two days later" 0 env MIEN_NOW=$LATER "$MIEN" purge --store "$STORE"
    expect "purge counts" "$OUT" "purged 1 expired subject"
    check "subjects after purge" 0 "$MIEN" subjects short --store "$STORE" --json
    expect "B remains" "$OUT" '"subject":"B"'
    if grep -q '"subject":"A"' "$OUT"; then
        failed=$((failed + 1)); echo "  FAILED A is still a subject after purge"
    else passed=$((passed + 1)); echo "  ok A is gone from subjects"; fi
    check "search after purge" 0 env MIEN_NOW=$LATER "$MIEN" search short "$S1" \
        --purpose lost_child --case-ref C-8 --store "$STORE" --json
    if grep -q '"subject":"A"' "$OUT"; then
        failed=$((failed + 1)); echo "  FAILED A is still a candidate after purge"
    else passed=$((passed + 1)); echo "  ok A is gone from search"; fi
    check "audit export --from" 0 "$MIEN" audit export --from "$((LATER - 60))" --store "$STORE"
    expect "purge audited" "$OUT" '"action":"purge","collection":"short","purpose":"retention",.*"outcome":"ok"'
    if grep -q '"action":"collection.create"' "$OUT"; then
        failed=$((failed + 1)); echo "  FAILED audit export --from includes older entries"
    else passed=$((passed + 1)); echo "  ok audit export --from leaves older entries out"; fi
    check "audit export --to a past date" 0 "$MIEN" audit export --to 2001-01-01 --store "$STORE"
    if [ -s "$OUT" ]; then failed=$((failed + 1)); echo "  FAILED audit export --to 2001"
    else passed=$((passed + 1)); echo "  ok audit export --to 2001 is empty"; fi

    # every refusal is one audit entry, whichever check refused (issue 13 item 12); and a
    # compare with a store is audited as POST /v1/compare is
    BLANK="$GAL_DIR/blank.png" # 1×1 grey: no face
    echo "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAAAAAA6fptVAAAACklEQVR4nGNgAAAAAgABSK+kcQAAAABJRU5ErkJggg==" |
        base64 -d >"$BLANK"
    check "enroll, no face 9" 1 "$MIEN" enroll people --subject Z --face 9 "$S1" --consent F-9 \
        --store "$STORE"
    check "enroll, no face at all" 1 "$MIEN" enroll people --subject Z "$BLANK" --consent F-9 \
        --store "$STORE"
    check "search, no face" 1 "$MIEN" search people "$BLANK" --purpose lost_child --case-ref C-9 \
        --store "$STORE"
    check "verify, no face" 1 "$MIEN" verify people "$BLANK" --subject A \
        --purpose access_control --case-ref V-9 --store "$STORE"
    check "compare with a store, no purpose" 2 "$MIEN" compare "$S1" "$S2" --store "$STORE"
    expect "compare without purpose says so" "$ERR" "declares its purpose"
    check "compare with a store" 0 "$MIEN" compare "$S1" "$S1" --purpose onboarding \
        --case-ref X-1 --store "$STORE" --json
    expect "compare answers" "$OUT" '"same_person":true'
    check "compare with a store, no face" 1 "$MIEN" compare "$S1" "$BLANK" --purpose onboarding \
        --case-ref X-2 --store "$STORE"
    check "compare --purpose without a store" 2 "$MIEN" compare "$S1" "$S1" --purpose onboarding
    expect "compare --purpose wants a store" "$ERR" "give --store URI or set MIEN_STORE"
    check "audit export refusals" 0 "$MIEN" audit export --store "$STORE"
    # exactly NAME WANT PATTERN... : WANT lines of the export match every pattern
    exactly() {
        name=$1 want=$2
        shift 2
        cp "$OUT" "$GAL_DIR/sel"
        for p in "$@"; do grep -E -- "$p" "$GAL_DIR/sel" >"$GAL_DIR/sel2"; mv "$GAL_DIR/sel2" "$GAL_DIR/sel"; done
        n=$(wc -l <"$GAL_DIR/sel" | tr -d ' ')
        if [ "$n" -eq "$want" ]; then passed=$((passed + 1)); echo "  ok $name"
        else failed=$((failed + 1)); echo "  FAILED $name: $n entries, want $want"; fi
    }
    exactly "one entry: enroll without consent" 1 '"action":"enrol","collection":"people"' '"outcome":"refused"' '"reason":"no consent reference"' '"subject":"[0-9a-f]{64}"'
    exactly "one entry: enroll, several faces" 1 '"action":"enrol","collection":"people"' '"outcome":"refused"' '"reason":"several_faces"'
    exactly "one entry each: enroll, no face" 2 '"action":"enrol","collection":"people"' '"input_sha256":"[0-9a-f]{64}","outcome":"refused"' '"reason":"no_face"'
    exactly "one entry: search, no face" 1 '"action":"search","collection":"people","purpose":"lost_child","case_ref":"C-9"' '"outcome":"refused"' '"reason":"no_face"'
    exactly "one entry: verify, no face" 1 '"action":"verify","collection":"people","purpose":"access_control","case_ref":"V-9"' '"outcome":"refused"' '"reason":"no_face"'
    exactly "one entry: compare without purpose" 1 '"action":"compare","collection":"","purpose":""' '"outcome":"refused"' '"a_sha256":"[0-9a-f]{64}","b_sha256":"[0-9a-f]{64}"'
    exactly "one entry: compare" 1 '"action":"compare","collection":"","purpose":"onboarding","case_ref":"X-1"' '"outcome":"ok"' '"similarity":' '"same_person":true'
    exactly "one entry: compare, no face" 1 '"action":"compare","collection":"","purpose":"onboarding","case_ref":"X-2"' '"outcome":"refused"' 'no_face'
    exactly "no entry: compare without a store" 0 '"action":"compare"' '"case_ref":""' '"outcome":"ok"'

    # --from-dir: one folder per subject, JSON lines with --json (only), resumable
    mkdir -p "$GAL_DIR/in/B" "$GAL_DIR/in/C"
    cp "$S1" "$GAL_DIR/in/B/one.jpg"
    cp "$S2" "$GAL_DIR/in/C/two.jpg"
    printf 'not an image' >"$GAL_DIR/in/C/junk.jpg"
    check "enroll --from-dir without consent" 3 "$MIEN" enroll people \
        --from-dir "$GAL_DIR/in" --force --threads 2 --store "$STORE"
    check "enroll --from-dir (a junk file fails the run)" 1 "$MIEN" enroll people \
        --from-dir "$GAL_DIR/in" --force --threads 2 --consent BATCH-1 --store "$STORE" --json
    expect "from-dir JSON line" "$OUT" '"subject":"B",.*"status":"enrolled"'
    expect "from-dir summary" "$OUT" '"summary":{"collection":"people","images":3,"enrolled":2,'
    rm "$GAL_DIR/in/C/junk.jpg"
    check "enroll --from-dir again" 0 "$MIEN" enroll people --from-dir "$GAL_DIR/in" --force \
        --consent BATCH-1 --store "$STORE" --json
    expect "from-dir resumes" "$OUT" '"enrolled":0,"skipped":2,'
    # without --json the output is text even into a pipe (no switch on isatty)
    check "enroll --from-dir without --json" 0 "$MIEN" enroll people --from-dir "$GAL_DIR/in" \
        --force --consent BATCH-1 --store "$STORE"
    expect "from-dir text summary" "$OUT" "^2 images: 0 enrolled, 2 skipped (already enrolled)"
    if grep -q '^{' "$OUT"; then failed=$((failed + 1)); echo "  FAILED from-dir JSON without --json"
    else passed=$((passed + 1)); echo "  ok from-dir: no JSON without --json"; fi
    check "collection info" 0 "$MIEN" collection info people --store "$STORE" --json
    expect "collection info counts" "$OUT" '"subjects":3,"faces":4}'
    check "MIEN_STORE" 0 env MIEN_STORE="$STORE" "$MIEN" subjects people
    expect "MIEN_STORE is used" "$OUT" "3 subjects in people"

    # import-synthetic (benchmarks only) still works on a collection with a policy
    check "collection create for evaluation" 0 "$MIEN" collection create syn \
        --purpose evaluation --legal-basis "evaluation on synthetic data" \
        --consent not-needed --review none --store "$STORE"
    check "import-synthetic" 0 "$MIEN" collection import-synthetic syn --count 3 --store "$STORE"
    expect "import-synthetic counts" "$OUT" '"imported":3'
    # caps chosen at creation
    check "collection create --max-fmr --max-candidates" 0 "$MIEN" collection create capped \
        --purpose evaluation --legal-basis "evaluation on synthetic data" --consent not-needed \
        --review none --max-fmr 1 --max-candidates 2 --store "$STORE" --json
    expect "caps in the policy" "$OUT" '"max_fmr":1,"max_candidates":2}'
    check "collection create bad --max-candidates" 2 "$MIEN" collection create capped2 \
        --purpose evaluation --legal-basis "x" --max-candidates 0 --store "$STORE"
    check "import-synthetic into capped" 0 "$MIEN" collection import-synthetic capped --count 5 \
        --store "$STORE"
    check "search capped at its defaults" 0 "$MIEN" search capped "$S1" --fmr 1 \
        --purpose evaluation --case-ref C-5 --store "$STORE" --json
    expect "defaults lowered to the cap: 2 candidates" "$OUT" '"max_fmr":1,"top":2,.*"candidates":\[{"rank":1,.*{"rank":2,[^]]*\[[^]]*\]}\],"review_id"'

    # the audit chain: intact, then one row altered, then the newest rows deleted, each by
    # an attacker with write access to the file who first drops the append-only trigger
    check "audit verify" 0 "$MIEN" audit verify --store "$STORE"
    expect "audit verify intact" "$OUT" "^audit log intact: [0-9]* entries, signed head at entry"
    check "audit verify --json" 0 "$MIEN" audit verify --store "$STORE" --json
    expect "audit verify JSON" "$OUT" '^{"ok":true,"entries":[0-9]*,"first_bad":null,'
    # a witness's copy of the head (issue 13 item 3)
    check "audit head" 0 "$MIEN" audit head --store "$STORE"
    expect "audit head is the head file" "$OUT" "^mien-audit-head 1$"
    cp "$OUT" "$GAL_DIR/witness.head"
    check "audit head --json" 0 "$MIEN" audit head --store "$STORE" --json
    expect "audit head JSON" "$OUT" '^{"seq":[0-9]*,"hash":"[0-9a-f]\{64\}","time":'
    check "audit verify --witness" 0 "$MIEN" audit verify --witness "$GAL_DIR/witness.head" \
        --store "$STORE"
    check "audit verify --witness missing" 1 "$MIEN" audit verify --witness "$GAL_DIR/nothing" \
        --store "$STORE"
    expect "a missing witness is a wrong path" "$ERR" "no witness head"
    check "audit join a node that signs already" 1 "$MIEN" audit join --store "$STORE"
    expect "join names the head" "$ERR" "signs the log already"
    # sql DB STATEMENTS: the sqlite3 shell, else python3's sqlite3 module
    sql() {
        if command -v sqlite3 >/dev/null; then sqlite3 "$1" "$2"
        else python3 -c 'import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.executescript(sys.argv[2]); c.commit()' "$1" "$2"; fi
    }
    # On PostgreSQL the same attacks, with psql on a copy of the database (CREATE DATABASE
    # ... TEMPLATE) and of its key file and signed head ($DB.key.audit-head beside the key file)
    if test_store_is_pg; then
        altered=$(test_store "$GAL_DIR/altered.db" "$DB") || exit 1
        truncated=$(test_store "$GAL_DIR/truncated.db" "$DB") || exit 1
        headless=$(test_store "$GAL_DIR/headless.db" "$DB") || exit 1
        for copy in altered truncated headless; do
            cp "$DB.key" "$GAL_DIR/$copy.db.key"
            if [ $copy = headless ]; then
                cp "$DB.key.audit-head.lock" "$GAL_DIR/$copy.db.key.audit-head.lock"
            else
                cp "$DB.key.audit-head" "$GAL_DIR/$copy.db.key.audit-head"
            fi
        done
        test_store_sql "$GAL_DIR/altered.db" "DROP TRIGGER audit_no_change ON audit; UPDATE audit SET case_ref = 'forged' WHERE seq = 5;"
        check "audit verify an altered row" 4 test_store_with "$GAL_DIR/altered.db" \
            "$MIEN" audit verify --store "$altered"
        expect "altered entry named" "$OUT" "^audit log BROKEN at entry 5: entry 5: its contents do not match its hash"
        check "audit verify an altered row --json" 4 test_store_with "$GAL_DIR/altered.db" \
            "$MIEN" audit verify --store "$altered" --json
        expect "altered entry in JSON" "$OUT" '"ok":false,"entries":[0-9]*,"first_bad":5,'
        LAST=$(test_store_sql "$GAL_DIR/truncated.db" "SELECT max(seq) FROM audit;")
        test_store_sql "$GAL_DIR/truncated.db" "DROP TRIGGER audit_no_change ON audit; DELETE FROM audit WHERE seq > $LAST - 2;"
        check "audit verify truncated" 4 test_store_with "$GAL_DIR/truncated.db" \
            "$MIEN" audit verify --store "$truncated"
        expect "truncation reported" "$OUT" "BROKEN at entry $((LAST - 1)): truncated: the signed head names entry $LAST but the log ends at $((LAST - 2))"
        check "reset-head refuses to cover a truncation" 3 test_store_with "$GAL_DIR/truncated.db" \
            "$MIEN" audit reset-head --store "$truncated"
        check "audit verify without its head" 4 test_store_with "$GAL_DIR/headless.db" \
            "$MIEN" audit verify --store "$headless"
        expect "missing head reported" "$OUT" "no signed head"
        check "collection create with the head gone" 1 test_store_with "$GAL_DIR/headless.db" \
            "$MIEN" collection create after --purpose test --legal-basis "test" --store "$headless"
        expect "write stops at the checkpoint" "$ERR" "reset-head"
        check "audit reset-head" 0 test_store_with "$GAL_DIR/headless.db" \
            "$MIEN" audit reset-head --store "$headless"
        expect "reset-head says what it did" "$OUT" "signed head reset"
        check "audit verify after reset-head" 0 test_store_with "$GAL_DIR/headless.db" \
            "$MIEN" audit verify --store "$headless"
    elif command -v sqlite3 >/dev/null || command -v python3 >/dev/null; then
        for copy in altered truncated; do
            for f in "$DB" "$DB"-wal "$DB".key "$DB".audit-head; do
                [ -e "$f" ] && cp "$f" "$GAL_DIR/$copy.db${f#"$DB"}"
            done
        done
        sql "$GAL_DIR/altered.db" "DROP TRIGGER audit_no_update; UPDATE audit SET case_ref = 'forged' WHERE seq = 5;"
        check "audit verify an altered row" 4 "$MIEN" audit verify --store "$GAL_DIR/altered.db"
        expect "altered entry named" "$OUT" "^audit log BROKEN at entry 5: entry 5: its contents do not match its hash"
        check "audit verify an altered row --json" 4 "$MIEN" audit verify \
            --store "$GAL_DIR/altered.db" --json
        expect "altered entry in JSON" "$OUT" '"ok":false,"entries":[0-9]*,"first_bad":5,'
        LAST=$(sql "$GAL_DIR/truncated.db" "SELECT max(seq) FROM audit;" 2>/dev/null)
        [ -n "$LAST" ] || LAST=$(python3 -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("SELECT max(seq) FROM audit").fetchone()[0])' "$GAL_DIR/truncated.db")
        sql "$GAL_DIR/truncated.db" "DROP TRIGGER audit_no_delete; DELETE FROM audit WHERE seq > $LAST - 2;"
        check "audit verify truncated" 4 "$MIEN" audit verify --store "$GAL_DIR/truncated.db"
        expect "truncation reported" "$OUT" "BROKEN at entry $((LAST - 1)): truncated: the signed head names entry $LAST but the log ends at $((LAST - 2))"
        check "reset-head refuses to cover a truncation" 3 "$MIEN" audit reset-head \
            --store "$GAL_DIR/truncated.db"
        # a head that vanished (its lock file shows it existed): writes stop until reset-head
        for f in "$DB" "$DB"-wal "$DB".key "$DB".audit-head.lock; do
            [ -e "$f" ] && cp "$f" "$GAL_DIR/headless.db${f#"$DB"}"
        done
        check "audit verify without its head" 4 "$MIEN" audit verify --store "$GAL_DIR/headless.db"
        expect "missing head reported" "$OUT" "no signed head"
        check "collection create with the head gone" 1 "$MIEN" collection create after \
            --purpose test --legal-basis "test" --store "$GAL_DIR/headless.db"
        expect "write stops at the checkpoint" "$ERR" "reset-head"
        check "audit reset-head" 0 "$MIEN" audit reset-head --store "$GAL_DIR/headless.db"
        expect "reset-head says what it did" "$OUT" "signed head reset"
        check "audit verify after reset-head" 0 "$MIEN" audit verify --store "$GAL_DIR/headless.db"
    else
        echo "  skip: audit tampering needs sqlite3 or python3"
    fi

    check "collection drop" 0 env USER=ci-tester "$MIEN" collection drop people \
        --case-ref CLOSE-1 --store "$STORE"
    check "collection info after drop" 1 "$MIEN" collection info people --store "$STORE"
    check "enroll as a user with an odd name" 0 env "USER=a b" "$MIEN" enroll syn --subject Z \
        --force "$S1" --store "$STORE"
    check "audit export actors" 0 "$MIEN" audit export --store "$STORE"
    expect "actor is cli:\$USER" "$OUT" '"actor":"cli:ci-tester","action":"collection.drop","collection":"people",.*"case_ref":"CLOSE-1"'
    expect "actor falls back to the uid" "$OUT" "\"actor\":\"cli:uid$(id -u)\",\"action\":\"enrol\",\"collection\":\"syn\""
    check "audit verify after all that" 0 "$MIEN" audit verify --store "$STORE"
    if ! test_store_skip "corrupt store (a file that is not a database)"; then
        printf 'this is not a database, not at all, not even close...................' \
            >"$GAL_DIR/bad.db"
        check "corrupt store" 1 "$MIEN" collection list --store "$GAL_DIR/bad.db"
    fi
    unset MIEN_KEY_FILE
    rm -rf "$GAL_DIR"
else
    echo "  skip: galleries need $MIEN_MODELS/samples (run scripts/setup)"
fi
check "eval lfw-1n without data" 1 "$MIEN" eval lfw-1n --data /nonexistent/data

# identify (src/cli/cmd_identify.c): every face of every image labelled with its first
# candidate or "unknown", one audited search per face; compare in group photos
# (src/cli/cmd_compare.c): --face-a/--face-b, else A's face against each of B's (issue 18)
check "identify without an image" 2 "$MIEN" identify crowd
check "identify --json and --csv" 2 "$MIEN" identify crowd "$FIX/blank.png" --json --csv
check "compare a bare --face" 2 "$MIEN" compare "$ONE_FACE" "$ONE_FACE" --face 1
expect "compare --face asks which photo" "$ERR" "which photo? --face-a N for IMAGE_A, --face-b N"
if [ -f "$MIEN_MODELS/MobileFaceNet.tflite" ] && [ -f "$MIEN_MODELS/samples/sample2.jpg" ]; then
    ID_DIR=$(mktemp -d)
    IDB="$ID_DIR/i.db"
    ISTORE=$(test_store "sqlite:$IDB") || exit 1
    test_store_key "$IDB"
    S1="$MIEN_MODELS/samples/sample1.jpg"
    S2="$MIEN_MODELS/samples/sample2.jpg"
    # sample1.jpg's face 2 and sample2.jpg's face 0 are two different people (as above)
    check "compare: A's face against each of B's" 0 "$MIEN" compare "$S1" "$S1" --face-a 2 --json
    expect "compare picks B's most similar face" "$OUT" '"same_person":true,.*"a_index":2,"a_faces":3,"b_index":2,"b_faces":3,"b_similarities":\[[-0-9.]*,[-0-9.]*,1.000000\]}$'
    check "compare --face-b" 0 "$MIEN" compare "$S1" "$S1" --face-a 2 --face-b 0 --json
    expect "compare --face-b compares that face only" "$OUT" '"same_person":false,.*"a_index":2,"a_faces":3,"b_index":0,"b_faces":3}$'
    check "compare --face-a on a group photo" 0 "$MIEN" compare "$S2" "$S2" --face-a 0 --face-b 0
    expect "compare text: same person" "$OUT" "same person"
    expect "compare text names the faces" "$OUT" "^faces: A's face 0 of 3 (--face-a N picks another); B's face 0 of 3$"
    check "compare text lists B's faces" 0 "$MIEN" compare "$S1" "$S1" --face-a 2
    expect "compare text: the most similar of B's" "$OUT" "B's face 2 of 3, the most similar (0: .*, 2: 1.0000; --face-b N picks one)"
    check "compare --face-a out of range" 1 "$MIEN" compare "$S1" "$S2" --face-a 3
    expect "compare says how many faces" "$ERR" "sample1.jpg: no face 3: 3 found, numbered 0 to 2"
    check "compare --face-b out of range" 1 "$MIEN" compare "$S1" "$S2" --face-b 7
    expect "compare names image B" "$ERR" "sample2.jpg: no face 7: 3 found"
    check "compare --face-a not a number" 2 "$MIEN" compare "$S1" "$S2" --face-a first

    check "identify: collection" 0 "$MIEN" collection create crowd --purpose investigation \
        --legal-basis "test" --consent not-needed --review one --store "$ISTORE"
    check "identify: enrol A" 0 "$MIEN" enroll crowd --subject A --face 2 "$S1" --store "$ISTORE"
    check "identify: enrol B" 0 "$MIEN" enroll crowd --subject B --face 0 "$S2" --store "$ISTORE"
    check "identify a missing collection" 1 "$MIEN" identify nope "$S1" --purpose investigation \
        --case-ref ID-0 --store "$ISTORE"
    expect "identify names the collection" "$ERR" "no collection 'nope'"
    check "identify without --case-ref" 2 "$MIEN" identify crowd "$S1" --purpose investigation \
        --store "$ISTORE"
    check "identify an undeclared purpose" 3 "$MIEN" identify crowd "$S1" --purpose marketing \
        --case-ref ID-0 --store "$ISTORE"
    check "identify two group photos" 0 "$MIEN" identify crowd "$S1" "$S2" \
        --purpose investigation --case-ref ID-1 --store "$ISTORE"
    expect "identify: sample1 has three faces" "$OUT" "sample1.jpg: 3 faces"
    expect "identify labels A" "$OUT" "^  \[2\] box [0-9,-]*  A  similarity 1.0000  FMR 1e-06  (review [0-9a-f]\{32\}, audit [0-9]*)$"
    expect "identify labels B" "$OUT" "^  \[0\] box [0-9,-]*  B  similarity 1.0000"
    expect "identify says unknown" "$OUT" "^  \[1\] box [0-9,-]*  unknown  (no candidate at FMR <= 1e-03)  (audit [0-9]*)$"
    expect "identify sums up" "$OUT" "^6 faces in 2 images: 2 labelled, 4 unknown (collection crowd"
    check "identify --json" 0 "$MIEN" identify crowd "$S1" "$S2" --purpose investigation \
        --case-ref ID-2 --store "$ISTORE" --json
    lines=$(grep -c '^{"image":".*","image_sha256":"[0-9a-f]\{64\}","collection":"crowd","profile":"fast","purpose":"investigation","case_ref":"ID-2","width":[0-9]*,"height":[0-9]*,"faces":\[{"index":0,"face":{"box":' "$OUT")
    if [ "$lines" -eq 2 ]; then passed=$((passed + 1)); echo "  ok identify: one JSON line per image"
    else failed=$((failed + 1)); echo "  FAILED identify JSON lines: $lines, want 2"; fi
    expect "identify JSON: a labelled face" "$OUT" '"index":2,"face":{"box":\[[^]]*\],.*"label":"A","subject":"A","similarity":1.000000,"fmr":1e-06,"max_fmr":0.001,"top":10,"candidates":\[{"rank":1,"subject":"A","similarity":1.000000,"fmr":1e-06,"face_id":1,"faces":\[{"face_id":1,"similarity":1.000000}\]}\],"review_id":"[0-9a-f]\{32\}","reviews_required":1,"audit_seq":[0-9]*}'
    expect "identify JSON: an unknown face" "$OUT" '"label":"unknown","subject":null,"similarity":null,"fmr":null,"max_fmr":0.001,"top":10,"candidates":\[\],"review_id":null,"reviews_required":0,"audit_seq":[0-9]*}'
    check "identify --csv" 0 "$MIEN" identify crowd "$S1" --purpose investigation \
        --case-ref ID-3 --store "$ISTORE" --csv
    if [ "$(head -n 1 "$OUT")" = "image,face,x1,y1,x2,y2,label,similarity,fmr,review_id,audit_seq" ] &&
        [ "$(wc -l <"$OUT" | tr -d ' ')" -eq 4 ]; then
        passed=$((passed + 1)); echo "  ok identify CSV: a header and a line per face"
    else failed=$((failed + 1)); echo "  FAILED identify CSV shape:"; head -5 "$OUT" | sed 's/^/    /'; fi
    expect "identify CSV: A" "$OUT" '^".*sample1.jpg",2,[0-9]*,[0-9]*,[0-9]*,[0-9]*,"A",1.000000,1e-06,[0-9a-f]\{32\},[0-9]*$'
    expect "identify CSV: unknown" "$OUT" '^".*sample1.jpg",0,[0-9]*,[0-9]*,[0-9]*,[0-9]*,unknown,,,,[0-9]*$'
    # a folder: its JPEG, PNG and WebP files, subfolders included; other files left alone
    mkdir -p "$ID_DIR/photos/more" "$ID_DIR/empty"
    cp "$S1" "$ID_DIR/photos/one.jpg"
    cp "$S2" "$ID_DIR/photos/more/two.JPG"
    printf 'notes' >"$ID_DIR/photos/notes.txt"
    check "identify a folder" 0 "$MIEN" identify crowd "$ID_DIR/photos" --purpose investigation \
        --case-ref ID-4 --store "$ISTORE" --csv
    if [ "$(wc -l <"$OUT" | tr -d ' ')" -eq 7 ] && grep -q '^"[^"]*/photos/more/two.JPG",0,.*"B"' "$OUT"; then
        passed=$((passed + 1)); echo "  ok identify a folder: six faces, subfolders too"
    else failed=$((failed + 1)); echo "  FAILED identify a folder:"; head -8 "$OUT" | sed 's/^/    /'; fi
    check "identify an empty folder" 2 "$MIEN" identify crowd "$ID_DIR/empty" \
        --purpose investigation --case-ref ID-5 --store "$ISTORE"
    expect "identify names the empty folder" "$ERR" "$ID_DIR/empty: no JPEG, PNG or WebP file in this folder"
    printf 'not an image' >"$ID_DIR/notes.jpg"
    check "identify a non-image" 1 "$MIEN" identify crowd "$ID_DIR/notes.jpg" "$S2" \
        --purpose investigation --case-ref ID-6 --store "$ISTORE"
    expect "identify names the non-image" "$ERR" "notes.jpg: "
    expect "identify goes on after it" "$OUT" "sample2.jpg: 3 faces"
    check "identify a photo without a face" 1 "$MIEN" identify crowd "$FIX/blank.png" \
        --purpose investigation --case-ref ID-7 --store "$ISTORE"
    expect "identify says no face" "$ERR" "blank.png: no face found"
    check "identify over the caps" 3 "$MIEN" identify crowd "$S1" "$S2" --top 10000 --fmr 1 \
        --purpose investigation --case-ref ID-8 --store "$ISTORE"
    expect "identify: the refusal names the cap" "$ERR" "refused: .*at most 50 candidates"
    # --draw: each picture with its faces labelled, at the input's size (issue 18 item 4)
    check "identify --draw DIR/" 0 "$MIEN" identify crowd "$S1" "$S2" --purpose investigation \
        --case-ref ID-9 --store "$ISTORE" --draw "$ID_DIR/drawn/"
    check "identify's pictures decode" 0 "$MIEN" detect "$ID_DIR/drawn/sample1.jpg" \
        "$ID_DIR/drawn/sample2.jpg" --json
    if [ "$(grep -c '"width":1920,"height":1280,' "$OUT")" -eq 1 ] && [ "$(grep -c '"width":1920,"height":1367,' "$OUT")" -eq 1 ]; then
        passed=$((passed + 1)); echo "  ok identify --draw: one picture per image, full size"
    else failed=$((failed + 1)); echo "  FAILED identify --draw pictures:"; head -3 "$OUT" | sed 's/^/    /'; fi
    if cmp -s "$S1" "$ID_DIR/drawn/sample1.jpg"; then
        failed=$((failed + 1)); echo "  FAILED identify --draw: the picture is the input"
    else passed=$((passed + 1)); echo "  ok identify --draw: the picture is drawn on"; fi
    check "identify --draw one file for two images" 2 "$MIEN" identify crowd "$S1" "$S2" \
        --purpose investigation --case-ref ID-9 --store "$ISTORE" --draw "$ID_DIR/one.jpg"
    check "identify --draw an unknown format" 2 "$MIEN" identify crowd "$S1" \
        --purpose investigation --case-ref ID-9 --store "$ISTORE" --draw "$ID_DIR/one.gif"
    # one audit entry per face searched; a refused run, or a photo without a face, one entry
    # (the unknown collection of ID-0 has no log of its own to refuse in: only the purpose)
    check "identify: audit export" 0 "$MIEN" audit export --store "$ISTORE"
    for c in "ID-1 6" "ID-2 6" "ID-3 3" "ID-4 6" "ID-6 3" "ID-9 6"; do
        set -- $c
        n=$(grep -c "\"action\":\"search\",\"collection\":\"crowd\",\"purpose\":\"investigation\",\"case_ref\":\"$1\",\"input_sha256\":\"[0-9a-f]\{64\}\",\"outcome\":\"ok\"" "$OUT")
        if [ "$n" -eq "$2" ]; then passed=$((passed + 1)); echo "  ok identify $1: $2 searches audited"
        else failed=$((failed + 1)); echo "  FAILED identify $1: $n searches audited, want $2"; fi
    done
    for c in "ID-0 1" "ID-7 1" "ID-8 1"; do
        set -- $c
        n=$(grep -c "\"action\":\"search\",\"collection\":\"crowd\",.*\"case_ref\":\"$1\",.*\"outcome\":\"refused\"" "$OUT")
        if [ "$n" -eq "$2" ]; then passed=$((passed + 1)); echo "  ok identify $1: $2 refusals audited"
        else failed=$((failed + 1)); echo "  FAILED identify $1: $n refusals audited, want $2"; fi
    done
    expect "identify: no face is a no_face refusal" "$OUT" '"case_ref":"ID-7",.*"outcome":"refused",.*"reason":"no_face"'
    check "identify: audit verify" 0 "$MIEN" audit verify --store "$ISTORE"
    check "compare audited with its faces" 0 "$MIEN" compare "$S1" "$S1" --face-a 2 \
        --purpose onboarding --case-ref CF-1 --store "$ISTORE"
    check "compare: audit export" 0 "$MIEN" audit export --store "$ISTORE"
    expect "compare's entry names the faces" "$OUT" '"action":"compare",.*"case_ref":"CF-1",.*"result":{"a_face":2,.*"b_face":2,"b_faces":3,.*"same_person":true'

    # face_recognition's example photos: Obama against a photo of Obama and Biden (issue 18)
    if [ -d "$KNN/train" ]; then
        OBAMA="$KNN/train/obama/obama.jpg"
        PAIR="$KNN/test/obama_and_biden.jpg"
        check "compare obama with obama_and_biden" 0 "$MIEN" compare "$OBAMA" "$PAIR"
        expect "obama is in obama_and_biden" "$OUT" "decision at FMR 1e-04 (threshold [0-9.]*): same person"
        expect "the most similar of the three faces" "$OUT" "^faces: A's face 0 of 1; B's face 1 of 3, the most similar"
        check "compare obama with Biden's face" 0 "$MIEN" compare "$OBAMA" "$PAIR" --face-b 0
        expect "Biden is not obama" "$OUT" "different people"
        check "identify: the knn collection" 0 "$MIEN" collection create knn \
            --purpose investigation --legal-basis "test" --consent not-needed --review none \
            --store "$ISTORE"
        check "identify: enrol the knn examples" 0 "$MIEN" enroll knn --from-dir "$KNN/train" \
            --store "$ISTORE"
        check "identify the knn test photos" 0 "$MIEN" identify knn "$KNN/test" \
            --purpose investigation --case-ref KNN-1 --store "$ISTORE" --csv
        # every test photo's people, found where they stand; the stranger behind them unknown
        awk -F, 'NR > 1 { n = split($1, p, "/"); print p[n] "," $2 "," $7 }' "$OUT" >"$ERR"
        expect "identify: obama_and_biden face 0 is Biden" "$ERR" '^obama_and_biden.jpg",0,"biden"$'
        expect "identify: obama_and_biden face 1 is Obama" "$ERR" '^obama_and_biden.jpg",1,"obama"$'
        expect "identify: the stranger is unknown" "$ERR" '^obama_and_biden.jpg",2,unknown$'
        expect "identify: kit with rose" "$ERR" '^kit_with_rose.jpg",0,"kit_harington"$'
        expect "identify: rose with kit" "$ERR" '^kit_with_rose.jpg",1,"rose_leslie"$'
    else
        echo "  skip: compare and identify on the face_recognition examples need $KNN"
    fi
    rm -rf "$ID_DIR"
else
    echo "  skip: identify and compare in group photos need the models and $MIEN_MODELS/samples"
fi

# keys: API keys for mien serve (no models needed)
KEY_DIR=$(mktemp -d)
KDB="$KEY_DIR/keys.db"
KSTORE=$(test_store "$KDB") || exit 1
test_store_key "$KDB"
check "keys list (none)" 0 "$MIEN" keys list --store "$KSTORE"
expect "keys list says none" "$OUT" "no keys"
check "keys create" 0 "$MIEN" keys create --role admin --label "ops laptop" --store "$KSTORE"
expect "keys create prints the id" "$OUT" '^key id: [0-9a-f]\{12\}$'
expect "keys create prints the role" "$OUT" '^role: admin$'
expect "keys create prints the key" "$OUT" '^key: mien_[0-9a-f]\{12\}_[A-Za-z0-9_-]\{43\}$'
expect "keys create warns: shown once" "$ERR" "shown only this once"
ADMIN_KEY=$(sed -n 's/^key: //p' "$OUT")
check "keys create --json" 0 "$MIEN" keys create --role search --store "$KSTORE" --json
expect "keys create JSON" "$OUT" '^{"id":"[0-9a-f]\{12\}","role":"search","label":"","key":"mien_'
SEARCH_ID=$(sed 's/^{"id":"\([0-9a-f]*\)".*/\1/' "$OUT")
AWS_SECRET=$(sed 's/.*"aws_secret_access_key":"\([^"]*\)".*/\1/' "$OUT")
SEARCH_KEY=$(sed 's/.*"key":"\([^"]*\)".*/\1/' "$OUT")
check "keys list" 0 "$MIEN" keys list --store "$KSTORE"
expect "keys list shows the label" "$OUT" "admin .*ops laptop"
check "keys list --json" 0 "$MIEN" keys list --store "$KSTORE" --json
expect "keys list JSON" "$OUT" "{\"id\":\"$SEARCH_ID\",\"role\":\"search\",\"label\":\"\",\"created_at\":\"[0-9T:Z-]*\",\"revoked_at\":null}"
if grep -q -- "${ADMIN_KEY#mien_????????????_}" "$OUT"; then
    failed=$((failed + 1)); echo "  FAILED keys list shows a secret"
else
    passed=$((passed + 1)); echo "  ok keys list shows no secret"
fi
# an existing key's AWS credentials again: from the whole key (argument or stdin), as created
check "keys aws KEY" 0 "$MIEN" keys aws "$SEARCH_KEY" --store "$KSTORE"
expect "keys aws: the access key id is the key's id" "$OUT" "^aws_access_key_id: $SEARCH_ID$"
expect "keys aws: the secret as at creation" "$OUT" "^aws_secret_access_key: $AWS_SECRET$"
echo "$SEARCH_KEY" >"$KEY_DIR/key.txt"
check "keys aws - (stdin) --json" 0 sh -c '"$1" keys aws - --store "$2" --json <"$3"' sh \
    "$MIEN" "$KSTORE" "$KEY_DIR/key.txt"
expect "keys aws JSON" "$OUT" "^{\"aws_access_key_id\":\"$SEARCH_ID\",\"aws_secret_access_key\":\"$AWS_SECRET\"}$"
check "keys aws: an id alone is no key" 1 "$MIEN" keys aws "$SEARCH_ID" --store "$KSTORE"
check "keys aws without a key" 2 sh -c '"$1" keys aws --store "$2" </dev/null' sh "$MIEN" "$KSTORE"
check "keys revoke" 0 "$MIEN" keys revoke "$SEARCH_ID" --store "$KSTORE"
expect "keys revoke says so" "$OUT" "revoked key $SEARCH_ID"
check "keys list after revoke" 0 "$MIEN" keys list --store "$KSTORE" --json
expect "revoked key has a time" "$OUT" "\"$SEARCH_ID\".*\"revoked_at\":\"[0-9]"
check "keys revoke unknown id" 1 "$MIEN" keys revoke 000000000000 --store "$KSTORE"
expect "keys revoke unknown says no key" "$ERR" "no key"
check "keys create without --role" 2 "$MIEN" keys create --store "$KSTORE"
check "keys create bad role" 2 "$MIEN" keys create --role root --store "$KSTORE"
expect "bad role named" "$ERR" "root"
check "keys revoke without id" 2 "$MIEN" keys revoke --store "$KSTORE"
check "keys unknown action" 2 "$MIEN" keys rotate --store "$KSTORE"
if test_store_is_pg; then
    # the database's whole contents, dumped as text, and the key file
    test_store_dump "$KDB" >"$KEY_DIR/dump" 2>&1
    if grep -q "COPY public.api_keys" "$KEY_DIR/dump" && ! grep -q -a -- "${ADMIN_KEY#mien_????????????_}" "$KEY_DIR/dump" "$KDB"*; then
        passed=$((passed + 1)); echo "  ok the store holds no secret"
    else
        failed=$((failed + 1)); echo "  FAILED the store holds a secret (or cannot be read)"; head -3 "$KEY_DIR/dump"
    fi
elif grep -q -a -- "${ADMIN_KEY#mien_????????????_}" "$KSTORE"*; then
    failed=$((failed + 1)); echo "  FAILED the store file holds a secret"
else
    passed=$((passed + 1)); echo "  ok the store file holds no secret"
fi

# --- mien migrate: a whole store into an empty one, checked (docs/cli.md) ----------------------
COPY=$(test_store "$KEY_DIR/copy.db") || exit 1
# the copy keeps the source's keys: on SQLite the very key file; on PostgreSQL a copy of it, for
# there the signed audit head lives beside the key file ($MIEN_KEY_FILE.audit-head) and two
# databases under one key file path would share one head (the copy's would overwrite the source's)
TO_KEY=$KDB.key
if test_store_is_pg; then TO_KEY=$KEY_DIR/copy.db.key; cp "$KDB.key" "$TO_KEY"; fi
check "migrate without --to" 2 "$MIEN" migrate --from "$KSTORE"
check "migrate a missing source" 1 "$MIEN" migrate --from "$KEY_DIR/none.db" --to "$COPY"
expect "missing source named" "$ERR" "does not exist"
check "migrate" 0 "$MIEN" migrate --from "$KSTORE" --to "$COPY" --to-key-file "$TO_KEY" --json
expect "migrate JSON" "$OUT" "\"copied\":{.*\"keys\":2,.*\"target_audit\":{\"ok\":true"
expect "migrate keeps the key file" "$OUT" "\"same_key_file\":true"
check "migrate into a store that is not empty" 1 "$MIEN" migrate --from "$KSTORE" --to "$COPY" \
    --to-key-file "$TO_KEY"
expect "not empty named" "$ERR" "not empty"
MIEN_KEY_FILE="$TO_KEY" check "the copy's audit log verifies" 0 "$MIEN" audit verify \
    --store "$COPY"
MIEN_KEY_FILE="$TO_KEY" check "the copy's keys" 0 "$MIEN" keys list --store "$COPY" --json
expect "the copy keeps the revoked key" "$OUT" "\"$SEARCH_ID\".*\"revoked_at\":\"[0-9]"
rm -rf "$KEY_DIR"

# --- issue 18: per-command help, errors a person can act on, consistent output -----------------
# every command `mien --help` lists answers --help (exit 0) and lists the options of its table;
# a command made of actions lists them, and each action does the same; every option the
# overview shows for a command is one its help lists
HELP_DIR=$(mktemp -d)
"$MIEN" --help | awk '/^commands:/{on=1; next} /^common options:/{on=0} on' >"$HELP_DIR/overview"
# usage_opts FILE: the --options of a help's synopsis; table_opts FILE: of its options list
usage_opts() { sed '/^options:/,$d' "$1" | grep -o -- '--[a-z0-9][a-z0-9-]*' | grep -vx -- '--help' | sort -u; }
table_opts() { sed -n '/^options:/,$p' "$1" | grep -o -- '^  --[a-z0-9-]*' | sed 's/^  //' | sort -u; }
# help_agrees NAME FILE: the synopsis's options are all in the options list
help_agrees() {
    missing=$(usage_opts "$2" | while read -r o; do table_opts "$2" | grep -qx -- "$o" || echo "$o"; done)
    if [ -z "$missing" ]; then passed=$((passed + 1))
    else failed=$((failed + 1)); echo "  FAILED $1 --help: not in its options: $missing"; fi
}
commands=$(grep -o '^  [a-z][a-z0-9-]*' "$HELP_DIR/overview" | sort -u)
n_commands=0
for c in $commands; do
    n_commands=$((n_commands + 1))
    check "mien $c --help" 0 "$MIEN" $c --help >/dev/null || continue
    cp "$OUT" "$HELP_DIR/$c"
    if grep -q '^options:' "$HELP_DIR/$c"; then
        help_agrees "$c" "$HELP_DIR/$c"
    else # a command made of actions: "usage: mien C A ..." / "       mien C A ..."
        for a in $(sed -n "s/^\(usage:\)\{0,1\} *mien $c \([a-z][a-z0-9-]*\).*/\2/p" "$HELP_DIR/$c" | sort -u); do
            check "mien $c $a --help" 0 "$MIEN" $c $a --help >/dev/null || continue
            cat "$OUT" >>"$HELP_DIR/$c.all"
            help_agrees "$c $a" "$OUT"
        done
    fi
    # the overview's options for c (its line and the indented lines that continue it)
    awk -v c="$c" '/^  [a-z]/{on = ($1 == c)} on' "$HELP_DIR/overview" | grep -o -- '--[a-z0-9][a-z0-9-]*' |
        sort -u >"$HELP_DIR/$c.overview"
    cat "$HELP_DIR/$c" "$HELP_DIR/$c.all" 2>/dev/null >"$HELP_DIR/$c.helps"
    missing=$(while read -r o; do grep -q -- "^  $o\b" "$HELP_DIR/$c.helps" || echo "$o"; done <"$HELP_DIR/$c.overview")
    if [ -z "$missing" ]; then passed=$((passed + 1))
    else failed=$((failed + 1)); echo "  FAILED mien --help shows for $c what its help lacks: $missing"; fi
done
if [ "$n_commands" -ge 20 ]; then passed=$((passed + 1)); echo "  ok help of $n_commands commands"
else failed=$((failed + 1)); echo "  FAILED only $n_commands commands in mien --help"; fi
check "mien help detect" 0 "$MIEN" help detect
expect "mien help CMD is CMD --help" "$OUT" "^  --min-score S"
check "mien help audit verify" 0 "$MIEN" help audit verify
expect "mien help CMD ACTION" "$OUT" "^usage: mien audit verify"
rm -rf "$HELP_DIR"

# a read-only command on a store that does not exist says so and creates nothing
RO_DIR=$(mktemp -d)
for ro in "search people $ONE_FACE --purpose p --case-ref R" \
          "verify people --subject A $ONE_FACE --purpose p" "subjects people" \
          "audit verify" "audit export" "collection list" "review 0123"; do
    # shellcheck disable=SC2086
    check "read-only on a missing store: $ro" 1 "$MIEN" $ro --store "$RO_DIR/none.db"
    expect "says there is no store ($ro)" "$ERR" "no store at $RO_DIR/none.db"
done
if [ -z "$(ls -A "$RO_DIR")" ]; then passed=$((passed + 1)); echo "  ok read-only commands created no file"
else failed=$((failed + 1)); echo "  FAILED read-only commands created: $(ls -A "$RO_DIR")"; fi

# errors: the file named once, no C names of the library (mien_image_options.max_pixels...)
# in any message, and with --json one JSON object on stdout whose status and code are the HTTP
# API's (docs/api.md) for the same failure
printf 'not an image' >"$RO_DIR/notes.jpg"
# a PNG whose header declares 100000×100000 pixels: over the default limit of 40 million
printf '\211\120\116\107\015\012\032\012\000\000\000\015\111\110\104\122\000\001\206\240\000\001\206\240\010\002\000\000\000\047\060\234\237' >"$RO_DIR/huge.png"
API_DOC=$(dirname "$0")/../../docs/api.md
# json_error NAME HTTP CODE: stdout of the last check is one line, {"error":{...}} with them,
# and docs/api.md's table gives that status for that code
json_error() {
    if [ "$(wc -l <"$OUT")" -eq 1 ] &&
        grep -q "^{\"error\":{\"status\":$2,\"code\":\"$3\",\"message\":\".*\",\"exit\":[0-9]}}$" "$OUT" &&
        grep -q "^| $2 | .*\`$3\`" "$API_DOC"; then
        passed=$((passed + 1)); echo "  ok $1: JSON error $2 $3"
    else
        failed=$((failed + 1)); echo "  FAILED $1: not one JSON error $2 $3:"; head -3 "$OUT" | sed 's/^/    /'
    fi
}
check "--json: bad usage" 2 "$MIEN" detect --bogus --json
json_error "bad usage" 400 bad_request
check "--json: missing store" 1 "$MIEN" subjects people --store "$RO_DIR/none.db" --json
json_error "missing store" 404 not_found
rm -f "$RO_DIR/none.db"*
if [ -f "$MIEN_MODELS/MobileFaceNet.tflite" ]; then
    for img in notes.jpg huge.png; do
        check "detect $img" 1 "$MIEN" detect "$RO_DIR/$img"
        if grep -q "$RO_DIR/$img: $RO_DIR/$img" "$ERR"; then
            failed=$((failed + 1)); echo "  FAILED $img named twice: $(head -1 "$ERR")"
        else passed=$((passed + 1)); echo "  ok $img named once"; fi
        check "detect $img --json" 1 "$MIEN" detect "$RO_DIR/$img" --json
        json_error "detect $img" 422 bad_image
    done
    expect "the limit says what raises it" "$ERR" 'raise it with \$MIEN_MAX_PIXELS'
    # a sweep of bad inputs: no message names a C field or function of the library
    : >"$RO_DIR/all"
    for args in "detect $RO_DIR/notes.jpg" "detect $RO_DIR/huge.png" "detect $RO_DIR/none.jpg" \
                "detect $RO_DIR" "embed $RO_DIR/huge.png" "compare $RO_DIR/huge.png $ONE_FACE" \
                "group $RO_DIR/huge.png $ONE_FACE" "embed $FIX/blank.png" \
                "embed $ONE_FACE --face 3" "detect $RO_DIR/huge.png --json"; do
        # shellcheck disable=SC2086
        "$MIEN" $args >>"$RO_DIR/all" 2>&1
    done
    for env in MIEN_MAX_PIXELS MIEN_MAX_IMAGE_BYTES MIEN_MAX_DECODE_MEMORY; do
        env "$env=10" "$MIEN" detect "$ONE_FACE" "$MIEN_MODELS/samples/sample1.jpg" >>"$RO_DIR/all" 2>&1
    done
    if grep -E 'mien_[a-z_]+(\.[a-z_]+|: )' "$RO_DIR/all"; then
        failed=$((failed + 1)); echo "  FAILED a message names the library's C names (above)"
    else passed=$((passed + 1)); echo "  ok no C names in $(wc -l <"$RO_DIR/all") error lines"; fi
    check "detect: 1 face" 0 "$MIEN" detect "$ONE_FACE"
    expect "1 face, not 1 faces" "$OUT" "one_face.png: 1 face$"
fi
rm -rf "$RO_DIR"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
