//! Tokenization at the context/continuation boundary and rolling windows, as
//! lm-evaluation-harness does them (`_encode_pair`, `get_rolling_token_windows` with
//! `context_len = 1`, `make_disjoint_window`).

use crate::tokenizer::Tokenizer;
use crate::{Error, Result};
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

/// Python's `str.isspace` (Rust's `char::is_whitespace` plus the information separators
/// U+001C..U+001F, which Python also strips).
fn is_python_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

/// Moves the trailing whitespace of `context` onto the front of `continuation`
/// (`"Answer: "`, `"yes"` -> `"Answer:"`, `" yes"`), so the space is scored with the
/// continuation as BPE tokenizers attach it to the next word.
pub fn move_trailing_whitespace<'a>(context: &'a str, continuation: &str) -> (&'a str, String) {
    let kept = context.trim_end_matches(is_python_space);
    let mut moved = String::from(&context[kept.len()..]);
    moved.push_str(continuation);
    (kept, moved)
}

/// A request in tokens: the model is fed `context ++ continuation[..len-1]` and scores every
/// continuation token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenPair {
    pub context: Vec<u32>,
    pub continuation: Vec<u32>,
}

impl TokenPair {
    /// Drops the context's oldest tokens so the model's input (`context ++ continuation`
    /// without its last token) fits `max_length` (lm-eval's `[-(max_length + 1):][:-1]`).
    /// At least one context token stays, since it predicts the first continuation token.
    pub fn truncate_left(&mut self, max_length: usize) -> Result<()> {
        let cont = self.continuation.len();
        if cont > max_length {
            return Err(Error::invalid(format!(
                "a continuation of {cont} tokens does not fit the model's {max_length}-token context"
            )));
        }
        let total = self.context.len() + cont;
        if total > max_length + 1 {
            self.context.drain(..total - max_length - 1);
        }
        Ok(())
    }
}

/// lm-eval's `_encode_pair`: trailing whitespace of the context moves onto the continuation;
/// the joined string is tokenized once and split after the context's own tokens, so merges
/// across the boundary are scored as the continuation. An empty context (or one that was only
/// whitespace) becomes `[prefix]` and the continuation is tokenized alone. A continuation that
/// ends up with no tokens is an error.
pub fn encode_pair(
    tokenizer: &Tokenizer,
    context: &str,
    continuation: &str,
    prefix: u32,
) -> Result<TokenPair> {
    let (ctx, cont) = move_trailing_whitespace(context, continuation);
    let pair = if ctx.is_empty() {
        TokenPair {
            context: alloc::vec![prefix],
            continuation: tokenizer.encode(&cont, false)?,
        }
    } else {
        let mut whole = String::from(ctx);
        whole.push_str(&cont);
        let whole = tokenizer.encode(&whole, false)?;
        let context = tokenizer.encode(ctx, false)?;
        let split = context.len().min(whole.len());
        TokenPair {
            continuation: whole[split..].to_vec(),
            context,
        }
    };
    if pair.continuation.is_empty() {
        return Err(Error::invalid(format!(
            "continuation {continuation:?} after context ending {:?} tokenizes to nothing",
            tail(context, 40)
        )));
    }
    Ok(pair)
}

/// The last `n` characters of `s`, for error messages.
fn tail(s: &str, n: usize) -> &str {
    let start = s
        .char_indices()
        .rev()
        .nth(n.saturating_sub(1))
        .map_or(0, |(i, _)| i);
    &s[start..]
}

/// Disjoint rolling windows over `tokens` for `loglikelihood_rolling`, each a [`TokenPair`]
/// whose input is at most `max_length` tokens and whose continuations tile `tokens` exactly
/// once. The first window is `[prefix] ++ tokens[..w-1]` predicting `tokens[..w]`
/// (`w = min(max_length, N)`); every later window predicts the next
/// `p = min(max_length, N - predicted)` tokens, its context the `max_length - p + 1` tokens
/// before them, so with full windows each scored token sees the one token before its window
/// and the tokens of its own window (lm-eval's overlap rule with `context_len = 1`).
pub fn rolling_windows(tokens: &[u32], prefix: u32, max_length: usize) -> Result<Vec<TokenPair>> {
    if max_length == 0 {
        return Err(Error::invalid(
            "rolling windows need a max_length of at least 1",
        ));
    }
    let mut out = Vec::new();
    if tokens.is_empty() {
        return Ok(out);
    }
    let first = max_length.min(tokens.len());
    out.push(TokenPair {
        context: alloc::vec![prefix],
        continuation: tokens[..first].to_vec(),
    });
    let mut predicted = first;
    while predicted < tokens.len() {
        let p = max_length.min(tokens.len() - predicted);
        let end = predicted + p;
        // Input tokens[end - max_length - 1 .. end - 1]; the disjoint window keeps the
        // first max_length - p + 1 of them as context.
        let input_start = end - 1 - max_length.min(end - 1);
        out.push(TokenPair {
            context: tokens[input_start..predicted].to_vec(),
            continuation: tokens[predicted..end].to_vec(),
        });
        predicted = end;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;

    #[test]
    fn trailing_whitespace_moves_to_the_continuation() {
        assert_eq!(
            move_trailing_whitespace("Answer: \n", "yes"),
            ("Answer:", String::from(" \nyes"))
        );
        assert_eq!(
            move_trailing_whitespace("Q", " a"),
            ("Q", String::from(" a"))
        );
        assert_eq!(
            move_trailing_whitespace("  ", "a"),
            ("", String::from("  a"))
        );
        assert_eq!(
            move_trailing_whitespace("x\u{1f}", "a"),
            ("x", String::from("\u{1f}a"))
        );
    }

    #[test]
    fn truncation_keeps_the_newest_context() {
        let mut p = TokenPair {
            context: alloc::vec![1, 2, 3, 4, 5],
            continuation: alloc::vec![6, 7],
        };
        p.truncate_left(4).unwrap();
        // Input 4 tokens: context [3,4,5] + continuation [6] (the last token is only a target).
        assert_eq!(p.context, alloc::vec![3, 4, 5]);
        let mut long = TokenPair {
            context: alloc::vec![1],
            continuation: alloc::vec![2, 3, 4],
        };
        assert!(long
            .truncate_left(2)
            .unwrap_err()
            .to_string()
            .contains("3 tokens"));
    }

    #[test]
    fn rolling_windows_tile_the_text_once_with_lm_eval_contexts() {
        let tokens: Vec<u32> = (10..20).collect();
        let w = rolling_windows(&tokens, 0, 4).unwrap();
        let pairs: Vec<(Vec<u32>, Vec<u32>)> =
            w.into_iter().map(|p| (p.context, p.continuation)).collect();
        // Worked by hand from lm-eval's get_rolling_token_windows(…, max_seq_len=4,
        // context_len=1) followed by make_disjoint_window.
        assert_eq!(
            pairs,
            alloc::vec![
                (alloc::vec![0], alloc::vec![10, 11, 12, 13]),
                (alloc::vec![13], alloc::vec![14, 15, 16, 17]),
                (alloc::vec![15, 16, 17], alloc::vec![18, 19]),
            ]
        );
        for (c, t) in &pairs {
            assert!(c.len() + t.len() - 1 <= 4);
        }
        assert!(rolling_windows(&[], 0, 4).unwrap().is_empty());
        let short = rolling_windows(&[5, 6], 0, 4).unwrap();
        assert_eq!(short.len(), 1);
        assert_eq!(short[0].continuation, alloc::vec![5, 6]);
    }
}
