#!/usr/bin/env bash
# Enforces the MSRV (workspace.package.rust-version, inherited by every member) without a second
# toolchain, in two parts:
#  1. clippy over every target with -D warnings; its incompatible_msrv lint reads rust-version and
#     refuses standard-library APIs stabilized later (it does not see language features: those
#     still need a build with that toolchain);
#  2. every crate that the libraries, the CLI and their build scripts compile against (normal and
#     build dependencies, not dev ones) declares a rust-version no newer than ours.
# Dev-dependencies may need a newer compiler (proptest 1.12 declares 1.88): the library builds on
# the MSRV, its test suite on what proptest needs. Used by scripts/test.sh.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo clippy --workspace --all-targets --release -- -D warnings

cargo metadata --format-version 1 --locked | python3 -c '
import json, sys
meta = json.load(sys.stdin)
pkgs = {p["id"]: p for p in meta["packages"]}
ver = lambda v: tuple(int(x) for x in v.split("."))
msrv = min(ver(pkgs[m]["rust_version"]) for m in meta["workspace_members"])
nodes = {n["id"]: n for n in meta["resolve"]["nodes"]}
seen, todo, bad = set(), list(meta["workspace_members"]), []
while todo:
    pid = todo.pop()
    if pid in seen:
        continue
    seen.add(pid)
    p = pkgs[pid]
    rv = p.get("rust_version")
    if rv and ver(rv) > msrv:
        bad.append("%s %s needs Rust %s" % (p["name"], p["version"], rv))
    for d in nodes[pid]["deps"]:
        if any(k["kind"] in (None, "build") for k in d["dep_kinds"]):
            todo.append(d["pkg"])
msrv_s = ".".join(map(str, msrv))
if bad:
    sys.exit(f"MSRV {msrv_s}: " + "; ".join(sorted(bad)) + " (raise rust-version or pin an older version)")
print(f"MSRV {msrv_s}: {len(seen)} crates (workspace + normal/build dependencies) declare no newer rust-version")
'
