//! RIFF/WAVE reader and writer for uncompressed PCM: integer 8 (unsigned), 16, 24 and 32-bit,
//! IEEE float 32 and 64-bit, plain or as the subformat of `WAVE_FORMAT_EXTENSIBLE`; any channel
//! count and sample rate from 1 up.
//!
//! Layout (Microsoft's RIFF and WAVE specifications, all integers little-endian):
//! ```text
//! "RIFF" u32 size "WAVE" | chunk* ;  chunk = id[4] u32 n | n bytes | one pad byte if n is odd
//! "fmt " (>= 16 bytes): u16 format_tag, u16 channels, u32 sample_rate, u32 byte_rate,
//!                       u16 block_align, u16 bits_per_sample [, u16 cb_size, extension]
//!        format_tag 0xFFFE (extensible, >= 40 bytes): u16 valid_bits, u32 channel_mask,
//!        GUID subformat whose first two bytes are the format code (1 PCM, 3 float) and whose
//!        other 14 are 00 00 00 00 10 00 80 00 00 AA 00 38 9B 71
//! "data": frames of block_align = channels x bits/8 bytes, channels interleaved
//! ```
//!
//! Samples come out as interleaved `f32`, integer PCM scaled by `1 / 2^(bits-1)` (8-bit, which is
//! unsigned: `(x - 128) / 128`), the convention of libsndfile (and so of Python's `soundfile`
//! and librosa): full scale is `[-1, 1)`, and a 32-bit sample keeps its 24 leading significant
//! bits (the nearest `f32`). Floats are read as stored (`f64` rounded to the nearest `f32`).
//!
//! The reader is strict about everything that decides how the bytes are decoded, and reports
//! the byte offset of the field at fault: a data chunk that runs past the end of the buffer (a
//! truncated file) or whose size is not a whole number of frames is an error, not a shorter
//! signal. Other chunks (`LIST`, `fact`, `cue `, ...) are skipped; the walk stops once both
//! `fmt ` and `data` have been seen, so whatever follows the data (trailing chunks, tags) is not
//! read. Not checked, because decoding does not depend on them: the RIFF size field (streaming
//! writers leave it 0 or 0xFFFFFFFF), `byte_rate`, and the extensible `valid_bits` and channel
//! mask (samples are scaled by the container size, as libsndfile does).

use crate::math;
use crate::{Error, Result};
use alloc::{format, string::String, vec::Vec};

const FMT: &str = "WAV";

/// `format_tag` of integer PCM and of IEEE float samples.
const TAG_PCM: u16 = 1;
const TAG_FLOAT: u16 = 3;
const TAG_EXTENSIBLE: u16 = 0xFFFE;
/// Bytes 2..16 of every `KSDATAFORMAT_SUBTYPE_*` GUID derived from a format tag.
const SUBFORMAT_GUID_TAIL: [u8; 14] = [
    0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xAA, 0x00, 0x38, 0x9B, 0x71,
];

/// How the samples of a WAV file are stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SampleFormat {
    /// 8-bit unsigned integer PCM (128 is zero).
    U8,
    /// 16-bit signed integer PCM.
    I16,
    /// 24-bit signed integer PCM, packed in 3 bytes.
    I24,
    /// 32-bit signed integer PCM.
    I32,
    /// 32-bit IEEE float.
    F32,
    /// 64-bit IEEE float.
    F64,
}

impl SampleFormat {
    /// Every format the reader and the writer handle.
    pub const ALL: [SampleFormat; 6] = [
        SampleFormat::U8,
        SampleFormat::I16,
        SampleFormat::I24,
        SampleFormat::I32,
        SampleFormat::F32,
        SampleFormat::F64,
    ];

    /// Bits per sample, as in the `fmt ` chunk.
    pub fn bits(self) -> u16 {
        match self {
            SampleFormat::U8 => 8,
            SampleFormat::I16 => 16,
            SampleFormat::I24 => 24,
            SampleFormat::I32 | SampleFormat::F32 => 32,
            SampleFormat::F64 => 64,
        }
    }

