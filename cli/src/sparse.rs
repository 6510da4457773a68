//! The `--sparse KIND` flag of `generate` and `perplexity`: run a pruned model with its linear
//! weights re-stored in a sparse format (`2:4-q4`, `4:8-q8`, `unstructured-f16`, ...).

use crate::args::{opt, Flag, Parsed};
use crate::output::usage_err;
use crate::Failure;
use llmcore::model::Model;
use llmcore::tensor::sparse::SparseKind;
use std::path::Path;
use std::sync::Arc;

/// The flag, as both commands list it.
pub const FLAG: Flag = opt(
    "--sparse",
    "KIND",
    "re-store a pruned model's weights as KIND (e.g. 2:4-q4, 2:4-q8, unstructured-q4) and run on them",
);

/// The kind `--sparse` names, checked before the model loads.
pub fn kind(p: &Parsed) -> Result<Option<SparseKind>, Failure> {
    p.str(FLAG.name)
        .map(|s| SparseKind::parse(s).map_err(|e| usage_err(format!("--sparse: {e}"))))
        .transpose()
}

/// Loads the model at `path`, re-stored as `kind` when given.
pub fn load(path: &Path, kind: Option<SparseKind>) -> Result<Arc<Model>, Failure> {
    let mut model = Model::open(path)?;
    if let Some(k) = kind {
        model.to_sparse(k, &mut |_, _| {})?;
    }
    Ok(Arc::new(model))
}
