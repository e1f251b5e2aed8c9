#!/bin/sh
# tests/install/test_deb.sh DEBDIR — the Debian packages of `make deb` (issue 18 item 8) on a
# fresh Debian 12: a minimal root (scripts/debian-root: debootstrapped once, a cached tarball)
# unpacked into a scratch folder, `apt install ./mien_*.deb ./mien-models_*.deb` there (apt
# pulls the runtime dependencies from the mirror; the .debs it fetched are kept in the cache
# for the next run), then `mien detect` on a sample photo from /tmp, the service's user and
# state folder, the key file's mode, what `apt remove` and `apt purge` leave (docs/deploy.md),
# and the unit checked with `systemd-analyze verify` (systemd does not run in a chroot, so the
# start itself is checked that way). Needs root; exit 77 (skipped) without it or without a
# route to the Debian mirror.
set -eu
DEBS=$(cd "$1" && pwd)
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/mien
ARCHIVES=$CACHE/debian12-apt-archives
fails=0
ok() { echo "ok   $*"; }
bad() { echo "FAIL $*"; fails=$((fails + 1)); }
[ "$(id -u)" -eq 0 ] || { echo "skip: needs root (chroot, debootstrap)"; exit 77; }
MIEN_DEB=$(ls "$DEBS"/mien_*.deb | head -n 1)
MODELS_DEB=$(ls "$DEBS"/mien-models_*.deb | head -n 1)
start=$(date +%s)

