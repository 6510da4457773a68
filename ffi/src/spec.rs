//! Speculative decoding over draft trees (OPT-Tree and the baseline shapes), the flow of
//! `llmcore speculate`: a draft (a separate model with the target's vocabulary, the target's own
//! first layers, or n-grams of the text so far) proposes a tree of tokens each step and the
//! target session verifies it in one forward. Greedy output is the target's plain greedy output
//! token for token; sampled output is distributed as the target's.

use crate::boundary::{
    arg_mut, arg_ref, arg_slice, check_result, guard, in_field, invalid, log, read_params,
    FfiResult, LLMC_LOG_INFO,
};
use crate::generate::{
    generate_params, llmc_generate_params, llmc_stop_reason, llmc_text_callback,
    read_generate_params, stop_reason, TextSink,
};
use crate::model::{llmc_model, llmc_token};
use crate::session::llmc_session;
use crate::status::llmc_status;
use runtime::model::generate::GenerateParams;
use runtime::model::Session;
use runtime::spec::{Budget, Draft, ModelDraft, NgramDraft, SpecParams, Speculator, TreeKind};
use std::ffi::c_void;

/// Which tree the draft fills each step.
#[allow(non_camel_case_types)]
pub type llmc_tree_kind = u32;
/// OPT-Tree: the tree maximizing the expected number of accepted tokens, rebuilt every step
/// (default).
pub const LLMC_TREE_OPT: llmc_tree_kind = 0;
/// A chain of `budget` tokens.
pub const LLMC_TREE_CHAIN: llmc_tree_kind = 1;
/// The fixed EAGLE-style tree, its first `budget` nodes.
pub const LLMC_TREE_EAGLE: llmc_tree_kind = 2;
/// Sequoia's static tree for `budget` nodes, from the acceptance by rank measured so far.
pub const LLMC_TREE_SEQUOIA: llmc_tree_kind = 3;

/// Where the draft tokens come from.
#[allow(non_camel_case_types)]
pub type llmc_draft_kind = u32;
/// A separate model, `draft_model`, with the target's vocabulary (e.g. a smaller model of the
/// same family, or a pruned copy of the target).
pub const LLMC_DRAFT_MODEL: llmc_draft_kind = 0;
/// The target's own first `self_draft_layers` layers, final norm and output head (the weights
/// are shared, not copied).
pub const LLMC_DRAFT_SELF: llmc_draft_kind = 1;
/// Continuations of the last `ngram_min..=ngram_n` tokens where they appeared earlier in the
/// prompt and output: no model, nearly free (default).
pub const LLMC_DRAFT_NGRAM: llmc_draft_kind = 2;

/// How to speculate. Start from `llmc_spec_default_params()`.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
#[allow(non_camel_case_types)]
pub struct llmc_spec_params {
    /// `sizeof(llmc_spec_params)`.
    pub struct_size: usize,
    /// The generation settings exactly as `llmc_generate` takes them (tokens, sampler, stop
    /// strings; its own `struct_size`); NULL (default) = `llmc_generate_default_params()`.
    /// Borrowed for the call.
    pub generate: *const llmc_generate_params,
    /// One of `LLMC_TREE_*` (default `LLMC_TREE_OPT`).
    pub tree: llmc_tree_kind,
    /// Tree nodes below the root each step; 0 (default) = automatic: each step the budget up to
    /// `budget_max` (or plain decoding) that a cost model predicts fastest, from forward times
    /// measured at the start of the call and the acceptance measured as it goes.
    pub budget: usize,
    /// The largest automatic budget, at least 1 (default 32).
    pub budget_max: usize,
    /// Layers a tree may have, at least 1 (default 10).
    pub max_depth: usize,
    /// OPT-Tree's stop rule: growth stops when the expected accepted length rose by less than
    /// this, finite and >= 0 (default 0.5).
    pub delta: f64,
    /// One of `LLMC_DRAFT_*` (default `LLMC_DRAFT_NGRAM`).
    pub draft_kind: llmc_draft_kind,
    /// `LLMC_DRAFT_MODEL`: the draft model (same tokens, bytes and end-of-sequence token as
    /// the target's); borrowed for the call, and it may be used by other threads meanwhile.
    /// Ignored by the other kinds (default NULL).
    pub draft_model: *const llmc_model,
    /// `LLMC_DRAFT_SELF`: decoder layers the draft runs, 1 to the target's layers - 1
    /// (default 0: must be set).
    pub self_draft_layers: usize,
    /// `LLMC_DRAFT_NGRAM`: the longest and shortest suffixes looked up, 1 <= `ngram_min` <=
    /// `ngram_n` (defaults 3 and 1).
    pub ngram_n: usize,
    pub ngram_min: usize,
}

