//! Optimizers over flat f32 parameter and gradient buffers: AdamW (Loshchilov & Hutter 2019),
//! Adafactor (Shazeer & Stern 2018), CAME (Luo et al. 2023) and Adapprox (Zhao et al. 2024),
//! all behind one [`Optimizer`] trait.
//!
//! A caller declares its parameters once ([`ParamSpec`]: a name and a shape, matrix or vector)
//! and then calls [`Optimizer::step`] with one parameter and one gradient slice per declared
//! parameter, in the declared order. Matrices are row-major `rows x cols`; the factored
//! optimizers factor their second moment over those two axes, and treat vectors (norm gains,
//! biases) with an unfactored second moment, as their reference implementations do.
//!
//! A step is all or nothing: shapes and every gradient value are checked before any parameter
//! or state changes, and a NaN or infinite gradient refuses the step naming the tensor and the
//! index. Every optimizer reports the bytes of state it holds, per parameter
//! ([`Optimizer::state_bytes`]).

mod adafactor;
mod adamw;
mod adapprox;
mod came;
mod factored;

pub use adafactor::{Adafactor, AdafactorParams};
pub use adamw::{AdamW, AdamWParams};
pub use adapprox::{Adapprox, AdapproxParams};
pub use came::{Came, CameParams};

use crate::math::sqrt;
use crate::{Error, Result};
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

/// The shape of one parameter tensor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamShape {
    /// A row-major `rows x cols` matrix (factored by Adafactor, CAME and Adapprox).
    Matrix { rows: usize, cols: usize },
    /// A vector of `len` values (norm gains, biases).
    Vector { len: usize },
}

impl ParamShape {
    /// Number of values (saturating: a shape too large to address is refused by every
    /// optimizer's constructor, see [`ParamShape::checked_len`]).
    pub fn len(&self) -> usize {
        self.checked_len().unwrap_or(usize::MAX)
    }

    /// Number of values, or `None` when it (or the bytes of two f32 moments of it) overflows.
    pub fn checked_len(&self) -> Option<usize> {
        let n = match *self {
            ParamShape::Matrix { rows, cols } => rows.checked_mul(cols)?,
            ParamShape::Vector { len } => len,
        };
        n.checked_mul(8).map(|_| n)
    }

    /// Whether the tensor holds no value.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// One declared parameter: its name (used in errors and reports) and shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParamSpec {
    pub name: String,
    pub shape: ParamShape,
}

impl ParamSpec {
    /// A row-major `rows x cols` matrix parameter.
    pub fn matrix(name: impl Into<String>, rows: usize, cols: usize) -> Self {
        ParamSpec {
            name: name.into(),
            shape: ParamShape::Matrix { rows, cols },
        }
    }

    /// A vector parameter of `len` values.
    pub fn vector(name: impl Into<String>, len: usize) -> Self {
        ParamSpec {
            name: name.into(),
            shape: ParamShape::Vector { len },
        }
    }
}

/// The optimizer state one parameter holds.
#[derive(Debug, Clone, PartialEq)]
pub struct ParamState {
    pub name: String,
    /// Bytes of persistent state (moments, factors) kept between steps.
    pub bytes: usize,
    /// For Adapprox matrices, the rank of the second-moment factors and their relative
    /// error `‖V − Q Uᵀ‖_F / ‖V‖_F` at the last step (`None` elsewhere).
    pub factors: Option<Factors>,
}

/// The low-rank factors of one matrix's second moment.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Factors {
    pub rank: usize,
    pub error: f64,
}

/// Bytes of state an optimizer holds, per parameter and in total.
#[derive(Debug, Clone, PartialEq)]
pub struct StateBytes {
    pub params: Vec<ParamState>,
    /// Sum of the per-parameter bytes.
    pub total: usize,
    /// The largest scratch one parameter's step allocates and frees again (not persistent;
    /// held once per thread updating a parameter).
    pub step_scratch: usize,
}

/// A first-order optimizer over the parameters it was created for.
pub trait Optimizer: Send {
    /// The optimizer's name ("adamw", "adafactor", "came", "adapprox").
    fn name(&self) -> &'static str;

