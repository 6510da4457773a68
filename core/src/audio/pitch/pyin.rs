//! Probabilistic YIN (Mauch & Dixon, "pYIN: a fundamental frequency estimator using
//! probabilistic threshold distributions", ICASSP 2014) as librosa 0.11's `pyin` defines it.
//!
//! Stage one turns each frame's d'(τ) into F0 candidates with probabilities: over a distribution
//! of YIN thresholds s_j (a beta prior), every trough of d'(τ) below s_j takes a share of P(s_j)
//! given by a Boltzmann prior on its rank among those troughs (the pYIN software's rule, which
//! librosa follows, rather than the paper's "first trough only"); when no trough is below s_j, a
//! fraction `no_trough_prob` of P(s_j) goes to the global minimum. Stage two is an HMM over
//! pitch bins 0.1 semitone apart, each voiced or unvoiced, decoded by Viterbi.

use alloc::format;
use alloc::vec;
use alloc::vec::Vec;

use super::yin::{is_trough, parabolic_shift, Cmndf};
use super::{Frames, Lags, PitchConfig};
use crate::math;
use crate::{Error, Result};

/// What [`pyin`] returns, one value per frame.
#[derive(Clone, Debug, PartialEq)]
pub struct PyinTrack {
    /// F0 in Hz of the decoded pitch bin; NaN on unvoiced frames.
    pub f0: Vec<f32>,
    /// Whether the decoded state is voiced.
    pub voiced: Vec<bool>,
    /// Total probability of the frame's F0 candidates (the HMM's voiced observation mass),
    /// in [0, 1].
    pub voiced_prob: Vec<f32>,
}

/// F0, voicing and voicing probability of every frame of `samples` by pYIN.
///
/// For frame t, with d'(τ) from YIN (see [`yin`](super::yin())), troughs τ_1 < τ_2 < ...
/// (librosa's rules) and thresholds s_j = j / N (j = 1..N, `n_thresholds`) with prior mass
/// P(s_j) = B(s_j) - B(s_{j-1}) under the Beta(α, β) CDF B, trough τ_k gets
///
///   p(τ_k) = Σ_{j: d'(τ_k) < s_j} P(s_j) Boltzmann(rank_j(k); λ, n_j)
///            + [τ_k = global minimum] · no_trough_prob · Σ_{j: no trough below s_j} P(s_j),
///
/// where n_j troughs lie below s_j, rank_j(k) counts those before τ_k, and
/// Boltzmann(r; λ, n) = (1 - e^{-λ}) e^{-λ r} / (1 - e^{-λ n}). Each candidate's period (τ_k
/// refined by parabolic interpolation) maps to the nearest of the pitch bins
/// f_i = fmin · 2^{i / (12 b)}, b = ceil(1 / resolution), i < floor(12 b log2(fmax/fmin)) + 1;
/// the frame's voiced observation is p at its candidates' bins (0 elsewhere), its voicing
/// probability v = min(1, Σ p), and every unvoiced state observes (1 - v) / n_bins.
///
/// The HMM has 2 n_bins states (pitch bin i, voiced or not). Its transition matrix is
/// A = S ⊗ L: S keeps the voicing with probability 1 - `switch_prob`, and L moves between pitch
/// bins with a triangular weight over |i - i'| <= w / 2 (rows normalised), the full width
/// w = round(12 · `max_transition_rate` · hop / sr) · b + 1 bins (101 at the defaults). The
/// initial distribution is uniform, and the state path maximising the joint likelihood is
/// decoded by Viterbi (δ_t(j) = max_i [δ_{t-1}(i) + ln A_ij] + ln b_j(o_t), with librosa's
/// smallest-normal ε inside every logarithm, so impossible transitions cost ln ε rather than
/// -∞ and are still available).
///
/// Where librosa's numpy code has an edge case, the same rule is kept (and documented here):
/// a candidate above the top bin's upper half-bin is dropped, two candidates in one bin keep the
/// one with the longer period, and v is clipped at 1. A width w that comes out even is widened
/// to w + 1 (librosa's even-width band is asymmetric by its padding arithmetic), and a band wider
/// than the bins is clipped at the edges (where librosa raises an error).
///
/// Memory: a 2-byte back-pointer per state per frame (1.6 KB per frame at the defaults).
/// Errors: those of [`yin`](super::yin()), and pYIN settings out of range (`n_thresholds` 0,
/// non-positive beta or Boltzmann parameters, `resolution` outside (0, 1], negative
/// `max_transition_rate`, `switch_prob` outside (0, 1), `no_trough_prob` outside [0, 1], or more
/// than 32,768 pitch bins).
pub fn pyin(samples: &[f32], cfg: &PitchConfig) -> Result<PyinTrack> {
    let lags = cfg.lags(samples)?;
    let model = Model::new(cfg, lags)?;
    let frames = Frames::new(samples, cfg);
    let mut cmndf = Cmndf::new(cfg.frame_length, lags)?;
    let mut scratch = Scratch::default();
    let mut obs = Observations::new(model.bins.n);
    for t in 0..frames.len {
        model.observe(cmndf.compute(&frames, t)?, &mut scratch, &mut obs);
    }
    let states = model.hmm.viterbi(&obs);
    let n = model.bins.n;
    Ok(PyinTrack {
        f0: states
            .iter()
            .map(|&s| match s < n {
                true => model.bins.freq(s) as f32,
                false => f32::NAN,
            })
            .collect(),
        voiced: states.iter().map(|&s| s < n).collect(),
        voiced_prob: obs.voiced_prob.iter().map(|&v| v as f32).collect(),
    })
}

