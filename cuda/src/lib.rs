//! CUDA backend for libllmcore.
//!
//! Not built yet: the GPU kernels arrive with the issues that need them (see DESIGN.md, CUDA).
//! The crate exists so the workspace layout is stable; it holds no code until then.
