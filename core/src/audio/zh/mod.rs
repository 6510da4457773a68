//! The Mandarin text front end of a FastSpeech2-style TTS model: text in, pinyin syllables and
//! phonemes out.
//!
//! ```text
//! text --normalize--> Han characters + punctuation --g2p--> words of syllables (+ pauses)
//!      --sandhi--> syllables as spoken --phonemes--> initial/final ids
//! ```
//!
//! - [`mod@normalize`]: numbers written with digits are read out (dates, decimals, percentages,
//!   times, phone numbers); each output character keeps its [`Origin`] in the caller's text.
//! - [`dictionary`]: the pronunciation dictionary. **The data is pypinyin's** (0.55.0, MIT:
//!   `pinyin_dict.json`, `phrases_dict.json`, fetched from its sdist by
//!   `scripts/fetch-assets.sh` into `assets/pypinyin/`); **the code is ours**: we parse its
//!   literal file format, strictly, and reimplement the conversion. [`Dictionary::parse`] takes
//!   the two files' texts (no_std); [`Dictionary::load`] (feature `std`) reads them from a
//!   folder.
//! - [`g2p`]: segmentation by forward maximum matching over the phrase dictionary (pypinyin's
//!   default without jieba) and each character's reading in pypinyin's `TONE3` form
//!   ([`Syllable`], tone 5 = neutral).
//! - [`sandhi`]: third-tone, 一 and 不 sandhi.
//! - [`mod@phonemes`]: initials and toned finals with stable ids ([`PHONEMES`]).
//!
//! Agreement with pypinyin itself (its `lazy_pinyin` on 600 People's Daily sentences, with and
//! without `tone_sandhi`) is measured by `tests/audio_g2p.rs`; every disagreement is listed and
//! explained in `tests/data/g2p/DISAGREEMENTS.md`.

pub mod dictionary;
pub mod g2p;
pub mod normalize;
pub mod phonemes;
pub mod sandhi;
pub mod syllable;

pub use dictionary::Dictionary;
pub use g2p::{Boundary, Token, Word};
pub use normalize::{normalize, Normalized, Origin, Reading};
pub use phonemes::{Phoneme, PHONEMES};
pub use syllable::Syllable;

use crate::Result;
use alloc::vec::Vec;

/// Normalizes `text`, converts it to words of syllables and, when `tone_sandhi` is set, applies
/// the sandhi rules (pypinyin's `tone_sandhi` option, by our rules).
/// An empty (or whitespace-only) text is an error: a TTS front end has nothing to say for it.
pub fn pinyin(dict: &Dictionary, text: &str, tone_sandhi: bool) -> Result<Vec<Token>> {
    if text.trim().is_empty() {
        return Err(crate::Error::invalid("the text is empty"));
    }
    let mut tokens = g2p::to_pinyin(dict, &normalize(text))?;
    if tone_sandhi {
        sandhi::apply(dict, &mut tokens);
    }
    Ok(tokens)
}

/// The syllables of the words among `tokens`, in order (pauses and foreign text skipped).
pub fn syllables(tokens: &[Token]) -> impl Iterator<Item = Syllable> + '_ {
    tokens
        .iter()
        .flat_map(|t| match t {
            Token::Word(w) => w.syllables.as_slice(),
            _ => &[],
        })
        .copied()
}

/// The phonemes of `text` as spoken (with tone sandhi): what a model is conditioned on.
pub fn phonemes(dict: &Dictionary, text: &str) -> Result<Vec<Phoneme>> {
    phonemes::from_tokens(&pinyin(dict, text, true)?)
}
