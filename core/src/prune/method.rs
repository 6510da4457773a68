//! The pruning methods as the pipeline runs them: what each needs to see of an operator's
//! inputs ([`Statistic`]), what it derives from that once per input ([`Prepared`], shared by
//! the operators reading the input: Q, K and V; gate and up), and how it turns a dense matrix
//! into a pruned one.

use super::pattern::Pattern;
use super::pipeline::Mode;
use super::sparsegpt::{self, Factor, SparseGptParams};
use super::stats::InputStats;
use super::{magnitude, wanda};
use crate::{Error, Result};
use alloc::format;
use alloc::vec::Vec;

/// The statistic of an operator's inputs a method needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Statistic {
    /// `Σ x xᵀ` of the inputs the operator sees (Wanda uses its diagonal, SparseGPT all).
    Gram,
}

/// What a method derives from one input's statistic before pruning its operators.
#[derive(Debug, Clone, PartialEq)]
pub enum Prepared {
    /// The statistic itself (Wanda reads its column norms).
    Stats(InputStats),
    /// SparseGPT's upper Cholesky factor of the damped inverse Hessian.
    Factor(Factor),
}

/// A pruning method with its settings.
#[derive(Debug, Clone, PartialEq)]
pub enum Method {
    /// Smallest |W| per matrix.
    Magnitude,
    /// |W_ij| ||X_j||_2 per output row (Sun et al. 2023).
    Wanda,
    /// Optimal-brain-surgeon masks and updates from the inputs' Hessian (Frantar & Alistarh 2023).
    SparseGpt(SparseGptParams),
}

impl Method {
    /// "magnitude", "wanda", "sparsegpt".
    pub fn name(&self) -> &'static str {
        match self {
            Method::Magnitude => "magnitude",
            Method::Wanda => "wanda",
            Method::SparseGpt(_) => "sparsegpt",
        }
    }

    /// A method by name with its default settings.
    pub fn from_name(name: &str) -> Result<Method> {
        Ok(match name {
            "magnitude" => Method::Magnitude,
            "wanda" => Method::Wanda,
            "sparsegpt" => Method::SparseGpt(SparseGptParams::default()),
            other => {
                return Err(Error::invalid(format!(
                    "unknown pruning method '{other}': expected magnitude, wanda or sparsegpt"
                )))
            }
        })
    }

    /// What it needs of the calibration inputs (`None`: no calibration).
    pub fn statistic(&self) -> Option<Statistic> {
        match self {
            Method::Magnitude => None,
            Method::Wanda | Method::SparseGpt(_) => Some(Statistic::Gram),
        }
    }

    /// The mode the method's authors run it in.
    pub fn default_mode(&self) -> Mode {
        Mode::Sequential
    }

    /// Checks the method's own settings.
    pub fn validate(&self, _mode: Mode) -> Result<()> {
        match self {
            Method::SparseGpt(p) if p.block == 0 || !(0.0..1.0).contains(&p.damp) => {
                Err(Error::invalid(format!(
                    "SparseGPT needs a block of at least 1 column and damping in [0, 1); got {} and {}",
                    p.block, p.damp
                )))
            }
            _ => Ok(()),
        }
    }

    /// Derives what the method needs from one input's statistic.
    pub fn prepare(&self, stats: InputStats) -> Result<Prepared> {
        Ok(match self {
            Method::SparseGpt(p) => Prepared::Factor(Factor::new(&stats, p.damp)?),
            _ => Prepared::Stats(stats),
        })
    }

    /// Prunes `w` (`rows x cols`) in place with what [`Method::prepare`] made of its input
    /// (`None` for magnitude); returns method-specific numbers for the report.
    pub fn prune(
        &self,
        w: &mut [f32],
        rows: usize,
        cols: usize,
        prepared: Option<&Prepared>,
        pattern: Pattern,
    ) -> Result<Vec<(&'static str, f64)>> {
        match (self, prepared) {
            (Method::Magnitude, _) => {
                magnitude::prune(w, rows, cols, pattern)?;
            }
            (Method::Wanda, Some(Prepared::Stats(s))) => {
                wanda::prune(w, rows, cols, s, pattern)?;
            }
            (Method::SparseGpt(p), Some(Prepared::Factor(f))) => {
                sparsegpt::prune_with(w, rows, cols, f, pattern, p.block)?;
            }
            _ => {
                return Err(Error::invalid(format!(
                    "{} was given the wrong calibration statistics",
                    self.name()
                )))
            }
        }
        Ok(Vec::new())
    }
}
