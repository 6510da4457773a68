//! Fast Fourier transform: a plan for any length `n`, the complex forward transform and the
//! real-input transform the STFT runs on.
//!
//! Our own rather than a dependency: the crate is `no_std` + `alloc`, and the two sizes that
//! matter are smooth: 1024 = 2^10 (the `fastspeech2` preset's `n_fft`, one 512-point complex
//! transform through the half-length trick) and 400 = 2^4 * 5^2 (`whisper`'s; 200 = 2^3 * 5^2
//! complex). A mixed-radix plan with precomputed twiddles for them is a few hundred lines of
//! butterflies and stage loops (this file, vector types and tests included, is about 1,300).
//!
//! # Algorithm
//! Stockham autosort, decimation in frequency. With `n = r_1 r_2 ... r_K`, stage `i` has radix
//! `r = r_i`, stride `s = r_1 ... r_{i-1}` and `m = n / (s r)`, and maps `x` to `y` by
//!
//! ```text
//! y[q + s(r p + j)] = w_{rm}^{j p} * sum_{k<r} x[q + s(p + m k)] * w_r^{j k},   w_L = e^{-2 pi i / L}
//! ```
//!
//! for `q < s`, `p < m`, `j < r`; after the last stage `y` holds `X[k] = sum_t x[t] w_n^{k t}`
//! in natural order. Radices 8, 4, 2, 3 and 5 have written-out butterflies; any other prime factor
//! goes through the direct `r`-point sum, which costs `O(n r)` for its stage: fine for small
//! primes, slow for a large prime length (there is no Bluestein path; no preset needs one).
//!
//! # Vectors
//! Real and imaginary parts live in separate arrays, and every butterfly is written once,
//! generic over its lane type: one f64, or a [`Vector`] of four. A stage with `s >= 4` runs
//! four consecutive `q` per step (contiguous loads and stores); the first stage (`s = 1`) runs
//! four consecutive `p` per step and transposes the results on the way out. The vector is
//! `[f64; 4]` ([`Portable`], any CPU) or an AVX register ([`avx2::Avx2`], chosen at plan
//! creation from [`crate::tensor::quant::simd_level`]); both do the same IEEE operations in the
//! same order (no FMA contraction), so they give the same bits.
//!
//! # Precision: f64
//! The log-mel parity bar is 1e-4 absolute on the log scale against a float64 reference,
//! quiet bins included. A quiet bin's relative error is the transform's absolute error divided
//! by the bin's size, and f32 cannot hold it: with a float32 transform (scipy's pocketfft, at
//! least as accurate as anything written here) the `fastspeech2` log-mel of the committed
//! fixtures is off by up to 7.5e-3 (`tone-110.wav`), 6.8e-3 (`sweep-22k.wav`) and 1.6e-4 on
//! speech (`zh-230.wav`). Windowing and the transform in f64, then f32 from the magnitude on
//! (the mel sum adds positive terms, so it only adds relative error), is off by at most 7.3e-7.

use alloc::vec;
use alloc::vec::Vec;
use core::ops::{Add, Mul, Sub};

use crate::math;
use crate::{Error, Result};

/// What a butterfly computes on: one f64, or a [`Vector`] of [`LANES`].
trait Lane: Copy + Add<Output = Self> + Sub<Output = Self> + Mul<Output = Self> {
    fn splat(x: f64) -> Self;
    /// Read from `x[at..]` (one value or one vector's worth), unchecked.
    ///
    /// # Safety
    /// `x[at..]` holds at least one value or one vector's worth.
    unsafe fn load(x: &[f64], at: usize) -> Self;
    /// Write to `y[at..]`, unchecked.
    ///
    /// # Safety
    /// As for [`Lane::load`].
    unsafe fn store(self, y: &mut [f64], at: usize);
}

impl Lane for f64 {
    #[inline(always)]
    fn splat(x: f64) -> f64 {
        x
    }
    #[inline(always)]
    unsafe fn load(x: &[f64], at: usize) -> f64 {
        debug_assert!(at < x.len());
        // SAFETY: the caller's contract.
        unsafe { *x.get_unchecked(at) }
    }
    #[inline(always)]
    unsafe fn store(self, y: &mut [f64], at: usize) {
        debug_assert!(at < y.len());
        // SAFETY: the caller's contract.
        unsafe { *y.get_unchecked_mut(at) = self }
    }
}

/// Lanes of a [`Vector`]: four f64, one AVX register.
const LANES: usize = 4;

/// [`LANES`] f64 side by side.
trait Vector: Lane {
    /// Four f32 from `x[at..]`, widened.
    fn load_f32(x: &[f32], at: usize) -> Self;
    /// The even and the odd lanes of `a` then `b`: `(a0 a2 b0 b2, a1 a3 b1 b3)`.
    fn deinterleave(a: Self, b: Self) -> (Self, Self);
    /// Rounded to f32 (to nearest), into `y[at..]`.
    fn store_f32(self, y: &mut [f32], at: usize);
    /// Lanes in the opposite order.
    fn reversed(self) -> Self;
    /// `row[k] = sqrt(row[k])` in f32, [`LANES`] or more at a time.
    fn sqrt_f32(row: &mut [f32]);
    /// The 4 x 4 transpose: lane `i` of output `j` is lane `j` of input `i`.
    fn transpose(rows: [Self; 4]) -> [Self; 4];
    fn lane(self, i: usize) -> f64;
}

/// The vector as a plain array, which any CPU runs.
#[derive(Clone, Copy)]
struct Portable([f64; LANES]);

macro_rules! lanewise {
    ($trait:ident, $f:ident, $op:tt) => {
        impl $trait for Portable {
            type Output = Portable;
            #[inline(always)]
            fn $f(self, o: Portable) -> Portable {
                let (a, b) = (self.0, o.0);
                Portable([a[0] $op b[0], a[1] $op b[1], a[2] $op b[2], a[3] $op b[3]])
            }
        }
    };
}
lanewise!(Add, add, +);
lanewise!(Sub, sub, -);
lanewise!(Mul, mul, *);

impl Lane for Portable {
    #[inline(always)]
    fn splat(x: f64) -> Portable {
        Portable([x; LANES])
    }
    #[inline(always)]
    unsafe fn load(x: &[f64], at: usize) -> Portable {
        debug_assert!(at + LANES <= x.len());
        // SAFETY: the caller's contract; unaligned read of LANES f64.
        Portable(unsafe { x.as_ptr().add(at).cast::<[f64; LANES]>().read_unaligned() })
    }
    #[inline(always)]
    unsafe fn store(self, y: &mut [f64], at: usize) {
        debug_assert!(at + LANES <= y.len());
        // SAFETY: the caller's contract; unaligned write of LANES f64.
        unsafe {
            y.as_mut_ptr()
                .add(at)
                .cast::<[f64; LANES]>()
                .write_unaligned(self.0)
        }
    }
}

