//! Next-token selection: greedy, or sampling from a seeded RNG, through the chain llama.cpp's
//! default sampler applies, in its order: logit bias, penalties (repetition, frequency,
//! presence), top-k, top-p, min-p, temperature.

use crate::math::{cos, expf, ln, lnf, sqrt};
use crate::{Error, Result};
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

/// Sampling settings ([`SamplerParams::validate`] states their ranges). `temperature == 0`
/// means greedy (argmax after the logit bias and the penalties). Every setting's neutral value
/// turns its step off; the defaults are neutral but for `top_k` and `top_p`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SamplerParams {
    pub temperature: f32,
    /// Keep the `top_k` most likely tokens (0 = all).
    pub top_k: usize,
    /// Keep the smallest set whose probability reaches `top_p` (1 = all).
    pub top_p: f32,
    /// Keep the tokens whose probability is at least `min_p` times the most likely one's
    /// (0 = all).
    pub min_p: f32,
    /// Divides positive and multiplies negative logits of recent tokens (1 = off).
    pub repeat_penalty: f32,
    /// How many recent tokens the penalties look at.
    pub repeat_last_n: usize,
    /// Subtracted from a recent token's logit once per occurrence (0 = off; negative favours
    /// repeats).
    pub frequency_penalty: f32,
    /// Subtracted once from the logit of every token that occurs recently (0 = off).
    pub presence_penalty: f32,
    pub seed: u64,
}

impl Default for SamplerParams {
    fn default() -> Self {
        SamplerParams {
            temperature: 0.0,
            top_k: 40,
            top_p: 0.95,
            min_p: 0.0,
            repeat_penalty: 1.0,
            repeat_last_n: 64,
            frequency_penalty: 0.0,
            presence_penalty: 0.0,
            seed: 0,
        }
    }
}

/// A generation setting that validation can refuse: one of [`SamplerParams`]' ranged fields,
/// the `i`-th entry of a logit bias ([`LogitBias`]), or the `i`-th stop string of a
/// [`GenerateParams`](super::generate::GenerateParams). Front ends spell it their own way in
/// the error (the CLI as its flag, the C ABI as its struct field).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Setting {
    Temperature,
    TopP,
    MinP,
    RepeatPenalty,
    FrequencyPenalty,
    PresencePenalty,
    LogitBias(usize),
    Stop(usize),
}

impl Setting {
    /// The Rust field's name (`stop[i]` for a stop string): the spelling of [`SamplerParams::validate`].
    pub fn field_name(self) -> String {
        match self {
            Setting::Temperature => "temperature".into(),
            Setting::TopP => "top_p".into(),
            Setting::MinP => "min_p".into(),
            Setting::RepeatPenalty => "repeat_penalty".into(),
            Setting::FrequencyPenalty => "frequency_penalty".into(),
            Setting::PresencePenalty => "presence_penalty".into(),
            Setting::LogitBias(i) => format!("logit_bias[{i}]"),
            Setting::Stop(i) => format!("stop[{i}]"),
        }
    }
}

/// Added to one token's logit before anything else (`-inf` bans the token).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LogitBias {
    pub token: u32,
    pub bias: f32,
}

/// Checks each entry of a logit bias: `token` below `vocab_size` and `bias` finite or `-inf`;
/// the error names the first bad entry as `name` spells [`Setting::LogitBias`].
pub fn validate_logit_bias(
    bias: &[LogitBias],
    vocab_size: usize,
    name: &dyn Fn(Setting) -> String,
) -> Result<()> {
    for (i, b) in bias.iter().enumerate() {
        if b.token as usize >= vocab_size {
            let allowed = format!("for a token below the vocabulary size {vocab_size}");
            return Err(out_of_range(name(Setting::LogitBias(i)), b.token, &allowed));
        }
        if !(b.bias.is_finite() || b.bias == f32::NEG_INFINITY) {
            let allowed = "a finite bias or -inf (bans the token)";
            return Err(out_of_range(name(Setting::LogitBias(i)), b.bias, allowed));
        }
    }
    Ok(())
}

/// The error for `setting` (spelled `name`) holding `value` outside `allowed`.
pub(crate) fn out_of_range(name: String, value: impl core::fmt::Display, allowed: &str) -> Error {
    Error::invalid(format!("{name} must be {allowed}, got {value}"))
}

impl SamplerParams {
    /// Checks each ranged setting, naming the first one out of range by its Rust field name.
    pub fn validate(&self) -> Result<()> {
        self.validate_named(&Setting::field_name)
    }

