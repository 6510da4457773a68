//! A small command-line parser: each subcommand declares its flags; unknown flags, missing
//! values, malformed numbers and text that is not UTF-8 are rejected with a message naming the
//! flag. Arguments arrive as `OsString`: file paths (path flags and positionals) may be any
//! bytes the OS allows, every other value must be UTF-8.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::Path;
use std::str::FromStr;

/// One accepted flag.
#[derive(Clone, Copy)]
pub struct Flag {
    pub name: &'static str,
    /// `Some(placeholder)` when the flag takes a value.
    pub value: Option<&'static str>,
    pub help: &'static str,
    /// The value is a file path (read with [`Parsed::path`]; need not be UTF-8).
    pub is_path: bool,
}

/// Shorthand for a flag with a (UTF-8) value.
pub const fn opt(name: &'static str, value: &'static str, help: &'static str) -> Flag {
    Flag {
        name,
        value: Some(value),
        help,
        is_path: false,
    }
}

/// Shorthand for a flag whose value is a file path.
pub const fn path(name: &'static str, value: &'static str, help: &'static str) -> Flag {
    Flag {
        is_path: true,
        ..opt(name, value, help)
    }
}

/// Shorthand for a boolean switch.
pub const fn switch(name: &'static str, help: &'static str) -> Flag {
    Flag {
        name,
        value: None,
        help,
        is_path: false,
    }
}

/// Flags every subcommand accepts.
pub const GLOBAL: &[Flag] = &[
    opt(
        "--threads",
        "N",
        "worker threads (default: all cores; at most 2 per hardware thread)",
    ),
    switch("--json", "print one JSON object of results on stdout"),
];

/// The parsed flags and positional arguments of one subcommand.
pub struct Parsed {
    /// Values of path flags may be any `OsString`; the others were checked to be UTF-8.
    values: BTreeMap<&'static str, OsString>,
    switches: Vec<&'static str>,
    /// Positional arguments (file paths where a subcommand takes any).
    pub positional: Vec<OsString>,
}

/// Renders the flag table of a subcommand.
pub fn usage(cmd: &str, synopsis: &str, flags: &[Flag]) -> String {
    let mut s = format!("usage: llmcore {cmd} {synopsis}\n");
    for f in flags.iter().chain(GLOBAL) {
        let left = match f.value {
            Some(v) => format!("{} {v}", f.name),
            None => f.name.to_string(),
        };
        s.push_str(&format!("  {left:<26} {}\n", f.help));
    }
    s
}

impl Parsed {
    /// Parses `argv` (after the subcommand name) against `flags` plus [`GLOBAL`].
    pub fn parse(argv: &[OsString], flags: &[Flag]) -> Result<Parsed, String> {
        let mut p = Parsed {
            values: BTreeMap::new(),
            switches: Vec::new(),
            positional: Vec::new(),
        };
        let mut it = argv.iter();
        while let Some(a) = it.next() {
            if !a.as_encoded_bytes().starts_with(b"--") {
                p.positional.push(a.clone());
                continue;
            }
            let a = a
                .to_str()
                .ok_or_else(|| format!("unknown flag {}", a.to_string_lossy()))?;
            let (name, inline) = match a.split_once('=') {
                Some((n, v)) => (n, Some(OsString::from(v))),
                None => (a, None),
            };
            let f = flags
                .iter()
                .chain(GLOBAL)
                .find(|f| f.name == name)
                .ok_or_else(|| format!("unknown flag {name}"))?;
            match f.value {
                Some(v) => {
                    let val = match inline {
                        Some(x) => x,
                        None => it
                            .next()
                            .cloned()
                            .ok_or_else(|| format!("{name} needs a value ({v})"))?,
                    };
                    if !f.is_path && val.to_str().is_none() {
                        return Err(format!(
                            "{name}: the value is not valid UTF-8 ({})",
                            val.to_string_lossy()
                        ));
                    }
                    if p.values.insert(f.name, val).is_some() {
                        return Err(format!("{name} given twice"));
                    }
                }
                None => {
                    if inline.is_some() {
                        return Err(format!("{name} takes no value"));
                    }
                    p.switches.push(f.name);
                }
            }
        }
        Ok(p)
    }

