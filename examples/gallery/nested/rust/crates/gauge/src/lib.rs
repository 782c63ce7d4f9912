//! Integer signal kernels, `no_std`, C ABI in `include/gauge.h`.
#![cfg_attr(not(test), no_std)]

pub const ABI_VERSION: u32 = 1;

/// Exponential moving average with weight `alpha_pct`% on the new sample,
/// in integer arithmetic (rounded to nearest); the first sample seeds it.
pub fn ewma(samples: &[u32], alpha_pct: u32) -> u32 {
    let alpha = u64::from(alpha_pct.min(100));
    let mut it = samples.iter();
    let Some(&first) = it.next() else { return 0 };
    it.fold(u64::from(first), |acc, &s| {
        (alpha * u64::from(s) + (100 - alpha) * acc + 50) / 100
    }) as u32
}

#[no_mangle]
pub extern "C" fn gauge_abi_version() -> u32 {
    ABI_VERSION
}

/// # Safety
/// `samples` must be NULL or point to `n` readable `u32`s.
#[no_mangle]
pub unsafe extern "C" fn gauge_ewma(samples: *const u32, n: usize, alpha_pct: u32) -> u32 {
    if samples.is_null() {
        return 0;
    }
    ewma(core::slice::from_raw_parts(samples, n), alpha_pct)
}

/// # Safety
/// `samples` must be NULL or point to `n` readable `u32`s.
#[no_mangle]
pub unsafe extern "C" fn gauge_peak(samples: *const u32, n: usize) -> u32 {
    if samples.is_null() {
        return 0;
    }
    core::slice::from_raw_parts(samples, n)
        .iter()
        .copied()
        .max()
        .unwrap_or(0)
}

#[cfg(not(test))]
#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    loop {}
}

#[cfg(test)]
mod tests {
    #[test]
    fn ewma() {
        assert_eq!(super::ewma(&[100, 200], 50), 150);
        assert_eq!(super::ewma(&[], 50), 0);
    }
}