    /// Checks each ranged setting: `temperature` finite and >= 0 (0 = greedy), `top_p` in
    /// (0, 1], `min_p` in [0, 1] (0 = off), `repeat_penalty` finite and > 0 (1 = off),
    /// `frequency_penalty` and `presence_penalty` finite (0 = off); the error names the first
    /// setting out of range as `name` spells it, with its value and the allowed range. `top_k`,
    /// `repeat_last_n` and `seed` take any value.
    pub fn validate_named(&self, name: &dyn Fn(Setting) -> String) -> Result<()> {
        let t = self.temperature;
        if !(t.is_finite() && t >= 0.0) {
            let allowed = "a finite number >= 0 (0 = greedy)";
            return Err(out_of_range(name(Setting::Temperature), t, allowed));
        }
        let p = self.top_p;
        if !(p > 0.0 && p <= 1.0) {
            return Err(out_of_range(name(Setting::TopP), p, "in (0, 1]"));
        }
        let m = self.min_p;
        if !(0.0..=1.0).contains(&m) {
            return Err(out_of_range(name(Setting::MinP), m, "in [0, 1] (0 = off)"));
        }
        let r = self.repeat_penalty;
        if !(r.is_finite() && r > 0.0) {
            let allowed = "a finite number > 0 (1 = off)";
            return Err(out_of_range(name(Setting::RepeatPenalty), r, allowed));
        }
        for (setting, v) in [
            (Setting::FrequencyPenalty, self.frequency_penalty),
            (Setting::PresencePenalty, self.presence_penalty),
        ] {
            if !v.is_finite() {
                return Err(out_of_range(name(setting), v, "a finite number (0 = off)"));
            }
        }
        Ok(())
    }
}

/// xoshiro256** seeded through splitmix64: small, fast, reproducible across platforms.
#[derive(Debug, Clone)]
pub struct Rng {
    s: [u64; 4],
}

impl Rng {
    /// A generator whose whole stream is determined by `seed`.
    pub fn new(seed: u64) -> Rng {
        let mut z = seed;
        let mut next = || {
            z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut x = z;
            x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            x ^ (x >> 31)
        };
        Rng {
            s: [next(), next(), next(), next()],
        }
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let r = self.s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = self.s[1] << 17;
        self.s[2] ^= self.s[0];
        self.s[3] ^= self.s[1];
        self.s[1] ^= self.s[2];
        self.s[0] ^= self.s[3];
        self.s[2] ^= t;
        self.s[3] = self.s[3].rotate_left(45);
        r
    }

    /// Uniform in [0, 1) with 53 random bits.
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// A standard normal draw (Box-Muller, `sqrt(-2 ln u1) cos(2 pi u2)` with `u1` in (0, 1]).
    pub fn normal(&mut self) -> f64 {
        let u1 = 1.0 - self.next_f64();
        let u2 = self.next_f64();
        sqrt(-2.0 * ln(u1)) * cos(core::f64::consts::TAU * u2)
    }
}

/// Index of the largest value; the lowest index wins ties.
pub fn argmax(xs: &[f32]) -> usize {
    let mut best = 0;
    for (i, &x) in xs.iter().enumerate() {
        if x > xs[best] {
            best = i;
        }
    }
    best
}

/// A sampler with its own RNG stream.
#[derive(Debug, Clone)]
pub struct Sampler {
    pub params: SamplerParams,
    logit_bias: Vec<LogitBias>,
    rng: Rng,
}

impl Sampler {
    pub fn new(params: SamplerParams) -> Sampler {
        Sampler::with_logit_bias(params, &[])
    }

    /// A sampler that adds `logit_bias` to the logits first (checked against the vocabulary
    /// with [`validate_logit_bias`] by whoever knows it; an id past the logits is ignored).
    pub fn with_logit_bias(params: SamplerParams, logit_bias: &[LogitBias]) -> Sampler {
        Sampler {
            params,
            logit_bias: logit_bias.to_vec(),
            rng: Rng::new(params.seed),
        }
    }

    /// Chooses the next token from `logits` (modified in place by the logit bias and the
    /// penalties) given the tokens seen so far: a draw from [`Sampler::distribution`] (greedy
    /// takes its one token without touching the RNG).
    pub fn sample(&mut self, logits: &mut [f32], history: &[u32]) -> u32 {
        let dist = self.distribution(logits, history);
        if self.params.temperature <= 0.0 {
            return dist[0].0;
        }
        self.draw(&dist)
    }

