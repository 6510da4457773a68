//! Calibration data for pruning (ALGORITHMS.md section 1): windows of tokens from a text, random
//! tokens, or text the model generates itself.
//!
//! Every source ends in the same step, [`draw_windows`]: `n` windows of `len` consecutive tokens
//! at independent uniformly random offsets of one token stream (seeded; windows may overlap), as
//! the Wanda and SparseGPT code draws its C4 windows.
//!
//! Self-generated synthesis (Ji et al. 2024, "Beware of Calibration Data for Pruning LLMs"):
//! seeds are the first 2 tokens of paragraphs of a corpus; the model samples a continuation of
//! each (temperature 0.6, top-p 0.95, top-k 50, repetition penalty 1.2 by default); each text is
//! scored by its own perplexity under the model; the worst fraction (20%) is dropped; the kept
//! texts are joined, separated by the tokens of a blank line, into the stream the windows are
//! drawn from. A [`SynthSet`] keeps the generated texts with the settings that made them, so the
//! expensive part is done once and any number of window sets can be drawn from it.

use crate::io::json::{self, Json};
use crate::math::exp;
use crate::model::generate::{generate, GenerateParams};
use crate::model::perplexity::loglikelihood;
use crate::model::sampling::{Rng, SamplerParams};
use crate::model::{Model, Numerics, Session};
use crate::tokenizer::Tokenizer;
use crate::{Error, Result};
use alloc::format;
use alloc::string::String;
#[cfg(feature = "std")]
use alloc::string::ToString;
use alloc::sync::Arc;
use alloc::vec;
use alloc::vec::Vec;

/// `n` windows of `len` tokens for calibration, and how they were made.
#[derive(Debug, Clone, PartialEq)]
pub struct CalibSet {
    pub windows: Vec<Vec<u32>>,
    /// "file austen.txt (812,004 tokens)", "random tokens", "selfgen set.json (400 of 500 texts)".
    pub source: String,
}

/// Checks a window request: `n >= 1`, `len >= 2`.
fn check_request(n: usize, len: usize) -> Result<()> {
    if n == 0 || len < 2 {
        return Err(Error::invalid(format!(
            "calibration needs at least 1 window of at least 2 tokens; asked for {n} of {len}"
        )));
    }
    Ok(())
}

/// `n` windows of `len` consecutive tokens of `tokens` at independent uniform offsets drawn
/// from `Rng::new(seed)` (windows may overlap). `what` names the stream in the error when it is
/// shorter than one window.
pub fn draw_windows(
    tokens: &[u32],
    n: usize,
    len: usize,
    seed: u64,
    what: &str,
) -> Result<Vec<Vec<u32>>> {
    check_request(n, len)?;
    if tokens.len() < len {
        return Err(Error::invalid(format!(
            "{what} has {} tokens, fewer than one calibration window of {len}",
            tokens.len()
        )));
    }
    let mut rng = Rng::new(seed);
    let starts = (tokens.len() - len + 1) as u64;
    Ok((0..n)
        .map(|_| {
            let s = (rng.next_u64() % starts) as usize;
            tokens[s..s + len].to_vec()
        })
        .collect())
}

/// Windows of a text (tokenized without special tokens).
pub fn from_text(
    tok: &Tokenizer,
    text: &str,
    what: &str,
    n: usize,
    len: usize,
    seed: u64,
) -> Result<CalibSet> {
    check_request(n, len)?;
    let tokens = tok.encode(text, false)?;
    Ok(CalibSet {
        windows: draw_windows(&tokens, n, len, seed, what)?,
        source: format!("text {what} ({} tokens)", tokens.len()),
    })
}

/// Windows of tokens drawn uniformly from the vocabulary, control tokens (BOS, EOS, chat
/// markers) excluded, since no text the model reads contains them.
pub fn random_tokens(tok: &Tokenizer, n: usize, len: usize, seed: u64) -> Result<CalibSet> {
    check_request(n, len)?;
    let ids: Vec<u32> = (0..tok.vocab_size() as u32)
        .filter(|&i| !tok.is_control(i))
        .collect();
    if ids.is_empty() {
        return Err(Error::invalid("the vocabulary has only control tokens"));
    }
    let mut rng = Rng::new(seed);
    let windows = (0..n)
        .map(|_| {
            (0..len)
                .map(|_| ids[(rng.next_u64() % ids.len() as u64) as usize])
                .collect()
        })
        .collect();
    Ok(CalibSet {
        windows,
        source: format!("random tokens ({} ids)", ids.len()),
    })
}