    /// Bytes per sample of one channel.
    pub fn bytes(self) -> usize {
        usize::from(self.bits() / 8)
    }

    /// Whether samples are IEEE floats (format tag 3) rather than integers (format tag 1).
    pub fn is_float(self) -> bool {
        matches!(self, SampleFormat::F32 | SampleFormat::F64)
    }

    fn format_tag(self) -> u16 {
        if self.is_float() {
            TAG_FLOAT
        } else {
            TAG_PCM
        }
    }

    /// The format of format code `code` (1 or 3) with `bits` bits per sample, if supported.
    fn from_code(code: u16, bits: u16) -> Option<Self> {
        match (code, bits) {
            (TAG_PCM, 8) => Some(SampleFormat::U8),
            (TAG_PCM, 16) => Some(SampleFormat::I16),
            (TAG_PCM, 24) => Some(SampleFormat::I24),
            (TAG_PCM, 32) => Some(SampleFormat::I32),
            (TAG_FLOAT, 32) => Some(SampleFormat::F32),
            (TAG_FLOAT, 64) => Some(SampleFormat::F64),
            _ => None,
        }
    }
}

/// A decoded WAV file.
#[derive(Debug, Clone, PartialEq)]
pub struct Wav {
    /// Frames per second.
    pub sample_rate: u32,
    /// Samples per frame (>= 1).
    pub channels: u16,
    /// How the file stored its samples.
    pub format: SampleFormat,
    /// `frames() * channels` samples, channels interleaved, full scale `[-1, 1)` for integer PCM.
    pub samples: Vec<f32>,
}

impl Wav {
    /// Number of frames (samples per channel).
    pub fn frames(&self) -> usize {
        self.samples.len() / usize::from(self.channels)
    }

    /// `frames() / sample_rate`.
    pub fn duration_seconds(&self) -> f64 {
        self.frames() as f64 / f64::from(self.sample_rate)
    }

    /// One sample per frame: the mean of its channels (`sum / channels`, summed in channel order).
    pub fn to_mono(&self) -> Vec<f32> {
        let c = usize::from(self.channels);
        self.samples
            .chunks_exact(c)
            .map(|frame| frame.iter().sum::<f32>() / c as f32)
            .collect()
    }
}

fn err(at: usize, message: impl Into<String>) -> Error {
    Error::format(FMT, at as u64, message)
}

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// A chunk id as text, non-printable bytes escaped.
fn show_id(id: &[u8]) -> String {
    id.iter()
        .flat_map(|&b| core::ascii::escape_default(b))
        .map(char::from)
        .collect()
}

/// Name of a non-PCM format code, for the error message.
fn codec_name(code: u16) -> Option<&'static str> {
    Some(match code {
        0x0000 => "unknown",
        0x0002 => "Microsoft ADPCM",
        0x0006 => "A-law",
        0x0007 => "mu-law",
        0x0011 => "IMA ADPCM",
        0x0031 => "GSM 6.10",
        0x0040 => "G.721 ADPCM",
        0x0050 => "MPEG",
        0x0055 => "MPEG Layer III",
        _ => return None,
    })
}

/// The `fmt ` chunk fields that decoding needs.
struct FmtChunk {
    format: SampleFormat,
    channels: u16,
    sample_rate: u32,
    block_align: u16,
}

