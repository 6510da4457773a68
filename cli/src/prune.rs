//! `llmcore prune`: post-training pruning of a model with a calibration set, written as GGUF;
//! `llmcore prune merge`: the shards of a distributed run assembled into one model.

use crate::args::{opt, path, switch, Flag, Parsed};
use crate::output::{emit, parse, usage_err};
use crate::progress::Progress as Bar;
use crate::Failure;
use llmcore::io::json::Json;
use llmcore::io::Value;
use llmcore::model::save::{SaveOptions, WeightType};
use llmcore::model::Model;
use llmcore::prune::calib::CalibSource;
use llmcore::prune::fista::WarmStart;
use llmcore::prune::method::Method;
use llmcore::prune::owl::OwlParams;
use llmcore::prune::pipeline::{self, Mode, PruneReport, PruneSpec};
use llmcore::prune::shard::{merge_shards, save_shard};
use llmcore::prune::sparsegpt::SparseGptParams;
use llmcore::prune::Pattern;
use llmcore::tensor::GgmlType;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Instant;

const FLAGS: &[Flag] = &[
    path("--model", "PATH", "GGUF model to prune"),
    opt("--method", "NAME", "magnitude, wanda, sparsegpt or fista"),
    opt(
        "--fista-warm",
        "NAME",
        "fista's warm start: wanda (default) or sparsegpt",
    ),
    opt(
        "--fista-iters",
        "K",
        "fista iterations per round (default 20)",
    ),
    opt(
        "--fista-rounds",
        "T",
        "at most T rounds of lambda bisection (default 8)",
    ),
    switch(
        "--fista-no-refit",
        "skip the least-squares refit of the kept weights after the projection",
    ),
    opt("--sparsity", "S", "unstructured sparsity in [0, 1)"),
    opt(
        "--owl",
        "M,LAMBDA",
        "OWL layer sparsities around the target (the paper's: 5,0.08)",
    ),
    opt(
        "--nm",
        "N:M",
        "N of every M consecutive weights zero, e.g. 2:4 or 4:8",
    ),
    opt(
        "--calib",
        "SRC",
        "file:PATH, random or selfgen:PATH (from llmcore calib selfgen)",
    ),
    opt("--nsamples", "N", "calibration windows (default 128)"),
    opt(
        "--seqlen",
        "L",
        "tokens per window (default 2048, at most the model's context)",
    ),
    opt("--seed", "S", "seed of the windows (default 0)"),
    opt(
        "--mode",
        "MODE",
        "sequential or dense-input (default: the method's)",
    ),
    opt(
        "--format",
        "F",
        "weights written as f16, q8 (Q8_0) or q4 (Q4_0): zeros stay exact (default f16)",
    ),
    path("--out", "OUT.gguf", "the pruned model"),
    opt(
        "--layers",
        "A..B",
        "prune only layers A..B (dense-input mode) into --shard-out",
    ),
    path("--shard-out", "DIR", "directory for the shard of --layers"),
    path(
        "--report",
        "FILE",
        "write the per-matrix sparsity report (JSON) here",
    ),
    switch("--force", "replace existing output files"),
];

const MERGE_FLAGS: &[Flag] = &[
    path(
        "--model",
        "PATH",
        "the dense model the shards were pruned from",
    ),
    path("--out", "OUT.gguf", "the merged pruned model"),
    opt("--format", "F", "f16, q8 or q4 (default f16)"),
    switch("--force", "replace an existing output file"),
];