impl Vector for Portable {
    #[inline(always)]
    fn load_f32(x: &[f32], at: usize) -> Portable {
        let x = &x[at..at + LANES];
        Portable([x[0] as f64, x[1] as f64, x[2] as f64, x[3] as f64])
    }
    #[inline(always)]
    fn deinterleave(a: Portable, b: Portable) -> (Portable, Portable) {
        let ([a0, a1, a2, a3], [b0, b1, b2, b3]) = (a.0, b.0);
        (Portable([a0, a2, b0, b2]), Portable([a1, a3, b1, b3]))
    }
    #[inline(always)]
    fn store_f32(self, y: &mut [f32], at: usize) {
        for (y, &v) in y[at..at + LANES].iter_mut().zip(&self.0) {
            *y = v as f32;
        }
    }
    #[inline(always)]
    fn reversed(self) -> Portable {
        let [a, b, c, d] = self.0;
        Portable([d, c, b, a])
    }
    #[inline(always)]
    fn sqrt_f32(row: &mut [f32]) {
        for v in row {
            *v = math::sqrtf(*v);
        }
    }
    #[inline(always)]
    fn transpose(rows: [Portable; 4]) -> [Portable; 4] {
        let r = rows.map(|v| v.0);
        [0, 1, 2, 3].map(|j| Portable([r[0][j], r[1][j], r[2][j], r[3][j]]))
    }
    #[inline(always)]
    fn lane(self, i: usize) -> f64 {
        self.0[i]
    }
}

/// The vector as an AVX register.
///
/// Its methods execute AVX instructions: the type is used only inside the
/// `#[target_feature(enable = "avx2,fma")]` functions of this file, which run only when
/// [`Isa::detect`] found AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
mod avx2 {
    use super::{Lane, Vector, LANES};
    use core::arch::x86_64::*;
    use core::ops::{Add, Mul, Sub};

    #[derive(Clone, Copy)]
    pub(super) struct Avx2(__m256d);

    macro_rules! op {
        ($trait:ident, $f:ident, $intrinsic:ident) => {
            impl $trait for Avx2 {
                type Output = Avx2;
                #[inline(always)]
                fn $f(self, o: Avx2) -> Avx2 {
                    // SAFETY: AVX is present (see the type's documentation).
                    Avx2(unsafe { $intrinsic(self.0, o.0) })
                }
            }
        };
    }
    op!(Add, add, _mm256_add_pd);
    op!(Sub, sub, _mm256_sub_pd);
    op!(Mul, mul, _mm256_mul_pd);

    // SAFETY (every block below): AVX2 is present (see the type's documentation); `load` and
    // `store` have the caller's contract besides, and the other loads and stores go through a
    // slice of exactly the lanes they touch.
    impl Lane for Avx2 {
        #[inline(always)]
        fn splat(x: f64) -> Avx2 {
            Avx2(unsafe { _mm256_set1_pd(x) })
        }
        #[inline(always)]
        unsafe fn load(x: &[f64], at: usize) -> Avx2 {
            debug_assert!(at + LANES <= x.len());
            Avx2(unsafe { _mm256_loadu_pd(x.as_ptr().add(at)) })
        }
        #[inline(always)]
        unsafe fn store(self, y: &mut [f64], at: usize) {
            debug_assert!(at + LANES <= y.len());
            unsafe { _mm256_storeu_pd(y.as_mut_ptr().add(at), self.0) }
        }
    }

    impl Vector for Avx2 {
        #[inline(always)]
        fn load_f32(x: &[f32], at: usize) -> Avx2 {
            let x = &x[at..at + LANES];
            Avx2(unsafe { _mm256_cvtps_pd(_mm_loadu_ps(x.as_ptr())) })
        }
        #[inline(always)]
        fn deinterleave(a: Avx2, b: Avx2) -> (Avx2, Avx2) {
            unsafe {
                let even = _mm256_unpacklo_pd(a.0, b.0); // a0 b0 a2 b2
                let odd = _mm256_unpackhi_pd(a.0, b.0); // a1 b1 a3 b3
                (
                    Avx2(_mm256_permute4x64_pd::<0b11_01_10_00>(even)),
                    Avx2(_mm256_permute4x64_pd::<0b11_01_10_00>(odd)),
                )
            }
        }
        #[inline(always)]
        fn store_f32(self, y: &mut [f32], at: usize) {
            let y = &mut y[at..at + LANES];
            unsafe { _mm_storeu_ps(y.as_mut_ptr(), _mm256_cvtpd_ps(self.0)) }
        }
        #[inline(always)]
        fn reversed(self) -> Avx2 {
            Avx2(unsafe { _mm256_permute4x64_pd::<0b00_01_10_11>(self.0) })
        }
        #[inline(always)]
        fn sqrt_f32(row: &mut [f32]) {
            let mut chunks = row.chunks_exact_mut(8);
            for c in &mut chunks {
                unsafe {
                    _mm256_storeu_ps(c.as_mut_ptr(), _mm256_sqrt_ps(_mm256_loadu_ps(c.as_ptr())))
                }
            }
            for v in chunks.into_remainder() {
                *v = crate::math::sqrtf(*v);
            }
        }
        #[inline(always)]
        fn transpose([a, b, c, d]: [Avx2; 4]) -> [Avx2; 4] {
            unsafe {
                let ab_even = _mm256_unpacklo_pd(a.0, b.0); // a0 b0 a2 b2
                let ab_odd = _mm256_unpackhi_pd(a.0, b.0); // a1 b1 a3 b3
                let cd_even = _mm256_unpacklo_pd(c.0, d.0);
                let cd_odd = _mm256_unpackhi_pd(c.0, d.0);
                [
                    Avx2(_mm256_permute2f128_pd::<0x20>(ab_even, cd_even)),
                    Avx2(_mm256_permute2f128_pd::<0x20>(ab_odd, cd_odd)),
                    Avx2(_mm256_permute2f128_pd::<0x31>(ab_even, cd_even)),
                    Avx2(_mm256_permute2f128_pd::<0x31>(ab_odd, cd_odd)),
                ]
            }
        }
        #[inline(always)]
        fn lane(self, i: usize) -> f64 {
            let mut v = [0.0; LANES];
            unsafe { _mm256_storeu_pd(v.as_mut_ptr(), self.0) };
            v[i]
        }
    }
}

/// A complex value (or [`LANES`] of them) inside a butterfly.
#[derive(Clone, Copy)]
struct C<T> {
    re: T,
    im: T,
}

