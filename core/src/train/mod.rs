//! Training: the decoder the runtime runs, with a hand-written backward, over owned f32
//! parameters that an [`crate::optim::Optimizer`] updates.
//!
//! [`Params`] holds the tensors under their GGUF names (initialized from scratch, seeded);
//! [`Decoder`] evaluates the mean next-token cross-entropy of a [`TokenBatch`] and its gradient
//! with respect to every tensor, optionally with gradient checkpointing.

mod config;
mod data;
mod decoder;
mod gguf;
mod params;
mod trainer;

pub use config::model_config_from_json;
pub use data::TokenData;
pub use decoder::{Decoder, TokenBatch};
pub use params::{LayerSlots, Layout, Params};
pub use trainer::{train, validation_loss, StepReport, TrainSettings};
