//! The pruning methods as the pipeline runs them: what each needs to see of an operator's
//! inputs ([`Statistic`]), what it derives from that once per input ([`Prepared`], shared by
//! the operators reading the input: Q, K and V; gate and up), and how it turns a dense matrix
//! into a pruned one.

use super::fista::{self, FistaParams, Problem};
use super::pattern::Pattern;
use super::pipeline::Mode;
use super::sparsegpt::{self, Factor, SparseGptParams};
use super::stats::{ChannelNorms, CrossStats, InputStats};
use super::{magnitude, wanda};
use crate::{Error, Result};
use alloc::format;
use alloc::vec::Vec;

/// The statistic of an operator's inputs a method needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Statistic {
    /// The norm of each input channel over the calibration tokens (Wanda).
    Norms,
    /// `Σ x xᵀ` of the inputs the operator sees (SparseGPT).
    Gram,
    /// FISTA's `Σ x* x*ᵀ` and `Σ x x*ᵀ` of the corrected and the dense inputs, which the
    /// pipeline gathers operator group by operator group (Q,K,V -> O -> gate/up -> down).
    Cross,
}

/// An input's statistic as the pipeline gathered it.
#[derive(Debug, Clone, PartialEq)]
pub enum Observed {
    Norms(ChannelNorms),
    Gram(InputStats),
    Cross(CrossStats),
}

/// What a method derives from one input's statistic before pruning its operators.
#[derive(Debug, Clone)]
pub enum Prepared {
    /// `||X_j||_2` per input channel (Wanda).
    Norms(Vec<f32>),
    /// SparseGPT's upper Cholesky factor of the damped inverse Hessian.
    Factor(Factor),
    /// FISTA's lasso data (`G`, `C`, `L`, the warm start's statistics).
    Fista(Problem),
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
    /// The l1-regularized reconstruction solved by FISTA, with intra-layer error correction
    /// (Zhao et al. 2024).
    Fista(FistaParams),
}

impl Method {
    /// "magnitude", "wanda", "sparsegpt", "fista".
    pub fn name(&self) -> &'static str {
        match self {
            Method::Magnitude => "magnitude",
            Method::Wanda => "wanda",
            Method::SparseGpt(_) => "sparsegpt",
            Method::Fista(_) => "fista",
        }
    }

    /// A method by name with its default settings.
    pub fn from_name(name: &str) -> Result<Method> {
        Ok(match name {
            "magnitude" => Method::Magnitude,
            "wanda" => Method::Wanda,
            "sparsegpt" => Method::SparseGpt(SparseGptParams::default()),
            "fista" => Method::Fista(FistaParams::default()),
            other => {
                return Err(Error::invalid(format!(
                "unknown pruning method '{other}': expected magnitude, wanda, sparsegpt or fista"
            )))
            }
        })
    }

    /// What it needs of the calibration inputs (`None`: no calibration).
    pub fn statistic(&self) -> Option<Statistic> {
        match self {
            Method::Magnitude => None,
            Method::Wanda => Some(Statistic::Norms),
            Method::SparseGpt(_) => Some(Statistic::Gram),
            Method::Fista(_) => Some(Statistic::Cross),
        }
    }

    /// The mode the method's authors run it in.
    pub fn default_mode(&self) -> Mode {
        match self {
            Method::Fista(_) => Mode::DenseInput,
            _ => Mode::Sequential,
        }
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
            Method::Fista(p) => p.validate(),
            _ => Ok(()),
        }
    }

    /// Derives what the method needs from one input's statistic.
    pub fn prepare(&self, stats: Observed) -> Result<Prepared> {
        Ok(match (self, stats) {
            (Method::Wanda, Observed::Norms(s)) => Prepared::Norms(s.col_norms()),
            (Method::SparseGpt(p), Observed::Gram(s)) => Prepared::Factor(Factor::new(&s, p.damp)?),
            (Method::Fista(p), Observed::Cross(s)) => fista::prepare(s, p)?,
            (method, _) => {
                return Err(Error::invalid(format!(
                    "{} was given the wrong calibration statistics",
                    method.name()
                )))
            }
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
            (Method::Wanda, Some(Prepared::Norms(n))) => {
                wanda::prune(w, rows, cols, n, pattern)?;
            }
            (Method::SparseGpt(p), Some(Prepared::Factor(f))) => {
                sparsegpt::prune_with(w, rows, cols, f, pattern, p.block)?;
            }
            (Method::Fista(p), Some(Prepared::Fista(problem))) => {
                return Ok(fista::prune(w, rows, cols, problem, pattern, p)?.notes());
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