impl<T: Lane> C<T> {
    #[inline(always)]
    fn new(re: T, im: T) -> C<T> {
        C { re, im }
    }

    #[inline(always)]
    fn splat(c: C<f64>) -> C<T> {
        C::new(T::splat(c.re), T::splat(c.im))
    }

    /// `-i * self`.
    #[inline(always)]
    fn mul_neg_i(self) -> C<T> {
        C::new(self.im, T::splat(0.0) - self.re)
    }

    #[inline(always)]
    fn scale(self, k: f64) -> C<T> {
        C::new(self.re * T::splat(k), self.im * T::splat(k))
    }
}

impl<T: Lane> Add for C<T> {
    type Output = C<T>;
    #[inline(always)]
    fn add(self, o: C<T>) -> C<T> {
        C::new(self.re + o.re, self.im + o.im)
    }
}

impl<T: Lane> Sub for C<T> {
    type Output = C<T>;
    #[inline(always)]
    fn sub(self, o: C<T>) -> C<T> {
        C::new(self.re - o.re, self.im - o.im)
    }
}

impl<T: Lane> Mul for C<T> {
    type Output = C<T>;
    #[inline(always)]
    fn mul(self, o: C<T>) -> C<T> {
        C::new(
            self.re * o.re - self.im * o.im,
            self.re * o.im + self.im * o.re,
        )
    }
}

/// `e^{-2 pi i t / l}`, with `t` reduced modulo `l` first so the angle stays small.
fn root(t: usize, l: usize) -> C<f64> {
    let a = -2.0 * core::f64::consts::PI * (t % l) as f64 / l as f64;
    C::new(math::cos(a), math::sin(a))
}

/// An `R`-point DFT butterfly, on one value or on [`LANES`].
trait Butterfly<const R: usize> {
    fn dft<T: Lane>(a: [C<T>; R]) -> [C<T>; R];
}

struct Radix2;
struct Radix3;
struct Radix4;
struct Radix5;
struct Radix8;

impl Butterfly<2> for Radix2 {
    #[inline(always)]
    fn dft<T: Lane>([a0, a1]: [C<T>; 2]) -> [C<T>; 2] {
        [a0 + a1, a0 - a1]
    }
}

/// `y_{1,2} = a0 - (a1 + a2)/2 -+ i sin(2 pi/3) (a1 - a2)`.
impl Butterfly<3> for Radix3 {
    #[inline(always)]
    fn dft<T: Lane>([a0, a1, a2]: [C<T>; 3]) -> [C<T>; 3] {
        const S: f64 = 0.866_025_403_784_438_6; // sin(2 pi / 3)
        let t1 = a1 + a2;
        let t2 = a0 - t1.scale(0.5);
        let t3 = (a1 - a2).scale(S).mul_neg_i();
        [a0 + t1, t2 + t3, t2 - t3]
    }
}

/// `w_4 = -i`.
impl Butterfly<4> for Radix4 {
    #[inline(always)]
    fn dft<T: Lane>([a0, a1, a2, a3]: [C<T>; 4]) -> [C<T>; 4] {
        let t0 = a0 + a2;
        let t1 = a0 - a2;
        let t2 = a1 + a3;
        let t3 = (a1 - a3).mul_neg_i();
        [t0 + t2, t1 + t3, t0 - t2, t1 - t3]
    }
}

/// Through the symmetric pairs `b_1 = a1 + a4`, `b_2 = a2 + a3`, `d_1 = a1 - a4`,
/// `d_2 = a2 - a3`: `y_{1,4} = a0 + c1 b1 + c2 b2 -+ i (s1 d1 + s2 d2)`,
/// `y_{2,3} = a0 + c2 b1 + c1 b2 -+ i (s2 d1 - s1 d2)`, with `c_k = cos(2 pi k/5)`,
/// `s_k = sin(2 pi k/5)`.
impl Butterfly<5> for Radix5 {
    #[inline(always)]
    fn dft<T: Lane>([a0, a1, a2, a3, a4]: [C<T>; 5]) -> [C<T>; 5] {
        const C1: f64 = 0.309_016_994_374_947_45; // cos(2 pi / 5)
        const C2: f64 = -0.809_016_994_374_947_5; // cos(4 pi / 5)
        const S1: f64 = 0.951_056_516_295_153_5; // sin(2 pi / 5)
        const S2: f64 = 0.587_785_252_292_473_1; // sin(4 pi / 5)
        let (b1, b2, d1, d2) = (a1 + a4, a2 + a3, a1 - a4, a2 - a3);
        let e1 = a0 + b1.scale(C1) + b2.scale(C2);
        let e2 = a0 + b1.scale(C2) + b2.scale(C1);
        let o1 = (d1.scale(S1) + d2.scale(S2)).mul_neg_i();
        let o2 = (d1.scale(S2) - d2.scale(S1)).mul_neg_i();
        [a0 + b1 + b2, e1 + o1, e2 + o2, e2 - o2, e1 - o1]
    }
}

/// Two 4-point DFTs of the even and the odd inputs, joined by `w_8^k`:
/// `y_k = E_k + w_8^k O_k`, `y_{k+4} = E_k - w_8^k O_k`, with `w_8 = (1 - i)/sqrt 2`,
/// `w_8^2 = -i`, `w_8^3 = -(1 + i)/sqrt 2`.
impl Butterfly<8> for Radix8 {
    #[inline(always)]
    fn dft<T: Lane>([a0, a1, a2, a3, a4, a5, a6, a7]: [C<T>; 8]) -> [C<T>; 8] {
        const H: f64 = core::f64::consts::FRAC_1_SQRT_2;
        let [e0, e1, e2, e3] = Radix4::dft([a0, a2, a4, a6]);
        let [o0, o1, o2, o3] = Radix4::dft([a1, a3, a5, a7]);
        let o1 = C::new(o1.re + o1.im, o1.im - o1.re).scale(H);
        let o2 = o2.mul_neg_i();
        let o3 = C::new(o3.im - o3.re, T::splat(0.0) - (o3.re + o3.im)).scale(H);
        [
            e0 + o0,
            e1 + o1,
            e2 + o2,
            e3 + o3,
            e0 - o0,
            e1 - o1,
            e2 - o2,
            e3 - o3,
        ]
    }
}

/// Whether radix `r` has a written-out butterfly (else the direct sum).
fn written_out(r: usize) -> bool {
    matches!(r, 2 | 3 | 4 | 5 | 8)
}

/// One Stockham stage (see the module documentation).
#[derive(Clone, Debug)]
struct Stage {
    radix: usize,
    /// Stride `s`: the product of the earlier radices.
    s: usize,
    /// `m = n / (s r)`.
    m: usize,
    /// Offset of this stage's twiddles `w_{rm}^{j p}` (`j = 1..r`, `p < m`, `j`-major) in the
    /// plan's twiddle arrays; for a generic radix the `r` roots `w_r^t` follow them.
    tw: usize,
}