/// numpy's `finfo(float64).tiny`, which librosa adds inside every logarithm and denominator.
const TINY: f64 = f64::MIN_POSITIVE;

/// Everything of pYIN that depends on the settings only.
struct Model {
    lags: Lags,
    sample_rate: f64,
    prior: ThresholdPrior,
    boltzmann: f64,
    no_trough_prob: f64,
    bins: PitchBins,
    hmm: Hmm,
}

impl Model {
    fn new(cfg: &PitchConfig, lags: Lags) -> Result<Self> {
        let (alpha, beta) = cfg.beta_parameters;
        let checks = [
            (cfg.n_thresholds >= 1, "n_thresholds must be at least 1"),
            (
                alpha > 0.0 && beta > 0.0 && alpha.is_finite() && beta.is_finite(),
                "beta_parameters must be positive",
            ),
            (
                cfg.boltzmann_parameter > 0.0 && cfg.boltzmann_parameter.is_finite(),
                "boltzmann_parameter must be positive",
            ),
            (
                cfg.resolution > 0.0 && cfg.resolution <= 1.0,
                "resolution must be in (0, 1] semitone",
            ),
            (
                cfg.max_transition_rate >= 0.0 && cfg.max_transition_rate.is_finite(),
                "max_transition_rate must be non-negative",
            ),
            (
                cfg.switch_prob > 0.0 && cfg.switch_prob < 1.0,
                "switch_prob must be in (0, 1)",
            ),
            (
                (0.0..=1.0).contains(&cfg.no_trough_prob),
                "no_trough_prob must be in [0, 1]",
            ),
        ];
        if let Some((_, what)) = checks.iter().find(|(ok, _)| !ok) {
            return Err(Error::invalid(format!(
                "pyin: {what} (n_thresholds {}, beta_parameters {:?}, boltzmann_parameter {}, \
                 resolution {}, max_transition_rate {}, switch_prob {}, no_trough_prob {})",
                cfg.n_thresholds,
                cfg.beta_parameters,
                cfg.boltzmann_parameter,
                cfg.resolution,
                cfg.max_transition_rate,
                cfg.switch_prob,
                cfg.no_trough_prob
            )));
        }
        let bins = PitchBins::new(cfg);
        if bins.n > 1 << 15 {
            return Err(Error::invalid(format!(
                "pyin: {} pitch bins (fmin {} Hz, fmax {} Hz, resolution {}) exceed 32768",
                bins.n, cfg.fmin, cfg.fmax, cfg.resolution
            )));
        }
        // librosa: round(max_transition_rate * 12 * hop_length / sr) semitones per frame
        // (Python's round: half to even).
        let semitones = math::rint(
            cfg.max_transition_rate * 12.0 * cfg.hop_length as f64 / cfg.sample_rate as f64,
        ) as usize;
        let half_width = semitones.saturating_mul(bins.per_semitone).div_ceil(2);
        Ok(Model {
            lags,
            sample_rate: cfg.sample_rate as f64,
            prior: ThresholdPrior::new(cfg.n_thresholds, alpha, beta),
            boltzmann: cfg.boltzmann_parameter,
            no_trough_prob: cfg.no_trough_prob,
            hmm: Hmm::new(bins.n, half_width, cfg.switch_prob),
            bins,
        })
    }