/// The paragraphs of a corpus: runs of non-blank lines separated by blank lines, trimmed.
pub fn paragraphs(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start: Option<usize> = None;
    let mut end = 0;
    let mut at = 0;
    for line in text.split_inclusive('\n') {
        let blank = line.trim().is_empty();
        match (blank, start) {
            (false, None) => start = Some(at),
            (true, Some(s)) => {
                out.push(text[s..end].trim());
                start = None;
            }
            _ => {}
        }
        at += line.len();
        if !blank {
            end = at;
        }
    }
    if let Some(s) = start {
        out.push(text[s..end].trim());
    }
    out
}

/// Settings of [`selfgen`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SelfGenParams {
    /// Texts to generate (seed paragraphs drawn without replacement).
    pub texts: usize,
    /// Tokens of each seed (2 in the paper).
    pub seed_tokens: usize,
    /// New tokens per text at most (generation also stops at EOS).
    pub max_new: usize,
    /// Sampling; `seed` is the run's seed, text `i` samples with `seed + i`, and the repetition
    /// penalty looks at the whole text (`repeat_last_n` is raised to cover it, as Hugging
    /// Face's `repetition_penalty` does).
    pub sampler: SamplerParams,
    /// Fraction of texts dropped, the highest perplexities first: `floor(texts * drop)`.
    pub drop: f64,
}

impl Default for SelfGenParams {
    fn default() -> Self {
        SelfGenParams {
            texts: 500,
            seed_tokens: 2,
            max_new: 512,
            sampler: SamplerParams {
                temperature: 0.6,
                top_k: 50,
                top_p: 0.95,
                repeat_penalty: 1.2,
                repeat_last_n: 64,
                seed: 0,
                ..SamplerParams::default()
            },
            drop: 0.2,
        }
    }
}

impl SelfGenParams {
    /// Checks the ranges: at least one text, seed and new tokens, `0 <= drop < 1` leaving at
    /// least one text, and the sampler's own ranges.
    pub fn validate(&self) -> Result<()> {
        if self.texts == 0 || self.seed_tokens == 0 || self.max_new == 0 {
            return Err(Error::invalid(format!(
                "selfgen needs at least 1 text, 1 seed token and 1 new token; got {}, {}, {}",
                self.texts, self.seed_tokens, self.max_new
            )));
        }
        if !(0.0..1.0).contains(&self.drop) {
            return Err(Error::invalid(format!(
                "drop fraction {} is outside [0, 1)",
                self.drop
            )));
        }
        self.sampler.validate()
    }

    /// The settings as JSON (what a cached set records). The sampler steps added after the
    /// first cached sets (min-p, frequency and presence penalties) appear only when on, so a
    /// set made before them still matches its settings.
    fn to_json(self) -> Json {
        let s = self.sampler;
        let mut fields = vec![
            ("texts", Json::from(self.texts as u64)),
            ("seed_tokens", Json::from(self.seed_tokens as u64)),
            ("max_new", Json::from(self.max_new as u64)),
            ("temperature", Json::from(s.temperature as f64)),
            ("top_k", Json::from(s.top_k as u64)),
            ("top_p", Json::from(s.top_p as f64)),
            ("repeat_penalty", Json::from(s.repeat_penalty as f64)),
            ("seed", Json::from(s.seed)),
            ("drop", Json::from(self.drop)),
        ];
        for (key, value) in [
            ("min_p", s.min_p),
            ("frequency_penalty", s.frequency_penalty),
            ("presence_penalty", s.presence_penalty),
        ] {
            if value != 0.0 {
                fields.push((key, Json::from(value as f64)));
            }
        }
        Json::object(fields)
    }
}