/// Source and destination of one stage (`(re, im)` pairs of length `n`) and the twiddles.
struct Io<'a> {
    xr: &'a [f64],
    xi: &'a [f64],
    yr: &'a mut [f64],
    yi: &'a mut [f64],
    twr: &'a [f64],
    twi: &'a [f64],
}

/// Unchecked access to a stage's arrays. Safety, for each: `at` plus one value's or vector's
/// worth is within the array read or written, which holds for every index of the stage
/// formula (`q + s(p + m k)` and `q + s(r p + j)` are below `n = s m r` for `q < s`, `p < m`,
/// `j, k < r`; twiddle `st.tw + (j - 1) m + p` is in the stage's table) once
/// [`Io::check`] has passed.
impl Io<'_> {
    /// That the arrays hold the `n` values and the twiddles of stage `st`.
    fn check(&self, st: &Stage) {
        let n = st.s * st.m * st.radix;
        let tw = st.tw + (st.radix - 1) * st.m;
        assert!(
            self.xr.len() >= n
                && self.xi.len() >= n
                && self.yr.len() >= n
                && self.yi.len() >= n
                && self.twr.len() >= tw
                && self.twi.len() >= tw,
            "FFT stage arrays too short"
        );
    }

    #[inline(always)]
    unsafe fn x<T: Lane>(&self, at: usize) -> C<T> {
        // SAFETY: the caller's contract (see the impl).
        unsafe { C::new(T::load(self.xr, at), T::load(self.xi, at)) }
    }

    #[inline(always)]
    unsafe fn tw<T: Lane>(&self, at: usize) -> C<T> {
        // SAFETY: as above.
        unsafe { C::new(T::load(self.twr, at), T::load(self.twi, at)) }
    }

    #[inline(always)]
    unsafe fn put<T: Lane>(&mut self, at: usize, c: C<T>) {
        // SAFETY: as above.
        unsafe {
            c.re.store(self.yr, at);
            c.im.store(self.yi, at);
        }
    }
}

/// `[f(0), .., f(R - 1)]` by a plain loop, which inlines into the AVX2 compilation where
/// `core::array::from_fn` (a call) does not.
#[inline(always)]
fn gather<const R: usize, T: Lane>(f: impl Fn(usize) -> C<T>) -> [C<T>; R] {
    let mut a = [C::new(T::splat(0.0), T::splat(0.0)); R];
    for (k, a) in a.iter_mut().enumerate() {
        *a = f(k);
    }
    a
}

/// Butterflies `q..` (one value or one vector's worth) of group `p`, when `s > 1`.
///
/// # Safety
/// [`Io::check`] passed for `st`, `p < m`, and `q` plus `T`'s width is at most `s`.
#[inline(always)]
unsafe fn strided_step<const R: usize, B: Butterfly<R>, T: Lane>(
    st: &Stage,
    io: &mut Io<'_>,
    p: usize,
    q: usize,
) {
    let (s, m) = (st.s, st.m);
    // SAFETY: the indices of the stage formula (see Io).
    unsafe {
        let b = B::dft::<T>(gather(|k| io.x(s * (p + m * k) + q)));
        io.put(s * R * p + q, b[0]);
        for (j, &bj) in b.iter().enumerate().skip(1) {
            let w = C::<T>::splat(io.tw::<f64>(st.tw + (j - 1) * m + p));
            io.put(s * (R * p + j) + q, bj * w);
        }
    }
}

/// A stage with a written-out `R`-point butterfly `B`, vectors `W`.
#[inline(always)]
fn stage_fixed<const R: usize, B: Butterfly<R>, W: Vector>(st: &Stage, mut io: Io<'_>) {
    let (s, m) = (st.s, st.m);
    io.check(st);
    if s > 1 {
        for p in 0..m {
            let mut q = 0;
            while q + LANES <= s {
                // SAFETY: checked; p < m, q + LANES <= s.
                unsafe { strided_step::<R, B, W>(st, &mut io, p, q) };
                q += LANES;
            }
            for q in q..s {
                // SAFETY: checked; p < m, q < s.
                unsafe { strided_step::<R, B, f64>(st, &mut io, p, q) };
            }
        }
        return;
    }
    // SAFETY (the rest): checked, and with s = 1 every index below is one of the stage
    // formula's for p < m (p + LANES <= m in the vector loop).
    // The first stage (s = 1): LANES consecutive p per step, each writing R consecutive
    // outputs, so the results are transposed on the way out.
    let mut p = 0;
    while p + LANES <= m {
        let mut t = B::dft::<W>(gather(|k| unsafe { io.x(p + m * k) }));
        for (j, tj) in t.iter_mut().enumerate().skip(1) {
            *tj = *tj * unsafe { io.tw::<W>(st.tw + (j - 1) * m + p) };
        }
        if R.is_multiple_of(LANES) {
            // Output i's R values are lane i of t[0..R]: R / LANES transposes of LANES rows.
            for c in (0..R).step_by(LANES) {
                let re = W::transpose([t[c].re, t[c + 1].re, t[c + 2].re, t[c + 3].re]);
                let im = W::transpose([t[c].im, t[c + 1].im, t[c + 2].im, t[c + 3].im]);
                for i in 0..LANES {
                    unsafe { io.put(R * (p + i) + c, C::new(re[i], im[i])) };
                }
            }
        } else {
            for i in 0..LANES {
                for (j, tj) in t.iter().enumerate() {
                    let c = C::new(tj.re.lane(i), tj.im.lane(i));
                    unsafe { io.put::<f64>(R * (p + i) + j, c) };
                }
            }
        }
        p += LANES;
    }
    for p in p..m {
        let b = B::dft::<f64>(gather(|k| unsafe { io.x(p + m * k) }));
        unsafe { io.put(R * p, b[0]) };
        for (j, &bj) in b.iter().enumerate().skip(1) {
            let w = unsafe { io.tw::<f64>(st.tw + (j - 1) * m + p) };
            unsafe { io.put(R * p + j, bj * w) };
        }
    }
}

