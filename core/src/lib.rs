//! libllmcore: an embeddable core that makes large language models cheaper to run and to train.
//!
//! The crate is `#![no_std]` + `alloc`; the default `std` feature adds memory-mapped files,
//! rayon threads and the matrixmultiply GEMM. Data flows one way:
//! [`io`] -> [`tensor`] -> [`model`]; [`kernels`] serve everyone; [`sched`] stands alone.
#![no_std]
#![forbid(unsafe_op_in_unsafe_fn)]

extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

pub mod audio;
pub mod error;
pub mod evalh;
pub mod io;
pub mod kernels;
pub mod math;
pub mod model;
pub mod optim;
pub mod prune;
pub mod sched;
pub mod spec;
pub mod tensor;
pub mod tokenizer;
pub mod train;

pub use error::{Error, Result};
