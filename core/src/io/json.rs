//! A small strict JSON (RFC 8259) parser and writer: enough for safetensors headers and the
//! CLI's `--json` output, without a dependency.
//!
//! Parsing follows the RFC 8259 grammar exactly (no trailing commas, no comments, no leading
//! `+` or zeros, no unescaped control characters, `\uXXXX` surrogate pairs combined and lone
//! surrogates rejected). Nesting is limited to [`MAX_DEPTH`] arrays/objects, and numbers whose
//! value overflows an `f64` are rejected (RFC 8259 section 9 lets a parser limit the range).
//! Objects keep their members in document order, duplicates included; [`Json::get`] returns the
//! first.
//!
//! Memory is bounded by the text: every value spends at least 2 bytes of it (`0,`) on a 32-byte
//! [`Json`], every object member at least 5 (`"":0,`) on a 56-byte pair, and a decoded string
//! is never longer than its escaped form, so a parsed document takes at most 16 bytes per byte
//! of text (twice that while its vectors grow).

use crate::{Error, Result};
use alloc::{format, string::String, vec::Vec};
use core::fmt::{self, Write as _};

/// Deepest nesting of arrays and objects that [`parse`] accepts.
pub const MAX_DEPTH: usize = 128;

/// A JSON value.
#[derive(Debug, Clone, PartialEq)]
pub enum Json {
    Null,
    Bool(bool),
    Number(f64),
    String(String),
    Array(Vec<Json>),
    /// Members in document order.
    Object(Vec<(String, Json)>),
}

/// Parses one JSON text (RFC 8259 `JSON-text = ws value ws`). Errors are
/// [`Error::Format`] with format "JSON" and the byte offset of the problem.
pub fn parse(text: &str) -> Result<Json> {
    let mut p = Parser {
        s: text.as_bytes(),
        pos: 0,
    };
    p.ws();
    let v = p.value(0)?;
    p.ws();
    if p.pos != p.s.len() {
        return Err(p.err("unexpected data after the JSON value"));
    }
    Ok(v)
}

struct Parser<'a> {
    s: &'a [u8],
    pos: usize,
}