pub fn run(argv: &[OsString]) -> Result<(), Failure> {
    if argv.first().and_then(|a| a.to_str()) == Some("merge") {
        return run_merge(&argv[1..]);
    }
    let p = parse(
        "prune",
        "--model M --method NAME (--sparsity S | --nm N:M) --calib SRC (--out OUT.gguf | --layers A..B --shard-out DIR) [flags]\n       llmcore prune merge DIR... --model M --out OUT.gguf",
        FLAGS,
        argv,
    )?;
    p.at_most_positional(0).map_err(usage_err)?;
    // Everything the flags can get wrong is checked before the model loads.
    let method = method(&p)?;
    let pattern = pattern(&p)?;
    pattern.validate().map_err(|e| usage_err(e.to_string()))?;
    let mode = match p.str("--mode") {
        None => method.default_mode(),
        Some("sequential") => Mode::Sequential,
        Some("dense-input") => Mode::DenseInput,
        Some(other) => {
            return Err(usage_err(format!(
                "--mode must be sequential or dense-input, got '{other}'"
            )))
        }
    };
    let weight_type = format(&p)?;
    let owl = p.str("--owl").map(owl).transpose()?;
    if let Some(o) = &owl {
        o.validate_for(pattern)
            .map_err(|e| usage_err(e.to_string()))?;
    }
    let calib = match (p.str("--calib"), method.statistic(), owl) {
        (Some(s), _, _) => Some(CalibSource::parse(s).map_err(|e| usage_err(e.to_string()))?),
        (None, None, None) => None,
        (None, Some(_), _) => {
            return Err(usage_err(format!(
                "--method {} needs --calib",
                method.name()
            )))
        }
        (None, None, Some(_)) => {
            return Err(usage_err(
                "--owl needs --calib (its outlier ratios come from Wanda scores)".into(),
            ))
        }
    };
    let force = p.flag("--force");
    let target = match (p.path("--out"), p.str("--layers"), p.path("--shard-out")) {
        (Some(out), None, None) => Target::Model(out.to_path_buf()),
        (None, Some(r), Some(dir)) => Target::Shard(layer_range(r)?, dir.to_path_buf()),
        _ => {
            return Err(usage_err(
                "give --out OUT.gguf, or --layers A..B with --shard-out DIR".into(),
            ))
        }
    };
    if let Target::Shard(..) = target {
        if mode != Mode::DenseInput {
            return Err(usage_err(format!(
                "--layers needs --mode dense-input: in sequential mode a layer's inputs depend on the pruned layers before it (--method {} defaults to {})",
                method.name(),
                method.default_mode().name()
            )));
        }
    }
    if let Target::Model(out) = &target {
        refuse_existing(out, force)?;
    }
    if let Some(r) = p.path("--report") {
        refuse_existing(r, force)?;
    }
    let model_path = p.required_path("--model").map_err(usage_err)?;
    let mut model = Model::open(model_path)?;
    let nsamples = p.num("--nsamples", 128usize).map_err(usage_err)?;
    let seqlen = p
        .num("--seqlen", 2048usize.min(model.config.context_length))
        .map_err(usage_err)?;
    let seed = p.num("--seed", 0u64).map_err(usage_err)?;
    let layers = match &target {
        Target::Shard(r, _) => r.clone(),
        Target::Model(_) => 0..model.config.n_layer,
    };
    let spec = PruneSpec {
        method,
        pattern,
        mode,
        layers,
        owl,
    };
    let windows = match &calib {
        Some(src) => src.windows(&model, nsamples, seqlen, seed)?,
        None => llmcore::prune::calib::CalibSet {
            windows: vec![],
            source: "none".into(),
        },
    };
    pipeline::validate(&model, &windows.windows, &spec).map_err(|e| usage_err(e.to_string()))?;
    let keys = spec.run_keys(&calibration(
        &windows.source,
        nsamples,
        seqlen,
        seed,
        model_path,
    ));

    let start = Instant::now();
    let mut bar = Bar::new("prune");
    let report = pipeline::prune(&mut model, &windows.windows, &spec, &mut |pr| {
        bar.update_with(
            pr.done,
            pr.total,
            &format!("layer {} {}", pr.layer, pr.stage.describe()),
        );
        true
    })?;
    let prune_seconds = start.elapsed().as_secs_f64();
    let written = match &target {
        Target::Model(out) => {
            save_model(&model, out, weight_type, keys, force)?;
            out.clone()
        }
        Target::Shard(r, dir) => save_shard(&model, r.clone(), &keys, dir, force)?,
    };
    let j = report_json(&report, &spec, &written, prune_seconds, &windows.source);
    if let Some(r) = p.path("--report") {
        std::fs::write(r, format!("{j}\n"))
            .map_err(|e| Failure::Run(format!("{}: {e}", r.display())))?;
    }
    emit(&p, j, || human(&report, &spec, &written, prune_seconds))
}

enum Target {
    Model(PathBuf),
    Shard(std::ops::Range<usize>, PathBuf),
}

