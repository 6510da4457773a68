//! The evaluation harness: lm-evaluation-harness's model contract ([`contract`]) implemented
//! on our runtime with shared-context reuse ([`native`]) or by any engine through the C ABI,
//! tasks as JSON data ([`task`]), lm-eval's metrics with bootstrap standard errors
//! ([`metrics`]), the loop that runs tasks and tabulates them ([`runner`]), task and suite
//! files with their hashes ([`suite`]) and the results object ([`report`]).

pub mod boundary;
pub mod contract;
pub mod metrics;
pub mod native;
pub mod report;
pub mod runner;
#[cfg(feature = "std")]
pub mod suite;
pub mod task;

pub use contract::{GenerateRequest, LanguageModel, LoglikelihoodRequest};
pub use native::NativeModel;
pub use runner::{by_category, evaluate_all, evaluate_task, EvalSettings, RunProgress, TaskResult};
pub use task::{Metric, OutputType, Task, TaskSpec};