/// One generated text.
#[derive(Debug, Clone, PartialEq)]
pub struct SynthText {
    /// Index of its seed paragraph in the seeds file.
    pub paragraph: usize,
    /// Seed tokens then the generated ones (without an ending EOS).
    pub tokens: Vec<u32>,
    /// exp(mean NLL of tokens 1.. given the ones before), under the model.
    pub ppl: f64,
    pub kept: bool,
}

/// A self-generated calibration corpus and the settings that made it.
#[derive(Debug, Clone, PartialEq)]
pub struct SynthSet {
    /// The model, the seeds file and the [`SelfGenParams`], as JSON.
    pub settings: Json,
    pub texts: Vec<SynthText>,
}

/// FNV-1a, 64-bit: identifies files in a set's settings (not a cryptographic hash).
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ b as u64).wrapping_mul(0x0100_0000_01b3)
    })
}

/// A model's identity for cached sets: the file's size and a hash of its header (metadata and
/// tensor table).
pub fn model_identity(model: &Model) -> String {
    let f = model.file();
    let bytes = f.file_bytes();
    let header = &bytes[..(f.data_offset() as usize).min(bytes.len())];
    format!("{} bytes, header fnv1a {:016x}", bytes.len(), fnv1a(header))
}

/// The settings record of a run of [`selfgen`] over `seeds_text`.
pub fn selfgen_settings(model: &Model, seeds_text: &str, params: &SelfGenParams) -> Json {
    Json::object(vec![
        ("model", Json::from(model_identity(model))),
        (
            "seeds",
            Json::from(format!(
                "{} bytes, fnv1a {:016x}",
                seeds_text.len(),
                fnv1a(seeds_text.as_bytes())
            )),
        ),
        ("params", params.to_json()),
    ])
}

/// Generates a [`SynthSet`] (see the module docs) from the paragraphs of `seeds_text` with at
/// least `seed_tokens` tokens; `progress(done, total)` is called after each text is generated
/// and scored, and returning `false` cancels with [`Error::Cancelled`].
pub fn selfgen(
    model: &Arc<Model>,
    seeds_text: &str,
    params: &SelfGenParams,
    progress: &mut dyn FnMut(usize, usize) -> bool,
) -> Result<SynthSet> {
    params.validate()?;
    let tok = model.tokenizer();
    let mut seeds: Vec<(usize, Vec<u32>)> = Vec::new();
    for (i, p) in paragraphs(seeds_text).into_iter().enumerate() {
        let t = tok.encode(p, false)?;
        if t.len() >= params.seed_tokens {
            seeds.push((i, t[..params.seed_tokens].to_vec()));
        }
    }
    if seeds.len() < params.texts {
        return Err(Error::invalid(format!(
            "the seeds text has {} paragraphs of at least {} tokens, fewer than the {} texts asked for",
            seeds.len(),
            params.seed_tokens,
            params.texts
        )));
    }
    // Seed paragraphs without replacement (a partial Fisher-Yates shuffle), in file order.
    let mut rng = Rng::new(params.sampler.seed);
    for i in 0..params.texts {
        let j = i + (rng.next_u64() % (seeds.len() - i) as u64) as usize;
        seeds.swap(i, j);
    }
    seeds.truncate(params.texts);
    seeds.sort();
    let n_ctx = params.seed_tokens + params.max_new;
    let mut texts = Vec::with_capacity(seeds.len());
    for (i, (paragraph, seed)) in seeds.into_iter().enumerate() {
        let mut session = Session::new(model.clone(), n_ctx, Numerics::Fast)?;
        let gp = GenerateParams {
            max_tokens: params.max_new,
            sampler: SamplerParams {
                seed: params.sampler.seed.wrapping_add(i as u64),
                repeat_last_n: params.sampler.repeat_last_n.max(n_ctx),
                ..params.sampler
            },
            ..GenerateParams::default()
        };
        let g = generate(&mut session, &seed, &gp, &mut |_| true)?;
        let mut tokens = seed;
        tokens.extend(g.tokens.iter().filter(|&&t| !tok.is_eog(t)));
        let ppl = if tokens.len() >= 2 {
            let ll = loglikelihood(model, &tokens[..1], &tokens[1..], Numerics::Fast)?;
            exp(-ll.logprob / (tokens.len() - 1) as f64)
        } else {
            f64::INFINITY
        };
        texts.push(SynthText {
            paragraph,
            tokens,
            ppl,
            kept: true,
        });
        if !progress(i + 1, params.texts) {
            return Err(Error::Cancelled);
        }
    }
    let drop = (texts.len() as f64 * params.drop) as usize;
    let mut order: Vec<usize> = (0..texts.len()).collect();
    order.sort_by(|&a, &b| texts[b].ppl.total_cmp(&texts[a].ppl).then(a.cmp(&b)));
    for &i in &order[..drop] {
        texts[i].kept = false;
    }
    Ok(SynthSet {
        settings: selfgen_settings(model, seeds_text, params),
        texts,
    })
}

