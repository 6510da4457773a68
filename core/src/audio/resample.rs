//! Band-limited sample-rate conversion between any two integer rates: polyphase windowed-sinc
//! interpolation over the reduced ratio `L / M = (to / g) / (from / g)`, `g = gcd(from, to)`.
//!
//! Output sample `i` sits at input time `t_i = i M / L` (in input samples, no delay) and is
//! band-limited interpolation with a windowed-sinc kernel (J. O. Smith, "Digital Audio
//! Resampling"; Kaiser, "Nonrecursive digital filter design using the I0-sinh window", 1974):
//! ```text
//! y[i] = sum_n x[n] h(t_i - n),   h(t) = 2 f_c sinc(2 f_c t) w(t / W),   sinc(u) = sin(pi u) / (pi u)
//! ```
//! with `x[n] = 0` outside the input. The kernel is symmetric about `t_i`, so its group delay is
//! zero by construction. Writing `i M = q L + p` (`0 <= p < L`), `t_i = q + p / L`: the
//! coefficients depend only on the phase `p`, so the `L` rows of `K` taps are tabled once and
//! each output sample is one dot product of a row with `K` consecutive inputs.
//!
//! Specification, in terms of the lower of the two Nyquist frequencies
//! `nu = min(from, to) / 2`: passband `[0, 0.9 nu]` flat within +-0.001 dB, stopband
//! `[nu, inf)` attenuated by at least 80 dB (aliases and images alike). Design: cutoff
//! `f_c = 0.95 nu` (mid transition band); a Kaiser window
//! ```text
//! w(u) = I0(beta sqrt(1 - u^2)) / I0(beta)  for |u| <= 1 (0 outside),   I0(x) = sum_k ((x/2)^k / k!)^2
//! ```
//! designed for `A = 85` dB (5 dB of margin over the spec for the approximations below): Kaiser's
//! formulas `beta = 0.1102 (A - 8.7)` and length `N = (A - 7.95) / (2.285 * 2 pi df)` with the
//! transition width `df = 0.1 nu`, giving `W = N / 2` = 53.7 lower-rate samples each side:
//! `2 ceil(W)` taps per output sample, rounded up to a multiple of 8 (112 when upsampling, 216
//! for 2:1, 328 for 3:1). Each phase's taps are normalised to sum to 1, so a constant signal
//! passes unchanged up to `f32` rounding. Measured (see the tests): the tabled filters' ripple
//! is +-0.0005 dB and their stopband >= 85.0 dB; tones through the converters lose >= 86 dB
//! above the output Nyquist.
//!
//! The filter table has `L x K` coefficients; ratios whose table would exceed
//! [`MAX_TABLE_COEFFS`] (e.g. 44101 Hz -> 48000 Hz, `L = 48000`) are refused.

use crate::kernels::dot;
use crate::math;
use crate::{Error, Result};
use alloc::{format, vec, vec::Vec};

/// Passband edge as a fraction of the lower Nyquist frequency.
pub const PASSBAND_EDGE: f64 = 0.9;
/// Kaiser design attenuation (dB) from the lower Nyquist frequency up; the specification
/// promised to callers is 80 dB.
pub const DESIGN_ATTENUATION_DB: f64 = 85.0;
/// Largest filter table (phases x taps) a [`Resampler`] builds: 4 Mi `f32`, 16 MiB.
pub const MAX_TABLE_COEFFS: usize = 1 << 22;

/// Taps per phase are rounded up to a multiple of this (zero taps), the lane count of
/// [`dot`], so no dot product has a tail.
const TAP_MULTIPLE: usize = 8;

/// A converter from `from` Hz to `to` Hz with its polyphase table; reusable for any number of
/// signals.
#[derive(Debug, Clone)]
pub struct Resampler {
    from: u32,
    to: u32,
    /// L: output samples per `M` input samples.
    up: u64,
    /// M.
    down: u64,
    /// K: taps per phase (0 for the identity).
    taps: usize,
    /// Inputs before `floor(t_i)` that row `p` starts at: `ceil(W) - 1`.
    lead: usize,
    /// Row `p` (`p = 0..L`), tap `k`: `h(p / L + lead - k)`, normalised to sum 1.
    table: Vec<f32>,
}

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// Modified Bessel function of the first kind, order 0, by its power series
/// `I0(x) = sum_{k>=0} ((x/2)^k / k!)^2`, summed until a term falls below 1e-17 of the sum.
fn bessel_i0(x: f64) -> f64 {
    let half = x / 2.0;
    let (mut sum, mut term, mut k) = (1.0, 1.0, 1.0);
    while term > 1e-17 * sum {
        let r = half / k;
        term *= r * r;
        sum += term;
        k += 1.0;
    }
    sum
}

