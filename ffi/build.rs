//! Gives the shared library an ELF soname tied to the ABI version (`libllmcore.so.<ABI>`), so
//! an installed library can be upgraded in place while programs built against an older,
//! incompatible ABI keep finding theirs. Keep the number equal to `LLMC_ABI_VERSION` in
//! src/lib.rs (a test checks it).

/// The soname's version suffix: `LLMC_ABI_VERSION`.
const ABI_VERSION: u32 = 1;

fn main() {
    let target_os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    if target_os == "linux" || target_os == "android" {
        println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libllmcore.so.{ABI_VERSION}");
    }
    println!("cargo:rustc-env=LLMC_SONAME_ABI={ABI_VERSION}");
    println!("cargo:rerun-if-changed=build.rs");
}
