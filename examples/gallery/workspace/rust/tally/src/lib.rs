//! Summary statistics of a series of numbers, behind the C ABI declared in
//! `gotally/tally.h`. The geometric mean goes through `ln` and `exp`, which
//! come from the C math library (hence `-lm` in the cgo directives).

use std::slice;

/// Must equal `TALLY_ABI_VERSION` in `gotally/tally.h`.
pub const ABI_VERSION: u32 = 1;

/// Mirror of `struct tally_summary` in `gotally/tally.h`.
#[repr(C)]
#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub struct Summary {
    pub count: u64,
    pub min: f64,
    pub max: f64,
    pub sum: f64,
    pub mean: f64,
    /// 0 when any value is not positive.
    pub geomean: f64,
}

pub fn summarize(xs: &[f64]) -> Summary {
    if xs.is_empty() {
        return Summary::default();
    }
    let mut s = Summary {
        count: xs.len() as u64,
        min: f64::INFINITY,
        max: f64::NEG_INFINITY,
        ..Summary::default()
    };
    let mut logs = 0.0;
    let mut all_positive = true;
    for &x in xs {
        s.min = s.min.min(x);
        s.max = s.max.max(x);
        s.sum += x;
        if x > 0.0 {
            logs += x.ln();
        } else {
            all_positive = false;
        }
    }
    s.mean = s.sum / xs.len() as f64;
    if all_positive {
        s.geomean = (logs / xs.len() as f64).exp();
    }
    s
}

#[no_mangle]
pub extern "C" fn tally_abi_version() -> u32 {
    ABI_VERSION
}

/// # Safety
/// `xs` must point to `n` doubles (or be NULL with `n == 0`); `out` must be
/// a valid pointer.
#[no_mangle]
pub unsafe extern "C" fn tally_summarize(xs: *const f64, n: usize, out: *mut Summary) -> i32 {
    if out.is_null() || (xs.is_null() && n != 0) {
        return -1;
    }
    let values = if n == 0 { &[][..] } else { slice::from_raw_parts(xs, n) };
    *out = summarize(values);
    0
}

#[cfg(test)]
mod tests {
    use super::summarize;

    #[test]
    fn summary() {
        let s = summarize(&[1.0, 2.0, 4.0, 8.0]);
        assert_eq!((s.count, s.min, s.max, s.sum, s.mean), (4, 1.0, 8.0, 15.0, 3.75));
        assert!((s.geomean - 8f64.sqrt()).abs() < 1e-12);
        assert_eq!(summarize(&[-1.0, 2.0]).geomean, 0.0);
        assert_eq!(summarize(&[]).count, 0);
    }
}