impl Parser<'_> {
    fn err(&self, message: impl Into<String>) -> Error {
        self.err_at(self.pos, message)
    }

    fn err_at(&self, at: usize, message: impl Into<String>) -> Error {
        Error::format("JSON", at as u64, message)
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.pos).copied()
    }

    fn ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.pos += 1;
        }
    }

    fn expect_literal(&mut self, lit: &[u8], v: Json) -> Result<Json> {
        if self.s[self.pos..].starts_with(lit) {
            self.pos += lit.len();
            Ok(v)
        } else {
            Err(self.err("invalid literal"))
        }
    }

    fn value(&mut self, depth: usize) -> Result<Json> {
        match self.peek() {
            None => Err(self.err("unexpected end of input, expected a value")),
            Some(b'n') => self.expect_literal(b"null", Json::Null),
            Some(b't') => self.expect_literal(b"true", Json::Bool(true)),
            Some(b'f') => self.expect_literal(b"false", Json::Bool(false)),
            Some(b'"') => Ok(Json::String(self.string()?)),
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(b'[') => {
                self.enter(depth)?;
                let mut items = Vec::new();
                self.ws();
                if self.peek() == Some(b']') {
                    self.pos += 1;
                    return Ok(Json::Array(items));
                }
                loop {
                    self.ws();
                    items.push(self.value(depth + 1)?);
                    self.ws();
                    match self.peek() {
                        Some(b',') => self.pos += 1,
                        Some(b']') => {
                            self.pos += 1;
                            return Ok(Json::Array(items));
                        }
                        _ => return Err(self.err("expected ',' or ']' in array")),
                    }
                }
            }
            Some(b'{') => {
                self.enter(depth)?;
                let mut members = Vec::new();
                self.ws();
                if self.peek() == Some(b'}') {
                    self.pos += 1;
                    return Ok(Json::Object(members));
                }
                loop {
                    self.ws();
                    if self.peek() != Some(b'"') {
                        return Err(self.err("expected a string key in object"));
                    }
                    let key = self.string()?;
                    self.ws();
                    if self.peek() != Some(b':') {
                        return Err(self.err("expected ':' after object key"));
                    }
                    self.pos += 1;
                    self.ws();
                    let v = self.value(depth + 1)?;
                    members.push((key, v));
                    self.ws();
                    match self.peek() {
                        Some(b',') => self.pos += 1,
                        Some(b'}') => {
                            self.pos += 1;
                            return Ok(Json::Object(members));
                        }
                        _ => return Err(self.err("expected ',' or '}' in object")),
                    }
                }
            }
            Some(_) => Err(self.err("unexpected character, expected a value")),
        }
    }

    /// Steps past an opening bracket, enforcing [`MAX_DEPTH`].
    fn enter(&mut self, depth: usize) -> Result<()> {
        if depth >= MAX_DEPTH {
            return Err(self.err(format!("nesting deeper than {MAX_DEPTH}")));
        }
        self.pos += 1;
        Ok(())
    }

    fn digits(&mut self) -> usize {
        let start = self.pos;
        while let Some(b'0'..=b'9') = self.peek() {
            self.pos += 1;
        }
        self.pos - start
    }

    /// RFC 8259 section 6: `[ minus ] int [ frac ] [ exp ]`.
    fn number(&mut self) -> Result<Json> {
        let start = self.pos;
        if self.peek() == Some(b'-') {
            self.pos += 1;
        }
        match self.peek() {
            Some(b'0') => {
                self.pos += 1;
                if let Some(b'0'..=b'9') = self.peek() {
                    return Err(self.err("leading zero in number"));
                }
            }
            Some(b'1'..=b'9') => {
                self.digits();
            }
            _ => return Err(self.err("expected a digit")),
        }
        if self.peek() == Some(b'.') {
            self.pos += 1;
            if self.digits() == 0 {
                return Err(self.err("expected a digit after '.'"));
            }
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.pos += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.pos += 1;
            }
            if self.digits() == 0 {
                return Err(self.err("expected a digit in exponent"));
            }
        }
        // The grammar above admits only ASCII, so the slice is valid UTF-8 and a valid Rust
        // float literal.
        let text = core::str::from_utf8(&self.s[start..self.pos])
            .map_err(|_| self.err_at(start, "invalid number"))?;
        let n: f64 = text
            .parse()
            .map_err(|_| self.err_at(start, "invalid number"))?;
        if !n.is_finite() {
            return Err(self.err_at(start, "number out of the range of f64"));
        }
        Ok(Json::Number(n))
    }

    fn hex4(&mut self) -> Result<u32> {
        let mut v = 0u32;
        for _ in 0..4 {
            let d = match self.peek() {
                Some(c @ b'0'..=b'9') => c - b'0',
                Some(c @ b'a'..=b'f') => c - b'a' + 10,
                Some(c @ b'A'..=b'F') => c - b'A' + 10,
                _ => return Err(self.err("expected 4 hex digits after \\u")),
            };
            v = v * 16 + d as u32;
            self.pos += 1;
        }
        Ok(v)
    }

    /// A string starting at the opening quote (RFC 8259 section 7).
    fn string(&mut self) -> Result<String> {
        self.pos += 1; // opening quote
        let mut out = String::new();
        loop {
            // Copy the run of plain characters in one go.
            let run = self.pos;
            while let Some(c) = self.peek() {
                if c == b'"' || c == b'\\' || c < 0x20 {
                    break;
                }
                self.pos += 1;
            }
            // The input is a &str and the run stops only at ASCII bytes, so it is whole UTF-8.
            out.push_str(
                core::str::from_utf8(&self.s[run..self.pos])
                    .map_err(|_| self.err_at(run, "invalid UTF-8 in string"))?,
            );
            match self.peek() {
                None => return Err(self.err("unterminated string")),
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(out);
                }
                Some(b'\\') => {
                    let esc = self.pos;
                    self.pos += 1;
                    let c = match self.peek() {
                        Some(b'"') => '"',
                        Some(b'\\') => '\\',
                        Some(b'/') => '/',
                        Some(b'b') => '\u{8}',
                        Some(b'f') => '\u{c}',
                        Some(b'n') => '\n',
                        Some(b'r') => '\r',
                        Some(b't') => '\t',
                        Some(b'u') => {
                            self.pos += 1;
                            let hi = self.hex4()?;
                            let cp = if (0xD800..0xDC00).contains(&hi) {
                                if !self.s[self.pos..].starts_with(b"\\u") {
                                    return Err(self.err_at(esc, "unpaired high surrogate"));
                                }
                                self.pos += 2;
                                let lo = self.hex4()?;
                                if !(0xDC00..0xE000).contains(&lo) {
                                    return Err(self.err_at(esc, "unpaired high surrogate"));
                                }
                                0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)
                            } else if (0xDC00..0xE000).contains(&hi) {
                                return Err(self.err_at(esc, "unpaired low surrogate"));
                            } else {
                                hi
                            };
                            // Surrogates are excluded above, so this always succeeds.
                            out.push(
                                char::from_u32(cp)
                                    .ok_or_else(|| self.err_at(esc, "invalid code point"))?,
                            );
                            continue;
                        }
                        _ => return Err(self.err("invalid escape")),
                    };
                    self.pos += 1;
                    out.push(c);
                }
                Some(_) => return Err(self.err("unescaped control character in string")),
            }
        }
    }
}