/// `sin(pi u) / (pi u)`, 1 at 0.
fn sinc(u: f64) -> f64 {
    if u == 0.0 {
        1.0
    } else {
        let a = core::f64::consts::PI * u;
        math::sin(a) / a
    }
}

impl Resampler {
    /// The converter from `from` Hz to `to` Hz. Errors when a rate is 0 or the ratio needs a
    /// table larger than [`MAX_TABLE_COEFFS`].
    pub fn new(from: u32, to: u32) -> Result<Self> {
        if from == 0 || to == 0 {
            return Err(Error::invalid(format!(
                "resample: sample rates must be positive, got {from} Hz -> {to} Hz"
            )));
        }
        let g = gcd(u64::from(from), u64::from(to));
        let (up, down) = (u64::from(to) / g, u64::from(from) / g);
        if up == down {
            return Ok(Resampler {
                from,
                to,
                up,
                down,
                taps: 0,
                lead: 0,
                table: Vec::new(),
            });
        }
        // Frequencies in cycles per input sample.
        let nu = 0.5 * (up as f64 / down as f64).min(1.0);
        let cutoff = 0.5 * (PASSBAND_EDGE + 1.0) * nu;
        let transition = (1.0 - PASSBAND_EDGE) * nu;
        let a = DESIGN_ATTENUATION_DB;
        let beta = 0.1102 * (a - 8.7);
        let half_width = (a - 7.95) / (2.285 * 2.0 * core::f64::consts::PI * transition) / 2.0;
        let reach = math::ceil(half_width) as usize;
        let taps = (2 * reach).div_ceil(TAP_MULTIPLE) * TAP_MULTIPLE;
        let lead = reach - 1;
        let too_big = Error::invalid(format!(
            "resample: {from} Hz -> {to} Hz is the ratio {up}/{down}, whose {up} phases x \
             {taps} taps exceed the {MAX_TABLE_COEFFS} filter coefficients a resampler tables"
        ));
        let phases = usize::try_from(up).map_err(|_| too_big.clone())?;
        if phases
            .checked_mul(taps)
            .is_none_or(|n| n > MAX_TABLE_COEFFS)
        {
            return Err(too_big);
        }

        let i0_beta = bessel_i0(beta);
        let kernel = |t: f64| {
            let u = t / half_width;
            if u.abs() >= 1.0 {
                return 0.0;
            }
            let window = bessel_i0(beta * math::sqrt(1.0 - u * u)) / i0_beta;
            2.0 * cutoff * sinc(2.0 * cutoff * t) * window
        };
        let mut table = vec![0f32; phases * taps];
        let mut row = vec![0f64; taps];
        for (p, out) in table.chunks_exact_mut(taps).enumerate() {
            let frac = p as f64 / up as f64;
            for (k, c) in row.iter_mut().enumerate() {
                *c = kernel(frac + lead as f64 - k as f64);
            }
            let sum: f64 = row.iter().sum();
            for (o, c) in out.iter_mut().zip(&row) {
                *o = (c / sum) as f32;
            }
        }
        Ok(Resampler {
            from,
            to,
            up,
            down,
            taps,
            lead,
            table,
        })
    }

    /// Input rate (Hz).
    pub fn from_rate(&self) -> u32 {
        self.from
    }

    /// Output rate (Hz).
    pub fn to_rate(&self) -> u32 {
        self.to
    }

    /// Taps per output sample (0 when the rates are equal).
    pub fn taps(&self) -> usize {
        self.taps
    }

    /// `ceil(n * to / from)`: output samples for `n` input samples.
    pub fn output_len(&self, n: usize) -> usize {
        let (n, up, down) = (n as u128, u128::from(self.up), u128::from(self.down));
        (n * up).div_ceil(down) as usize
    }