    /// The parameters, in the order [`Optimizer::step`] takes them.
    fn params(&self) -> &[ParamSpec];

    /// One update of every parameter from its gradient. `params[i]` and `grads[i]` belong to
    /// `self.params()[i]`. Nothing changes unless every length matches and every gradient
    /// value is finite.
    fn step(&mut self, params: &mut [&mut [f32]], grads: &[&[f32]]) -> Result<()>;

    /// Steps taken so far.
    fn steps(&self) -> u64;

    /// The learning rate the next step uses.
    fn lr(&self) -> f64;

    /// Sets the learning rate of the following steps (a schedule lives in the caller).
    fn set_lr(&mut self, lr: f64) -> Result<()>;

    /// The state held now.
    fn state_bytes(&self) -> StateBytes;
}

/// One optimizer's update rule: its hyperparameters, the state it keeps per parameter and the
/// update of one parameter. [`Stepper`] runs it over all parameters.
pub trait Rule: Sync + Send {
    type State: Send;
    const NAME: &'static str;
    /// The learning rate the rule was configured with.
    fn lr(&self) -> f64;
    fn set_lr(&mut self, lr: f64);
    /// Checks that the rule can run on `spec` (e.g. the rank range fits the matrix).
    fn check_param(&self, _spec: &ParamSpec) -> Result<()> {
        Ok(())
    }
    /// Fresh state for one parameter; `index` is its position (for per-parameter seeds).
    fn init(&self, spec: &ParamSpec, index: usize) -> Self::State;
    /// The update at step `t` (1-based) of one parameter `p` from its gradient `g`.
    fn update(&self, state: &mut Self::State, shape: ParamShape, t: u64, p: &mut [f32], g: &[f32]);
    /// Persistent bytes and, for low-rank state, the factors.
    fn state_of(state: &Self::State) -> (usize, Option<Factors>);
    /// The most scratch one update of `shape` allocates.
    fn scratch_bytes(&self, shape: ParamShape) -> usize;
}

/// Runs a [`Rule`] over declared parameters: checks, step counting, parallelism, reports.
pub struct Stepper<R: Rule> {
    rule: R,
    specs: Vec<ParamSpec>,
    states: Vec<R::State>,
    t: u64,
}

impl<R: Rule> Stepper<R> {
    pub(crate) fn new(rule: R, specs: Vec<ParamSpec>) -> Result<Self> {
        check_lr(rule.lr())?;
        for (i, s) in specs.iter().enumerate() {
            if s.name.is_empty() {
                return Err(Error::invalid(format!("parameter {i} has an empty name")));
            }
            if s.shape.checked_len().is_none() {
                return Err(Error::invalid(format!(
                    "parameter '{}' is too large to address ({:?})",
                    s.name, s.shape
                )));
            }
            if s.shape.is_empty() {
                return Err(Error::invalid(format!(
                    "parameter '{}' has no values ({:?})",
                    s.name, s.shape
                )));
            }
            if specs[..i].iter().any(|o| o.name == s.name) {
                return Err(Error::invalid(format!(
                    "parameter name '{}' is declared twice",
                    s.name
                )));
            }
            rule.check_param(s)?;
        }
        let states = specs
            .iter()
            .enumerate()
            .map(|(i, s)| rule.init(s, i))
            .collect();
        Ok(Stepper {
            rule,
            specs,
            states,
            t: 0,
        })
    }
}