impl Json {
    /// An object from `(key, value)` pairs, in order: `Json::object(vec![("k", 1u64.into())])`.
    pub fn object<K: Into<String>>(members: impl IntoIterator<Item = (K, Json)>) -> Json {
        Json::Object(members.into_iter().map(|(k, v)| (k.into(), v)).collect())
    }

    /// The first member named `key` of an object; `None` for other values.
    pub fn get(&self, key: &str) -> Option<&Json> {
        match self {
            Json::Object(m) => m.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Json::String(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Json::Number(n) => Some(*n),
            _ => None,
        }
    }

    /// The number as an unsigned integer, if it is one that `f64` represents exactly
    /// (at most 2^53).
    pub fn as_u64(&self) -> Option<u64> {
        let n = self.as_f64()?;
        if (0.0..=9_007_199_254_740_992.0).contains(&n) && (n as u64) as f64 == n {
            Some(n as u64)
        } else {
            None
        }
    }

    /// The number as a signed integer, if it is one that `f64` represents exactly
    /// (magnitude at most 2^53).
    pub fn as_i64(&self) -> Option<i64> {
        let n = self.as_f64()?;
        if (-9_007_199_254_740_992.0..=9_007_199_254_740_992.0).contains(&n)
            && (n as i64) as f64 == n
        {
            Some(n as i64)
        } else {
            None
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Json::Bool(b) => Some(*b),
            _ => None,
        }
    }

    pub fn as_array(&self) -> Option<&[Json]> {
        match self {
            Json::Array(a) => Some(a),
            _ => None,
        }
    }

    pub fn as_object(&self) -> Option<&[(String, Json)]> {
        match self {
            Json::Object(m) => Some(m),
            _ => None,
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(self, Json::Null)
    }
}

/// Writes `s` as a JSON string literal: `"` and `\` escaped, control characters as `\n`, `\t`,
/// ... or `\u00XX`; everything else verbatim (UTF-8).
fn write_string(f: &mut impl fmt::Write, s: &str) -> fmt::Result {
    f.write_char('"')?;
    let mut run = 0;
    for (i, c) in s.char_indices() {
        let esc = match c {
            '"' => "\\\"",
            '\\' => "\\\\",
            '\n' => "\\n",
            '\r' => "\\r",
            '\t' => "\\t",
            '\u{8}' => "\\b",
            '\u{c}' => "\\f",
            c if (c as u32) < 0x20 => "",
            _ => continue,
        };
        f.write_str(&s[run..i])?;
        if esc.is_empty() {
            write!(f, "\\u{:04x}", c as u32)?;
        } else {
            f.write_str(esc)?;
        }
        run = i + c.len_utf8();
    }
    f.write_str(&s[run..])?;
    f.write_char('"')
}

/// Compact JSON text (no spaces). Numbers use the shortest digits that read back to the same
/// `f64`; NaN and infinities, which JSON cannot express, are written as `null`.
impl fmt::Display for Json {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Json::Null => f.write_str("null"),
            Json::Bool(b) => f.write_str(if *b { "true" } else { "false" }),
            Json::Number(n) if !n.is_finite() => f.write_str("null"),
            Json::Number(n) => {
                let a = n.abs();
                if a != 0.0 && !(1e-5..1e16).contains(&a) {
                    write!(f, "{n:e}")
                } else {
                    write!(f, "{n}")
                }
            }
            Json::String(s) => write_string(f, s),
            Json::Array(items) => {
                f.write_char('[')?;
                for (i, v) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_char(',')?;
                    }
                    write!(f, "{v}")?;
                }
                f.write_char(']')
            }
            Json::Object(members) => {
                f.write_char('{')?;
                for (i, (k, v)) in members.iter().enumerate() {
                    if i > 0 {
                        f.write_char(',')?;
                    }
                    write_string(f, k)?;
                    write!(f, ":{v}")?;
                }
                f.write_char('}')
            }
        }
    }
}