fn refuse_existing(path: &Path, force: bool) -> Result<(), Failure> {
    if path.exists() && !force {
        return Err(Failure::Run(format!(
            "{} exists; --force replaces it",
            path.display()
        )));
    }
    Ok(())
}

/// `--method` with its settings (`--fista-*` only with fista).
fn method(p: &Parsed) -> Result<Method, Failure> {
    let mut method = Method::from_name(p.required("--method").map_err(usage_err)?)
        .map_err(|e| usage_err(e.to_string()))?;
    let fista_flags = ["--fista-warm", "--fista-iters", "--fista-rounds"];
    match &mut method {
        Method::Fista(f) => {
            match p.str("--fista-warm") {
                None | Some("wanda") => f.warm = WarmStart::Wanda,
                Some("sparsegpt") => f.warm = WarmStart::SparseGpt(SparseGptParams::default()),
                Some(other) => {
                    return Err(usage_err(format!(
                        "--fista-warm must be wanda or sparsegpt, got '{other}'"
                    )))
                }
            }
            f.iters = p.num("--fista-iters", f.iters).map_err(usage_err)?;
            f.rounds = p.num("--fista-rounds", f.rounds).map_err(usage_err)?;
            f.refit = !p.flag("--fista-no-refit");
            f.validate().map_err(|e| usage_err(e.to_string()))?;
        }
        other => {
            if let Some(flag) = fista_flags.iter().find(|f| p.str(f).is_some()) {
                return Err(usage_err(format!(
                    "{flag} is a setting of --method fista, not {}",
                    other.name()
                )));
            }
            if p.flag("--fista-no-refit") {
                return Err(usage_err(format!(
                    "--fista-no-refit is a setting of --method fista, not {}",
                    other.name()
                )));
            }
        }
    }
    Ok(method)
}

fn pattern(p: &Parsed) -> Result<Pattern, Failure> {
    match (p.str("--sparsity"), p.str("--nm")) {
        (Some(s), None) => Ok(Pattern::Unstructured {
            sparsity: s
                .parse()
                .map_err(|_| usage_err(format!("--sparsity must be a number, got '{s}'")))?,
        }),
        (None, Some(nm)) => {
            let bad = || usage_err(format!("--nm must be N:M (e.g. 2:4), got '{nm}'"));
            let (n, m) = nm.split_once(':').ok_or_else(bad)?;
            Ok(Pattern::NM {
                n: n.parse().map_err(|_| bad())?,
                m: m.parse().map_err(|_| bad())?,
            })
        }
        _ => Err(usage_err(
            "give exactly one of --sparsity S and --nm N:M".into(),
        )),
    }
}

fn format(p: &Parsed) -> Result<GgmlType, Failure> {
    match p.str("--format").unwrap_or("f16") {
        "f16" => Ok(GgmlType::F16),
        "q8" => Ok(GgmlType::Q8_0),
        "q4" => Ok(GgmlType::Q4_0),
        other => Err(usage_err(format!(
            "--format must be f16, q8 or q4, got '{other}'"
        ))),
    }
}

fn owl(s: &str) -> Result<OwlParams, Failure> {
    let bad = || usage_err(format!("--owl must be M,LAMBDA (e.g. 5,0.08), got '{s}'"));
    let (m, lambda) = s.split_once(',').ok_or_else(bad)?;
    Ok(OwlParams {
        m: m.trim().parse().map_err(|_| bad())?,
        lambda: lambda.trim().parse().map_err(|_| bad())?,
    })
}

fn layer_range(s: &str) -> Result<std::ops::Range<usize>, Failure> {
    let bad = || usage_err(format!("--layers must be A..B (e.g. 0..15), got '{s}'"));
    let (a, b) = s.split_once("..").ok_or_else(bad)?;
    Ok(a.parse().map_err(|_| bad())?..b.parse().map_err(|_| bad())?)
}

/// What the calibration was, for the run's settings key (identical for every shard of one run).
fn calibration(source: &str, n: usize, len: usize, seed: u64, model: &Path) -> String {
    let file = model.file_name().map(|f| f.to_string_lossy().into_owned());
    llmcore::prune::calib::describe_run_windows(source, n, len, seed, &file.unwrap_or_default())
}