impl<R: Rule> Optimizer for Stepper<R> {
    fn name(&self) -> &'static str {
        R::NAME
    }

    fn params(&self) -> &[ParamSpec] {
        &self.specs
    }

    fn step(&mut self, params: &mut [&mut [f32]], grads: &[&[f32]]) -> Result<()> {
        check_step(&self.specs, params, grads)?;
        self.t += 1;
        let (rule, t) = (&self.rule, self.t);
        let work = self
            .states
            .iter_mut()
            .zip(&self.specs)
            .zip(params.iter_mut())
            .zip(grads);
        #[cfg(feature = "std")]
        {
            use rayon::prelude::*;
            let work: Vec<_> = work.collect();
            work.into_par_iter()
                .for_each(|(((s, spec), p), g)| rule.update(s, spec.shape, t, p, g));
        }
        #[cfg(not(feature = "std"))]
        for (((s, spec), p), g) in work {
            rule.update(s, spec.shape, t, p, g);
        }
        Ok(())
    }

    fn steps(&self) -> u64 {
        self.t
    }

    fn lr(&self) -> f64 {
        self.rule.lr()
    }

    fn set_lr(&mut self, lr: f64) -> Result<()> {
        check_lr(lr)?;
        self.rule.set_lr(lr);
        Ok(())
    }

    fn state_bytes(&self) -> StateBytes {
        let params: Vec<ParamState> = self
            .specs
            .iter()
            .zip(&self.states)
            .map(|(spec, s)| {
                let (bytes, factors) = R::state_of(s);
                ParamState {
                    name: spec.name.clone(),
                    bytes,
                    factors,
                }
            })
            .collect();
        StateBytes {
            total: params.iter().map(|p| p.bytes).sum(),
            step_scratch: self
                .specs
                .iter()
                .map(|s| self.rule.scratch_bytes(s.shape))
                .max()
                .unwrap_or(0),
            params,
        }
    }
}

/// Every length matches its declaration and every gradient value is finite.
fn check_step(specs: &[ParamSpec], params: &[&mut [f32]], grads: &[&[f32]]) -> Result<()> {
    if params.len() != specs.len() || grads.len() != specs.len() {
        return Err(Error::invalid(format!(
            "step takes {} parameters and {} gradients, the optimizer was created for {}",
            params.len(),
            grads.len(),
            specs.len()
        )));
    }
    for ((spec, p), g) in specs.iter().zip(params).zip(grads) {
        let want = spec.shape.len();
        for (what, len) in [("parameter", p.len()), ("gradient", g.len())] {
            if len != want {
                return Err(Error::Shape {
                    tensor: spec.name.clone(),
                    expected: format!("{want} values ({:?})", spec.shape),
                    found: format!("{len} values in the {what}"),
                });
            }
        }
        if let Some(i) = g.iter().position(|v| !v.is_finite()) {
            return Err(Error::invalid(format!(
                "gradient of '{}' holds {} at index {i}: step refused, parameters unchanged",
                spec.name, g[i]
            )));
        }
    }
    Ok(())
}

pub(crate) fn check_lr(lr: f64) -> Result<()> {
    if !(lr.is_finite() && lr > 0.0) {
        return Err(Error::invalid(format!(
            "learning rate {lr} must be finite and > 0"
        )));
    }
    Ok(())
}

/// `beta` (named `what`) lies in [0, 1).
pub(crate) fn check_beta(what: &str, beta: f64) -> Result<()> {
    if !(0.0..1.0).contains(&beta) {
        return Err(Error::invalid(format!(
            "{what} = {beta} must lie in [0, 1)"
        )));
    }
    Ok(())
}

/// `v` (named `what`) is finite and > 0 (`strict`) or >= 0.
pub(crate) fn check_positive(what: &str, v: f64, strict: bool) -> Result<()> {
    let ok = v.is_finite() && if strict { v > 0.0 } else { v >= 0.0 };
    if !ok {
        let bound = if strict { "> 0" } else { ">= 0" };
        return Err(Error::invalid(format!(
            "{what} = {v} must be finite and {bound}"
        )));
    }
    Ok(())
}

/// Root mean square `sqrt(Σ x² / n)`, accumulated in f64.
pub(crate) fn rms(x: &[f32]) -> f32 {
    if x.is_empty() {
        return 0.0;
    }
    let s: f64 = x.iter().map(|&v| v as f64 * v as f64).sum();
    sqrt(s / x.len() as f64) as f32
}

/// Update clipping (Shazeer & Stern 2018, Eq. 7 as Adafactor, CAME and Adapprox use it):
/// `u ← u / max(1, RMS(u) / d)`.
pub(crate) fn clip_by_rms(u: &mut [f32], d: f64) {
    let denom = (rms(u) / d as f32).max(1.0);
    if denom > 1.0 {
        u.iter_mut().for_each(|v| *v /= denom);
    }
}