impl From<&str> for Json {
    fn from(s: &str) -> Self {
        Json::String(s.into())
    }
}
impl From<String> for Json {
    fn from(s: String) -> Self {
        Json::String(s)
    }
}
impl From<bool> for Json {
    fn from(b: bool) -> Self {
        Json::Bool(b)
    }
}
/// Numbers become [`Json::Number`]; integers beyond ±2^53 are rounded to the nearest `f64`, as
/// in every JSON number.
macro_rules! number_from {
    ($($t:ty),*) => {$(
        impl From<$t> for Json {
            fn from(n: $t) -> Self {
                Json::Number(n as f64)
            }
        }
    )*};
}
number_from!(f64, f32, u64, i64, u32, i32, usize);
impl<T: Into<Json>> From<Vec<T>> for Json {
    fn from(v: Vec<T>) -> Self {
        Json::Array(v.into_iter().map(Into::into).collect())
    }
}
/// `None` becomes `null`.
impl<T: Into<Json>> From<Option<T>> for Json {
    fn from(v: Option<T>) -> Self {
        v.map_or(Json::Null, Into::into)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;
    use alloc::vec;

    fn err_offset(text: &str) -> u64 {
        match parse(text) {
            Err(Error::Format {
                format: "JSON",
                offset,
                ..
            }) => offset,
            other => panic!("{text:?}: expected a JSON format error, got {other:?}"),
        }
    }

    #[test]
    fn parses_every_kind_of_value() {
        let v = parse(r#" {"a": [1, -2.5e3, 0, -0.0, 1E+2], "b": {"c": null, "d": true, "e": false}, "s": "x\"\\\/\b\f\n\r\t\u00e9\ud83d\ude00"} "#).unwrap();
        let a = v.get("a").unwrap().as_array().unwrap();
        assert_eq!(
            a.iter().map(|x| x.as_f64().unwrap()).collect::<Vec<_>>(),
            [1.0, -2500.0, 0.0, -0.0, 100.0]
        );
        assert!(v.get("b").unwrap().get("c").unwrap().is_null());
        assert_eq!(v.get("b").unwrap().get("d").unwrap().as_bool(), Some(true));
        assert_eq!(
            v.get("s").unwrap().as_str().unwrap(),
            "x\"\\/\u{8}\u{c}\n\r\t\u{e9}\u{1F600}"
        );
        assert_eq!(
            parse("\"h\u{e9}llo\"").unwrap().as_str(),
            Some("h\u{e9}llo")
        );
    }

    #[test]
    fn rejects_what_rfc_8259_forbids_at_the_right_offset() {
        assert_eq!(err_offset(""), 0);
        assert_eq!(err_offset("  "), 2);
        assert_eq!(err_offset("[1,]"), 3);
        assert_eq!(err_offset("[1 2]"), 3);
        assert_eq!(err_offset("{\"a\" 1}"), 5);
        assert_eq!(err_offset("{\"a\":1,}"), 7);
        assert_eq!(err_offset("{1:2}"), 1);
        assert_eq!(err_offset("01"), 1);
        assert_eq!(err_offset("-"), 1);
        assert_eq!(err_offset("+1"), 0);
        assert_eq!(err_offset("1."), 2);
        assert_eq!(err_offset("1e"), 2);
        assert_eq!(err_offset(".5"), 0);
        assert_eq!(err_offset("1e400"), 0);
        assert_eq!(err_offset("tru"), 0);
        assert_eq!(err_offset("nul1"), 0);
        assert_eq!(err_offset("\"abc"), 4);
        assert_eq!(err_offset("\"a\nb\""), 2);
        assert_eq!(err_offset("\"\\x\""), 2);
        assert_eq!(err_offset("\"\\u12G4\""), 5);
        assert_eq!(err_offset("\"\\ud800\""), 1);
        assert_eq!(err_offset("\"\\ud800\\u0041\""), 1);
        assert_eq!(err_offset("\"\\udc00\""), 1);
        assert_eq!(err_offset("1 2"), 2);
        assert_eq!(err_offset("[] x"), 3);
        assert_eq!(err_offset("// c\n1"), 0);
    }

    /// The sizes the module's memory bound is stated with.
    #[test]
    #[cfg(target_pointer_width = "64")]
    fn value_sizes_are_as_the_memory_bound_says() {
        assert_eq!(core::mem::size_of::<Json>(), 32);
        assert_eq!(core::mem::size_of::<(String, Json)>(), 56);
    }

    #[test]
    fn depth_limit_is_exact() {
        let ok = "[".repeat(MAX_DEPTH) + &"]".repeat(MAX_DEPTH);
        assert!(parse(&ok).is_ok());
        let deep = "[".repeat(MAX_DEPTH + 1) + &"]".repeat(MAX_DEPTH + 1);
        assert_eq!(err_offset(&deep), MAX_DEPTH as u64);
        let deep_obj = "{\"a\":".repeat(MAX_DEPTH + 1);
        assert_eq!(err_offset(&deep_obj), 5 * MAX_DEPTH as u64);
    }

    #[test]
    fn integer_accessors_are_exact() {
        assert_eq!(parse("12").unwrap().as_u64(), Some(12));
        assert_eq!(parse("1.5").unwrap().as_u64(), None);
        assert_eq!(parse("-3").unwrap().as_u64(), None);
        assert_eq!(parse("-3").unwrap().as_i64(), Some(-3));
        assert_eq!(parse("9007199254740992").unwrap().as_u64(), Some(1 << 53));
        assert_eq!(parse("1e300").unwrap().as_u64(), None);
    }

    #[test]
    fn writer_escapes_and_round_trips() {
        let v = Json::object(vec![
            ("name", "q\"uo\\te\n\u{1}\u{1F600}".into()),
            ("n", 0.1f64.into()),
            ("big", 1e300f64.into()),
            ("tiny", (-1.5e-7f64).into()),
            ("int", 42u64.into()),
            ("neg", (-7i64).into()),
            ("list", vec![1u32, 2, 3].into()),
            ("none", Option::<bool>::None.into()),
            ("t", true.into()),
            ("nested", Json::object(vec![("k", Json::Array(vec![]))])),
        ]);
        let text = v.to_string();
        assert_eq!(
            text,
            r#"{"name":"q\"uo\\te\n\u0001😀","n":0.1,"big":1e300,"tiny":-1.5e-7,"int":42,"neg":-7,"list":[1,2,3],"none":null,"t":true,"nested":{"k":[]}}"#
        );
        assert_eq!(parse(&text).unwrap(), v);
    }

    #[test]
    fn non_finite_numbers_are_written_as_null() {
        let v: Json = vec![f64::NAN, f64::INFINITY, f64::NEG_INFINITY].into();
        assert_eq!(v.to_string(), "[null,null,null]");
    }

    #[test]
    fn duplicate_keys_are_kept_and_get_returns_the_first() {
        let v = parse(r#"{"a":1,"a":2}"#).unwrap();
        assert_eq!(v.as_object().unwrap().len(), 2);
        assert_eq!(v.get("a").unwrap().as_u64(), Some(1));
    }
}