    /// The value of the (non-path) flag `name`, if given.
    pub fn str(&self, name: &str) -> Option<&str> {
        self.values.get(name).and_then(|s| s.to_str())
    }

    /// The value of a required (non-path) flag.
    pub fn required(&self, name: &str) -> Result<&str, String> {
        self.str(name).ok_or_else(|| format!("{name} is required"))
    }

    /// The value of the path flag `name`, if given.
    pub fn path(&self, name: &str) -> Option<&Path> {
        self.values.get(name).map(Path::new)
    }

    /// The value of a required path flag.
    pub fn required_path(&self, name: &str) -> Result<&Path, String> {
        self.path(name).ok_or_else(|| format!("{name} is required"))
    }

    /// The value of `name` parsed as `T`, or `default` when absent.
    pub fn num<T: FromStr>(&self, name: &str, default: T) -> Result<T, String> {
        match self.str(name) {
            None => Ok(default),
            Some(s) => s
                .parse()
                .map_err(|_| format!("{name}: '{s}' is not a valid number")),
        }
    }

    /// Whether the switch `name` was given.
    pub fn flag(&self, name: &str) -> bool {
        self.switches.contains(&name)
    }

    /// Rejects positional arguments beyond `max`.
    pub fn at_most_positional(&self, max: usize) -> Result<(), String> {
        match self.positional.get(max) {
            Some(extra) => Err(format!("unexpected argument '{}'", extra.to_string_lossy())),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt;

    fn argv(s: &str) -> Vec<OsString> {
        s.split_whitespace().map(OsString::from).collect()
    }

    const FLAGS: &[Flag] = &[
        opt("--ctx", "N", "window"),
        path("--model", "PATH", "model"),
        switch("--chat", "chat"),
    ];

    #[test]
    fn parses_values_switches_and_globals() {
        let p = Parsed::parse(&argv("m.gguf --ctx=512 --chat --threads 2 --json"), FLAGS).unwrap();
        assert_eq!(p.num::<usize>("--ctx", 0).unwrap(), 512);
        assert_eq!(p.num::<usize>("--threads", 0).unwrap(), 2);
        assert!(p.flag("--chat") && p.flag("--json"));
        assert_eq!(p.positional, vec!["m.gguf"]);
    }

    #[test]
    fn paths_may_be_any_bytes_other_values_must_be_utf8() {
        let bad = OsStr::from_bytes(b"m\xff.gguf");
        let mut a = argv("--model");
        a.push(bad.into());
        a.push(bad.into());
        let p = Parsed::parse(&a, FLAGS).unwrap();
        assert_eq!(p.path("--model").unwrap().as_os_str(), bad);
        assert_eq!(p.positional, vec![bad.to_os_string()]);
        let mut a = argv("--ctx");
        a.push(bad.into());
        assert_eq!(
            Parsed::parse(&a, FLAGS).err().unwrap(),
            "--ctx: the value is not valid UTF-8 (m\u{fffd}.gguf)"
        );
        let a = vec![
            OsString::from("--ctx=1"),
            OsStr::from_bytes(b"--\xff").into(),
        ];
        assert_eq!(
            Parsed::parse(&a, FLAGS).err().unwrap(),
            "unknown flag --\u{fffd}"
        );
    }

    #[test]
    fn rejects_unknown_flags_missing_and_bad_values() {
        assert_eq!(
            Parsed::parse(&argv("--bogus"), FLAGS).err().unwrap(),
            "unknown flag --bogus"
        );
        assert!(Parsed::parse(&argv("--ctx"), FLAGS)
            .err()
            .unwrap()
            .contains("needs a value"));
        let p = Parsed::parse(&argv("--ctx abc"), FLAGS).unwrap();
        assert!(p
            .num::<usize>("--ctx", 0)
            .unwrap_err()
            .contains("not a valid number"));
        assert!(Parsed::parse(&argv("--ctx 1 --ctx 2"), FLAGS).is_err());
        assert!(Parsed::parse(&argv("--chat=yes"), FLAGS).is_err());
    }
}