/// Bytes of `n` f32 values.
pub(crate) const fn f32_bytes(n: usize) -> usize {
    n * core::mem::size_of::<f32>()
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;
    use alloc::vec;

    fn two() -> Vec<ParamSpec> {
        vec![ParamSpec::matrix("w", 2, 3), ParamSpec::vector("g", 3)]
    }

    #[test]
    fn a_non_finite_gradient_refuses_the_whole_step() {
        let mut opt = AdamW::create(AdamWParams::default(), two()).unwrap();
        let (mut w, mut g) = (vec![1.0f32; 6], vec![1.0f32; 3]);
        let gw = [0.1f32; 6];
        let gg = [0.1, f32::INFINITY, 0.2];
        let e = opt
            .step(&mut [&mut w, &mut g], &[&gw, &gg])
            .unwrap_err()
            .to_string();
        assert!(e.contains("gradient of 'g' holds inf at index 1"), "{e}");
        assert!(w.iter().chain(&g).all(|&v| v == 1.0), "parameters changed");
        assert_eq!(opt.steps(), 0);
        // The next good step is the first one: identical to a fresh optimizer's.
        let mut fresh = AdamW::create(AdamWParams::default(), two()).unwrap();
        let (mut w2, mut g2) = (w.clone(), g.clone());
        let gg = [0.1f32, 0.3, 0.2];
        opt.step(&mut [&mut w, &mut g], &[&gw, &gg]).unwrap();
        fresh.step(&mut [&mut w2, &mut g2], &[&gw, &gg]).unwrap();
        assert_eq!((w, g), (w2, g2));
    }

    #[test]
    fn shapes_and_settings_are_checked() {
        let mut opt = Adafactor::create(AdafactorParams::default(), two()).unwrap();
        let (mut w, mut g) = (vec![0f32; 5], vec![0f32; 3]);
        let e = opt
            .step(&mut [&mut w, &mut g], &[&[0.0; 6], &[0.0; 3]])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("'w'") && e.contains("5 values in the parameter"),
            "{e}"
        );
        let e = opt
            .step(&mut [&mut g], &[&[0.0; 3]])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("1 parameters and 1 gradients") && e.contains("created for 2"),
            "{e}"
        );
        let dup = vec![ParamSpec::vector("g", 3), ParamSpec::vector("g", 2)];
        let e = Came::create(CameParams::default(), dup)
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("'g' is declared twice"), "{e}");
        let e = Came::create(CameParams::default(), vec![ParamSpec::matrix("e", 0, 3)])
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("'e' has no values"), "{e}");
        let huge = vec![ParamSpec::matrix("h", usize::MAX / 2, 3)];
        let e = AdamW::create(AdamWParams::default(), huge)
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("'h' is too large to address"), "{e}");
        let bad = AdamWParams {
            beta1: -0.1,
            ..AdamWParams::default()
        };
        let e = AdamW::create(bad, two()).err().unwrap().to_string();
        assert!(e.contains("beta1 = -0.1 must lie in [0, 1)"), "{e}");
        let e = opt.set_lr(0.0).unwrap_err().to_string();
        assert!(e.contains("learning rate 0"), "{e}");
        let bad = AdafactorParams {
            decay_rate: 0.5,
            ..AdafactorParams::default()
        };
        assert!(Adafactor::create(bad, two()).is_err());
    }

    #[test]
    fn state_bytes_are_what_each_optimizer_keeps() {
        let specs = || vec![ParamSpec::matrix("w", 40, 30), ParamSpec::vector("g", 30)];
        let bytes = |o: &dyn Optimizer| o.state_bytes().total;
        let adamw = AdamW::create(AdamWParams::default(), specs()).unwrap();
        assert_eq!(bytes(&adamw), 4 * 2 * (1200 + 30));
        let adafactor = Adafactor::create(AdafactorParams::default(), specs()).unwrap();
        assert_eq!(bytes(&adafactor), 4 * ((40 + 30) + 30));
        let came = Came::create(CameParams::default(), specs()).unwrap();
        assert_eq!(bytes(&came), 4 * ((1200 + 2 * 70) + 2 * 30));
        let r = adafactor.state_bytes();
        assert_eq!(r.params[0].name, "w");
        assert_eq!(r.step_scratch, 4 * 1200);
    }
}