fn save_model(
    model: &Model,
    out: &Path,
    ty: GgmlType,
    keys: Vec<(String, Value)>,
    force: bool,
) -> Result<(), Failure> {
    let opts = SaveOptions {
        weight_type: WeightType::As(ty),
        extra_metadata: keys,
        overwrite: force,
    };
    let mut bar = Bar::new("save");
    model.save_gguf(out, &opts, &mut |done, total| {
        bar.update(done, total);
        true
    })?;
    Ok(())
}

fn report_json(r: &PruneReport, spec: &PruneSpec, out: &Path, seconds: f64, source: &str) -> Json {
    let matrices = r
        .matrices
        .iter()
        .map(|m| {
            let mut fields = vec![
                ("layer", Json::from(m.layer as u64)),
                ("op", Json::from(m.op.gguf_name())),
                ("rows", Json::from(m.rows as u64)),
                ("cols", Json::from(m.cols as u64)),
                ("zeros", Json::from(m.zeros as u64)),
                ("sparsity", Json::from(m.sparsity())),
                ("target", Json::from(m.target)),
            ];
            fields.extend(m.notes.iter().map(|(k, v)| (*k, Json::from(*v))));
            Json::object(fields)
        })
        .collect();
    Json::object(vec![
        ("out", Json::from(out.display().to_string())),
        ("method", Json::from(spec.method.name())),
        ("pattern", Json::from(spec.pattern.describe())),
        (
            "owl",
            match &spec.owl {
                Some(o) => Json::object(vec![
                    ("m", Json::from(o.m)),
                    ("lambda", Json::from(o.lambda)),
                ]),
                None => Json::Null,
            },
        ),
        ("mode", Json::from(spec.mode.name())),
        ("calibration", Json::from(source)),
        (
            "calibration_tokens",
            Json::from(r.calibration_tokens as u64),
        ),
        (
            "layers",
            Json::Array(vec![
                Json::from(spec.layers.start as u64),
                Json::from(spec.layers.end as u64),
            ]),
        ),
        ("sparsity", Json::from(r.sparsity())),
        ("prune_seconds", Json::from(seconds)),
        ("matrices", Json::Array(matrices)),
    ])
}

fn human(r: &PruneReport, spec: &PruneSpec, out: &Path, seconds: f64) -> String {
    format!(
        "{} {} pruned {} matrices of layers {}..{} to {:.4}% zeros in {seconds:.1}s; wrote {}\n",
        spec.method.name(),
        spec.pattern.describe(),
        r.matrices.len(),
        spec.layers.start,
        spec.layers.end,
        100.0 * r.sparsity(),
        out.display()
    )
}

fn run_merge(argv: &[OsString]) -> Result<(), Failure> {
    let p = parse(
        "prune merge",
        "DIR... --model M --out OUT.gguf",
        MERGE_FLAGS,
        argv,
    )?;
    let out = p.required_path("--out").map_err(usage_err)?;
    refuse_existing(out, p.flag("--force"))?;
    let ty = format(&p)?;
    let mut shards = Vec::new();
    for dir in &p.positional {
        let dir = Path::new(dir);
        let entries =
            std::fs::read_dir(dir).map_err(|e| Failure::Run(format!("{}: {e}", dir.display())))?;
        for e in entries {
            let path = e
                .map_err(|e| Failure::Run(format!("{}: {e}", dir.display())))?
                .path();
            if path.extension().is_some_and(|x| x == "gguf") {
                shards.push(path);
            }
        }
    }
    if shards.is_empty() {
        return Err(usage_err(
            "prune merge needs directories holding shards (layers-*.gguf)".into(),
        ));
    }
    shards.sort();
    let mut model = Model::open(p.required_path("--model").map_err(usage_err)?)?;
    let run = merge_shards(&mut model, &shards)?;
    let start = Instant::now();
    save_model(&model, out, ty, run, p.flag("--force"))?;
    let j = Json::object(vec![
        ("out", Json::from(out.display().to_string())),
        ("shards", Json::from(shards.len() as u64)),
        ("seconds", Json::from(start.elapsed().as_secs_f64())),
    ]);
    emit(&p, j, || {
        format!("merged {} shards into {}\n", shards.len(), out.display())
    })
}