    /// Converts a whole signal (one channel): `output_len(input.len())` samples, sample `i` at
    /// input time `i * from / to`; the signal is taken as zero outside `input`. Equal rates
    /// return a copy of `input`.
    pub fn process(&self, input: &[f32]) -> Vec<f32> {
        if self.taps == 0 {
            return input.to_vec();
        }
        let k = self.taps;
        // padded[j] = input[j - lead]: row p for output i reads padded[q .. q + K].
        let mut padded = vec![0f32; input.len() + k];
        padded[self.lead..self.lead + input.len()].copy_from_slice(input);
        let n_out = self.output_len(input.len());
        let mut out = Vec::with_capacity(n_out);
        let (mut q, mut p) = (0usize, 0u64);
        for _ in 0..n_out {
            let row = &self.table[p as usize * k..][..k];
            out.push(dot(&padded[q..q + k], row));
            p += self.down;
            q += (p / self.up) as usize;
            p %= self.up;
        }
        out
    }
}

/// Converts `input` (one channel) from `from` Hz to `to` Hz: [`Resampler::new`] then
/// [`Resampler::process`]. Build a [`Resampler`] once instead when converting many signals.
pub fn resample(input: &[f32], from: u32, to: u32) -> Result<Vec<f32>> {
    Ok(Resampler::new(from, to)?.process(input))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `|G(f)|` of the tabled filter, `f` in cycles per input sample: the table read as one
    /// prototype filter at `L` times the input rate, `g[m] = h(m / L)` with
    /// `m = p + L (lead - k)`, divided by its DC gain `L`.
    fn response(r: &Resampler, f: f64) -> f64 {
        let l = r.up as f64;
        let (mut re, mut im) = (0.0, 0.0);
        for (p, row) in r.table.chunks_exact(r.taps).enumerate() {
            for (k, &c) in row.iter().enumerate() {
                let t = p as f64 / l + r.lead as f64 - k as f64;
                let phase = 2.0 * core::f64::consts::PI * f * t;
                re += f64::from(c) * math::cos(phase);
                im -= f64::from(c) * math::sin(phase);
            }
        }
        math::sqrt(re * re + im * im) / l
    }

    fn db(x: f64) -> f64 {
        20.0 * math::log10(x)
    }

    #[test]
    fn bessel_i0_matches_tabulated_values() {
        // Abramowitz & Stegun table 9.8: I0(1) = 1.266065878, I0(5) = 27.23987182.
        assert!((bessel_i0(0.0) - 1.0).abs() < 1e-15);
        assert!((bessel_i0(1.0) - 1.266_065_878).abs() < 1e-9);
        assert!((bessel_i0(5.0) - 27.239_871_82).abs() < 1e-7);
    }

    #[test]
    fn reduced_ratio_and_lengths() {
        let r = Resampler::new(44100, 16000).unwrap();
        assert_eq!((r.up, r.down), (160, 441));
        assert_eq!(r.output_len(441), 160);
        assert_eq!(r.output_len(442), 161);
        assert_eq!(r.taps % TAP_MULTIPLE, 0);
        assert!(Resampler::new(0, 16000).is_err());
        assert!(Resampler::new(44101, 48000).is_err());
    }

    #[test]
    fn tabled_filters_meet_the_specification() {
        // (from, to): decimation by 2 and 3, interpolation by 2, and 2/3.
        for (from, to) in [(2, 1), (3, 1), (1, 2), (3, 2)] {
            let r = Resampler::new(from, to).unwrap();
            let nu = 0.5 * (f64::from(to) / f64::from(from)).min(1.0);
            let top = r.up as f64 / 2.0; // the prototype's Nyquist, in input cycles
            let (mut ripple, mut stop) = (0.0f64, f64::INFINITY);
            for j in 0..=2000 {
                let f = top * f64::from(j) / 2000.0;
                let g = response(&r, f);
                if f <= PASSBAND_EDGE * nu {
                    ripple = ripple.max(db(g).abs());
                } else if f >= nu {
                    stop = stop.min(-db(g));
                }
            }
            assert!(ripple < 0.001, "{from}->{to}: passband ripple {ripple} dB");
            assert!(stop > 84.5, "{from}->{to}: stopband {stop} dB");
        }
    }

    #[test]
    fn equal_rates_copy() {
        let x = [0.25f32, -1.0, 3.0];
        assert_eq!(resample(&x, 16000, 16000).unwrap(), x);
    }
}
