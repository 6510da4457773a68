//! WAV reader on arbitrary bytes: never panics; an accepted file holds whole frames, and its
//! samples encode and decode back unchanged in the file's own format.
#![no_main]
use libfuzzer_sys::fuzz_target;
use llmcore::audio::wav;

fuzz_target!(|data: &[u8]| {
    if let Ok(w) = wav::decode(data) {
        assert_eq!(w.samples.len(), w.frames() * usize::from(w.channels));
        let again = wav::encode(&w.samples, w.channels, w.sample_rate, w.format)
            .and_then(|bytes| wav::decode(&bytes))
            .unwrap();
        // Bit patterns, so that NaN samples of float files compare equal.
        let bits = |s: &[f32]| s.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&again.samples), bits(&w.samples));
    }
});