    /// Stage one for one frame: appends its candidates (pitch bin, probability) and voicing
    /// probability to `obs`.
    fn observe(&self, d: &[f64], s: &mut Scratch, obs: &mut Observations) {
        s.troughs.clear();
        s.troughs.extend((0..d.len()).filter(|&i| is_trough(d, i)));
        self.trough_probabilities(d, s);
        // Candidates with non-zero probability, in order of period (librosa's np.nonzero).
        s.candidates.clear();
        for (&i, &p) in s.troughs.iter().zip(&s.probs) {
            if p == 0.0 {
                continue;
            }
            let period = (self.lags.min_period + i) as f64 + parabolic_shift(d, i);
            if let Some(bin) = self.bins.nearest(self.sample_rate / period) {
                s.candidates.push((bin, p));
            }
        }
        // librosa assigns the candidates into the observation matrix in period order, so in a
        // bin hit twice the later (longer-period) one stays. The stable sort keeps that order.
        s.candidates.sort_by_key(|&(bin, _)| bin);
        let start = obs.bins.len();
        for &(bin, p) in &s.candidates {
            if obs.bins.len() > start && obs.bins.last() == Some(&(bin as u16)) {
                *obs.probs.last_mut().unwrap() = p;
            } else {
                obs.bins.push(bin as u16);
                obs.probs.push(p);
            }
        }
        // Σ over bins in ascending order, as numpy sums the observation column.
        let total: f64 = obs.probs[start..].iter().sum();
        obs.voiced_prob.push(total.clamp(0.0, 1.0));
        obs.start.push(obs.bins.len());
    }

    /// p(τ_k) of every trough in `s.troughs` into `s.probs` (see [`pyin`]).
    fn trough_probabilities(&self, d: &[f64], s: &mut Scratch) {
        let m = s.troughs.len();
        s.probs.clear();
        s.probs.resize(m, 0.0);
        if m == 0 {
            return;
        }
        let thresholds = &self.prior.thresholds;
        // n_j: troughs below each threshold; rank_j: those seen so far.
        s.below.clear();
        s.below.resize(thresholds.len(), 0);
        for &i in &s.troughs {
            for (n, &sj) in s.below.iter_mut().zip(thresholds) {
                *n += (d[i] < sj) as usize;
            }
        }
        // Boltzmann(r; λ, n) = fact(n) e^{-λ r}, the factors tabulated for r < m, n <= m.
        let lambda = self.boltzmann;
        s.decay.clear();
        s.decay
            .extend((0..m).map(|r| math::exp(-lambda * r as f64)));
        s.fact.clear();
        s.fact.extend(
            (0..=m).map(|n| (1.0 - math::exp(-lambda)) / (1.0 - math::exp(-lambda * n as f64))),
        );
        s.rank.clear();
        s.rank.resize(thresholds.len(), 0);
        for (k, &i) in s.troughs.iter().enumerate() {
            let mut p = 0.0;
            let per_threshold = thresholds.iter().zip(&self.prior.mass).zip(&s.below);
            for (((&sj, &pj), &n), rank) in per_threshold.zip(s.rank.iter_mut()) {
                if d[i] < sj {
                    p += s.fact[n] * s.decay[*rank] * pj;
                    *rank += 1;
                }
            }
            s.probs[k] = p;
        }
        // The global minimum (first, among the troughs) takes no_trough_prob of the mass of
        // every threshold it is not below; those are the lowest ones, since s_j increases.
        let mut g = 0;
        for k in 1..m {
            if d[s.troughs[k]] < d[s.troughs[g]] {
                g = k;
            }
        }
        let lowest = d[s.troughs[g]];
        let unreached: f64 = thresholds
            .iter()
            .zip(&self.prior.mass)
            .take_while(|&(&sj, _)| sj <= lowest)
            .map(|(_, &pj)| pj)
            .sum();
        s.probs[g] += self.no_trough_prob * unreached;
    }
}