/// A stage of any radix `r` by the direct sum `sum_k x_k w_r^{jk}` (roots after the twiddles).
#[inline(always)]
fn stage_generic(st: &Stage, io: Io<'_>) {
    let (r, s, m) = (st.radix, st.s, st.m);
    let roots = st.tw + (r - 1) * m;
    for p in 0..m {
        for j in 0..r {
            let yr = &mut io.yr[s * (r * p + j)..][..s];
            let yi = &mut io.yi[s * (r * p + j)..][..s];
            yr.fill(0.0);
            yi.fill(0.0);
            for k in 0..r {
                let w = C::new(io.twr[roots + j * k % r], io.twi[roots + j * k % r]);
                let xr = &io.xr[s * (p + m * k)..][..s];
                let xi = &io.xi[s * (p + m * k)..][..s];
                for q in 0..s {
                    let t = C::new(xr[q], xi[q]) * w;
                    yr[q] += t.re;
                    yi[q] += t.im;
                }
            }
            if j > 0 {
                let at = st.tw + (j - 1) * m + p;
                let w = C::new(io.twr[at], io.twi[at]);
                for q in 0..s {
                    let t = C::new(yr[q], yi[q]) * w;
                    yr[q] = t.re;
                    yi[q] = t.im;
                }
            }
        }
    }
}

/// A plan's tables and scratch, borrowed for one transform.
struct Tables<'a> {
    stages: &'a [Stage],
    twr: &'a [f64],
    twi: &'a [f64],
    sr: &'a mut [f64],
    si: &'a mut [f64],
}

/// Every stage in order, ping-ponging between `(re, im)` and the scratch; true when the result
/// ends in the scratch (an odd number of stages), false when in `(re, im)`.
#[inline(always)]
fn run_stages<W: Vector>(t: &mut Tables<'_>, re: &mut [f64], im: &mut [f64]) -> bool {
    let (twr, twi) = (t.twr, t.twi);
    let (mut x, mut y) = ((re, im), (&mut *t.sr, &mut *t.si));
    for st in t.stages {
        let io = Io {
            xr: x.0,
            xi: x.1,
            yr: y.0,
            yi: y.1,
            twr,
            twi,
        };
        match st.radix {
            2 => stage_fixed::<2, Radix2, W>(st, io),
            3 => stage_fixed::<3, Radix3, W>(st, io),
            4 => stage_fixed::<4, Radix4, W>(st, io),
            5 => stage_fixed::<5, Radix5, W>(st, io),
            8 => stage_fixed::<8, Radix8, W>(st, io),
            _ => stage_generic(st, io),
        }
        core::mem::swap(&mut x, &mut y);
    }
    t.stages.len() % 2 == 1
}

/// Real-transform bin `k` from `z = Z[k]`, `zc = Z[h - k]` and `w = e^{-2 pi i k / n}` (see
/// [`RealFft`]).
#[inline(always)]
fn split_bin<T: Lane>(z: C<T>, zc: C<T>, w: C<T>) -> C<T> {
    let half = T::splat(0.5);
    let e = C::new(half * (z.re + zc.re), half * (z.im - zc.im));
    let o = C::new(half * (z.im + zc.im), half * (zc.re - z.re));
    e + w * o
}

/// The buffers of a [`RealFft`] of even length `n = 2h`, borrowed for one transform: `z`
/// (length `h`, filled by the caller with `x[2t] + i x[2t+1]`), the split twiddles and the
/// output bins (length `h + 1`).
struct RealBuffers<'a> {
    zr: &'a mut [f64],
    zi: &'a mut [f64],
    wr: &'a [f64],
    wi: &'a [f64],
    out_re: &'a mut [f64],
    out_im: &'a mut [f64],
}

/// The length-`h` transform of `z`, split into bins `0..=h`.
#[inline(always)]
fn real_even<W: Vector>(mut t: Tables<'_>, b: &mut RealBuffers<'_>) {
    let RealBuffers {
        zr,
        zi,
        wr,
        wi,
        out_re,
        out_im,
    } = b;
    let (wr, wi) = (*wr, *wi);
    let h = zr.len();
    let (zr, zi): (&[f64], &[f64]) = match run_stages::<W>(&mut t, zr, zi) {
        true => (t.sr, t.si),
        false => (zr, zi),
    };
    out_re[0] = zr[0] + zi[0];
    out_im[0] = 0.0;
    out_re[h] = zr[0] - zi[0];
    out_im[h] = 0.0;
    assert!(
        zi.len() == h && wr.len() >= h && wi.len() >= h && out_re.len() > h && out_im.len() > h
    );
    let mut k = 1;
    while k + LANES <= h {
        // Z[h - k - i] for i < LANES: one vector from h - k - (LANES - 1), reversed.
        let at = h + 1 - k - LANES;
        // SAFETY: k + LANES <= h and at + LANES = h + 1 - k <= h, within every array.
        let x = unsafe {
            let zc = C::new(W::load(zr, at).reversed(), W::load(zi, at).reversed());
            let z = C::new(W::load(zr, k), W::load(zi, k));
            split_bin(z, zc, C::new(W::load(wr, k), W::load(wi, k)))
        };
        // SAFETY: as above.
        unsafe {
            x.re.store(out_re, k);
            x.im.store(out_im, k);
        }
        k += LANES;
    }
    for k in k..h {
        let zc = C::new(zr[h - k], zi[h - k]);
        let x = split_bin(C::new(zr[k], zi[k]), zc, C::new(wr[k], wi[k]));
        out_re[k] = x.re;
        out_im[k] = x.im;
    }
}

/// `z[t] = x[2t] + i x[2t+1]` for real input `x`.
#[inline(always)]
fn pack_f64(x: &[f64], zr: &mut [f64], zi: &mut [f64]) {
    for ((pair, r), i) in x.chunks_exact(2).zip(zr).zip(zi) {
        *r = pair[0];
        *i = pair[1];
    }
}

/// `z[t] = w[2t] x[2t] + i w[2t+1] x[2t+1]` for an f32 frame `x` and an f64 window `w`.
#[inline(always)]
fn pack_windowed<W: Vector>(x: &[f32], w: &[f64], zr: &mut [f64], zi: &mut [f64]) {
    let h = zr.len().min(zi.len()).min(x.len() / 2).min(w.len() / 2);
    let mut t = 0;
    while t + LANES <= h {
        let (at, next) = (2 * t, 2 * t + LANES);
        // SAFETY: 2t + 2 LANES <= 2h <= x.len(), w.len(); t + LANES <= h <= zr, zi.
        unsafe {
            let a = W::load_f32(x, at) * W::load(w, at);
            let b = W::load_f32(x, next) * W::load(w, next);
            let (even, odd) = W::deinterleave(a, b);
            even.store(zr, t);
            odd.store(zi, t);
        }
        t += LANES;
    }
    for t in t..h {
        zr[t] = w[2 * t] * x[2 * t] as f64;
        zi[t] = w[2 * t + 1] * x[2 * t + 1] as f64;
    }
}

