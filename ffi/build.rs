//! Gives the shared library an ELF soname tied to the ABI version (`libllmcore.so.<ABI>`), so
//! an installed library can be upgraded in place while programs built against an older,
//! incompatible ABI keep finding theirs. Keep the number equal to `LLMC_ABI_VERSION` in
//! src/lib.rs (a test checks it).
//!
//! A program linked against the build tree (`cc app.c -Iinclude -Ltarget/release -lllmcore`)
//! records that soname, so the build tree also gets the link `libllmcore.so.<ABI> ->
//! libllmcore.so` beside the library (as CMake leaves in a build directory), and
//! `LD_LIBRARY_PATH=target/release ./app` runs it.

use std::path::{Path, PathBuf};

/// The soname's version suffix: `LLMC_ABI_VERSION`.
const ABI_VERSION: u32 = 1;

fn main() {
    let target_os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    if target_os == "linux" || target_os == "android" {
        let soname = format!("libllmcore.so.{ABI_VERSION}");
        println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,{soname}");
        if let Err(e) = link_soname_in_profile_dir(&soname) {
            println!("cargo:warning=could not create {soname} -> libllmcore.so in the build tree ({e}); link an installed copy (scripts/install.sh) instead");
        }
    }
    println!("cargo:rustc-env=LLMC_SONAME_ABI={ABI_VERSION}");
    println!("cargo:rerun-if-changed=build.rs");
}

/// Creates `<profile dir>/<soname> -> libllmcore.so` (relative; it dangles until the library is
/// linked). The profile directory (`target/release`, `target/<triple>/debug`, ...) is the
/// one holding `build/<pkg>-<hash>/out`, i.e. three levels above `OUT_DIR`.
fn link_soname_in_profile_dir(soname: &str) -> std::io::Result<()> {
    let out = PathBuf::from(std::env::var_os("OUT_DIR").unwrap_or_default());
    let profile = match out.ancestors().nth(3) {
        Some(dir) if out.ancestors().nth(2).and_then(Path::file_name) == Some("build".as_ref()) => {
            dir
        }
        _ => {
            return Err(std::io::Error::other(format!(
                "unexpected OUT_DIR {}",
                out.display()
            )))
        }
    };
    let link = profile.join(soname);
    let target = Path::new("libllmcore.so");
    match std::fs::read_link(&link) {
        Ok(existing) if existing == target => return Ok(()),
        Ok(_) => std::fs::remove_file(&link)?,
        Err(_) if link.symlink_metadata().is_ok() => std::fs::remove_file(&link)?,
        Err(_) => {}
    }
    #[cfg(unix)]
    return std::os::unix::fs::symlink(target, &link);
    #[cfg(not(unix))]
    return Err(std::io::Error::other("symbolic links need a Unix host"));
}