/// Per-frame work buffers of [`Model::observe`].
#[derive(Default)]
struct Scratch {
    troughs: Vec<usize>,
    probs: Vec<f64>,
    below: Vec<usize>,
    rank: Vec<usize>,
    decay: Vec<f64>,
    fact: Vec<f64>,
    candidates: Vec<(usize, f64)>,
}

/// The thresholds s_j = j / N, j = 1..=N, and their prior mass P(s_j) = B(s_j) - B(s_{j-1})
/// under the Beta(α, β) CDF B (librosa: `np.diff(beta.cdf(np.linspace(0, 1, N + 1), α, β))`).
struct ThresholdPrior {
    thresholds: Vec<f64>,
    mass: Vec<f64>,
}

impl ThresholdPrior {
    fn new(n: usize, alpha: f64, beta: f64) -> Self {
        // numpy's linspace: j * (1 / N), the last point exactly 1.
        let step = 1.0 / n as f64;
        let point = |j: usize| if j == n { 1.0 } else { j as f64 * step };
        let cdf: Vec<f64> = (0..=n).map(|j| beta_cdf(point(j), alpha, beta)).collect();
        ThresholdPrior {
            thresholds: (1..=n).map(point).collect(),
            mass: cdf.windows(2).map(|w| w[1] - w[0]).collect(),
        }
    }
}

/// The Beta(a, b) CDF, i.e. the regularised incomplete beta function I_x(a, b), by its continued
/// fraction (DLMF 8.17.22)
///
///   I_x(a, b) = x^a (1-x)^b / (a B(a, b)) · 1 / (1 + d_1 / (1 + d_2 / (1 + ...))),
///   d_{2m} = m (b - m) x / ((a + 2m - 1)(a + 2m)),
///   d_{2m+1} = -(a + m)(a + b + m) x / ((a + 2m)(a + 2m + 1)),
///
/// evaluated by the modified Lentz method where it converges fast, x < (a + 1) / (a + b + 2),
/// and through I_x(a, b) = 1 - I_{1-x}(b, a) otherwise.
fn beta_cdf(x: f64, a: f64, b: f64) -> f64 {
    if x <= 0.0 {
        return 0.0;
    }
    if x >= 1.0 {
        return 1.0;
    }
    if x > (a + 1.0) / (a + b + 2.0) {
        return 1.0 - beta_cdf(1.0 - x, b, a);
    }
    let ln_beta = math::lgamma(a) + math::lgamma(b) - math::lgamma(a + b);
    let front = math::exp(a * math::ln(x) + b * math::ln(1.0 - x) - ln_beta) / a;
    // Lentz: f = 1 + d_1 / (1 + d_2 / ...), as the product of C_n D_n.
    const FLOOR: f64 = 1e-300;
    let guard = |v: f64| if v.abs() < FLOOR { FLOOR } else { v };
    let (mut f, mut c, mut dd) = (1.0, 1.0, 0.0);
    for n in 1..=1000 {
        let m = (n / 2) as f64;
        let coeff = if n % 2 == 0 {
            m * (b - m) * x / ((a + 2.0 * m - 1.0) * (a + 2.0 * m))
        } else {
            -(a + m) * (a + b + m) * x / ((a + 2.0 * m) * (a + 2.0 * m + 1.0))
        };
        dd = 1.0 / guard(1.0 + coeff * dd);
        c = guard(1.0 + coeff / c);
        let delta = c * dd;
        f *= delta;
        if (delta - 1.0).abs() < 1e-16 {
            break;
        }
    }
    front / f
}

