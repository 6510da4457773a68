//! Pruning a model in pieces: a shard holds the pruned linear weights of a range of decoder
//! layers; merging every shard of a run into the dense model gives the pruned model.
//!
//! In dense-input mode every decoder layer sees the dense model's inputs, so a range of layers
//! can be pruned anywhere, e.g. one task per range on Ray or a Slurm job array
//! (`scripts/prune_ray.py`, `scripts/prune_slurm.sh`); the merged model is bit-identical to a
//! single-process run because each layer's computation does not depend on which others run
//! with it.
//!
//! A shard is a GGUF file with the range's seven linear weights per layer in f32, under their
//! model names (`blk.N.attn_q.weight`, ...), the run's keys (the `llmcore.prune.*` keys the
//! pruned model will carry; every shard of a merge must have the same ones), and
//! `llmcore.shard.layers` (first and end layer) and `llmcore.shard.n_layer` (the model's layer
//! count).

use crate::io::gguf::{TensorDecl, Value};
use crate::io::{GgufFile, GgufWriter};
use crate::model::{Linear, Matrix, Model, OwnedWeight};
use crate::tensor::GgmlType;
use crate::{Error, Result};
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec;
use alloc::vec::Vec;
use core::ops::Range;
use std::path::{Path, PathBuf};

/// Keys of a run (copied to the merged model) start with this.
pub const RUN_KEYS: &str = "llmcore.prune.";
const LAYERS: &str = "llmcore.shard.layers";
const N_LAYER: &str = "llmcore.shard.n_layer";

/// The file name of the shard of `layers`: `layers-A-B.gguf`.
pub fn shard_name(layers: &Range<usize>) -> String {
    format!("layers-{:03}-{:03}.gguf", layers.start, layers.end)
}

/// Writes the linear weights of `layers` of `model` to `dir`/[`shard_name`] with the run's
/// keys (each named `llmcore.prune.*`); returns the path.
pub fn save_shard(
    model: &Model,
    layers: Range<usize>,
    run: &[(String, Value)],
    dir: &Path,
    overwrite: bool,
) -> Result<PathBuf> {
    if let Some((k, _)) = run.iter().find(|(k, _)| !k.starts_with(RUN_KEYS)) {
        return Err(Error::invalid(format!(
            "run key '{k}' does not start with {RUN_KEYS}"
        )));
    }
    std::fs::create_dir_all(dir).map_err(|e| Error::Io {
        path: dir.display().to_string(),
        message: e.to_string(),
    })?;
    let path = dir.join(shard_name(&layers));
    let mut metadata = run.to_vec();
    metadata.extend([
        (
            LAYERS.to_string(),
            Value::Array(vec![
                Value::U32(layers.start as u32),
                Value::U32(layers.end as u32),
            ]),
        ),
        (N_LAYER.to_string(), Value::U32(model.config.n_layer as u32)),
    ]);
    let mut decls: Vec<TensorDecl> = Vec::new();
    for l in layers.clone() {
        for op in Linear::ALL {
            let (rows, cols) = model.config.linear_shape(op);
            let name = format!("blk.{l}.{}.weight", op.gguf_name());
            decls.push((
                name,
                vec![cols as u64, rows as u64],
                GgmlType::F32,
                (rows * cols * 4) as u64,
            ));
        }
    }
    let mut w = GgufWriter::create(&path, &metadata, decls, overwrite)?;
    for l in layers {
        for op in Linear::ALL {
            let values = model.linear_f32(l, op)?;
            let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
            w.write_tensor(&bytes)?;
        }
    }
    w.finish()?;
    Ok(path)
}

/// Replaces `model`'s linear weights with those of the shards at `paths`, which must come from
/// one run (equal run keys) over this model's layer count and cover every layer exactly once.
/// Returns the run's keys.
pub fn merge_shards(model: &mut Model, paths: &[PathBuf]) -> Result<Vec<(String, Value)>> {
    let n_layer = model.config.n_layer;
    let mut owner: Vec<Option<usize>> = vec![None; n_layer];
    let mut keys: Option<Vec<(String, Value)>> = None;
    let bad = |p: &Path, why: String| Error::invalid(format!("shard {}: {why}", p.display()));
    let mut files = Vec::with_capacity(paths.len());
    for (i, p) in paths.iter().enumerate() {
        let f = GgufFile::open(p)?;
        if f.get(LAYERS).is_none() {
            return Err(bad(p, format!("no {LAYERS} key: not a shard")));
        }
        let run: Vec<(String, Value)> = f
            .metadata
            .iter()
            .filter(|(k, _)| k.starts_with(RUN_KEYS))
            .cloned()
            .collect();
        match &keys {
            None => keys = Some(run),
            Some(first) if *first != run => {
                return Err(bad(
                    p,
                    format!(
                        "made with other settings than {}: {run:?} vs {first:?}",
                        paths[0].display()
                    ),
                ))
            }
            Some(_) => {}
        }
        if f.get_u32(N_LAYER).ok() != Some(n_layer as u32) {
            return Err(bad(
                p,
                format!("made for a model with other than {n_layer} layers"),
            ));
        }
        let range = match f.get(LAYERS) {
            Some(Value::Array(v)) => match v[..] {
                [Value::U32(a), Value::U32(b)] if a < b && b as usize <= n_layer => {
                    a as usize..b as usize
                }
                _ => {
                    return Err(bad(
                        p,
                        format!("{LAYERS} is not a layer range within 0..{n_layer}"),
                    ))
                }
            },
            _ => return Err(bad(p, format!("no {LAYERS} key"))),
        };
        for l in range.clone() {
            if let Some(j) = owner[l] {
                return Err(bad(
                    p,
                    format!("layer {l} is also in {}", paths[j].display()),
                ));
            }
            owner[l] = Some(i);
        }
        files.push((f, range));
    }
    if let Some(l) = owner.iter().position(Option::is_none) {
        return Err(Error::invalid(format!(
            "no shard holds layer {l} (of 0..{n_layer})"
        )));
    }
    for ((f, range), p) in files.iter().zip(paths) {
        for l in range.clone() {
            for op in Linear::ALL {
                let (rows, cols) = model.config.linear_shape(op);
                let name = format!("blk.{l}.{}.weight", op.gguf_name());
                let w = f.weight(&name).map_err(|e| bad(p, e.to_string()))?;
                if (w.ty, w.rows, w.cols) != (GgmlType::F32, rows, cols) {
                    return Err(bad(p, format!("{name} is not an f32 {rows}x{cols} matrix")));
                }
                let owned = OwnedWeight::new(GgmlType::F32, rows, cols, w.data.to_vec())?;
                model.set_linear(l, op, Matrix::Owned(owned))?;
            }
        }
    }
    Ok(keys.unwrap_or_default())
}
