//! The pruning methods as the pipeline runs them: what each needs to see of an operator's
//! inputs ([`Statistic`]) and how it turns a dense matrix into a pruned one.

use super::pattern::Pattern;
use super::pipeline::Mode;
use super::stats::InputStats;
use super::{magnitude, wanda};
use crate::{Error, Result};
use alloc::format;
use alloc::vec;
use alloc::vec::Vec;

/// The statistic of an operator's inputs a method needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Statistic {
    /// Σ x xᵀ of the inputs the operator sees (Wanda uses its diagonal).
    Gram,
}

/// A pruning method with its settings.
#[derive(Debug, Clone, PartialEq)]
pub enum Method {
    /// Smallest |W| per matrix.
    Magnitude,
    /// |W_ij| ||X_j||_2 per output row (Sun et al. 2023).
    Wanda,
}

impl Method {
    /// "magnitude", "wanda", "sparsegpt", "fista".
    pub fn name(&self) -> &'static str {
        match self {
            Method::Magnitude => "magnitude",
            Method::Wanda => "wanda",
        }
    }

    /// A method by name with its default settings.
    pub fn from_name(name: &str) -> Result<Method> {
        Ok(match name {
            "magnitude" => Method::Magnitude,
            "wanda" => Method::Wanda,
            other => {
                return Err(Error::invalid(format!(
                    "unknown pruning method '{other}': expected magnitude or wanda"
                )))
            }
        })
    }

    /// What it needs of the calibration inputs (`None`: no calibration).
    pub fn statistic(&self) -> Option<Statistic> {
        match self {
            Method::Magnitude => None,
            Method::Wanda => Some(Statistic::Gram),
        }
    }

    /// The mode the method's authors run it in.
    pub fn default_mode(&self) -> Mode {
        Mode::Sequential
    }

    /// Checks the method's own settings.
    pub fn validate(&self, _mode: Mode) -> Result<()> {
        Ok(())
    }

    /// Prunes `w` (`rows x cols`) in place from its inputs' Gram statistic (`None` for
    /// magnitude); returns method-specific numbers for the report.
    pub fn prune_gram(
        &self,
        w: &mut [f32],
        rows: usize,
        cols: usize,
        stats: Option<&InputStats>,
        pattern: Pattern,
    ) -> Result<Vec<(&'static str, f64)>> {
        let need = || Error::invalid(format!("{} needs calibration statistics", self.name()));
        match self {
            Method::Magnitude => {
                magnitude::prune(w, rows, cols, pattern)?;
            }
            Method::Wanda => {
                wanda::prune(w, rows, cols, stats.ok_or_else(need)?, pattern)?;
            }
        }
        Ok(vec![])
    }
}