/// The pitch bins f_i = fmin · 2^{i / (12 b)}, i = 0..n, b bins per semitone.
struct PitchBins {
    fmin: f64,
    per_semitone: usize,
    n: usize,
}

impl PitchBins {
    fn new(cfg: &PitchConfig) -> Self {
        let per_semitone = math::ceil(1.0 / cfg.resolution) as usize;
        let (fmin, fmax) = (cfg.fmin as f64, cfg.fmax as f64);
        let octave_bins = (12 * per_semitone) as f64;
        PitchBins {
            fmin,
            per_semitone,
            n: math::floor(octave_bins * math::log2(fmax / fmin)) as usize + 1,
        }
    }

    fn freq(&self, bin: usize) -> f64 {
        self.fmin * math::pow(2.0, bin as f64 / (12 * self.per_semitone) as f64)
    }

    /// The bin nearest `f0` on the log scale (half-way cases to even), clipped to 0 below;
    /// `None` above the top bin's upper half-bin (librosa clips those to the first unvoiced
    /// state, whose observation is then overwritten).
    fn nearest(&self, f0: f64) -> Option<usize> {
        let x = (12 * self.per_semitone) as f64 * math::log2(f0 / self.fmin);
        let bin = math::rint(x).max(0.0) as usize;
        (bin < self.n).then_some(bin)
    }
}

/// Stage one's output: per frame, candidate bins with probabilities and the voicing
/// probability.
struct Observations {
    n_bins: usize,
    /// Frame t's candidates are `bins[start[t]..start[t + 1]]`, ascending, with `probs`.
    start: Vec<usize>,
    bins: Vec<u16>,
    probs: Vec<f64>,
    voiced_prob: Vec<f64>,
}

impl Observations {
    fn new(n_bins: usize) -> Self {
        Observations {
            n_bins,
            start: vec![0],
            bins: Vec::new(),
            probs: Vec::new(),
            voiced_prob: Vec::new(),
        }
    }

    fn len(&self) -> usize {
        self.voiced_prob.len()
    }

    /// ln(b_s(o_t) + ε) for every state s: voiced states first (bin order), then unvoiced.
    fn log_likelihoods(&self, t: usize, out: &mut [f64]) {
        let n = self.n_bins;
        let ln_tiny = math::ln(TINY);
        out[..n].fill(ln_tiny);
        let range = self.start[t]..self.start[t + 1];
        for (&bin, &p) in self.bins[range.clone()].iter().zip(&self.probs[range]) {
            out[bin as usize] = math::ln(p + TINY);
        }
        let unvoiced = (1.0 - self.voiced_prob[t]) / n as f64;
        out[n..].fill(math::ln(unvoiced + TINY));
    }
}

/// The pitch-tracking HMM: states `i` (voiced, bin i) and `n + i` (unvoiced, bin i), with
/// transition matrix A = S ⊗ L and a uniform initial distribution.
struct Hmm {
    n: usize,
    /// The band's reach in bins (the triangle's half-width, at most n - 1).
    half_width: usize,
    /// ln(S_kept · L(i → j) + ε) and ln(S_switched · L(i → j) + ε) by target bin j: entry
    /// `j * (2h + 1) + (i + h - j)` for source bins |i - j| <= h (h = `half_width`).
    log_keep: Vec<f64>,
    log_switch: Vec<f64>,
}

