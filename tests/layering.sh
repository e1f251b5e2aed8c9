#!/bin/sh
# tests/layering.sh — the layer order of docs/architecture.md, checked on every #include.
#
#   tests/layering.sh [SRC_DIR]      check SRC_DIR (default: src/ beside this script)
#   tests/layering.sh --self-test    check that a tree with each kind of bad include fails
#
# The library's folders form one order, lowest first:
#     base → image → nn → face → store → governance → gallery
# A library file may include its own folder's headers and those of folders below it, never
# above. The front ends (server, cli, tools) use the library only through include/mien.h:
# none of them includes a library folder's header, and no library file includes a front
# end's. Between front ends only the entry points listed in FRONT_ALLOWED may be included
# (the CLI starts the service with `mien serve`; `mien eval` runs the tools).
#
# Each include is resolved as the compiler would: "x.h" beside the including file first,
# then "dir/x.h" under src/, then include/ (mien.h) and the generated ONNX reader. Exits 1
# naming every offending line ("file:line: folder 'a' includes 'b/x.h' (layer above)"), 0
# with a count when the tree is clean. Prints a CTest-style closing line either way.
set -eu

LIB_ORDER="base image nn face store governance gallery"
FRONT_ENDS="server cli tools"
# front end -> headers of another front end it may include (path under src/)
FRONT_ALLOWED="cli:server/server.h cli:tools/tools.h tools:cli/cli.h"

rank_of() { # folder -> its rank in LIB_ORDER, or nothing
    r=0
    for f in $LIB_ORDER; do
        [ "$f" = "$1" ] && { echo "$r"; return; }
        r=$((r + 1))
    done
}

is_front() {
    for f in $FRONT_ENDS; do [ "$f" = "$1" ] && return 0; done
    return 1
}

front_allowed() { # from-folder header -> 0 when listed
    for pair in $FRONT_ALLOWED; do [ "$pair" = "$1:$2" ] && return 0; done
    return 1
}

# check_tree SRC: prints one line per violation, then "checked N includes" on fd 3.
check_tree() {
    src=$1
    bad=0 count=0
    # every "quoted" include, as file:line:header
    list=$(cd "$src" && grep -n -o -E '^[[:space:]]*#[[:space:]]*include[[:space:]]+"[^"]+"' \
        $(find . -type f \( -name '*.c' -o -name '*.h' -o -name '*.cpp' \) | sort) 2>/dev/null |
        sed -E 's|^\./||; s|#[[:space:]]*include[[:space:]]+"([^"]+)"|\1|; s|:[[:space:]]*|:|g') || true
    for entry in $list; do
        file=${entry%%:*}
        rest=${entry#*:}
        line=${rest%%:*}
        header=${rest#*:}
        from=${file%%/*}
        dir=$(dirname "$file")
        count=$((count + 1))
        # resolve: beside the file, then under src/, else outside src (mien.h, generated)
        if [ -f "$src/$dir/$header" ]; then
            target=$(cd "$src/$dir" && cd "$(dirname "$header")" && pwd)
            target=${target#"$(cd "$src" && pwd)"/}
            target=$target/$(basename "$header")
        elif [ -f "$src/$header" ]; then
            target=$header
        else
            continue
        fi
        to=${target%%/*}
        [ "$to" = "$from" ] && continue
        msg=""
        if is_front "$from"; then
            if is_front "$to"; then
                front_allowed "$from" "$target" ||
                    msg="front end '$from' includes front end header '$target' (not an entry point)"
            else
                msg="front end '$from' includes library header '$target' (use include/mien.h)"
            fi
        else
            rf=$(rank_of "$from") rt=$(rank_of "$to")
            if [ -z "$rf" ]; then
                msg="folder '$from' is in no layer (add it to LIB_ORDER or FRONT_ENDS)"
            elif [ -z "$rt" ]; then
                msg="library folder '$from' includes front end header '$target'"
            elif [ "$rt" -gt "$rf" ]; then
                msg="folder '$from' includes '$target' (layer above)"
            fi
        fi
        if [ -n "$msg" ]; then
            echo "$file:$line: $msg"
            bad=$((bad + 1))
        fi
    done
    echo "$count $bad" >&3
}

run_check() { # SRC -> exit status 0 clean, 1 violations
    out=$( { check_tree "$1" 3>&1 1>&4; } 4>&1 )
    summary=$(printf '%s\n' "$out" | tail -n 1)
    printf '%s\n' "$out" | sed '$d'
    set -- $summary
    echo "layering: checked $1 includes, $2 against the layer order"
    [ "$2" -eq 0 ]
}

self_test() {
    tmp=$(mktemp -d)
    trap 'rm -rf "$tmp"' EXIT
    passed=0 failed=0
    mk() { mkdir -p "$(dirname "$tmp/$1")"; printf '%s\n' "$2" >"$tmp/$1"; }
    expect() { # name want(0|1)
        if run_check "$tmp/src" >"$tmp/out" 2>&1; then got=0; else got=1; fi
        if [ "$got" = "$2" ]; then
            passed=$((passed + 1))
        else
            failed=$((failed + 1))
            echo "self-test '$1': expected exit $2, got $got"
            cat "$tmp/out"
        fi
    }
    base_tree() {
        rm -rf "$tmp/src"
        mk src/base/error.h '/* */'
        mk src/store/store.h '#include "base/error.h"'
        mk src/governance/gov.h '#include "store/store.h"'
        mk src/gallery/gallery.c '#include "governance/gov.h"
#include "mien.h"'
        mk src/cli/cli.h '#include "mien.h"'
        mk src/cli/main.c '#include "cli.h"
#include "../server/server.h"'
        mk src/server/server.h '#include "mien.h"'
    }
    base_tree; expect clean 0
    base_tree; mk src/store/store.c '#include "governance/gov.h"'; expect store-up 1
    base_tree; mk src/base/x.c '#include "../gallery/g.h"'; mk src/gallery/g.h ''; expect relative-up 1
    base_tree; mk src/server/api.c '#include "store/store.h"'; expect front-into-lib 1
    base_tree; mk src/gallery/g.c '#include "cli/cli.h"'; expect lib-into-front 1
    base_tree; mk src/server/x.c '#include "cli/cli.h"'; expect front-into-front 1
    base_tree; mk src/extra/x.c '#include "base/error.h"'; expect unknown-folder 1
    echo "$passed passed, $failed failed"
    [ "$failed" -eq 0 ]
}

if [ "${1:-}" = "--self-test" ]; then
    self_test
    exit $?
fi
SRC=${1:-$(cd "$(dirname "$0")/../src" && pwd)}
if run_check "$SRC"; then
    echo "1 passed, 0 failed"
else
    echo "0 passed, 1 failed"
    exit 1
fi
