//! Scalar float math for `no_std`: one thin layer over `libm`, so every module computes
//! `exp`, `ln`, `sqrt`, ... the same way with or without `std`. It holds only what the crate
//! calls; add a wrapper here (not a direct `libm` call) when a module needs another function.

#[inline]
pub fn expf(x: f32) -> f32 {
    libm::expf(x)
}
#[inline]
pub fn exp(x: f64) -> f64 {
    libm::exp(x)
}
#[inline]
pub fn ln(x: f64) -> f64 {
    libm::log(x)
}
#[inline]
pub fn sqrtf(x: f32) -> f32 {
    libm::sqrtf(x)
}
#[inline]
pub fn pow(x: f64, y: f64) -> f64 {
    libm::pow(x, y)
}
#[inline]
pub fn sin(x: f64) -> f64 {
    libm::sin(x)
}
#[inline]
pub fn cos(x: f64) -> f64 {
    libm::cos(x)
}
/// Nearest integer, halves away from zero (C's `roundf`).
#[inline]
pub fn roundf(x: f32) -> f32 {
    libm::roundf(x)
}
#[inline]
pub fn sqrt(x: f64) -> f64 {
    libm::sqrt(x)
}
#[inline]
pub fn log10(x: f64) -> f64 {
    libm::log10(x)
}
#[inline]
pub fn log2(x: f64) -> f64 {
    libm::log2(x)
}
#[inline]
pub fn floor(x: f64) -> f64 {
    libm::floor(x)
}
#[inline]
pub fn ceil(x: f64) -> f64 {
    libm::ceil(x)
}
/// Nearest integer, halves to even (numpy's `round`, Python's `round`).
#[inline]
pub fn rint(x: f64) -> f64 {
    libm::rint(x)
}
/// ln |Γ(x)|.
#[inline]
pub fn lgamma(x: f64) -> f64 {
    libm::lgamma(x)
}
/// Natural logarithm in f32 (within 1 ulp; the log-mel recipes' per-value log).
#[inline]
pub fn lnf(x: f32) -> f32 {
    libm::logf(x)
}
