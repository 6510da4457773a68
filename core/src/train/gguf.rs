//! Trainable parameters from a GGUF model (dequantized to f32) and back to a GGUF file that
//! the runtime (and llama.cpp) loads.

use super::params::{Layout, Params};
use crate::io::gguf::{GgufFile, TensorDecl, Value};
use crate::model::{Model, ModelConfig};
use crate::optim::ParamShape;
use crate::tensor::quant::dequantize_row;
use crate::tensor::{GgmlType, WeightView};
use crate::{Error, Result};
use alloc::format;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;

impl Params {
    /// Every tensor of `model`'s file dequantized to f32 (the head is tied when the file has
    /// no `output.weight`).
    pub fn from_model(model: &Model) -> Result<Self> {
        let file = model.file();
        let tied = file.tensor_info("output.weight").is_none();
        let layout = Layout::new(&model.config, tied);
        let tensors = layout
            .specs
            .iter()
            .map(|s| {
                let info = file
                    .tensor_info(&s.name)
                    .ok_or_else(|| Error::MissingTensor(s.name.clone()))?;
                let (rows, cols) = match s.shape {
                    ParamShape::Matrix { rows, cols } => (rows, cols),
                    ParamShape::Vector { len } => (1, len),
                };
                if info.n_elements() != Some((rows * cols) as u64) {
                    return Err(Error::Shape {
                        tensor: s.name.clone(),
                        expected: format!("{:?}", s.shape),
                        found: format!("{:?}", info.dims),
                    });
                }
                let view = WeightView::new(info.ty, rows, cols, file.tensor_data(info))?;
                let mut out = vec![0f32; rows * cols];
                for (r, dst) in out.chunks_exact_mut(cols).enumerate() {
                    dequantize_row(info.ty, view.row(r), dst)?;
                }
                Ok(out)
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Params {
            config: model.config.clone(),
            layout,
            tensors,
        })
    }

    /// The GGUF metadata of these parameters: `donor`'s keys (the tokenizer above all) with the
    /// architecture's hyper-parameters replaced by this model's and the file type set to F32.
    /// The donor must be of the same architecture.
    pub fn gguf_metadata(&self, donor: &GgufFile) -> Result<Vec<(String, Value)>> {
        let c: &ModelConfig = &self.config;
        let arch = c.arch.name();
        let donor_arch = donor.get_str("general.architecture")?;
        if donor_arch != arch {
            return Err(Error::invalid(format!(
                "the tokenizer donor is a {donor_arch} model, these parameters are {arch}"
            )));
        }
        let mut md: Vec<(String, Value)> = donor.metadata.clone();
        let k = |s: &str| format!("{arch}.{s}");
        let set = [
            (k("block_count"), Value::U32(c.n_layer as u32)),
            (k("context_length"), Value::U32(c.context_length as u32)),
            (k("embedding_length"), Value::U32(c.d_model as u32)),
            (k("feed_forward_length"), Value::U32(c.d_ffn as u32)),
            (k("attention.head_count"), Value::U32(c.n_head as u32)),
            (k("attention.head_count_kv"), Value::U32(c.n_kv_head as u32)),
            (k("rope.dimension_count"), Value::U32(c.head_dim as u32)),
            (k("rope.freq_base"), Value::F32(c.rope_theta)),
            (k("attention.layer_norm_rms_epsilon"), Value::F32(c.rms_eps)),
            (k("vocab_size"), Value::U32(c.vocab_size as u32)),
            ("general.file_type".into(), Value::U32(0)),
            ("general.name".into(), Value::String(c.name.clone())),
        ];
        for (key, v) in set {
            match md.iter_mut().find(|(k2, _)| *k2 == key) {
                Some(slot) => slot.1 = v,
                None => md.push((key, v)),
            }
        }
        Ok(md)
    }

    /// The tensor declarations (GGUF dims `[cols, rows]` for matrices), all F32.
    pub fn gguf_tensors(&self) -> Vec<TensorDecl> {
        self.layout
            .specs
            .iter()
            .map(|s| {
                let dims = match s.shape {
                    ParamShape::Matrix { rows, cols } => vec![cols as u64, rows as u64],
                    ParamShape::Vector { len } => vec![len as u64],
                };
                let n = s.shape.len() as u64;
                (s.name.clone(), dims, GgmlType::F32, 4 * n)
            })
            .collect()
    }

    /// Writes the parameters as an F32 GGUF file (streamed; a failed save leaves no file).
    #[cfg(feature = "std")]
    pub fn save_gguf(
        &self,
        donor: &GgufFile,
        path: impl AsRef<std::path::Path>,
        overwrite: bool,
    ) -> Result<()> {
        let md = self.gguf_metadata(donor)?;
        let mut w = crate::io::GgufWriter::create(path, &md, self.gguf_tensors(), overwrite)?;
        for t in &self.tensors {
            let bytes: Vec<u8> = t.iter().flat_map(|v| v.to_le_bytes()).collect();
            w.write_tensor(&bytes)?;
        }
        w.finish()
    }
}