/// Parses the body of a `fmt ` chunk that starts at byte offset `at` of the file.
fn parse_fmt(body: &[u8], at: usize) -> Result<FmtChunk> {
    if body.len() < 16 {
        return Err(err(
            at,
            format!(
                "truncated header: fmt chunk is {} bytes, 16 needed",
                body.len()
            ),
        ));
    }
    let tag = u16_at(body, 0);
    let channels = u16_at(body, 2);
    let sample_rate = u32_at(body, 4);
    let block_align = u16_at(body, 12);
    let bits = u16_at(body, 14);

    let (code, code_at, what) = if tag == TAG_EXTENSIBLE {
        if body.len() < 40 {
            return Err(err(
                at,
                format!(
                    "truncated header: WAVE_FORMAT_EXTENSIBLE fmt chunk is {} bytes, 40 needed",
                    body.len()
                ),
            ));
        }
        if body[26..40] != SUBFORMAT_GUID_TAIL {
            return Err(err(
                at + 24,
                "WAVE_FORMAT_EXTENSIBLE subformat is not a format-code GUID \
                 (0000xxxx-0000-0010-8000-00aa00389b71)",
            ));
        }
        (
            u16_at(body, 24),
            at + 24,
            "WAVE_FORMAT_EXTENSIBLE subformat",
        )
    } else {
        (tag, at, "format code")
    };
    if code != TAG_PCM && code != TAG_FLOAT {
        let name = match codec_name(code) {
            Some(name) => format!(" ({name})"),
            None => format!(" (0x{code:04x})"),
        };
        return Err(err(
            code_at,
            format!("non-PCM WAV: {what} {code}{name} is not supported"),
        ));
    }
    if channels == 0 {
        return Err(err(at + 2, "channel count is 0"));
    }
    if sample_rate == 0 {
        return Err(err(at + 4, "sample rate is 0"));
    }
    let Some(format) = SampleFormat::from_code(code, bits) else {
        let (kind, supported) = if code == TAG_PCM {
            ("integer PCM", "8, 16, 24 or 32")
        } else {
            ("IEEE float", "32 or 64")
        };
        return Err(err(
            at + 14,
            format!("{bits} bits per sample is not supported for {kind} (only {supported})"),
        ));
    };
    let expected = u32::from(channels) * u32::from(bits / 8);
    if u32::from(block_align) != expected {
        return Err(err(
            at + 12,
            format!(
                "block_align {block_align} does not match {channels} channels x {bits} bits / 8 \
                 = {expected}"
            ),
        ));
    }
    Ok(FmtChunk {
        format,
        channels,
        sample_rate,
        block_align,
    })
}

/// Decodes a WAV file held in `bytes` (see the module doc for what is accepted and how samples
/// are scaled). Every malformed input is an [`Error::Format`] naming the byte offset.
pub fn decode(bytes: &[u8]) -> Result<Wav> {
    if bytes.len() < 12 {
        return Err(err(
            0,
            format!(
                "truncated header: {} bytes, a RIFF/WAVE header needs 12",
                bytes.len()
            ),
        ));
    }
    if &bytes[0..4] != b"RIFF" {
        return Err(err(
            0,
            format!("not a RIFF file: starts with \"{}\"", show_id(&bytes[0..4])),
        ));
    }
    if &bytes[8..12] != b"WAVE" {
        return Err(err(
            8,
            format!(
                "not a WAVE file: RIFF form type is \"{}\"",
                show_id(&bytes[8..12])
            ),
        ));
    }

    let mut fmt: Option<FmtChunk> = None;
    // (offset of the chunk header, body)
    let mut data: Option<(usize, &[u8])> = None;
    let mut pos = 12;
    while pos < bytes.len() && (fmt.is_none() || data.is_none()) {
        let left = bytes.len() - pos;
        if left < 8 {
            return Err(err(
                pos,
                format!("truncated header: chunk header needs 8 bytes, {left} left"),
            ));
        }
        let id = &bytes[pos..pos + 4];
        let size = u32_at(bytes, pos + 4) as usize;
        let body_at = pos + 8;
        if size > left - 8 {
            let missing = size - (left - 8);
            return Err(err(
                pos,
                format!(
                    "truncated file: \"{}\" chunk of {size} bytes runs past the end of the file, \
                     {missing} bytes missing",
                    show_id(id)
                ),
            ));
        }
        let body = &bytes[body_at..body_at + size];
        match id {
            b"fmt " if fmt.is_some() => return Err(err(pos, "second fmt chunk")),
            b"fmt " => fmt = Some(parse_fmt(body, body_at)?),
            b"data" if data.is_some() => return Err(err(pos, "second data chunk")),
            b"data" => data = Some((pos, body)),
            _ => {}
        }
        pos = body_at + size + (size & 1);
    }
    let Some(fmt) = fmt else {
        return Err(err(bytes.len(), "no fmt chunk"));
    };
    let Some((data_at, data)) = data else {
        return Err(err(bytes.len(), "no data chunk"));
    };
    if !data.len().is_multiple_of(usize::from(fmt.block_align)) {
        return Err(err(
            data_at + 4,
            format!(
                "data size {} is not a multiple of the frame size {} ({} channels x {} bytes)",
                data.len(),
                fmt.block_align,
                fmt.channels,
                fmt.format.bytes()
            ),
        ));
    }
    Ok(Wav {
        sample_rate: fmt.sample_rate,
        channels: fmt.channels,
        format: fmt.format,
        samples: decode_samples(data, fmt.format),
    })
}

