//! include/llmcore.h is generated from ffi/src by cbindgen and checked in: this test
//! regenerates it and fails when the checked-in copy differs. After changing the ABI, run
//! `LLMCORE_BLESS_HEADER=1 cargo test -p llmcore-ffi --test header` and commit the header.

use std::path::PathBuf;

#[test]
fn checked_in_header_matches_the_sources() {
    let crate_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let header = crate_dir.join("../include/llmcore.h");
    let config = cbindgen::Config::from_file(crate_dir.join("cbindgen.toml"))
        .expect("ffi/cbindgen.toml parses");
    let bindings = cbindgen::Builder::new()
        .with_crate(&crate_dir)
        .with_config(config)
        .generate()
        .expect("cbindgen generates the header");
    let mut fresh = Vec::new();
    bindings.write(&mut fresh);
    if std::env::var_os("LLMCORE_BLESS_HEADER").is_some() {
        std::fs::write(&header, &fresh).expect("write include/llmcore.h");
        return;
    }
    let current = std::fs::read(&header).unwrap_or_default();
    if current != fresh {
        let (old, new) = (
            String::from_utf8_lossy(&current),
            String::from_utf8_lossy(&fresh),
        );
        let first = old.lines().zip(new.lines()).position(|(a, b)| a != b);
        panic!(
            "include/llmcore.h is out of date (first difference at line {}): regenerate it with \
             LLMCORE_BLESS_HEADER=1 cargo test -p llmcore-ffi --test header",
            first.map_or(old.lines().count().min(new.lines().count()), |i| i) + 1
        );
    }
}