impl SynthSet {
    /// The kept texts joined into one stream, each followed by the tokens of a blank line.
    pub fn stream(&self, tok: &Tokenizer) -> Result<Vec<u32>> {
        let sep = tok.encode("\n\n", false)?;
        let mut out = Vec::new();
        for t in self.texts.iter().filter(|t| t.kept) {
            out.extend_from_slice(&t.tokens);
            out.extend_from_slice(&sep);
        }
        Ok(out)
    }

    /// `n` windows of `len` tokens from the kept texts ([`draw_windows`]).
    pub fn windows(&self, tok: &Tokenizer, n: usize, len: usize, seed: u64) -> Result<CalibSet> {
        let stream = self.stream(tok)?;
        let kept = self.texts.iter().filter(|t| t.kept).count();
        let what = format!("the {kept} kept generated texts");
        Ok(CalibSet {
            windows: draw_windows(&stream, n, len, seed, &what)?,
            source: format!("selfgen ({kept} of {} texts kept)", self.texts.len()),
        })
    }

    /// The set as JSON: `{"format": "llmcore-selfgen", "version": 1, "settings": ..., "texts":
    /// [{"paragraph", "ppl", "kept", "tokens"}...]}`.
    pub fn to_json(&self) -> Json {
        let texts = self
            .texts
            .iter()
            .map(|t| {
                Json::object(vec![
                    ("paragraph", Json::from(t.paragraph as u64)),
                    ("ppl", Json::from(t.ppl)),
                    ("kept", Json::from(t.kept)),
                    (
                        "tokens",
                        Json::Array(t.tokens.iter().map(|&x| Json::from(x as u64)).collect()),
                    ),
                ])
            })
            .collect();
        Json::object(vec![
            ("format", Json::from("llmcore-selfgen")),
            ("version", Json::from(1u64)),
            ("settings", self.settings.clone()),
            ("texts", Json::Array(texts)),
        ])
    }

    /// Reads [`SynthSet::to_json`]'s text; every field is checked, naming what is wrong.
    pub fn from_json(text: &str) -> Result<SynthSet> {
        let j = json::parse(text)?;
        let bad = |what: &str| Error::invalid(format!("not an llmcore selfgen set: {what}"));
        if j.get("format").and_then(Json::as_str) != Some("llmcore-selfgen") {
            return Err(bad("no \"format\": \"llmcore-selfgen\""));
        }
        if j.get("version").and_then(Json::as_u64) != Some(1) {
            return Err(bad("version is not 1"));
        }
        let settings = j
            .get("settings")
            .cloned()
            .ok_or_else(|| bad("no settings"))?;
        let items = j
            .get("texts")
            .and_then(Json::as_array)
            .ok_or_else(|| bad("no texts array"))?;
        let mut texts = Vec::with_capacity(items.len());
        for (i, t) in items.iter().enumerate() {
            let field = |k: &str| t.get(k).ok_or_else(|| bad(&format!("text {i} has no {k}")));
            let tokens = field("tokens")?
                .as_array()
                .ok_or_else(|| bad(&format!("text {i}: tokens is not an array")))?
                .iter()
                .map(|x| {
                    x.as_u64()
                        .and_then(|v| u32::try_from(v).ok())
                        .ok_or_else(|| bad(&format!("text {i}: a token is not a u32")))
                })
                .collect::<Result<Vec<u32>>>()?;
            texts.push(SynthText {
                paragraph: field("paragraph")?
                    .as_u64()
                    .ok_or_else(|| bad(&format!("text {i}: paragraph is not a number")))?
                    as usize,
                // NaN or infinite perplexities are written as null.
                ppl: field("ppl")?.as_f64().unwrap_or(f64::INFINITY),
                kept: field("kept")?
                    .as_bool()
                    .ok_or_else(|| bad(&format!("text {i}: kept is not a boolean")))?,
                tokens,
            });
        }
        Ok(SynthSet { settings, texts })
    }