/// `1 / 2^(bits-1)`: the scale of an integer sample (a power of two, so scaling is exact).
fn int_scale(bits: u16) -> f32 {
    1.0 / (1u64 << (bits - 1)) as f32
}

fn decode_samples(data: &[u8], format: SampleFormat) -> Vec<f32> {
    let scale = int_scale(format.bits());
    match format {
        SampleFormat::U8 => data
            .iter()
            .map(|&b| (f32::from(b) - 128.0) * scale)
            .collect(),
        SampleFormat::I16 => data
            .chunks_exact(2)
            .map(|b| f32::from(i16::from_le_bytes([b[0], b[1]])) * scale)
            .collect(),
        SampleFormat::I24 => data
            .chunks_exact(3)
            .map(|b| (i32::from_le_bytes([0, b[0], b[1], b[2]]) >> 8) as f32 * scale)
            .collect(),
        SampleFormat::I32 => data
            .chunks_exact(4)
            .map(|b| i32::from_le_bytes([b[0], b[1], b[2], b[3]]) as f32 * scale)
            .collect(),
        SampleFormat::F32 => data
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect(),
        SampleFormat::F64 => data
            .chunks_exact(8)
            .map(|b| f64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]) as f32)
            .collect(),
    }
}

/// The integer code of `v` in a `bits`-bit signed format: `round(v * 2^(bits-1))` (halves away
/// from zero), clipped to `[-2^(bits-1), 2^(bits-1) - 1]`; NaN gives 0. The product is exact
/// (a power-of-two scale), so this inverts [`decode`]'s scaling exactly.
fn quantize(v: f32, bits: u16) -> i32 {
    let full = 1i64 << (bits - 1);
    let code = math::roundf(v * full as f32) as i64; // saturating cast, NaN -> 0
    code.clamp(-full, full - 1) as i32
}