    /// The distribution [`Sampler::sample`] draws from, as `(token, probability)` pairs with
    /// nonzero probability, most likely first (ties by id). The steps, in llama.cpp's order
    /// (`common_sampler`: logit bias, penalties, top-k, top-p, min-p, temperature, dist):
    /// 1. `l[t] += bias[t]` for each [`LogitBias`] entry (in `logits`, in place);
    /// 2. over the last `repeat_last_n` tokens of `history`, each token `t` occurring `c > 0`
    ///    times gets `l[t] = l[t] / r` if `l[t] > 0` else `l[t] * r` (repetition penalty `r`),
    ///    then `l[t] -= c * frequency_penalty + presence_penalty` (in place);
    /// 3. greedy (`temperature == 0`) ends here: the argmax with probability 1;
    /// 4. top-k: the `top_k` largest logits;
    /// 5. top-p: the smallest prefix whose softmax (temperature 1) mass reaches `top_p`;
    /// 6. min-p: the tokens with `l[t] >= max l + ln(min_p)`, i.e. `p(t) >= min_p * p_max`;
    /// 7. softmax of `l / temperature` over what is left.
    ///
    /// Speculative decoding verifies draft tokens against it.
    pub fn distribution(&self, logits: &mut [f32], history: &[u32]) -> Vec<(u32, f64)> {
        let p = self.params;
        for b in &self.logit_bias {
            if let Some(l) = logits.get_mut(b.token as usize) {
                *l += b.bias;
            }
        }
        self.apply_penalties(logits, history);
        if p.temperature <= 0.0 {
            return alloc::vec![(argmax(logits) as u32, 1.0)];
        }
        // Candidates sorted by logit (descending, ties by id), cut by top-k.
        let mut cand: Vec<(u32, f32)> = logits
            .iter()
            .enumerate()
            .map(|(i, &l)| (i as u32, l))
            .collect();
        let k = if p.top_k == 0 {
            cand.len()
        } else {
            p.top_k.min(cand.len())
        };
        cand.sort_unstable_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        cand.truncate(k);
        // Top-p over the softmax at temperature 1 (llama.cpp's order: top-p before temperature).
        if p.top_p < 1.0 {
            let probs = softmax_scaled(&cand, 1.0);
            let mut acc = 0.0;
            let mut keep = cand.len();
            for (i, &pr) in probs.iter().enumerate() {
                acc += pr;
                if acc >= p.top_p as f64 {
                    keep = i + 1;
                    break;
                }
            }
            cand.truncate(keep);
        }
        // Min-p: cand is sorted, so the kept tokens are a prefix (the first always stays).
        if p.min_p > 0.0 {
            let floor = cand[0].1 + lnf(p.min_p);
            let keep = 1 + cand[1..].iter().take_while(|c| c.1 >= floor).count();
            cand.truncate(keep);
        }
        let probs = softmax_scaled(&cand, p.temperature);
        cand.iter()
            .zip(probs)
            .filter(|(_, pr)| *pr > 0.0)
            .map(|(c, pr)| (c.0, pr))
            .collect()
    }

    /// Step 2 of [`Sampler::distribution`]: the repetition, frequency and presence penalties
    /// over the last `repeat_last_n` tokens of `history`, each distinct token once with its
    /// count (ids past the logits are ignored).
    fn apply_penalties(&self, logits: &mut [f32], history: &[u32]) {
        let p = self.params;
        if p.repeat_penalty == 1.0 && p.frequency_penalty == 0.0 && p.presence_penalty == 0.0 {
            return;
        }
        let mut recent = history[history.len().saturating_sub(p.repeat_last_n)..].to_vec();
        recent.sort_unstable();
        for run in recent.chunk_by(|a, b| a == b) {
            let Some(l) = logits.get_mut(run[0] as usize) else {
                continue;
            };
            *l = if *l > 0.0 {
                *l / p.repeat_penalty
            } else {
                *l * p.repeat_penalty
            };
            *l -= run.len() as f32 * p.frequency_penalty + p.presence_penalty;
        }
    }

    /// Draws a token from `dist` (probabilities summing to 1, as [`Sampler::distribution`]
    /// gives) with one uniform number from the RNG.
    pub fn draw(&mut self, dist: &[(u32, f64)]) -> u32 {
        let mut r = self.rng.next_f64();
        for &(t, pr) in dist {
            if r < pr {
                return t;
            }
            r -= pr;
        }
        dist[dist.len() - 1].0
    }

    /// The RNG, for draws speculative verification makes besides [`Sampler::draw`].
    pub fn rng(&mut self) -> &mut Rng {
        &mut self.rng
    }
}

