//! Post-training pruning: which weights of a trained model to zero, from a small calibration
//! set (ALGORITHMS.md sections 1 and 2).
//!
//! [`pattern`] turns scores into masks under a sparsity pattern; the methods score and update
//! weights from statistics of each linear operator's inputs.

pub mod calib;
pub mod fista;
pub mod linalg;
pub mod magnitude;
pub mod method;
pub mod owl;
pub mod pattern;
pub mod pipeline;
#[cfg(feature = "std")]
pub mod shard;
pub mod sparsegpt;
pub mod stats;
pub mod wanda;

pub use pattern::{mask_per_matrix, mask_per_row, Mask, Pattern};
