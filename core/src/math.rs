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