/// softmax(logit / temperature) over the candidates, in f64.
fn softmax_scaled(cand: &[(u32, f32)], temperature: f32) -> Vec<f64> {
    let max = cand.iter().map(|c| c.1).fold(f32::NEG_INFINITY, f32::max);
    let e: Vec<f64> = cand
        .iter()
        .map(|c| expf((c.1 - max) / temperature) as f64)
        .collect();
    let sum: f64 = e.iter().sum();
    e.into_iter().map(|x| x / sum).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;

    #[test]
    fn greedy_takes_argmax_after_penalty() {
        let mut s = Sampler::new(SamplerParams {
            repeat_penalty: 2.0,
            ..Default::default()
        });
        let mut logits = [1.0, 3.0, 2.0];
        // Token 1 was seen: 3.0 / 2 = 1.5 < 2.0.
        assert_eq!(s.sample(&mut logits, &[1]), 2);
        assert_eq!(logits, [1.0, 1.5, 2.0]);
    }

    #[test]
    fn top_k_one_is_greedy_and_the_seed_determines_the_draws() {
        let params = SamplerParams {
            temperature: 0.8,
            top_k: 1,
            ..Default::default()
        };
        let mut s = Sampler::new(params);
        assert_eq!(s.sample(&mut [0.0, 5.0, 4.9], &[]), 1);
        // Four near-equal candidates: two independent 64-draw sequences collide with
        // probability about 0.25^64 < 1e-38, so equal draws for different seeds mean the seed
        // was ignored.
        let draw = |seed| {
            let mut s = Sampler::new(SamplerParams {
                temperature: 1.0,
                top_k: 0,
                top_p: 1.0,
                seed,
                ..Default::default()
            });
            (0..64)
                .map(|_| s.sample(&mut [0.0, 0.1, 0.2, 0.3], &[]))
                .collect::<Vec<_>>()
        };
        assert_eq!(draw(7), draw(7), "one seed, one sequence");
        for other in [0, 8, u64::MAX] {
            assert_ne!(draw(7), draw(other), "seeds 7 and {other} drew the same");
        }
    }

    #[test]
    fn validation_names_the_one_setting_out_of_range() {
        let ok = SamplerParams::default();
        assert_eq!(ok.validate(), Ok(()));
        let greedy_edge = SamplerParams {
            top_p: 1.0,
            repeat_penalty: 0.5,
            ..ok
        };
        assert_eq!(greedy_edge.validate(), Ok(()));
        for (bad, field, value) in [
            (
                SamplerParams {
                    temperature: -1.0,
                    ..ok
                },
                "temperature",
                "-1",
            ),
            (
                SamplerParams {
                    temperature: f32::NAN,
                    ..ok
                },
                "temperature",
                "NaN",
            ),
            (
                SamplerParams {
                    temperature: f32::INFINITY,
                    ..ok
                },
                "temperature",
                "inf",
            ),
            (SamplerParams { top_p: 0.0, ..ok }, "top_p", "0"),
            (SamplerParams { min_p: -0.1, ..ok }, "min_p", "-0.1"),
            (SamplerParams { min_p: 1.5, ..ok }, "min_p", "1.5"),
            (
                SamplerParams {
                    frequency_penalty: f32::INFINITY,
                    ..ok
                },
                "frequency_penalty",
                "inf",
            ),
            (
                SamplerParams {
                    presence_penalty: f32::NAN,
                    ..ok
                },
                "presence_penalty",
                "NaN",
            ),
            (SamplerParams { top_p: 1.5, ..ok }, "top_p", "1.5"),
            (
                SamplerParams {
                    repeat_penalty: 0.0,
                    ..ok
                },
                "repeat_penalty",
                "0",
            ),
            (
                SamplerParams {
                    repeat_penalty: f32::NAN,
                    ..ok
                },
                "repeat_penalty",
                "NaN",
            ),
        ] {
            let Err(Error::InvalidArgument(m)) = bad.validate() else {
                panic!("{bad:?} accepted");
            };
            assert!(m.starts_with(&format!("{field} must be ")), "{m}");
            assert!(m.ends_with(&format!("got {value}")), "{m}");
            let others = [
                "temperature",
                "top_p",
                "min_p",
                "repeat_penalty",
                "frequency_penalty",
                "presence_penalty",
            ];
            assert!(others.iter().all(|o| *o == field || !m.contains(o)), "{m}");
            // A front end's own spelling replaces the field name.
            let Err(Error::InvalidArgument(m)) = bad.validate_named(&|s| format!("<{s:?}>")) else {
                unreachable!()
            };
            assert!(m.starts_with('<') && !m.contains(field), "{m}");
        }
    }

    #[test]
    fn sampling_frequencies_follow_the_distribution() {
        // logits ln(1), ln(2), ln(3): probabilities 1/6, 2/6, 3/6.
        let params = SamplerParams {
            temperature: 1.0,
            top_k: 0,
            top_p: 1.0,
            seed: 1,
            ..Default::default()
        };
        let mut s = Sampler::new(params);
        let mut counts = [0usize; 3];
        let n = 60_000;
        for _ in 0..n {
            let mut l = [0.0, libm::logf(2.0), libm::logf(3.0)];
            counts[s.sample(&mut l, &[]) as usize] += 1;
        }
        for (c, p) in counts.iter().zip([1.0 / 6.0, 2.0 / 6.0, 3.0 / 6.0]) {
            assert!((*c as f64 / n as f64 - p).abs() < 0.01, "{counts:?}");
        }
    }

    #[test]
    fn top_p_cuts_the_tail() {
        // probabilities ~ 0.665, 0.245, 0.09: top_p 0.6 keeps only the first.
        let params = SamplerParams {
            temperature: 1.0,
            top_k: 0,
            top_p: 0.6,
            seed: 3,
            ..Default::default()
        };
        let mut s = Sampler::new(params);
        for _ in 0..200 {
            assert_eq!(s.sample(&mut [2.0, 1.0, 0.0], &[]), 0);
        }
    }

    #[test]
    fn penalties_count_each_recent_token_once_per_occurrence() {
        // History [2, 0, 2, 2, 1] with last_n 4 sees token 0 once, 2 twice, 1 once.
        let s = Sampler::new(SamplerParams {
            repeat_penalty: 2.0,
            repeat_last_n: 4,
            frequency_penalty: 0.5,
            presence_penalty: 0.25,
            ..Default::default()
        });
        let mut logits = [4.0, -1.0, 3.0, 1.0];
        s.apply_penalties(&mut logits, &[2, 0, 2, 2, 1]);
        // 0: 4/2 - (0.5 + 0.25); 1: -1*2 - 0.75; 2: 3/2 - (2*0.5 + 0.25); 3 unseen.
        assert_eq!(logits, [1.25, -2.75, 0.25, 1.0]);
    }

    #[test]
    fn logit_bias_comes_first_and_minus_infinity_bans() {
        let mut s = Sampler::with_logit_bias(
            SamplerParams::default(),
            &[
                LogitBias {
                    token: 0,
                    bias: f32::NEG_INFINITY,
                },
                LogitBias {
                    token: 2,
                    bias: 0.5,
                },
            ],
        );
        let mut logits = [9.0, 1.0, 0.75];
        assert_eq!(s.sample(&mut logits, &[]), 2);
        assert_eq!(logits, [f32::NEG_INFINITY, 1.0, 1.25]);
        let vocab = |i| {
            alloc::vec![LogitBias {
                token: i,
                bias: 1.0
            }]
        };
        assert_eq!(
            validate_logit_bias(&vocab(2), 3, &Setting::field_name),
            Ok(())
        );
        let e = validate_logit_bias(&vocab(3), 3, &Setting::field_name).unwrap_err();
        assert!(e.to_string().contains("logit_bias[0]"), "{e}");
        let nan = [LogitBias {
            token: 0,
            bias: f32::NAN,
        }];
        assert!(validate_logit_bias(&nan, 3, &Setting::field_name).is_err());
    }

    #[test]
    fn min_p_keeps_the_tokens_within_a_factor_of_the_best() {
        // Probabilities 0.5, 0.3, 0.15, 0.05 at temperature 1; min_p 0.3 keeps p >= 0.15.
        let l = |p: f32| libm::logf(p);
        let s = Sampler::new(SamplerParams {
            temperature: 1.0,
            top_k: 0,
            top_p: 1.0,
            min_p: 0.3,
            ..Default::default()
        });
        let mut logits = [l(0.15), l(0.5), l(0.05), l(0.3)];
        let d = s.distribution(&mut logits, &[]);
        let ids: Vec<u32> = d.iter().map(|x| x.0).collect();
        assert_eq!(ids, [1, 3, 0]);
        for ((_, p), want) in d.iter().zip([0.5 / 0.95, 0.3 / 0.95, 0.15 / 0.95]) {
            assert!((p - want).abs() < 1e-6, "{d:?}");
        }
        // min_p 1 keeps only the most likely token.
        let one = Sampler::new(SamplerParams {
            min_p: 1.0,
            ..s.params
        });
        assert_eq!(one.distribution(&mut logits, &[]), [(1, 1.0)]);
    }
}