impl Hmm {
    fn new(n: usize, half_width: usize, switch_prob: f64) -> Self {
        // Triangular weight over bin offsets |δ| <= half_width (scipy's triang(2 half_width + 1));
        // each source row of L normalised over the bins it can reach, at most n - 1 away.
        let weight =
            |delta: usize| (half_width as f64 + 1.0 - delta as f64) / (half_width as f64 + 1.0);
        let h = half_width.min(n - 1);
        let row_sum: Vec<f64> = (0..n)
            .map(|i| {
                let (lo, hi) = (i.saturating_sub(h), (i + h).min(n - 1));
                (lo..=hi).map(|j| weight(i.abs_diff(j))).sum()
            })
            .collect();
        let stride = 2 * h + 1;
        let (mut log_keep, mut log_switch) = (vec![0.0; n * stride], vec![0.0; n * stride]);
        for j in 0..n {
            let (lo, hi) = (j.saturating_sub(h), (j + h).min(n - 1));
            for (i, &z) in row_sum.iter().enumerate().take(hi + 1).skip(lo) {
                let l = weight(i.abs_diff(j)) / z;
                let e = j * stride + i + h - j;
                log_keep[e] = math::ln((1.0 - switch_prob) * l + TINY);
                log_switch[e] = math::ln(switch_prob * l + TINY);
            }
        }
        Hmm {
            n,
            half_width: h,
            log_keep,
            log_switch,
        }
    }

    /// The most likely state sequence (Viterbi; ties go to the lowest state, as numpy's
    /// `argmax` breaks them).
    fn viterbi(&self, obs: &Observations) -> Vec<usize> {
        let (n, h) = (self.n, self.half_width);
        let (states, frames) = (2 * n, obs.len());
        let stride = 2 * h + 1;
        let ln_tiny = math::ln(TINY);
        let mut log_b = vec![0.0; states];
        let mut back = vec![0u16; frames.saturating_sub(1) * states];
        obs.log_likelihoods(0, &mut log_b);
        let log_init = math::ln(1.0 / states as f64 + TINY);
        let mut prev: Vec<f64> = log_b.iter().map(|&b| b + log_init).collect();
        let mut cur = vec![0.0; states];
        for t in 1..frames {
            obs.log_likelihoods(t, &mut log_b);
            // A transition outside the band has probability 0, so costs ln ε; the best such
            // source is the overall best one whenever it is outside the band (and never wins
            // when it is inside, where A > 0).
            let g = first_argmax(&prev);
            let far = prev[g] + ln_tiny;
            let ptr = &mut back[(t - 1) * states..t * states];
            for target in 0..states {
                let (voiced, j) = (target < n, target % n);
                let (lo, hi) = (j.saturating_sub(h), (j + h).min(n - 1));
                let row = j * stride + h - j;
                let keep = &self.log_keep[row + lo..=row + hi];
                let switch = &self.log_switch[row + lo..=row + hi];
                let (to_voiced, to_unvoiced) = match voiced {
                    true => (keep, switch),
                    false => (switch, keep),
                };
                let (from_voiced, from_unvoiced) = (&prev[lo..=hi], &prev[n + lo..=n + hi]);
                let best_voiced = max_sum(from_voiced, to_voiced);
                let best_unvoiced = max_sum(from_unvoiced, to_unvoiced);
                // the first state reaching the maximum; voiced states come first
                let (mut best, mut arg) = match best_voiced >= best_unvoiced {
                    true => (
                        best_voiced,
                        lo + position(from_voiced, to_voiced, best_voiced),
                    ),
                    false => (
                        best_unvoiced,
                        n + lo + position(from_unvoiced, to_unvoiced, best_unvoiced),
                    ),
                };
                if far > best || (far == best && g < arg) {
                    (best, arg) = (far, g);
                }
                cur[target] = log_b[target] + best;
                ptr[target] = arg as u16;
            }
            core::mem::swap(&mut prev, &mut cur);
        }
        let mut path = vec![0usize; frames];
        if frames == 0 {
            return path;
        }
        path[frames - 1] = first_argmax(&prev);
        for t in (1..frames).rev() {
            path[t - 1] = back[(t - 1) * states + path[t]] as usize;
        }
        path
    }
}

