//! FastSpeech2's post-processing of a frame-level F0 contour (Ren et al. 2021, as
//! ming024/FastSpeech2's `preprocessor.py` prepares its pitch targets): linear interpolation
//! over the unvoiced frames, then one average per phoneme.

use alloc::format;
use alloc::vec;
use alloc::vec::Vec;

use crate::{Error, Result};

/// The contour with every unvoiced frame filled by linear interpolation (in frame index)
/// between the nearest voiced frames on either side; frames before the first voiced frame take
/// its value and frames after the last take the last one's (scipy's `interp1d` with
/// `fill_value=(first, last)`, as ming024/FastSpeech2 uses it); voiced frames keep theirs.
///
/// Frame `i` is voiced when `voiced[i]` is true and `f0[i]` is finite (so pYIN's NaN never
/// leaks in); flags missing past the end of `voiced` count as unvoiced. The result has
/// `f0.len()` values, all zero when no frame is voiced.
pub fn interpolate_unvoiced(f0: &[f32], voiced: &[bool]) -> Vec<f32> {
    let is_voiced = |i: usize| voiced.get(i) == Some(&true) && f0[i].is_finite();
    let mut out = vec![0.0f32; f0.len()];
    let mut last: Option<usize> = None;
    for i in (0..f0.len()).filter(|&i| is_voiced(i)) {
        match last {
            // the leading unvoiced run holds the first voiced value
            None => out[..i].fill(f0[i]),
            Some(a) => {
                let (ya, yb) = (f0[a] as f64, f0[i] as f64);
                let slope = (yb - ya) / (i - a) as f64;
                for (k, o) in out[a + 1..i].iter_mut().enumerate() {
                    *o = (ya + slope * (k + 1) as f64) as f32;
                }
            }
        }
        out[i] = f0[i];
        last = Some(i);
    }
    if let Some(a) = last {
        out[a + 1..].fill(f0[a]);
    }
    out
}

/// One value per phoneme: the mean of its `durations[k]` consecutive frames, leaving out the
/// unvoiced ones (0, FastSpeech2's mark, or NaN, pYIN's); 0 for a phoneme of zero frames or of
/// unvoiced frames only.
///
/// ming024/FastSpeech2 interpolates the contour first ([`interpolate_unvoiced`]) and then takes
/// the plain mean, which is this mean on the interpolated contour; leaving out zeros also makes
/// an uninterpolated contour average only its voiced frames (ESPnet's `average_by_duration`
/// rule). The same averaging serves frame energy.
///
/// Errors when the durations do not add up to the number of frames.
pub fn phoneme_average(frames: &[f32], durations: &[usize]) -> Result<Vec<f32>> {
    let total = durations
        .iter()
        .try_fold(0usize, |sum, &d| sum.checked_add(d))
        .filter(|&sum| sum == frames.len());
    if total.is_none() {
        let sum: u128 = durations.iter().map(|&d| d as u128).sum();
        return Err(Error::invalid(format!(
            "phoneme_average: the durations add up to {sum} frames but there are {} frames",
            frames.len()
        )));
    }
    let mut pos = 0;
    Ok(durations
        .iter()
        .map(|&d| {
            let phoneme = &frames[pos..pos + d];
            pos += d;
            let (sum, count) = phoneme
                .iter()
                .filter(|&&x| x != 0.0 && !x.is_nan())
                .fold((0.0f64, 0usize), |(s, n), &x| (s + x as f64, n + 1));
            match count {
                0 => 0.0,
                _ => (sum / count as f64) as f32,
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interpolation_fills_gaps_and_holds_the_edges() {
        let f0 = [0.0, 0.0, 100.0, 0.0, 0.0, 0.0, 140.0, f32::NAN, 0.0];
        let voiced = [false, false, true, false, false, false, true, false, false];
        assert_eq!(
            interpolate_unvoiced(&f0, &voiced),
            [100.0, 100.0, 100.0, 110.0, 120.0, 130.0, 140.0, 140.0, 140.0]
        );
    }

    #[test]
    fn phoneme_average_skips_unvoiced_frames() {
        let frames = [100.0, 0.0, 120.0, 0.0, 0.0, 90.0, 91.0, 92.0];
        assert_eq!(
            phoneme_average(&frames, &[3, 0, 2, 3]).unwrap(),
            [110.0, 0.0, 0.0, 91.0]
        );
    }
}