/// `row[k] = |X[k]|^2` rounded to f32, or with `magnitude` its f32 square root (the two
/// roundings are within 1 ulp of `|X[k]|` rounded once).
#[inline(always)]
fn bins_to_row<W: Vector>(re: &[f64], im: &[f64], magnitude: bool, row: &mut [f32]) {
    let n = row.len();
    assert!(re.len() >= n && im.len() >= n);
    let mut k = 0;
    while k + LANES <= n {
        // SAFETY: k + LANES <= n <= re.len(), im.len().
        let (r, i) = unsafe { (W::load(re, k), W::load(im, k)) };
        (r * r + i * i).store_f32(row, k);
        k += LANES;
    }
    for k in k..n {
        row[k] = (re[k] * re[k] + im[k] * im[k]) as f32;
    }
    if magnitude {
        W::sqrt_f32(row);
    }
}

/// The complex transform.
#[inline(always)]
fn complex<W: Vector>(mut t: Tables<'_>, re: &mut [f64], im: &mut [f64]) {
    if run_stages::<W>(&mut t, re, im) {
        re.copy_from_slice(t.sr);
        im.copy_from_slice(t.si);
    }
}

/// The real transform of even length from f64 input.
#[inline(always)]
fn real<W: Vector>(t: Tables<'_>, input: &[f64], mut b: RealBuffers<'_>) {
    pack_f64(input, b.zr, b.zi);
    real_even::<W>(t, &mut b)
}

/// A windowed frame's power or magnitude row, even length.
#[inline(always)]
fn windowed_row<W: Vector>(
    t: Tables<'_>,
    frame: (&[f32], &[f64]),
    mut b: RealBuffers<'_>,
    magnitude: bool,
    row: &mut [f32],
) {
    pack_windowed::<W>(frame.0, frame.1, b.zr, b.zi);
    real_even::<W>(t, &mut b);
    bins_to_row::<W>(b.out_re, b.out_im, magnitude, row);
}

/// Which compilation of the transforms a plan runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Isa {
    Portable,
    #[cfg(target_arch = "x86_64")]
    Avx2,
}

impl Isa {
    fn detect() -> Isa {
        #[cfg(target_arch = "x86_64")]
        {
            use crate::tensor::quant::{simd_level, SimdLevel};
            if simd_level() >= SimdLevel::Avx2 {
                return Isa::Avx2;
            }
        }
        Isa::Portable
    }
}

/// The three entry points compiled with AVX2 + FMA over [`avx2::Avx2`].
///
/// # Safety (each)
/// The CPU must have AVX2 and FMA ([`Isa::Avx2`]).
#[cfg(target_arch = "x86_64")]
mod compiled_avx2 {
    use super::avx2::Avx2;
    use super::{RealBuffers, Tables};

    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn complex(t: Tables<'_>, re: &mut [f64], im: &mut [f64]) {
        super::complex::<Avx2>(t, re, im)
    }

    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn real(t: Tables<'_>, input: &[f64], b: RealBuffers<'_>) {
        super::real::<Avx2>(t, input, b)
    }

    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn windowed_row(
        t: Tables<'_>,
        frame: (&[f32], &[f64]),
        b: RealBuffers<'_>,
        magnitude: bool,
        row: &mut [f32],
    ) {
        super::windowed_row::<Avx2>(t, frame, b, magnitude, row)
    }
}

/// `n`'s radices in the order the stages use them: 8s first, then one 4, then 2, 3, 5, then
/// any other prime factors ascending.
fn factorize(mut n: usize) -> Vec<usize> {
    let mut radices = Vec::new();
    while n.is_multiple_of(8) {
        radices.push(8);
        n /= 8;
    }
    if n.is_multiple_of(4) {
        radices.push(4);
        n /= 4;
    }
    let mut f = 2;
    while n > 1 {
        if f * f > n {
            radices.push(n);
            break;
        }
        while n.is_multiple_of(f) {
            radices.push(f);
            n /= f;
        }
        f += 1;
    }
    radices
}

/// A complex forward transform of one length, with its twiddles and scratch.
#[derive(Clone, Debug)]
pub struct FftPlan {
    n: usize,
    stages: Vec<Stage>,
    twr: Vec<f64>,
    twi: Vec<f64>,
    scratch_re: Vec<f64>,
    scratch_im: Vec<f64>,
    isa: Isa,
}

impl FftPlan {
    /// A plan for length `n >= 1`.
    pub fn new(n: usize) -> Result<FftPlan> {
        if n == 0 {
            return Err(Error::invalid("FFT length must be at least 1"));
        }
        let (mut stages, mut twr, mut twi) = (Vec::new(), Vec::new(), Vec::new());
        let mut s = 1;
        for radix in factorize(n) {
            let m = n / (s * radix);
            let tw = twr.len();
            let roots = if written_out(radix) { 0 } else { radix };
            let table = (1..radix)
                .flat_map(|j| (0..m).map(move |p| root(j * p, radix * m)))
                .chain((0..roots).map(|t| root(t, radix)));
            for w in table {
                twr.push(w.re);
                twi.push(w.im);
            }
            stages.push(Stage { radix, s, m, tw });
            s *= radix;
        }
        Ok(FftPlan {
            n,
            stages,
            twr,
            twi,
            scratch_re: vec![0.0; n],
            scratch_im: vec![0.0; n],
            isa: Isa::detect(),
        })
    }

    /// The transform length.
    pub fn len(&self) -> usize {
        self.n
    }

    /// Always false: a plan has length at least 1.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// The compilation this plan runs: `avx2` or `portable`.
    pub fn isa_name(&self) -> &'static str {
        match self.isa {
            Isa::Portable => "portable",
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2 => "avx2",
        }
    }

    /// The portable compilation, whatever the CPU (tests compare it with the one
    /// [`FftPlan::new`] chose).
    pub fn portable(mut self) -> FftPlan {
        self.isa = Isa::Portable;
        self
    }

    fn tables(&mut self) -> Tables<'_> {
        Tables {
            stages: &self.stages,
            twr: &self.twr,
            twi: &self.twi,
            sr: &mut self.scratch_re,
            si: &mut self.scratch_im,
        }
    }

    /// In place, `X[k] = sum_t x[t] e^{-2 pi i k t / n}` (unnormalised), with the real parts in
    /// `re` and the imaginary parts in `im`, both of length `n`.
    pub fn forward(&mut self, re: &mut [f64], im: &mut [f64]) -> Result<()> {
        if re.len() != self.n || im.len() != self.n {
            return Err(Error::invalid(alloc::format!(
                "FFT of length {} given arrays of {} and {} values",
                self.n,
                re.len(),
                im.len()
            )));
        }
        let isa = self.isa;
        let t = self.tables();
        match isa {
            Isa::Portable => complex::<Portable>(t, re, im),
            // SAFETY: Isa::Avx2 is chosen only when the CPU has AVX2 and FMA.
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2 => unsafe { compiled_avx2::complex(t, re, im) },
        }
        Ok(())
    }
}