TAR=$("$ROOT/scripts/debian-root")
R=$(mktemp -d /var/tmp/mien-root.XXXXXX)
cleanup() {
    umount "$R/proc" 2>/dev/null || true
    rm -rf --one-file-system "$R"
}
trap cleanup EXIT
tar -C "$R" -xf "$TAR"
mount -t proc proc "$R/proc"
cp /etc/resolv.conf "$R/etc/resolv.conf"
mkdir -p "$ARCHIVES" "$R/var/cache/apt/archives"
cp "$ARCHIVES"/*.deb "$R/var/cache/apt/archives/" 2>/dev/null || true
in_root() { chroot "$R" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 \
    DEBIAN_FRONTEND=noninteractive "$@"; }
if ! in_root apt-get update -qq >"$R/tmp/update.log" 2>&1; then
    cat "$R/tmp/update.log"
    echo "skip: apt-get update failed in the Debian 12 root (no route to the mirror?)"
    exit 77
fi
cp "$MIEN_DEB" "$MODELS_DEB" "$R/tmp/"
cp "$ROOT/models/samples/sample1.jpg" "$R/tmp/photo.jpg"
# what the issue asks a user to type, in the scratch root
if in_root sh -c 'cd /tmp && apt install -y ./mien_*.deb ./mien-models_*.deb' \
    >"$R/tmp/install.log" 2>&1; then
    ok "apt install ./mien_*.deb ./mien-models_*.deb on a fresh Debian 12"
else
    tail -n 30 "$R/tmp/install.log"
    bad "apt install"
fi
cp -n "$R"/var/cache/apt/archives/*.deb "$ARCHIVES/" 2>/dev/null || true
grep -q "Unpacking libdnnl" "$R/tmp/install.log" &&
    ok "apt pulled the runtime dependencies (libdnnl)" || bad "libdnnl not installed by apt"

# mien detect from /tmp: the installed models found by default
if in_root sh -c 'cd /tmp && mien detect photo.jpg' >"$R/tmp/detect.out" 2>&1 &&
    grep -q "3 faces" "$R/tmp/detect.out"; then
    ok "mien detect photo.jpg from /tmp: $(head -n 1 "$R/tmp/detect.out")"
else
    cat "$R/tmp/detect.out"
    bad "mien detect from /tmp"
fi
in_root sh -c 'cd /tmp && mien models' 2>&1 | grep -q "fr_detect.onnx" &&
    ok "mien models from /tmp lists /usr/share/mien/models" || bad "mien models from /tmp"
in_root sh -c 'zcat /usr/share/man/man8/mien-serve.8.gz' | grep -q -- "--listen" &&
    ok "mien-serve(8) installed" || bad "mien-serve(8)"
in_root grep -q "^Files: usr/share/mien/models/MobileFaceNet.tflite" \
    /usr/share/doc/mien-models/copyright && ok "mien-models copyright names each model" ||
    bad "mien-models copyright"

# the service's user and state, as the unit runs it: a store and its key file made by user mien
in_root getent passwd mien >/dev/null && ok "system user mien" || bad "no user mien"
st=$(in_root stat -c '%U %a' /var/lib/mien)
[ "$st" = "mien 700" ] && ok "/var/lib/mien: mien, 0700" || bad "/var/lib/mien is '$st'"
in_root sh -c 'cd /var/lib/mien && umask 077 && setpriv --reuid=mien --regid=mien --init-groups \
    env MIEN_STORE=sqlite:/var/lib/mien/mien.db mien keys create --role admin --label test' \
    >"$R/tmp/keys.out" 2>&1 || { cat "$R/tmp/keys.out"; bad "mien keys create as mien"; }
key=$(in_root stat -c '%U %a' /var/lib/mien/mien.db.key 2>/dev/null || echo missing)
[ "$key" = "mien 600" ] && ok "key file /var/lib/mien/mien.db.key: mien, 0600" ||
    bad "key file is '$key'"

# the unit: enabled by the package, and systemd-analyze verify (Debian 12's, in the root: the
# binary, the directives, the dependencies; man pages are not installed in the root)
UNIT=$R/usr/lib/systemd/system/mien.service
in_root test -L /etc/systemd/system/multi-user.target.wants/mien.service &&
    ok "mien.service enabled (multi-user.target.wants)" || bad "mien.service not enabled"
if in_root systemd-analyze verify --man=no /usr/lib/systemd/system/mien.service \
    >"$R/tmp/verify.out" 2>&1 && ! grep -q . "$R/tmp/verify.out"; then
    ok "systemd-analyze verify mien.service: clean"
else
    cat "$R/tmp/verify.out"
    bad "systemd-analyze verify mien.service"
fi
for line in User=mien ProtectSystem=strict StateDirectory=mien UMask=0077 NoNewPrivileges=yes; do
    grep -q "^$line" "$UNIT" || bad "mien.service lacks $line"
done

# The start under systemd: where systemd-nspawn can boot the root (systemd-container; it needs
# no systemd on the host), Debian 12's systemd starts the enabled unit; a one-shot unit reports
# its state, the key file it made and GET / on its port, then powers off. Where nspawn cannot
# boot (no cgroups), systemd-analyze verify above is the check, and this says so.
boot_check() {
    command -v systemd-nspawn >/dev/null 2>&1 ||
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq systemd-container >/dev/null 2>&1 ||
        return 1
    cat >"$R/etc/systemd/system/mien-check.service" <<'UNIT'
[Unit]
Description=report mien.service's state, then power off (tests/install/test_deb.sh)
After=mien.service
[Service]
Type=oneshot
ExecStart=/bin/sh /root/check.sh
ExecStartPost=/bin/systemctl poweroff --no-block
[Install]
WantedBy=multi-user.target
UNIT
    cat >"$R/root/check.sh" <<'CHECK'
for i in $(seq 1 60); do
    systemctl is-active --quiet mien.service && [ -f /var/lib/mien/mien.db.key ] && break
    sleep 1
done
{
    echo "state $(systemctl is-active mien.service)"
    stat -c "stat %U %a %n" /var/lib/mien /var/lib/mien/mien.db.key
    systemctl show -p User mien.service
    # perl-base is in every Debian root: GET / without curl
    perl -MIO::Socket::INET -e '$s = IO::Socket::INET->new(q(127.0.0.1:8080)) or die;
        print $s qq(GET / HTTP/1.0\r\n\r\n); print <$s>'
    journalctl -u mien.service --no-pager
} >/root/check.out 2>&1
CHECK
    ln -sf /etc/systemd/system/mien-check.service \
        "$R/etc/systemd/system/multi-user.target.wants/mien-check.service"
    umount "$R/proc"
    timeout 120 systemd-nspawn -q -D "$R" --boot --private-network --register=no --keep-unit \
        >"$R/tmp/boot.log" 2>&1 || true
    mount -t proc proc "$R/proc"
    rm -f "$R/etc/systemd/system/mien-check.service" "$R/root/check.sh" \
        "$R/etc/systemd/system/multi-user.target.wants/mien-check.service"
    [ -f "$R/root/check.out" ]
}
in_root rm -f /var/lib/mien/mien.db /var/lib/mien/mien.db.key
if boot_check; then
    C=$R/root/check.out
    grep -q "^state active" "$C" && grep -q "^User=mien" "$C" &&
        ok "booted under systemd (nspawn): mien.service active as user mien" ||
        { cat "$C"; bad "mien.service under systemd"; }
    grep -q "^stat mien 600 /var/lib/mien/mien.db.key" "$C" &&
        ok "the service made its key file 0600 in /var/lib/mien" || bad "service key file"
    grep -q "^HTTP/1.[01] 200" "$C" && grep -q "web /usr/share/mien/web" "$C" &&
        ok "GET / on 127.0.0.1:8080: 200, the page from /usr/share/mien/web" ||
        { cat "$C"; bad "the service's web page"; }
else
    echo "note: systemd-nspawn could not boot the root here ($(tail -n 1 "$R/tmp/boot.log" \
        2>/dev/null)); the unit is checked by systemd-analyze verify alone"
fi
in_root sh -c 'cd /var/lib/mien && setpriv --reuid=mien --regid=mien --init-groups \
    env MIEN_STORE=sqlite:/var/lib/mien/mien.db mien keys create --role admin --label test' \
    >/dev/null 2>&1 || bad "mien keys create on the service's store"

# remove keeps the store and its key; purge keeps them too, says so, and leaves no unit
in_root apt-get remove -y -qq mien >/dev/null 2>&1 || bad "apt-get remove mien"
in_root test -f /var/lib/mien/mien.db -a -f /var/lib/mien/mien.db.key &&
    ok "apt remove: store and key file kept" || bad "apt remove deleted the store or key"
in_root apt-get purge -y -qq mien >"$R/tmp/purge.out" 2>&1 || bad "apt-get purge mien"
in_root test -f /var/lib/mien/mien.db -a -f /var/lib/mien/mien.db.key &&
    grep -q "purge keeps /var/lib/mien" "$R/tmp/purge.out" &&
    ok "apt purge with a store: store and key file kept, and said" ||
    { cat "$R/tmp/purge.out"; bad "apt purge with a store"; }
in_root test ! -e /etc/mien/mien.env -a ! -e /usr/bin/mien &&
    ok "apt purge: binary and config gone" || bad "apt purge left the binary or /etc/mien/mien.env"
# without a store or key, a purge leaves nothing behind
in_root rm -f /var/lib/mien/mien.db /var/lib/mien/mien.db.key
in_root sh -c 'cd /tmp && apt install -y ./mien_*.deb' >/dev/null 2>&1 || bad "reinstall"
in_root apt-get purge -y -qq mien >/dev/null 2>&1 || bad "second purge"
in_root test ! -e /var/lib/mien && ok "apt purge without a store: /var/lib/mien removed" ||
    bad "apt purge without a store left /var/lib/mien: $(in_root ls -A /var/lib/mien)"

echo "test_deb: $(($(date +%s) - start)) s"
[ "$fails" -eq 0 ] || { echo "$fails failed"; exit 1; }
echo "all package checks passed"