    /// Checks every token id against `tok`'s vocabulary.
    pub fn check_vocab(&self, tok: &Tokenizer) -> Result<()> {
        for (i, t) in self.texts.iter().enumerate() {
            if let Some(&id) = t.tokens.iter().find(|&&x| x as usize >= tok.vocab_size()) {
                return Err(Error::invalid(format!(
                    "generated text {i} has token {id}, outside this model's vocabulary of {}",
                    tok.vocab_size()
                )));
            }
        }
        Ok(())
    }
}

#[cfg(feature = "std")]
impl SynthSet {
    /// Reads a set file.
    pub fn load(path: &std::path::Path) -> Result<SynthSet> {
        let io = |e: std::io::Error| Error::Io {
            path: path.display().to_string(),
            message: e.to_string(),
        };
        let text = std::fs::read_to_string(path).map_err(io)?;
        SynthSet::from_json(&text).map_err(|e| match e {
            Error::InvalidArgument(m) => Error::invalid(format!("{}: {m}", path.display())),
            other => other,
        })
    }

    /// Writes the set to `path` through a temporary file renamed into place, so an
    /// interrupted write leaves no partial set.
    pub fn save(&self, path: &std::path::Path) -> Result<()> {
        crate::io::atomic::write_atomic(path, self.to_json().to_string().as_bytes())
    }
}

/// Where `llmcore prune` takes its calibration windows from: `file:PATH` (windows of a text
/// file), `random` (random tokens) or `selfgen:PATH` (a set made by `llmcore calib selfgen`).
#[cfg(feature = "std")]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CalibSource {
    Text(std::path::PathBuf),
    Random,
    SelfGen(std::path::PathBuf),
}

#[cfg(feature = "std")]
impl CalibSource {
    /// Reads `file:PATH`, `random` or `selfgen:PATH`.
    pub fn parse(spec: &str) -> Result<CalibSource> {
        if spec == "random" {
            return Ok(CalibSource::Random);
        }
        match spec.split_once(':') {
            Some(("file", p)) if !p.is_empty() => Ok(CalibSource::Text(p.into())),
            Some(("selfgen", p)) if !p.is_empty() => Ok(CalibSource::SelfGen(p.into())),
            _ => Err(Error::invalid(format!(
                "calibration source '{spec}': expected file:PATH, random or selfgen:PATH"
            ))),
        }
    }

    /// `n` windows of `len` tokens for `model`, drawn with `seed`.
    pub fn windows(&self, model: &Model, n: usize, len: usize, seed: u64) -> Result<CalibSet> {
        let tok = model.tokenizer();
        match self {
            CalibSource::Random => random_tokens(tok, n, len, seed),
            CalibSource::Text(path) => {
                let text = std::fs::read_to_string(path).map_err(|e| Error::Io {
                    path: path.display().to_string(),
                    message: e.to_string(),
                })?;
                from_text(tok, &text, &path.display().to_string(), n, len, seed)
            }
            CalibSource::SelfGen(path) => {
                let set = SynthSet::load(path)?;
                set.check_vocab(tok)?;
                set.windows(tok, n, len, seed)
            }
        }
    }
}

