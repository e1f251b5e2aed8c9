#!/bin/sh
# tests/install/test_install.sh BUILD_DIR — `make install` (issue 18 items 7 and 9), as CTest
# runs it: the build folder installed into a scratch DESTDIR, every installed part checked
# (soname, mien.pc, header, models, web page, man pages, the systemd unit), the installed CLI
# looking for the installed models when ./models is absent, then examples/hello.c built against
# the installed library with `pkg-config --cflags --libs mien` and run on two sample photos.
set -eu
BUILD=$(cd "$1" && pwd)
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
fails=0
ok() { echo "ok   $*"; }
bad() { echo "FAIL $*"; fails=$((fails + 1)); }
check() { # description, then a command that must succeed
    d=$1
    shift
    if "$@" >/dev/null 2>&1; then ok "$d"; else bad "$d"; fi
}

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
DEST=$TMP/dest
DESTDIR=$DEST cmake --install "$BUILD" >"$TMP/install.log" 2>&1 || {
    cat "$TMP/install.log"
    echo "FAIL cmake --install"
    exit 1
}
PREFIX=$(sed -n 's/^CMAKE_INSTALL_PREFIX:PATH=//p' "$BUILD/CMakeCache.txt")
P=$DEST$PREFIX
LIBDIR=$(dirname "$(find "$P" -name libmien.so.0 | head -n 1)")

check "bin/mien installed" test -x "$P/bin/mien"
check "libmien.so.0 installed ($LIBDIR)" test -f "$LIBDIR/libmien.so.0"
check "libmien.so links to libmien.so.0" test -L "$LIBDIR/libmien.so"
check "libmien.a installed" test -f "$LIBDIR/libmien.a"
soname=$(readelf -d "$LIBDIR/libmien.so" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
[ "$soname" = libmien.so.0 ] && ok "soname libmien.so.0" || bad "soname is '$soname'"
check "mien.h installed" test -f "$P/include/mien.h"
check "mien.pc installed" test -f "$LIBDIR/pkgconfig/mien.pc"
for m in MobileFaceNet.tflite fr_detect.onnx fr_feature.onnx onet.tflite pnet.tflite rnet.tflite \
    samples/sample1.jpg; do
    check "share/mien/models/$m" cmp "$ROOT/models/$m" "$P/share/mien/models/$m"
done
check "share/mien/web/index.html" cmp "$ROOT/web/index.html" "$P/share/mien/web/index.html"
# the man pages: gzip, roff, every command of `mien --help` (here: detect's own option) in mien(1)
check "mien(1) is gzipped roff" \
    sh -c "gzip -dc '$P/share/man/man1/mien.1.gz' | grep -q '^\.TH MIEN 1'"
check "mien(1) has detect's --small-faces" \
    sh -c "gzip -dc '$P/share/man/man1/mien.1.gz' | grep -q -- '--small-faces'"
check "mien(1) has audit" sh -c "gzip -dc '$P/share/man/man1/mien.1.gz' | grep -q '^\.SS audit'"
check "mien-serve(8) has --listen" \
    sh -c "gzip -dc '$P/share/man/man8/mien-serve.8.gz' | grep -q -- '--listen'"
UNIT=$P/lib/systemd/system/mien.service
for line in "User=mien" "ProtectSystem=strict" "StateDirectory=mien" "UMask=0077" \
    "ExecStart=$PREFIX/bin/mien serve"; do
    check "mien.service: $line" grep -q "^$line" "$UNIT"
done

# The installed CLI, run from a folder without ./models and without $MIEN_MODELS, looks for
# the models where make install put them (here under DESTDIR, so it names the folder it
# wanted); with that folder given, it lists them.
mkdir -p "$TMP/elsewhere"
(cd "$TMP/elsewhere" && env -u MIEN_MODELS "$P/bin/mien" models >"$TMP/models.out" 2>&1) || true
if [ -d "$PREFIX/share/mien/models" ]; then
    check "installed mien finds $PREFIX/share/mien/models" grep -q fr_detect "$TMP/models.out"
else
    check "installed mien looks in $PREFIX/share/mien/models" \
        grep -q "'$PREFIX/share/mien/models' not found" "$TMP/models.out"
fi
check "installed mien with --models lists them" \
    sh -c "cd '$TMP/elsewhere' && '$P/bin/mien' models --models '$P/share/mien/models' |
        grep -q fr_detect"

# examples/hello.c against the installed library, through pkg-config alone.
export PKG_CONFIG_PATH=$LIBDIR/pkgconfig
flags=$(pkg-config --cflags --libs mien) || { bad "pkg-config mien"; flags=""; }
inc=$(pkg-config --variable=includedir mien)
[ "$(cd "$inc" && pwd -P)" = "$(cd "$P/include" && pwd -P)" ] &&
    ok "pkg-config includedir: the installed include/ (relative to mien.pc)" ||
    bad "pkg-config includedir $inc, flags: $flags"
# a sanitizer build's library (make test-asan) needs its runtime in the program too
san=""
grep -q '^MIEN_SANITIZE:BOOL=ON' "$BUILD/CMakeCache.txt" && san="-fsanitize=address,undefined"
# shellcheck disable=SC2086
if cc -std=c11 -Wall -Wextra -Werror $san "$ROOT/examples/hello.c" $flags -o "$TMP/hello" \
    2>"$TMP/cc.log"; then
    ok "examples/hello.c builds with pkg-config --cflags --libs mien"
else
    cat "$TMP/cc.log"
    bad "examples/hello.c does not build"
fi
check "hello links the installed libmien.so.0" \
    sh -c "LD_LIBRARY_PATH='$LIBDIR' ldd '$TMP/hello' | grep -q '$LIBDIR/libmien.so.0'"
S=$P/share/mien/models/samples
cd "$TMP/elsewhere"
if LD_LIBRARY_PATH=$LIBDIR "$TMP/hello" "$P/share/mien/models" "$S/sample1.jpg" "$S/sample1.jpg" \
    >"$TMP/same.out" 2>&1 && grep -q "same person" "$TMP/same.out" &&
    grep -q "sample1.jpg: 3 faces" "$TMP/same.out"; then
    ok "hello: a photo against itself: same person"
else
    cat "$TMP/same.out"
    bad "hello on sample1 twice"
fi
if LD_LIBRARY_PATH=$LIBDIR "$TMP/hello" "$P/share/mien/models" "$S/sample1.jpg" "$S/sample4.jpg" \
    >"$TMP/diff.out" 2>&1 && grep -q "different people" "$TMP/diff.out"; then
    ok "hello: two people: different people"
else
    cat "$TMP/diff.out"
    bad "hello on sample1 and sample4"
fi
check "hello without arguments: usage, exit 2" \
    sh -c "LD_LIBRARY_PATH='$LIBDIR' '$TMP/hello'; [ \$? -eq 2 ]"

[ "$fails" -eq 0 ] || { echo "$fails failed"; exit 1; }
echo "all install checks passed"
