//! C ABI over `beacon-core`; the header is `include/beacon.h`.
#![cfg_attr(not(test), no_std)]

use beacon_core::FrameError;

/// Must equal `BEACON_ABI_VERSION` in `include/beacon.h`.
pub const ABI_VERSION: u32 = 1;

#[no_mangle]
pub extern "C" fn beacon_abi_version() -> u32 {
    ABI_VERSION
}

/// # Safety
/// `data` must be NULL or point to `len` readable bytes.
#[no_mangle]
pub unsafe extern "C" fn beacon_crc32(data: *const u8, len: usize) -> u32 {
    if data.is_null() {
        return 0;
    }
    beacon_core::crc32(core::slice::from_raw_parts(data, len))
}

#[no_mangle]
pub extern "C" fn beacon_fib(n: u32) -> u64 {
    beacon_core::fib(n)
}

/// # Safety
/// `payload` must point to `len` readable bytes and `out` to `out_cap`
/// writable bytes; the two must not overlap.
#[no_mangle]
pub unsafe extern "C" fn beacon_encode_frame(
    payload: *const u8,
    len: usize,
    out: *mut u8,
    out_cap: usize,
) -> i32 {
    if payload.is_null() || out.is_null() {
        return -3;
    }
    let payload = core::slice::from_raw_parts(payload, len);
    let out = core::slice::from_raw_parts_mut(out, out_cap);
    match beacon_core::encode_frame(payload, out) {
        // A frame is at most 255 + OVERHEAD bytes, so this never truncates.
        Ok(n) => n as i32,
        Err(FrameError::TooLong) => -1,
        Err(_) => -2,
    }
}

#[cfg(all(not(test), target_os = "linux"))]
extern "C" {
    fn abort() -> !;
}

#[cfg(not(test))]
#[panic_handler]
fn panic(_info: &core::panic::PanicInfo) -> ! {
    // The library is linked into C and Go programs: take the process down the
    // way C code would, rather than spin.
    #[cfg(target_os = "linux")]
    unsafe {
        abort()
    }
    #[cfg(not(target_os = "linux"))]
    loop {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn abi_matches_header() {
        let header = include_str!("../include/beacon.h");
        assert!(header.contains(&format!("#define BEACON_ABI_VERSION {ABI_VERSION}u")));
    }

    #[test]
    fn c_abi_round_trip() {
        let data = b"123456789";
        assert_eq!(unsafe { beacon_crc32(data.as_ptr(), data.len()) }, 0xCBF4_3926);
        assert_eq!(unsafe { beacon_crc32(core::ptr::null(), 4) }, 0);
        assert_eq!(beacon_fib(40), 102_334_155);
        let mut out = [0u8; 16];
        let n = unsafe { beacon_encode_frame(b"hi".as_ptr(), 2, out.as_mut_ptr(), out.len()) };
        assert_eq!(n, 8);
        let n = unsafe { beacon_encode_frame(b"hi".as_ptr(), 2, out.as_mut_ptr(), 4) };
        assert_eq!(n, -2);
    }
}
