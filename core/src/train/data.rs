//! Training data: a token stream split into a training part and a held-out part, drawn as
//! windows of `seq + 1` tokens (inputs and their next-token targets).
//!
//! The held-out part is the stream's tail (a contiguous split, so no training window overlaps
//! a validation one), or a separate stream (e.g. another book). Training windows start at
//! seeded random offsets; validation windows tile the held-out stream in order, so every
//! evaluation sees the same tokens.

use super::decoder::TokenBatch;
use crate::model::sampling::Rng;
use crate::{Error, Result};
use alloc::format;
use alloc::vec::Vec;

/// A training stream and a held-out stream of token ids.
#[derive(Debug, Clone)]
pub struct TokenData {
    train: Vec<u32>,
    valid: Vec<u32>,
}

impl TokenData {
    /// Splits `tokens`: the last `holdout` fraction (in (0, 1)) is held out.
    pub fn split(mut tokens: Vec<u32>, holdout: f64) -> Result<Self> {
        if !(holdout > 0.0 && holdout < 1.0) {
            return Err(Error::invalid(format!(
                "held-out fraction {holdout} must lie in (0, 1)"
            )));
        }
        let cut = tokens.len() - (tokens.len() as f64 * holdout + 0.5) as usize;
        let valid = tokens.split_off(cut);
        Ok(TokenData {
            train: tokens,
            valid,
        })
    }

    /// Separate training and held-out streams.
    pub fn new(train: Vec<u32>, valid: Vec<u32>) -> Self {
        TokenData { train, valid }
    }

    /// Tokens in the training stream.
    pub fn train_len(&self) -> usize {
        self.train.len()
    }

    /// Tokens in the held-out stream.
    pub fn valid_len(&self) -> usize {
        self.valid.len()
    }

    /// Checks that both streams hold at least one window of `seq + 1` tokens.
    pub fn check(&self, seq: usize) -> Result<()> {
        for (what, s) in [("training", &self.train), ("held-out", &self.valid)] {
            if s.len() < seq + 1 {
                return Err(Error::invalid(format!(
                    "the {what} data holds {} tokens, fewer than one window of {} (seq + 1)",
                    s.len(),
                    seq + 1
                )));
            }
        }
        Ok(())
    }

    /// `rows` training windows of `seq + 1` tokens at random offsets, into `out`.
    pub fn sample<'a>(
        &self,
        rng: &mut Rng,
        rows: usize,
        seq: usize,
        out: &'a mut Vec<u32>,
    ) -> Result<TokenBatch<'a>> {
        self.check(seq)?;
        out.clear();
        let starts = self.train.len() - seq;
        for _ in 0..rows {
            let s = (rng.next_u64() % starts as u64) as usize;
            out.extend_from_slice(&self.train[s..s + seq + 1]);
        }
        Ok(TokenBatch {
            tokens: out,
            rows,
            seq,
        })
    }

    /// The held-out stream as consecutive windows of `seq + 1` tokens (each window's last
    /// token is the next one's first input, so every held-out token but the first is
    /// predicted once), at most `max_windows`.
    pub fn validation_windows(&self, seq: usize, max_windows: usize) -> Vec<&[u32]> {
        if self.valid.len() < seq + 1 {
            return Vec::new();
        }
        (0..(self.valid.len() - 1) / seq)
            .take(max_windows)
            .map(|w| &self.valid[w * seq..w * seq + seq + 1])
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;
    use alloc::vec;

    #[test]
    fn the_split_is_contiguous_and_windows_stay_inside() {
        let d = TokenData::split((0..100).collect(), 0.2).unwrap();
        assert_eq!((d.train_len(), d.valid_len()), (80, 20));
        let mut buf = Vec::new();
        let b = d.sample(&mut Rng::new(1), 50, 7, &mut buf).unwrap();
        assert_eq!(b.tokens.len(), 50 * 8);
        for w in b.tokens.chunks(8) {
            assert!(w.windows(2).all(|p| p[1] == p[0] + 1) && w[7] < 80, "{w:?}");
        }
        let v = d.validation_windows(6, 10);
        assert_eq!(v.len(), 3);
        assert_eq!(v[0], &[80, 81, 82, 83, 84, 85, 86]);
        assert_eq!(v[1][0], 86);
        assert!(TokenData::split(vec![1, 2], 1.0).is_err());
        let e = d.check(30).unwrap_err().to_string();
        assert!(e.contains("held-out data holds 20 tokens"), "{e}");
    }
}