/// `max_i (a[i] + b[i])`, in eight lanes so that the compiler keeps them in SIMD registers.
fn max_sum(a: &[f64], b: &[f64]) -> f64 {
    debug_assert_eq!(a.len(), b.len());
    const LANES: usize = 8;
    let larger = |m: f64, v: f64| if v > m { v } else { m };
    let mut acc = [f64::NEG_INFINITY; LANES];
    let (ca, cb) = (a.chunks_exact(LANES), b.chunks_exact(LANES));
    let tail = ca
        .remainder()
        .iter()
        .zip(cb.remainder())
        .fold(f64::NEG_INFINITY, |m, (x, y)| larger(m, x + y));
    for (x, y) in ca.zip(cb) {
        for i in 0..LANES {
            acc[i] = larger(acc[i], x[i] + y[i]);
        }
    }
    acc.iter().fold(tail, |m, &v| larger(m, v))
}

/// The first `i` with `a[i] + b[i] == sum` (a sum [`max_sum`] returned, so there is one).
fn position(a: &[f64], b: &[f64], sum: f64) -> usize {
    a.iter().zip(b).position(|(x, y)| x + y == sum).unwrap_or(0)
}

/// Index of the first largest value (numpy's `argmax`).
fn first_argmax(v: &[f64]) -> usize {
    let mut best = 0;
    for (i, &x) in v.iter().enumerate() {
        if x > v[best] {
            best = i;
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn beta_cdf_matches_the_closed_form_for_integer_parameters() {
        // I_x(2, 18) = 1 - (1-x)^19 - 19 x (1-x)^18
        for k in 0..=100 {
            let x = k as f64 / 100.0;
            let closed = 1.0 - math::pow(1.0 - x, 19.0) - 19.0 * x * math::pow(1.0 - x, 18.0);
            let got = beta_cdf(x, 2.0, 18.0);
            assert!((got - closed).abs() < 1e-13, "x {x}: {got} vs {closed}");
        }
        // I_x(a, 1) = x^a and I_x(1, b) = 1 - (1-x)^b, for non-integer exponents too
        for x in [0.03, 0.2, 0.37, 0.8, 0.99] {
            let want = math::pow(x, 0.7);
            assert!((beta_cdf(x, 0.7, 1.0) - want).abs() < 1e-13, "x {x}");
            let want = 1.0 - math::pow(1.0 - x, 2.5);
            assert!((beta_cdf(x, 1.0, 2.5) - want).abs() < 1e-13, "x {x}");
        }
    }

    #[test]
    fn threshold_prior_sums_to_one() {
        let prior = ThresholdPrior::new(100, 2.0, 18.0);
        assert_eq!(prior.thresholds.len(), 100);
        assert_eq!(prior.thresholds[99], 1.0);
        assert!((prior.mass.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        // Beta(2, 18) has its mode at 1/18: the heaviest threshold is s_5 or s_6.
        let heaviest = first_argmax(&prior.mass);
        assert!(heaviest == 4 || heaviest == 5, "{heaviest}");
    }

    #[test]
    fn pitch_bins_and_band_at_the_defaults() {
        let cfg = PitchConfig::new(22050);
        let model = Model::new(&cfg, cfg.lags(&[0.1]).unwrap()).unwrap();
        // floor(120 log2(800 / 75)) + 1
        assert_eq!(model.bins.n, 410);
        // round(35.92 * 12 * 512 / 22050) = 10 semitones = 100 bins, full width 101
        assert_eq!(model.hmm.half_width, 50);
        assert_eq!(model.bins.nearest(75.0), Some(0));
        assert_eq!(model.bins.nearest(60.0), Some(0));
        assert_eq!(model.bins.nearest(model.bins.freq(123) * 1.002), Some(123));
        assert_eq!(model.bins.nearest(816.0), None);
    }

    #[test]
    fn transition_band_wider_than_the_bins_is_clipped() {
        // The triangle of half-width 100 over 5 bins: weights (101 - |δ|) / 101, rows normalised.
        let hmm = Hmm::new(5, 100, 0.5);
        assert_eq!(hmm.half_width, 4);
        let from_0: Vec<f64> = (0..5)
            .map(|j| math::exp(hmm.log_keep[j * 9 + 4 - j]) * 2.0)
            .collect();
        let total = (97..=101).sum::<usize>() as f64;
        for (j, p) in from_0.iter().enumerate() {
            assert!((p - (101 - j) as f64 / total).abs() < 1e-14, "{j}: {p}");
        }
    }

    #[test]
    fn transition_rows_are_distributions() {
        let hmm = Hmm::new(30, 4, 0.25);
        let stride = 9;
        for i in 0..30usize {
            // Σ_j A((v, i) -> (v', j)) over both target voicings is 1.
            let mut total = 0.0;
            for j in i.saturating_sub(4)..=(i + 4).min(29) {
                let e = j * stride + i + 4 - j;
                total += math::exp(hmm.log_keep[e]) + math::exp(hmm.log_switch[e]);
            }
            assert!((total - 1.0).abs() < 1e-12, "row {i}: {total}");
        }
    }

    #[test]
    fn trough_probabilities_follow_the_priors() {
        // d' with troughs at 1 (0.05), 4 (0.3) and 7 (0.02): the global minimum is the last.
        let d = [0.9, 0.05, 0.6, 0.8, 0.3, 0.7, 0.5, 0.02, 0.4];
        let cfg = PitchConfig::new(22050);
        let model = Model::new(&cfg, cfg.lags(&[0.1]).unwrap()).unwrap();
        let mut s = Scratch::default();
        s.troughs.extend((0..d.len()).filter(|&i| is_trough(&d, i)));
        assert_eq!(s.troughs, [1, 4, 7]);
        model.trough_probabilities(&d, &mut s);
        // By hand: threshold j (s = (j+1)/100) sees the troughs below it in period order.
        let (lambda, prior) = (2.0, &model.prior);
        let boltzmann = |r: f64, n: f64| {
            (1.0 - math::exp(-lambda)) * math::exp(-lambda * r) / (1.0 - math::exp(-lambda * n))
        };
        let mut want = [0.0; 3];
        for j in 0..100 {
            let sj = prior.thresholds[j];
            let below: Vec<usize> = (0..3).filter(|&k| d[s.troughs[k]] < sj).collect();
            for (r, &k) in below.iter().enumerate() {
                want[k] += prior.mass[j] * boltzmann(r as f64, below.len() as f64);
            }
            if below.is_empty() {
                want[2] += 0.01 * prior.mass[j];
            }
        }
        for k in 0..3 {
            assert!(
                (s.probs[k] - want[k]).abs() < 1e-14,
                "{k}: {:?} {want:?}",
                s.probs
            );
        }
        // Every threshold's mass is handed out (the thresholds below 0.02 only in part).
        let lost: f64 = prior.mass[..2].iter().sum::<f64>() * 0.99;
        assert!((s.probs.iter().sum::<f64>() + lost - 1.0).abs() < 1e-12);
    }

    #[test]
    fn viterbi_follows_a_clear_path_and_its_voicing() {
        // 12 bins, band ±2; frames 0..4 voiced climbing one bin per frame, 5..7 unvoiced.
        let mut obs = Observations::new(12);
        for t in 0..8 {
            if t < 5 {
                obs.bins.push(3 + t as u16);
                obs.probs.push(0.9);
                obs.voiced_prob.push(0.9);
            } else {
                obs.voiced_prob.push(0.0);
            }
            obs.start.push(obs.bins.len());
        }
        let hmm = Hmm::new(12, 2, 0.01);
        let path = hmm.viterbi(&obs);
        assert_eq!(&path[..5], &[3, 4, 5, 6, 7]);
        assert!(path[5..].iter().all(|&s| s >= 12), "{path:?}");
    }
}