/// Defaults: core's `SpecParams::default()` (OPT-Tree, automatic budget up to 32, depth 10,
/// delta 0.5), the generation defaults (greedy, 128 tokens), the n-gram draft of 3..1 tokens.
#[no_mangle]
pub extern "C" fn llmc_spec_default_params() -> llmc_spec_params {
    let d = SpecParams::default();
    let (budget, budget_max) = match d.budget {
        Budget::Fixed(n) => (n, 32),
        Budget::Auto { max } => (0, max),
    };
    llmc_spec_params {
        struct_size: size_of::<llmc_spec_params>(),
        generate: std::ptr::null(),
        tree: tree_value(d.tree),
        budget,
        budget_max,
        max_depth: d.max_depth,
        delta: d.delta,
        draft_kind: LLMC_DRAFT_NGRAM,
        draft_model: std::ptr::null(),
        self_draft_layers: 0,
        ngram_n: 3,
        ngram_min: 1,
    }
}

/// What a speculative generation did. Set `struct_size = sizeof(llmc_spec_result)` before
/// the call.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
#[allow(non_camel_case_types)]
pub struct llmc_spec_result {
    pub struct_size: usize,
    /// As `llmc_generation`: tokens generated (with the EOS token when one ended generation),
    /// prompt tokens, one of `LLMC_STOP_*`, wall time of the prompt's forward pass, and of the
    /// `decode_steps` steps after it (each step a draft proposal and one verification).
    pub n_tokens: usize,
    pub prompt_tokens: usize,
    pub stop_reason: llmc_stop_reason,
    pub prefill_seconds: f64,
    pub decode_seconds: f64,
    pub decode_steps: usize,
    /// Target verification forwards (one per step; equal to `decode_steps`).
    pub steps: usize,
    /// Draft tokens verified and accepted, summed over the steps.
    pub drafted: usize,
    pub accepted: usize,
    /// Tokens emitted per target step, (accepted + steps) / steps (0 without steps).
    pub mean_accepted_length: f64,
    /// Wall time in the draft's proposals and in the target's verifications.
    pub draft_seconds: f64,
    pub verify_seconds: f64,
}

/// The C value of a tree kind.
fn tree_value(kind: TreeKind) -> llmc_tree_kind {
    match kind {
        TreeKind::Opt => LLMC_TREE_OPT,
        TreeKind::Chain => LLMC_TREE_CHAIN,
        TreeKind::Eagle => LLMC_TREE_EAGLE,
        TreeKind::Sequoia => LLMC_TREE_SEQUOIA,
    }
}

/// The core's settings for `p` with the generation settings `generate`, every one checked;
/// errors name the C field.
fn spec_params(p: &llmc_spec_params, generate: GenerateParams) -> FfiResult<SpecParams> {
    let tree = match p.tree {
        LLMC_TREE_OPT => TreeKind::Opt,
        LLMC_TREE_CHAIN => TreeKind::Chain,
        LLMC_TREE_EAGLE => TreeKind::Eagle,
        LLMC_TREE_SEQUOIA => TreeKind::Sequoia,
        other => return Err(invalid(format!("params->tree {other} (LLMC_TREE_*)"))),
    };
    let budget = match p.budget {
        0 => Budget::Auto { max: p.budget_max },
        n => Budget::Fixed(n),
    };
    let spec = SpecParams {
        generate,
        tree,
        budget,
        max_depth: p.max_depth,
        delta: p.delta,
    };
    // The generation settings were checked with their C names; the rest is one of these.
    spec.validate().map_err(|e| {
        let field = if p.max_depth == 0 {
            "params->max_depth"
        } else if p.budget == 0 && p.budget_max == 0 {
            "params->budget_max (params->budget is 0: automatic)"
        } else {
            "params->delta"
        };
        in_field(field, e)
    })?;
    Ok(spec)
}

