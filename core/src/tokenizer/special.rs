//! The special tokens a vocabulary implies beyond the ids its GGUF metadata names, inferred
//! from token text as llama.cpp does (`llama-vocab.cpp`, the "auto-detect special tokens by
//! text" step of loading): the end-of-turn and end-of-message tokens, the fill-in-the-middle
//! pad / repository / file-separator tokens, and the end-of-generation set built from them.
//! Every token so found is treated as a control token.
//!
//! llama.cpp walks an unordered map, so when several tokens match one list the one it picks
//! follows hash order; here the lowest id wins, after the end-of-sequence token when that one
//! matches. The end-of-generation set does not depend on the choice (every match joins it).

use alloc::vec::Vec;

/// Texts of an end-of-turn token.
const EOT_TEXTS: &[&str] = &[
    "<|eot_id|>",
    "<|im_end|>",
    "<|end|>",
    "<end_of_turn>",
    "<|endoftext|>",
    "<EOT>",
    "_<EOT>",
    "<｜end▁of▁sentence｜>",
    "<end_of_utterance>",
];
/// Texts of an end-of-message token.
const EOM_TEXTS: &[&str] = &["<|eom_id|>"];
/// Texts of the fill-in-the-middle pad, repository and file-separator tokens (each ends
/// generation).
const FIM_PAD_TEXTS: &[&str] = &["<|fim_pad|>", "<fim-pad>", "<fim_pad>", "<PAD>"];
const FIM_REP_TEXTS: &[&str] = &[
    "<|fim_repo|>",
    "<|repo_name|>",
    "<fim-repo>",
    "<REPO>",
    "<reponame>",
];
const FIM_SEP_TEXTS: &[&str] = &["<|file_sep|>"];
/// Texts that end generation wherever they occur in the vocabulary.
const EOG_TEXTS: &[&str] = &[
    "<|eot_id|>",
    "<|im_end|>",
    "<|end|>",
    "<|return|>",
    "<|call|>",
    "<end_of_turn>",
    "<|endoftext|>",
    "<|eom_id|>",
    "<EOT>",
    "_<EOT>",
    "<|end_of_text|>",
    "<end_of_utterance>",
];

/// What [`infer`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Specials {
    /// The end-of-turn token: the metadata's, else the end-of-sequence token when its text is
    /// an end-of-turn text, else the lowest id with such a text.
    pub eot: Option<u32>,
    /// Every token that ends generation, ascending.
    pub eog: Vec<u32>,
    /// Tokens to treat as control tokens (every token inferred here).
    pub control: Vec<u32>,
}

/// Infers the special tokens of a vocabulary whose token texts are `tokens`, given the ids its
/// metadata names (`eos`, `eot`, `eom`; out-of-range ids are the caller's to refuse).
pub(super) fn infer(
    tokens: &[&str],
    eos: Option<u32>,
    eot: Option<u32>,
    eom: Option<u32>,
) -> Specials {
    let first = |texts: &[&str]| {
        tokens
            .iter()
            .position(|t| texts.contains(t))
            .map(|i| i as u32)
    };
    let named = |id: Option<u32>, texts: &[&str]| {
        id.filter(|&i| tokens.get(i as usize).is_some_and(|t| texts.contains(t)))
    };
    let eot = eot.or_else(|| named(eos, EOT_TEXTS).or_else(|| first(EOT_TEXTS)));
    let eom = eom.or_else(|| first(EOM_TEXTS));
    let fim: Vec<u32> = [FIM_PAD_TEXTS, FIM_REP_TEXTS, FIM_SEP_TEXTS]
        .iter()
        .filter_map(|texts| first(texts))
        .collect();
    let by_text = tokens
        .iter()
        .enumerate()
        .filter(|(_, t)| EOG_TEXTS.contains(t))
        .map(|(i, _)| i as u32);
    let mut eog: Vec<u32> = fim
        .iter()
        .copied()
        .chain(by_text)
        .chain(eos)
        .chain(eot)
        .chain(eom)
        .collect();
    eog.sort_unstable();
    eog.dedup();
    let mut control: Vec<u32> = eog.iter().copied().filter(|&i| Some(i) != eos).collect();
    control.sort_unstable();
    Specials { eot, eog, control }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    #[test]
    fn chatml_vocabulary() {
        // Like Qwen2.5: <|endoftext|> first, <|im_end|> the EOS, FIM tokens after.
        let tokens = [
            "a",
            "<|endoftext|>",
            "<|im_start|>",
            "<|im_end|>",
            "<|fim_pad|>",
            "<|repo_name|>",
            "<|file_sep|>",
            "<file_sep>",
        ];
        let s = infer(&tokens, Some(3), None, None);
        assert_eq!(s.eot, Some(3), "the EOS is an end-of-turn text");
        assert_eq!(s.eog, [1, 3, 4, 5, 6]);
        assert_eq!(s.control, [1, 4, 5, 6]);
        // Without an EOS, the lowest end-of-turn text; a named EOT wins over any text.
        assert_eq!(infer(&tokens, None, None, None).eot, Some(1));
        assert_eq!(infer(&tokens, Some(3), Some(2), None).eot, Some(2));
        assert_eq!(infer(&tokens, None, Some(2), None).eog, [1, 2, 3, 4, 5, 6]);
    }

    #[test]
    fn a_plain_vocabulary_has_only_its_eos() {
        let tokens = ["a", "b", "</s>"];
        let s = infer(&tokens, Some(2), None, None);
        assert_eq!((s.eot, s.eog, s.control), (None, vec![2], vec![]));
        assert_eq!(infer(&tokens, None, None, None).eog, Vec::<u32>::new());
    }
}
