//! `llmcore train`: train a decoder from scratch (`--config`) or fine-tune a GGUF model
//! (`--init-from`) on a text file with AdamW, Adafactor, CAME or Adapprox; a progress line per
//! step (loss, held-out loss, tokens/s, optimizer bytes), the loss curve as CSV and SVG, and the
//! result saved as a GGUF that `llmcore generate` runs.

use crate::args::{opt, path, switch, Flag, Parsed};
use crate::output::{emit, note, parse, usage_err, write_atomic};
use crate::plot::{line_chart, Series};
use crate::Failure;
use llmcore::io::json::{parse as parse_json, Json};
use llmcore::model::Model;
use llmcore::optim::{
    Adafactor, AdafactorParams, AdamW, AdamWParams, Adapprox, AdapproxParams, Came, CameParams,
    Optimizer, ParamSpec,
};
use llmcore::train::{model_config_from_json, train, Params, StepReport, TokenData, TrainSettings};
use std::path::Path;

const FLAGS: &[Flag] = &[
    path(
        "--config",
        "C.json",
        "shape of a model to train from scratch (see docs/training.md)",
    ),
    path(
        "--init-from",
        "M.gguf",
        "fine-tune this model (dequantized to f32)",
    ),
    path(
        "--tokenizer",
        "M.gguf",
        "tokenizer (and metadata) of a --config model",
    ),
    path("--data", "FILE", "UTF-8 training text"),
    path(
        "--valid-data",
        "FILE",
        "held-out text (default: the last --holdout of --data)",
    ),
    opt(
        "--holdout",
        "F",
        "fraction of --data held out when there is no --valid-data (default 0.1)",
    ),
    opt(
        "--optimizer",
        "NAME",
        "adamw | adafactor | came | adapprox (default adamw)",
    ),
    opt("--steps", "N", "optimizer steps (default 100)"),
    opt("--batch", "B", "sequences per step (default 8)"),
    opt("--seq", "L", "predictions per sequence (default 128)"),
    opt("--lr", "LR", "peak learning rate (default 1e-3)"),
    opt("--warmup", "N", "linear warm-up steps (default 10)"),
    opt(
        "--min-lr-ratio",
        "R",
        "the cosine decays to LR * R (default 0.1; 1 = constant)",
    ),
    opt(
        "--grad-clip",
        "C",
        "clip the gradient's global norm to C, 0 = off (default 1)",
    ),
    opt(
        "--weight-decay",
        "W",
        "decoupled weight decay (default: the optimizer's)",
    ),
    opt(
        "--beta1",
        "B1",
        "first-moment decay (default: the optimizer's)",
    ),
    opt(
        "--beta2",
        "B2",
        "second-moment decay (AdamW, CAME, Adapprox; default: the optimizer's)",
    ),
    switch(
        "--no-first-moment",
        "Adapprox / Adafactor without the first moment (the memory-lean variant)",
    ),
    opt(
        "--rank-min",
        "K",
        "Adapprox: lowest factor rank (default 1)",
    ),
    opt(
        "--rank-max",
        "K",
        "Adapprox: highest factor rank (default 64)",
    ),
    opt(
        "--error-target",
        "X",
        "Adapprox: relative error the rank meets (default 0.05)",
    ),
    opt(
        "--oversample",
        "P",
        "Adapprox: extra sketch columns (default 5)",
    ),
    opt(
        "--power-iters",
        "L",
        "Adapprox: power iterations (default 1)",
    ),
    switch("--guidance", "Adapprox: cosine-similarity guidance"),
    switch(
        "--checkpoint",
        "recompute each layer's activations in the backward (less memory)",
    ),
    opt(
        "--eval-every",
        "N",
        "held-out loss every N steps and after the last (default 50; 0 = never)",
    ),
    opt(
        "--eval-windows",
        "K",
        "held-out windows per evaluation (default 64)",
    ),
    opt(
        "--seed",
        "S",
        "seed of the initialization and the batches (default 0)",
    ),
    path("--out", "M.gguf", "save the trained model (F32 GGUF)"),
    switch("--force", "overwrite --out"),
    path(
        "--curve",
        "FILE.csv",
        "write the loss curve as CSV (and FILE.svg beside it)",
    ),
];