/// The draft `p` chooses for a target session.
///
/// # Safety
/// A non-NULL `p.draft_model` must be a live model handle.
unsafe fn make_draft(p: &llmc_spec_params, target: &Session) -> FfiResult<Box<dyn Draft>> {
    let numerics = target.numerics();
    Ok(match p.draft_kind {
        LLMC_DRAFT_MODEL => {
            // SAFETY: forwarded from the caller.
            let d = unsafe { arg_ref(p.draft_model, "params->draft_model")? };
            let draft = ModelDraft::new(d.model.clone(), target.model(), numerics)
                .map_err(|e| in_field("params->draft_model", e))?;
            Box::new(draft)
        }
        LLMC_DRAFT_SELF => {
            let draft =
                ModelDraft::self_draft(target.model().clone(), p.self_draft_layers, numerics)
                    .map_err(|e| in_field("params->self_draft_layers", e))?;
            Box::new(draft)
        }
        LLMC_DRAFT_NGRAM => Box::new(
            NgramDraft::new(p.ngram_n, p.ngram_min)
                .map_err(|e| in_field("params->ngram_n, ngram_min", e))?,
        ),
        other => {
            return Err(invalid(format!(
                "params->draft_kind {other} (LLMC_DRAFT_*)"
            )))
        }
    })
}