/// The forward transform of a real sequence of length `n`: bins `0..=n/2` (the others are
/// their conjugates).
///
/// Even `n` runs one complex transform of length `h = n/2` on `z[t] = x[2t] + i x[2t+1]` and
/// splits it: with `E[k] = (Z[k] + conj Z[h-k]) / 2` and `O[k] = -i (Z[k] - conj Z[h-k]) / 2`
/// (the transforms of the even and odd samples), `X[k] = E[k] + e^{-2 pi i k / n} O[k]`.
/// Odd `n` runs the complex transform of length `n` with a zero imaginary part.
#[derive(Clone, Debug)]
pub struct RealFft {
    n: usize,
    plan: FftPlan,
    /// `e^{-2 pi i k / n}` for `k < n/2` (even `n` only).
    wr: Vec<f64>,
    wi: Vec<f64>,
    zr: Vec<f64>,
    zi: Vec<f64>,
    /// The bins of [`RealFft::windowed_row`] (even `n`).
    out_re: Vec<f64>,
    out_im: Vec<f64>,
}

impl RealFft {
    /// A plan for real input of length `n >= 1`.
    pub fn new(n: usize) -> Result<RealFft> {
        if n == 0 {
            return Err(Error::invalid("FFT length must be at least 1"));
        }
        let (len, twiddles) = if n.is_multiple_of(2) {
            (n / 2, n / 2)
        } else {
            (n, 0)
        };
        let (wr, wi) = (0..twiddles)
            .map(|k| root(k, n))
            .map(|w| (w.re, w.im))
            .unzip();
        Ok(RealFft {
            n,
            plan: FftPlan::new(len)?,
            wr,
            wi,
            zr: vec![0.0; len],
            zi: vec![0.0; len],
            out_re: vec![0.0; n / 2 + 1],
            out_im: vec![0.0; n / 2 + 1],
        })
    }

    /// The input length `n`.
    pub fn len(&self) -> usize {
        self.n
    }

    /// Always false: a plan has length at least 1.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// The number of output bins, `n/2 + 1`.
    pub fn bins(&self) -> usize {
        self.n / 2 + 1
    }

    /// The portable compilation (see [`FftPlan::portable`]).
    pub fn portable(mut self) -> RealFft {
        self.plan = self.plan.portable();
        self
    }

    /// `X[k] = sum_t input[t] e^{-2 pi i k t / n}` for `k = 0..=n/2`, into `out_re` and
    /// `out_im` (each at least `n/2 + 1` long; only that many are written).
    pub fn forward(&mut self, input: &[f64], out_re: &mut [f64], out_im: &mut [f64]) -> Result<()> {
        let bins = self.bins();
        if input.len() != self.n {
            return Err(Error::invalid(alloc::format!(
                "real FFT of length {} given {} samples",
                self.n,
                input.len()
            )));
        }
        if out_re.len() < bins || out_im.len() < bins {
            return Err(Error::BufferTooSmall {
                needed: bins,
                provided: out_re.len().min(out_im.len()),
            });
        }
        let (out_re, out_im) = (&mut out_re[..bins], &mut out_im[..bins]);
        if self.n % 2 == 1 {
            self.zr.copy_from_slice(input);
            self.zi.fill(0.0);
            self.plan.forward(&mut self.zr, &mut self.zi)?;
            out_re.copy_from_slice(&self.zr[..bins]);
            out_im.copy_from_slice(&self.zi[..bins]);
            return Ok(());
        }
        let isa = self.plan.isa;
        let b = RealBuffers {
            zr: &mut self.zr,
            zi: &mut self.zi,
            wr: &self.wr,
            wi: &self.wi,
            out_re,
            out_im,
        };
        let t = self.plan.tables();
        match isa {
            Isa::Portable => real::<Portable>(t, input, b),
            // SAFETY: Isa::Avx2 is chosen only when the CPU has AVX2 and FMA.
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2 => unsafe { compiled_avx2::real(t, input, b) },
        }
        Ok(())
    }