fn read_text(path: &Path) -> Result<String, Failure> {
    std::fs::read_to_string(path).map_err(|e| Failure::Run(format!("{}: {e}", path.display())))
}

/// The optimizer `--optimizer` names, with the flags' overrides of its defaults.
fn optimizer(p: &Parsed, lr: f64, specs: Vec<ParamSpec>) -> Result<Box<dyn Optimizer>, Failure> {
    let f = |name: &str, default: f64| p.num(name, default).map_err(usage_err);
    let first = !p.flag("--no-first-moment");
    let name = p.str("--optimizer").unwrap_or("adamw");
    let adapprox_only = [
        "--rank-min",
        "--rank-max",
        "--error-target",
        "--oversample",
        "--power-iters",
        "--guidance",
    ];
    if name != "adapprox" {
        if let Some(flag) = adapprox_only
            .iter()
            .find(|f| p.str(f).is_some() || p.flag(f))
        {
            return Err(usage_err(format!(
                "{flag} applies to --optimizer adapprox only"
            )));
        }
    }
    if p.flag("--no-first-moment") && !matches!(name, "adapprox" | "adafactor") {
        return Err(usage_err(format!(
            "--no-first-moment applies to adapprox and adafactor, not {name}"
        )));
    }
    Ok(match name {
        "adamw" => {
            let d = AdamWParams::default();
            let hp = AdamWParams {
                lr,
                beta1: f("--beta1", d.beta1)?,
                beta2: f("--beta2", d.beta2)?,
                weight_decay: f("--weight-decay", d.weight_decay)?,
                ..d
            };
            Box::new(AdamW::create(hp, specs)?)
        }
        "adafactor" => {
            let d = AdafactorParams::default();
            let beta1 = match (first, p.str("--beta1")) {
                (false, _) | (true, None) => None,
                (true, Some(_)) => Some(f("--beta1", 0.9)?),
            };
            let hp = AdafactorParams {
                lr,
                beta1,
                weight_decay: f("--weight-decay", d.weight_decay)?,
                ..d
            };
            Box::new(Adafactor::create(hp, specs)?)
        }
        "came" => {
            let d = CameParams::default();
            let hp = CameParams {
                lr,
                beta1: f("--beta1", d.beta1)?,
                beta2: f("--beta2", d.beta2)?,
                weight_decay: f("--weight-decay", d.weight_decay)?,
                ..d
            };
            Box::new(Came::create(hp, specs)?)
        }
        "adapprox" => {
            let d = AdapproxParams::default();
            let n = |name: &str, default: usize| p.num(name, default).map_err(usage_err);
            let hp = AdapproxParams {
                lr,
                beta1: if first {
                    Some(f("--beta1", d.beta1.unwrap_or(0.9))?)
                } else {
                    None
                },
                beta2: f("--beta2", d.beta2)?,
                weight_decay: f("--weight-decay", d.weight_decay)?,
                rank_min: n("--rank-min", d.rank_min)?,
                rank_max: n("--rank-max", d.rank_max)?,
                error_target: f("--error-target", d.error_target)?,
                oversample: n("--oversample", d.oversample)?,
                power_iters: n("--power-iters", d.power_iters)?,
                guidance: p.flag("--guidance"),
                seed: p.num("--seed", 0u64).map_err(usage_err)?,
                ..d
            };
            Box::new(Adapprox::create(hp, specs)?)
        }
        other => {
            return Err(usage_err(format!(
                "--optimizer must be adamw, adafactor, came or adapprox, got '{other}'"
            )))
        }
    })
}

fn mib(bytes: usize) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

/// The CSV of the curve: one row per step, the held-out loss where it was measured.
fn curve_csv(history: &[StepReport]) -> String {
    let mut s =
        String::from("step,loss,valid_loss,lr,grad_norm,seconds,tokens_per_s,optimizer_bytes\n");
    for r in history {
        let valid = r.valid_loss.map_or(String::new(), |v| format!("{v}"));
        s.push_str(&format!(
            "{},{},{valid},{:e},{},{:.6},{:.1},{}\n",
            r.step, r.loss, r.lr, r.grad_norm, r.seconds, r.tokens_per_s, r.optimizer_bytes
        ));
    }
    s
}

