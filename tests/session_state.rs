//! Sessions as engines use them, on SmolLM2: a fork continues exactly as a fresh session fed
//! the whole text would, without touching its source; a saved state resumes bit for bit; and
//! loading refuses other models, kv types, short contexts and damaged bytes, changing nothing.

mod common;

use common::{model, QWEN_05B, SMOLLM2};
use llmcore::model::{KvType, LogitRows, Numerics, Session};
use llmcore::Error;
use proptest::prelude::*;

const PROMPT: &str = "The lighthouse keeper counted the ships that passed";
const CONTINUATIONS: [&str; 2] = [" in the night, one by one", " and wrote each name down"];

/// Every numeric path with every cache type.
const PATHS: [(Numerics, KvType); 4] = [
    (Numerics::Fast, KvType::F16),
    (Numerics::Fast, KvType::F32),
    (Numerics::Exact, KvType::F16),
    (Numerics::Exact, KvType::F32),
];

fn tokens(text: &str) -> Vec<u32> {
    model(SMOLLM2).tokenizer().encode(text, false).unwrap()
}

fn session(numerics: Numerics, kv: KvType) -> Session {
    Session::with_kv_type(model(SMOLLM2), 64, numerics, kv).unwrap()
}

/// The logits of every token of `text` fed after `prompt` into a fresh session.
fn fresh(numerics: Numerics, kv: KvType, prompt: &[u32], text: &[u32]) -> Vec<f32> {
    let mut s = session(numerics, kv);
    s.eval(prompt, LogitRows::Last).unwrap();
    s.eval(text, LogitRows::All).unwrap()
}

#[test]
fn forks_continue_like_fresh_sessions_and_leave_the_source_alone() {
    let prompt = tokens(PROMPT);
    for (numerics, kv) in PATHS {
        let mut base = session(numerics, kv);
        base.eval(&prompt, LogitRows::Last).unwrap();
        let before = base.save_state();
        for text in CONTINUATIONS {
            let text = tokens(text);
            let mut fork = base.fork().unwrap();
            assert_eq!((fork.len(), fork.capacity()), (base.len(), base.capacity()));
            assert_eq!((fork.kv_type(), fork.numerics()), (kv, numerics));
            let got = fork.eval(&text, LogitRows::All).unwrap();
            assert!(
                got == fresh(numerics, kv, &prompt, &text),
                "{numerics:?} {kv:?}: a fork's logits differ from a fresh session's"
            );
            assert_eq!(fork.len(), prompt.len() + text.len());
        }
        assert_eq!(base.len(), prompt.len());
        assert!(
            base.save_state() == before,
            "{numerics:?} {kv:?}: a fork changed its source"
        );
    }
}

#[test]
fn a_saved_state_resumes_bit_for_bit() {
    let prompt = tokens(PROMPT);
    let text = tokens(CONTINUATIONS[0]);
    for (numerics, kv) in PATHS {
        let mut original = session(numerics, kv);
        original.eval(&prompt, LogitRows::Last).unwrap();
        let state = original.save_state();
        assert_eq!(state.len(), original.state_size());
        let mut resumed = session(numerics, kv);
        resumed.load_state(&state).unwrap();
        assert_eq!(resumed.len(), prompt.len());
        assert!(
            resumed.save_state() == state,
            "{numerics:?} {kv:?}: save -> load -> save differs"
        );
        let want = original.eval(&text, LogitRows::All).unwrap();
        let got = resumed.eval(&text, LogitRows::All).unwrap();
        assert!(got == want, "{numerics:?} {kv:?}: resumed logits differ");
    }
}

#[test]
fn loading_refuses_mismatches_and_changes_nothing() {
    let prompt = tokens(PROMPT);
    let mut saved = session(Numerics::Fast, KvType::F16);
    saved.eval(&prompt, LogitRows::Last).unwrap();
    let state = saved.save_state();
    let mut target = session(Numerics::Fast, KvType::F16);
    target.eval(&prompt[..3], LogitRows::Last).unwrap();
    let untouched = target.save_state();
    let refuse = |s: &mut Session, bytes: &[u8]| {
        let e = s.load_state(bytes).unwrap_err();
        assert!(s.save_state() == untouched, "changed by a failed load");
        e
    };
    let e = refuse(&mut target, &state[..state.len() - 1]);
    assert!(matches!(e, Error::Format { offset: 40, .. }), "{e}");
    let mut corrupt = state.clone();
    corrupt[100] ^= 1;
    let e = refuse(&mut target, &corrupt);
    assert!(
        matches!(e, Error::Format { .. }) && e.to_string().contains("checksum"),
        "{e}"
    );
    assert_eq!(target.save_state(), untouched);

    let mut wide = session(Numerics::Fast, KvType::F32);
    let e = wide.load_state(&state).unwrap_err();
    assert!(e.to_string().contains("KV type"), "{e}");
    let mut exact = session(Numerics::Exact, KvType::F16);
    let e = exact.load_state(&state).unwrap_err();
    assert!(e.to_string().contains("numeric path"), "{e}");
    let mut other =
        Session::with_kv_type(model(QWEN_05B), 64, Numerics::Fast, KvType::F16).unwrap();
    let e = other.load_state(&state).unwrap_err();
    assert!(e.to_string().contains("layer count"), "{e}");
    let mut small = Session::with_kv_type(model(SMOLLM2), 4, Numerics::Fast, KvType::F16).unwrap();
    let e = small.load_state(&state).unwrap_err();
    assert!(
        matches!(e, Error::ContextOverflow { capacity: 4, .. }),
        "{e}"
    );
    assert!(wide.is_empty() && exact.is_empty() && other.is_empty() && small.is_empty());
}

/// A 4-token state of the fast f16 path, and a 2-token session to load it into.
fn prop_fixture() -> (Vec<u8>, Session) {
    let prompt = tokens(PROMPT);
    let mut s = session(Numerics::Fast, KvType::F16);
    s.eval(&prompt[..4], LogitRows::Last).unwrap();
    let mut target = session(Numerics::Fast, KvType::F16);
    target.eval(&prompt[..2], LogitRows::Last).unwrap();
    (s.save_state(), target)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    /// Truncated or corrupted states never panic; a refused load leaves the session as it was.
    #[test]
    fn damaged_states_are_refused_without_change(
        cut in any::<prop::sample::Index>(),
        flips in prop::collection::vec((any::<prop::sample::Index>(), 1u8..=255), 0..4),
    ) {
        let (state, mut target) = prop_fixture();
        let before = target.save_state();
        let mut bytes = state[..cut.index(state.len() + 1)].to_vec();
        for (at, x) in &flips {
            if !bytes.is_empty() {
                let i = at.index(bytes.len());
                bytes[i] ^= x;
            }
        }
        match target.load_state(&bytes) {
            Ok(()) => prop_assert!(bytes == state),
            Err(_) => prop_assert!(target.save_state() == before),
        }
    }
}