/// The calibration part of a pruning run's settings key ([`super::pipeline::PruneSpec::run_keys`]):
/// the windows' source, count, length and seed, and the model's file name. The CLI and the C ABI
/// both describe a run with it, so one run's shards and outputs agree however they were made.
pub fn describe_run_windows(
    source: &str,
    n: usize,
    len: usize,
    seed: u64,
    model_file: &str,
) -> String {
    format!("calib={source} nsamples={n} seqlen={len} seed={seed} model={model_file}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_are_seeded_inside_the_stream_and_sized_exactly() {
        let tokens: Vec<u32> = (0..100).collect();
        let a = draw_windows(&tokens, 8, 10, 3, "t").unwrap();
        assert_eq!(a, draw_windows(&tokens, 8, 10, 3, "t").unwrap());
        assert_ne!(a, draw_windows(&tokens, 8, 10, 4, "t").unwrap());
        for w in &a {
            assert_eq!(w.len(), 10);
            // Consecutive tokens of the stream.
            assert!(w.windows(2).all(|p| p[1] == p[0] + 1), "{w:?}");
        }
        // A stream exactly one window long gives that window every time.
        let one = draw_windows(&tokens[..10], 3, 10, 0, "t").unwrap();
        assert!(one.iter().all(|w| w[..] == tokens[..10]));
        let e = draw_windows(&tokens[..9], 1, 10, 0, "austen.txt").unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid argument: austen.txt has 9 tokens, fewer than one calibration window of 10"
        );
        assert!(draw_windows(&tokens, 0, 10, 0, "t").is_err());
        assert!(draw_windows(&tokens, 1, 1, 0, "t").is_err());
    }

    #[test]
    fn paragraphs_split_on_blank_lines() {
        let text = "\n\nOne line\nand two.\n\n  \nSecond\r\n\r\nthird\n";
        assert_eq!(paragraphs(text), ["One line\nand two.", "Second", "third"]);
        assert!(paragraphs(" \n\n").is_empty());
    }

    #[test]
    fn sets_round_trip_and_bad_files_are_named() {
        let set = SynthSet {
            settings: Json::object(vec![("model", Json::from("m"))]),
            texts: vec![
                SynthText {
                    paragraph: 3,
                    tokens: vec![1, 2, 3],
                    ppl: 12.5,
                    kept: true,
                },
                SynthText {
                    paragraph: 9,
                    tokens: vec![4, 5],
                    ppl: f64::INFINITY,
                    kept: false,
                },
            ],
        };
        let back = SynthSet::from_json(&set.to_json().to_string()).unwrap();
        assert_eq!(back, set);
        let e = SynthSet::from_json("{\"format\": \"other\"}").unwrap_err();
        assert!(e.to_string().contains("llmcore-selfgen"), "{e}");
        let broken = set.to_json().to_string().replace("[4,5]", "[4,-5]");
        let e = SynthSet::from_json(&broken).unwrap_err();
        assert!(
            e.to_string().contains("text 1: a token is not a u32"),
            "{e}"
        );
    }

    #[cfg(feature = "std")]
    #[test]
    fn sources_parse_or_say_what_they_expect() {
        assert_eq!(CalibSource::parse("random").unwrap(), CalibSource::Random);
        assert_eq!(
            CalibSource::parse("file:a:b.txt").unwrap(),
            CalibSource::Text("a:b.txt".into())
        );
        assert_eq!(
            CalibSource::parse("selfgen:s.json").unwrap(),
            CalibSource::SelfGen("s.json".into())
        );
        for bad in ["file:", "c4", "selfgen"] {
            let e = CalibSource::parse(bad).unwrap_err().to_string();
            assert!(
                e.contains("expected file:PATH, random or selfgen:PATH"),
                "{e}"
            );
        }
    }

    #[test]
    fn bad_settings_are_refused() {
        let p = SelfGenParams::default();
        assert!(p.validate().is_ok());
        let e = SelfGenParams { drop: 1.0, ..p }.validate().unwrap_err();
        assert!(
            e.to_string().contains("drop fraction 1 is outside [0, 1)"),
            "{e}"
        );
        assert!(SelfGenParams { texts: 0, ..p }.validate().is_err());
        assert!(SelfGenParams { max_new: 0, ..p }.validate().is_err());
    }
}
