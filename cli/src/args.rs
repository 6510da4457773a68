//! A small command-line parser: each subcommand declares its flags; unknown flags, missing
//! values and malformed numbers are rejected with a message naming the flag.

use std::collections::BTreeMap;
use std::str::FromStr;

/// One accepted flag.
pub struct Flag {
    pub name: &'static str,
    /// `Some(placeholder)` when the flag takes a value.
    pub value: Option<&'static str>,
    pub help: &'static str,
}

/// Shorthand for a flag with a value.
pub const fn opt(name: &'static str, value: &'static str, help: &'static str) -> Flag {
    Flag {
        name,
        value: Some(value),
        help,
    }
}

/// Shorthand for a boolean switch.
pub const fn switch(name: &'static str, help: &'static str) -> Flag {
    Flag {
        name,
        value: None,
        help,
    }
}

/// Flags every subcommand accepts.
pub const GLOBAL: &[Flag] = &[
    opt("--threads", "N", "worker threads (default: all cores)"),
    switch("--json", "print one JSON object of results on stdout"),
];

/// The parsed flags and positional arguments of one subcommand.
pub struct Parsed {
    values: BTreeMap<&'static str, String>,
    switches: Vec<&'static str>,
    pub positional: Vec<String>,
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
    pub fn parse(argv: &[String], flags: &[Flag]) -> Result<Parsed, String> {
        let mut p = Parsed {
            values: BTreeMap::new(),
            switches: Vec::new(),
            positional: Vec::new(),
        };
        let mut it = argv.iter();
        while let Some(a) = it.next() {
            if !a.starts_with("--") {
                p.positional.push(a.clone());
                continue;
            }
            let (name, inline) = match a.split_once('=') {
                Some((n, v)) => (n, Some(v.to_string())),
                None => (a.as_str(), None),
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

    /// The value of `name`, if given.
    pub fn str(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(|s| s.as_str())
    }

    /// The value of a required flag.
    pub fn required(&self, name: &str) -> Result<&str, String> {
        self.str(name).ok_or_else(|| format!("{name} is required"))
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
            Some(extra) => Err(format!("unexpected argument '{extra}'")),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    const FLAGS: &[Flag] = &[opt("--ctx", "N", "window"), switch("--chat", "chat")];

    #[test]
    fn parses_values_switches_and_globals() {
        let p = Parsed::parse(&argv("m.gguf --ctx=512 --chat --threads 2 --json"), FLAGS).unwrap();
        assert_eq!(p.num::<usize>("--ctx", 0).unwrap(), 512);
        assert_eq!(p.num::<usize>("--threads", 0).unwrap(), 2);
        assert!(p.flag("--chat") && p.flag("--json"));
        assert_eq!(p.positional, vec!["m.gguf"]);
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