/// Encodes interleaved `samples` (`channels` per frame) as a WAV file.
///
/// Written layout: `RIFF`/`WAVE`, a `fmt ` chunk with format tag 1 (integer PCM, 16 bytes) or 3
/// (IEEE float, 18 bytes with `cb_size` 0, followed by the `fact` chunk holding the frame count
/// that the specification asks of non-PCM formats), then `data` (and its pad byte when its
/// size is odd). `WAVE_FORMAT_EXTENSIBLE` is never written.
///
/// Integer formats store `round(v * 2^(bits-1))` (halves away from zero; 8-bit adds 128),
/// clipped to the format's range, NaN as 0; so `decode(encode(x))` gives `x` back exactly
/// whenever `x` came from decoding that format (and for 8, 16 and 24 bits the data bytes are
/// the same too). Float formats store the values as they are (not clipped); `F64` widens
/// exactly.
///
/// Errors ([`Error::InvalidArgument`]): `channels` or `sample_rate` 0, a sample count that is
/// not a multiple of `channels`, a frame larger than 65535 bytes, or a file over 4 GiB.
pub fn encode(
    samples: &[f32],
    channels: u16,
    sample_rate: u32,
    format: SampleFormat,
) -> Result<Vec<u8>> {
    if channels == 0 {
        return Err(Error::invalid("WAV encode: channel count is 0"));
    }
    if sample_rate == 0 {
        return Err(Error::invalid("WAV encode: sample rate is 0"));
    }
    if !samples.len().is_multiple_of(usize::from(channels)) {
        return Err(Error::invalid(format!(
            "WAV encode: {} samples do not make whole frames of {channels} channels",
            samples.len()
        )));
    }
    let block_align = u16::try_from(usize::from(channels) * format.bytes()).map_err(|_| {
        Error::invalid(format!(
            "WAV encode: a frame of {channels} channels x {} bytes exceeds 65535 bytes",
            format.bytes()
        ))
    })?;
    let frames = samples.len() / usize::from(channels);
    let data_len = samples.len() * format.bytes();
    let fmt_len: usize = if format.is_float() { 18 } else { 16 };
    let fact_len: usize = if format.is_float() { 12 } else { 0 };
    let riff_len = 4 + (8 + fmt_len) + fact_len + 8 + data_len + (data_len & 1);
    let (Ok(riff_size), Ok(data_size), Ok(frame_count)) = (
        u32::try_from(riff_len),
        u32::try_from(data_len),
        u32::try_from(frames),
    ) else {
        return Err(Error::invalid(format!(
            "WAV encode: {data_len} bytes of samples exceed the 4 GiB a WAV file can hold"
        )));
    };

    let mut out = Vec::with_capacity(8 + riff_len);
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(&riff_size.to_le_bytes());
    out.extend_from_slice(b"WAVE");
    out.extend_from_slice(b"fmt ");
    out.extend_from_slice(&(fmt_len as u32).to_le_bytes());
    out.extend_from_slice(&format.format_tag().to_le_bytes());
    out.extend_from_slice(&channels.to_le_bytes());
    out.extend_from_slice(&sample_rate.to_le_bytes());
    let byte_rate = sample_rate.wrapping_mul(u32::from(block_align)); // as RIFF stores it
    out.extend_from_slice(&byte_rate.to_le_bytes());
    out.extend_from_slice(&block_align.to_le_bytes());
    out.extend_from_slice(&format.bits().to_le_bytes());
    if format.is_float() {
        out.extend_from_slice(&0u16.to_le_bytes()); // cb_size
        out.extend_from_slice(b"fact");
        out.extend_from_slice(&4u32.to_le_bytes());
        out.extend_from_slice(&frame_count.to_le_bytes());
    }
    out.extend_from_slice(b"data");
    out.extend_from_slice(&data_size.to_le_bytes());
    let bits = format.bits();
    for &v in samples {
        match format {
            SampleFormat::U8 => out.push((quantize(v, bits) + 128) as u8),
            SampleFormat::I16 => out.extend_from_slice(&(quantize(v, bits) as i16).to_le_bytes()),
            SampleFormat::I24 => out.extend_from_slice(&quantize(v, bits).to_le_bytes()[..3]),
            SampleFormat::I32 => out.extend_from_slice(&quantize(v, bits).to_le_bytes()),
            SampleFormat::F32 => out.extend_from_slice(&v.to_le_bytes()),
            SampleFormat::F64 => out.extend_from_slice(&f64::from(v).to_le_bytes()),
        }
    }
    if data_len & 1 == 1 {
        out.push(0);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const FORMATS: [SampleFormat; 6] = SampleFormat::ALL;

    fn message(e: Error) -> String {
        alloc::string::ToString::to_string(&e)
    }

    #[test]
    fn full_scale_codes_decode_to_powers_of_two() {
        // 8-bit: 0 -> -1, 128 -> 0, 255 -> 127/128.
        let w = decode(&encode(&[-1.0, 0.0, 127.0 / 128.0], 1, 8000, SampleFormat::U8).unwrap())
            .unwrap();
        assert_eq!(w.samples, [-1.0, 0.0, 127.0 / 128.0]);
        for format in [SampleFormat::I16, SampleFormat::I24, SampleFormat::I32] {
            let step = int_scale(format.bits());
            let x = [-1.0, -step, 0.0, step, 0.5];
            let w = decode(&encode(&x, 1, 8000, format).unwrap()).unwrap();
            assert_eq!(w.samples, x, "{format:?}");
        }
    }

    #[test]
    fn quantize_rounds_half_away_and_clips() {
        assert_eq!(quantize(1.5 / 32768.0, 16), 2);
        assert_eq!(quantize(-1.5 / 32768.0, 16), -2);
        assert_eq!(quantize(1.0, 16), 32767);
        assert_eq!(quantize(-2.0, 16), -32768);
        assert_eq!(quantize(f32::INFINITY, 32), i32::MAX);
        assert_eq!(quantize(f32::NEG_INFINITY, 24), -(1 << 23));
        assert_eq!(quantize(f32::NAN, 8), 0);
    }

    #[test]
    fn every_format_round_trips_stereo() {
        let x: Vec<f32> = (0..64)
            .map(|i| (math::sin(f64::from(i) * 0.37) * 0.9) as f32)
            .collect();
        for format in FORMATS {
            let once = decode(&encode(&x, 2, 22050, format).unwrap()).unwrap();
            assert_eq!(
                (once.channels, once.sample_rate, once.format),
                (2, 22050, format)
            );
            assert_eq!(once.frames(), 32);
            let twice = decode(&encode(&once.samples, 2, 22050, format).unwrap()).unwrap();
            assert_eq!(twice.samples, once.samples, "{format:?}");
        }
    }

    #[test]
    fn odd_8_bit_data_is_padded() {
        let bytes = encode(&[0.0; 3], 1, 8000, SampleFormat::U8).unwrap();
        assert_eq!(bytes.len(), 44 + 3 + 1);
        assert_eq!(u32_at(&bytes, 4) as usize, bytes.len() - 8);
        assert_eq!(decode(&bytes).unwrap().samples.len(), 3);
    }

    #[test]
    fn mono_is_the_mean_of_channels() {
        let w = Wav {
            sample_rate: 1,
            channels: 3,
            format: SampleFormat::F32,
            samples: alloc::vec![0.0, 0.3, 0.6, 1.0, 1.0, 1.0],
        };
        assert_eq!(w.to_mono(), [0.3, 1.0]);
        assert_eq!(w.frames(), 2);
        assert_eq!(w.duration_seconds(), 2.0);
    }

    #[test]
    fn encode_rejects_bad_arguments() {
        assert!(
            message(encode(&[0.0], 0, 8000, SampleFormat::I16).unwrap_err()).contains("channel")
        );
        assert!(message(encode(&[0.0], 1, 0, SampleFormat::I16).unwrap_err()).contains("rate"));
        assert!(
            message(encode(&[0.0; 3], 2, 8000, SampleFormat::I16).unwrap_err()).contains("frames")
        );
        assert!(message(encode(&[], 8192, 8000, SampleFormat::F64).unwrap_err()).contains("65535"));
    }

    #[test]
    fn mu_law_names_its_format_code() {
        let mut bytes = encode(&[0.0; 4], 1, 8000, SampleFormat::U8).unwrap();
        bytes[20] = 7;
        let m = message(decode(&bytes).unwrap_err());
        assert!(
            m.contains("offset 20") && m.contains("format code 7 (mu-law)"),
            "{m}"
        );
    }
}