pub fn run(argv: &[std::ffi::OsString]) -> Result<(), Failure> {
    let p = parse(
        "train",
        "(--config C.json --tokenizer M.gguf | --init-from M.gguf) --data FILE [--optimizer NAME] [--steps N --batch B --seq L --lr LR] [--out M.gguf] [--curve FILE.csv]",
        FLAGS,
        argv,
    )?;
    p.at_most_positional(0).map_err(usage_err)?;
    let seed: u64 = p.num("--seed", 0).map_err(usage_err)?;
    let (params, donor) = match (p.path("--config"), p.path("--init-from")) {
        (Some(c), None) => {
            let tok = p
                .path("--tokenizer")
                .ok_or_else(|| usage_err("--config needs --tokenizer M.gguf".into()))?;
            let donor = Model::open(tok)?;
            let j = parse_json(&read_text(c)?)
                .map_err(|e| Failure::Run(format!("{}: {e}", c.display())))?;
            let (cfg, tied) = model_config_from_json(&j, donor.config.vocab_size)
                .map_err(|e| Failure::Run(format!("{}: {e}", c.display())))?;
            if cfg.arch != donor.config.arch {
                return Err(Failure::Run(format!(
                    "--config is a {} model, the --tokenizer a {} one",
                    cfg.arch.name(),
                    donor.config.arch.name()
                )));
            }
            (Params::init(cfg, tied, seed), donor)
        }
        (None, Some(m)) => {
            if p.path("--tokenizer").is_some() {
                return Err(usage_err(
                    "--init-from uses the model's own tokenizer: drop --tokenizer".into(),
                ));
            }
            let model = Model::open(m)?;
            (Params::from_model(&model)?, model)
        }
        _ => {
            return Err(usage_err(
                "give exactly one of --config C.json (from scratch) and --init-from M.gguf".into(),
            ))
        }
    };
    let tok = donor.tokenizer();
    let train_ids = tok.encode(
        &read_text(p.required_path("--data").map_err(usage_err)?)?,
        false,
    )?;
    let data = match p.path("--valid-data") {
        Some(v) => TokenData::new(train_ids, tok.encode(&read_text(v)?, false)?),
        None => TokenData::split(train_ids, p.num("--holdout", 0.1).map_err(usage_err)?)?,
    };
    let d = TrainSettings::default();
    let clip: f64 = p.num("--grad-clip", 1.0).map_err(usage_err)?;
    let settings = TrainSettings {
        steps: p.num("--steps", d.steps).map_err(usage_err)?,
        rows: p.num("--batch", d.rows).map_err(usage_err)?,
        seq: p.num("--seq", d.seq).map_err(usage_err)?,
        lr: p.num("--lr", d.lr).map_err(usage_err)?,
        warmup: p.num("--warmup", d.warmup).map_err(usage_err)?,
        min_lr_ratio: p.num("--min-lr-ratio", d.min_lr_ratio).map_err(usage_err)?,
        grad_clip: (clip > 0.0).then_some(clip),
        eval_every: p.num("--eval-every", d.eval_every).map_err(usage_err)?,
        eval_windows: p.num("--eval-windows", d.eval_windows).map_err(usage_err)?,
        checkpoint: p.flag("--checkpoint"),
        seed,
    };
    settings.validate()?;
    let mut opt = optimizer(&p, settings.lr, params.layout.specs.clone())?;
    if settings.seq > params.config.context_length {
        return Err(usage_err(format!(
            "--seq {} is longer than the model's context of {}",
            settings.seq, params.config.context_length
        )));
    }
    let out = p.path("--out");
    if let Some(o) = out {
        if o.exists() && !p.flag("--force") {
            return Err(Failure::Run(format!(
                "{}: already exists (overwrite it with --force)",
                o.display()
            )));
        }
    }
    note(&format!(
        "training {} parameters ({} layers, d_model {}) with {} on {} training / {} held-out tokens",
        params.count(),
        params.config.n_layer,
        params.config.d_model,
        opt.name(),
        data.train_len(),
        data.valid_len()
    ));
    let mut params = params;
    let quiet = p.flag("--json");
    let history = train(&mut params, opt.as_mut(), &data, &settings, &mut |r| {
        if !quiet || r.valid_loss.is_some() {
            let valid = r
                .valid_loss
                .map_or(String::new(), |v| format!(" valid {v:.4}"));
            note(&format!(
                "step {}/{} loss {:.4}{valid} lr {:.2e} {:.0} tok/s optimizer {:.2} MiB",
                r.step,
                settings.steps,
                r.loss,
                r.lr,
                r.tokens_per_s,
                mib(r.optimizer_bytes)
            ));
        }
        true
    })?;
    if let Some(c) = p.path("--curve") {
        write_atomic(c, &curve_csv(&history))?;
        let train_pts = history
            .iter()
            .map(|r| (r.step as f64, r.loss as f64))
            .collect();
        let valid_pts = history
            .iter()
            .filter_map(|r| r.valid_loss.map(|v| (r.step as f64, v as f64)))
            .collect();
        let svg = line_chart(
            &format!("{} on {} parameters", opt.name(), params.count()),
            "step",
            "cross-entropy (nats)",
            &[
                Series {
                    name: "training batch",
                    points: train_pts,
                },
                Series {
                    name: "held-out",
                    points: valid_pts,
                },
            ],
        );
        write_atomic(&c.with_extension("svg"), &svg)?;
    }
    if let Some(o) = out {
        params.save_gguf(donor.file(), o, p.flag("--force"))?;
    }
    let state = opt.state_bytes();
    let last = history.last().expect("at least one step");
    let final_valid = history.iter().rev().find_map(|r| r.valid_loss);
    let mean_step = history.iter().map(|r| r.seconds).sum::<f64>() / history.len() as f64;
    let json = Json::object(vec![
        ("optimizer", Json::from(opt.name())),
        ("parameters", Json::from(params.count() as u64)),
        ("steps", Json::from(history.len() as u64)),
        ("final_loss", Json::from(last.loss as f64)),
        (
            "final_valid_loss",
            final_valid.map_or(Json::Null, |v| Json::from(v as f64)),
        ),
        ("optimizer_bytes", Json::from(state.total as u64)),
        ("step_scratch_bytes", Json::from(state.step_scratch as u64)),
        ("mean_step_seconds", Json::from(mean_step)),
        (
            "tokens_per_s",
            Json::from((settings.rows * settings.seq) as f64 / mean_step.max(1e-9)),
        ),
        (
            "curve",
            Json::Array(
                history
                    .iter()
                    .map(|r| {
                        Json::object(vec![
                            ("step", Json::from(r.step as u64)),
                            ("loss", Json::from(r.loss as f64)),
                            (
                                "valid_loss",
                                r.valid_loss.map_or(Json::Null, |v| Json::from(v as f64)),
                            ),
                        ])
                    })
                    .collect(),
            ),
        ),
        (
            "state",
            Json::Array(
                state
                    .params
                    .iter()
                    .map(|s| {
                        Json::object(vec![
                            ("name", Json::from(s.name.as_str())),
                            ("bytes", Json::from(s.bytes as u64)),
                            (
                                "rank",
                                s.factors.map_or(Json::Null, |f| Json::from(f.rank as u64)),
                            ),
                        ])
                    })
                    .collect(),
            ),
        ),
    ]);
    emit(&p, json, || {
        format!(
            "{}: final loss {:.4}, held-out {}, optimizer state {:.2} MiB ({:.2} bytes/parameter), {:.3} s/step{}\n",
            opt.name(),
            last.loss,
            final_valid.map_or("-".into(), |v| format!("{v:.4}")),
            mib(state.total),
            state.total as f64 / params.count() as f64,
            mean_step,
            out.map_or(String::new(), |o| format!(", saved {}", o.display()))
        )
    })
}