/// Appends `prompt` (`n_prompt` tokens, at least one) to `target_session` and generates after
/// it speculatively, the draft chosen by `params` (NULL: the defaults, an n-gram draft)
/// proposing token trees that the session's model verifies, streaming text to `callback` (may
/// be NULL) exactly as `llmc_generate` does. Greedy output (`temperature` 0) is the text
/// `llmc_generate` gives for the same session state and settings; sampled output is
/// distributed as the target's. On success the session holds the prompt and the generated
/// tokens (but the last), as after `llmc_generate`, and `*result` (may be NULL) says what
/// happened. The draft's KV cache lives for the call only; with an automatic budget the call
/// first times a few target and draft forwards (tenths of a second for a small model).
///
/// Every setting is checked before any work, the session and `*result` untouched on an error:
/// `LLMC_ERR_NULL_ARGUMENT` (session, prompt, `params->draft_model` for `LLMC_DRAFT_MODEL`, a
/// stop string), `LLMC_ERR_INVALID_ARGUMENT` (a wrong `struct_size` of either struct, an empty
/// prompt, an unknown tree or draft kind, the generation settings' ranges, `max_depth` 0,
/// `budget_max` 0 with an automatic budget, a bad `delta`, `self_draft_layers` outside 1..the
/// target's layers - 1, bad n-gram lengths, a draft model whose vocabulary differs from the
/// target's: the message names the field and the first difference),
/// `LLMC_ERR_TOKEN_OUT_OF_RANGE` (a prompt id), `LLMC_ERR_CONTEXT_OVERFLOW` (the prompt does
/// not fit in the session). An error during generation may leave part of the work in the
/// session; `llmc_session_truncate` rolls it back.
#[no_mangle]
pub unsafe extern "C" fn llmc_speculate(
    target_session: *mut llmc_session,
    prompt: *const llmc_token,
    n_prompt: usize,
    params: *const llmc_spec_params,
    callback: llmc_text_callback,
    user_data: *mut c_void,
    result: *mut llmc_spec_result,
) -> llmc_status {
    guard("llmc_speculate", || {
        // SAFETY: caller passes a live session used by this thread only, `n_prompt` ids,
        // optional params (whose `generate` is NULL or a readable struct with `n_stop` stop
        // strings, and whose `draft_model` is NULL or a live model), an optional result.
        let s = unsafe { arg_mut(target_session, "target_session")? };
        let prompt = unsafe { arg_slice(prompt, n_prompt, "prompt")? };
        let p = unsafe { read_params(params, llmc_spec_default_params(), "params")? };
        let result = if result.is_null() {
            None
        } else {
            Some(unsafe { check_result(result, "result")? })
        };
        if prompt.is_empty() {
            return Err(invalid("the prompt is empty"));
        }
        let g = unsafe { read_generate_params(p.generate, "params->generate")? };
        let vocab = s.session.model().config.vocab_size;
        let generate = unsafe { generate_params(&g, vocab, "params->generate")? };
        let spec = spec_params(&p, generate)?;
        let mut draft = unsafe { make_draft(&p, &s.session)? };
        let mut speculator = Speculator::new(spec)?;
        let mut sink = TextSink::new(callback, user_data);
        let out = speculator.generate(&mut s.session, &mut *draft, prompt, &mut |t| {
            sink.on_text(t)
        })?;
        let (g, st) = (&out.generation, &out.stats);
        log(
            LLMC_LOG_INFO,
            &format!(
                "speculated {} tokens after {} prompt tokens with draft {}: {} steps, {} of {} \
                 drafted tokens accepted (mean accepted length {:.2}), stop: {}",
                g.tokens.len(),
                g.prompt_tokens,
                draft.describe(),
                st.steps,
                st.accepted,
                st.drafted,
                st.mean_accepted_length(),
                g.stop.name()
            ),
        );
        if let Some(result) = result {
            let value = llmc_spec_result {
                struct_size: size_of::<llmc_spec_result>(),
                n_tokens: g.tokens.len(),
                prompt_tokens: g.prompt_tokens,
                stop_reason: stop_reason(g.stop),
                prefill_seconds: g.prefill_seconds,
                decode_seconds: g.decode_seconds,
                decode_steps: g.decode_steps,
                steps: st.steps,
                drafted: st.drafted,
                accepted: st.accepted,
                mean_accepted_length: st.mean_accepted_length(),
                draft_seconds: st.draft_seconds,
                verify_seconds: st.verify_seconds,
            };
            // SAFETY: checked above.
            unsafe { result.write(value) };
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params() -> llmc_spec_params {
        llmc_spec_default_params()
    }

    #[test]
    fn defaults_are_the_cores() {
        let p = params();
        let spec = spec_params(&p, GenerateParams::default()).unwrap();
        assert_eq!(spec, SpecParams::default());
        assert_eq!(p.struct_size, size_of::<llmc_spec_params>());
        assert!(p.generate.is_null() && p.draft_model.is_null());
        assert_eq!(
            (p.draft_kind, p.ngram_n, p.ngram_min),
            (LLMC_DRAFT_NGRAM, 3, 1)
        );
        assert_eq!((p.budget, p.budget_max, p.max_depth), (0, 32, 10));
        assert!(NgramDraft::new(p.ngram_n, p.ngram_min).is_ok());
    }

    #[test]
    fn every_tree_kind_round_trips_and_others_are_refused() {
        for kind in [
            TreeKind::Opt,
            TreeKind::Chain,
            TreeKind::Eagle,
            TreeKind::Sequoia,
        ] {
            let p = llmc_spec_params {
                tree: tree_value(kind),
                ..params()
            };
            assert_eq!(
                spec_params(&p, GenerateParams::default()).unwrap().tree,
                kind
            );
        }
        let p = llmc_spec_params {
            tree: 4,
            ..params()
        };
        let e = spec_params(&p, GenerateParams::default()).unwrap_err();
        assert_eq!(e.status, llmc_status::LLMC_ERR_INVALID_ARGUMENT);
        assert_eq!(e.message, "params->tree 4 (LLMC_TREE_*)");
    }

    #[test]
    fn budget_zero_is_automatic_and_bad_limits_name_their_field() {
        let p = llmc_spec_params {
            budget: 5,
            ..params()
        };
        let spec = spec_params(&p, GenerateParams::default()).unwrap();
        assert_eq!(spec.budget, Budget::Fixed(5));
        let cases = [
            (
                llmc_spec_params {
                    max_depth: 0,
                    ..params()
                },
                "params->max_depth: tree budget 32 and depth 0 must both be >= 1",
            ),
            (
                llmc_spec_params {
                    budget_max: 0,
                    ..params()
                },
                "params->budget_max (params->budget is 0: automatic): tree budget 0",
            ),
            (
                llmc_spec_params {
                    delta: f64::NAN,
                    ..params()
                },
                "params->delta: OPT-Tree delta must be a finite number >= 0, got NaN",
            ),
        ];
        for (p, want) in cases {
            let e = spec_params(&p, GenerateParams::default()).unwrap_err();
            assert_eq!(e.status, llmc_status::LLMC_ERR_INVALID_ARGUMENT);
            assert!(e.message.starts_with(want), "{} vs {want}", e.message);
        }
    }
}