    /// The STFT's frame transform in one pass: `row[k] = |X[k]|^2`, or `|X[k]|` with
    /// `magnitude`, for `X` the transform of `window[t] * frame[t]`, rounded to f32 (`frame`,
    /// `window` of length `n`, `row` of at least `n/2 + 1`; only that many are written).
    pub fn windowed_row(
        &mut self,
        frame: &[f32],
        window: &[f64],
        magnitude: bool,
        row: &mut [f32],
    ) -> Result<()> {
        let bins = self.bins();
        if frame.len() != self.n || window.len() != self.n {
            return Err(Error::invalid(alloc::format!(
                "real FFT of length {} given a frame of {} and a window of {}",
                self.n,
                frame.len(),
                window.len()
            )));
        }
        if row.len() < bins {
            return Err(Error::BufferTooSmall {
                needed: bins,
                provided: row.len(),
            });
        }
        let row = &mut row[..bins];
        if self.n % 2 == 1 {
            for ((z, &w), &x) in self.zr.iter_mut().zip(window).zip(frame) {
                *z = w * x as f64;
            }
            self.zi.fill(0.0);
            self.plan.forward(&mut self.zr, &mut self.zi)?;
            bins_to_row::<Portable>(&self.zr[..bins], &self.zi[..bins], magnitude, row);
            return Ok(());
        }
        let isa = self.plan.isa;
        let b = RealBuffers {
            zr: &mut self.zr,
            zi: &mut self.zi,
            wr: &self.wr,
            wi: &self.wi,
            out_re: &mut self.out_re,
            out_im: &mut self.out_im,
        };
        let t = self.plan.tables();
        match isa {
            Isa::Portable => windowed_row::<Portable>(t, (frame, window), b, magnitude, row),
            // SAFETY: Isa::Avx2 is chosen only when the CPU has AVX2 and FMA.
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2 => unsafe {
                compiled_avx2::windowed_row(t, (frame, window), b, magnitude, row)
            },
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The direct `O(n^2)` DFT, angles reduced modulo `n`.
    fn dft(re: &[f64], im: &[f64]) -> (Vec<f64>, Vec<f64>) {
        let n = re.len();
        (0..n)
            .map(|k| {
                (0..n).fold((0.0, 0.0), |(sr, si), t| {
                    let x = C::new(re[t], im[t]) * root(k * t, n);
                    (sr + x.re, si + x.im)
                })
            })
            .unzip()
    }

    fn signal(n: usize, seed: u64) -> Vec<f64> {
        let mut rng = crate::kernels::TestRng::new(seed);
        (0..n).map(|_| rng.uniform() as f64).collect()
    }

    fn max_diff(a: &[f64], b: &[f64]) -> f64 {
        a.iter()
            .zip(b)
            .map(|(x, y)| (x - y).abs())
            .fold(0.0, f64::max)
    }

    #[test]
    fn factorizes_the_preset_sizes() {
        assert_eq!(factorize(512), [8, 8, 8]);
        assert_eq!(factorize(200), [8, 5, 5]);
        assert_eq!(factorize(400), [8, 2, 5, 5]);
        assert_eq!(factorize(32), [8, 4]);
        assert_eq!(factorize(97), [97]);
        assert_eq!(factorize(1), Vec::<usize>::new());
        assert_eq!(factorize(2 * 3 * 7 * 7), [2, 3, 7, 7]);
    }

    #[test]
    fn complex_matches_the_direct_dft() {
        for n in (1..=64).chain([97, 100, 121, 128, 143, 200, 210, 256, 400, 512, 1000, 1024]) {
            let (re0, im0) = (signal(n, n as u64), signal(n, 1000 + n as u64));
            let (wr, wi) = dft(&re0, &im0);
            let mut plan = FftPlan::new(n).unwrap();
            let (mut re, mut im) = (re0.clone(), im0.clone());
            plan.forward(&mut re, &mut im).unwrap();
            let err = max_diff(&re, &wr).max(max_diff(&im, &wi));
            // The direct sum itself is off by ~n * eps; the FFT by ~log(n) * eps.
            assert!(err < 1e-12 * n as f64, "n = {n}: {err:e}");
            let mut portable = FftPlan::new(n).unwrap().portable();
            let (mut pr, mut pi) = (re0, im0);
            portable.forward(&mut pr, &mut pi).unwrap();
            assert_eq!((pr, pi), (re, im), "n = {n}: the compilations differ");
        }
    }

    #[test]
    fn real_matches_the_complex_transform() {
        for n in (1..=40).chain([97, 200, 201, 400, 512, 1024]) {
            let x = signal(n, 7 * n as u64);
            let (wr, wi) = dft(&x, &vec![0.0; n]);
            let mut plan = RealFft::new(n).unwrap();
            let bins = plan.bins();
            let (mut re, mut im) = (vec![9.0; bins + 2], vec![9.0; bins + 2]);
            plan.forward(&x, &mut re, &mut im).unwrap();
            let err = max_diff(&re[..bins], &wr[..bins]).max(max_diff(&im[..bins], &wi[..bins]));
            assert!(err < 1e-12 * n as f64, "n = {n}: {err:e}");
            assert_eq!(&re[bins..], [9.0, 9.0], "n = {n}: wrote past the bins");
            let mut portable = RealFft::new(n).unwrap().portable();
            let (mut pr, mut pi) = (vec![9.0; bins + 2], vec![9.0; bins + 2]);
            portable.forward(&x, &mut pr, &mut pi).unwrap();
            assert_eq!((pr, pi), (re, im), "n = {n}: the compilations differ");
        }
    }

    #[test]
    fn windowed_rows_match_the_transform() {
        for n in [400, 1024, 45, 8] {
            let x: Vec<f32> = signal(n, 5).iter().map(|&v| v as f32).collect();
            let w: Vec<f64> = signal(n, 6).iter().map(|v| v.abs()).collect();
            let windowed: Vec<f64> = x.iter().zip(&w).map(|(&x, &w)| w * x as f64).collect();
            let mut plan = RealFft::new(n).unwrap();
            let bins = plan.bins();
            let (mut re, mut im) = (vec![0.0; bins], vec![0.0; bins]);
            plan.forward(&windowed, &mut re, &mut im).unwrap();
            for magnitude in [false, true] {
                let mut row = vec![7.0f32; bins + 1];
                plan.windowed_row(&x, &w, magnitude, &mut row).unwrap();
                for k in 0..bins {
                    let p = re[k] * re[k] + im[k] * im[k];
                    let want = match magnitude {
                        true => math::sqrtf(p as f32),
                        false => p as f32,
                    };
                    assert_eq!(row[k], want, "n = {n}, bin {k}");
                }
                assert_eq!(row[bins], 7.0);
                let mut portable = RealFft::new(n).unwrap().portable();
                let mut prow = vec![7.0f32; bins + 1];
                portable.windowed_row(&x, &w, magnitude, &mut prow).unwrap();
                assert_eq!(prow, row, "n = {n}: the compilations differ");
            }
        }
    }

    #[test]
    fn parseval() {
        for n in [400, 1024, 1000, 97] {
            let x = signal(n, 3);
            let mut plan = FftPlan::new(n).unwrap();
            let (mut re, mut im) = (x.clone(), vec![0.0; n]);
            plan.forward(&mut re, &mut im).unwrap();
            let time: f64 = x.iter().map(|v| v * v).sum();
            let freq: f64 = re.iter().zip(&im).map(|(r, i)| r * r + i * i).sum::<f64>();
            assert!((freq / n as f64 - time).abs() < 1e-12 * time, "n = {n}");
        }
    }

    #[test]
    fn impulse_and_constant() {
        let mut plan = RealFft::new(400).unwrap();
        let (mut re, mut im) = (vec![0.0; 201], vec![0.0; 201]);
        let mut x = vec![0.0; 400];
        x[0] = 1.0;
        plan.forward(&x, &mut re, &mut im).unwrap();
        assert!(re.iter().all(|&v| (v - 1.0).abs() < 1e-15) && im.iter().all(|&v| v.abs() < 1e-15));
        plan.forward(&[1.0; 400], &mut re, &mut im).unwrap();
        assert!((re[0] - 400.0).abs() < 1e-12);
        assert!(re[1..].iter().chain(&im).all(|&v| v.abs() < 1e-12));
    }

    #[test]
    fn bad_lengths_are_errors() {
        assert!(FftPlan::new(0).is_err());
        assert!(RealFft::new(0).is_err());
        let mut plan = FftPlan::new(8).unwrap();
        assert!(plan.forward(&mut [0.0; 7], &mut [0.0; 8]).is_err());
        let mut real = RealFft::new(8).unwrap();
        assert!(real
            .windowed_row(&[0.0; 8], &[0.0; 7], true, &mut [0.0; 5])
            .is_err());
        assert!(matches!(
            real.windowed_row(&[0.0; 8], &[0.0; 8], true, &mut [0.0; 4]),
            Err(Error::BufferTooSmall {
                needed: 5,
                provided: 4
            })
        ));
        let (mut re, mut im) = ([0.0; 5], [0.0; 4]);
        assert!(matches!(
            real.forward(&[0.0; 8], &mut re, &mut im),
            Err(Error::BufferTooSmall {
                needed: 5,
                provided: 4
            })
        ));
        assert!(real.forward(&[0.0; 9], &mut re, &mut [0.0; 5]).is_err());
    }
}
