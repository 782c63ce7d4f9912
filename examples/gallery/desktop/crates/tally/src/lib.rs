//! Word and letter counts that use `std` (HashMap, String, `format!`,
//! CString), behind the C ABI in `include/tally.h`. The C types are fixed
//! width: `long` is 32 bits on 64-bit Windows and 64 bits elsewhere.

use std::collections::HashMap;
use std::ffi::{c_char, CStr, CString};

/// Must equal `TALLY_ABI_VERSION` in `include/tally.h`.
pub const ABI_VERSION: u32 = 1;

/// `words=N letters=M top=w:n` for `text`; the most frequent word, ties by name.
pub fn summary(text: &str) -> String {
    let mut counts: HashMap<String, u32> = HashMap::new();
    let mut letters = 0u64;
    for w in text.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()) {
        letters += w.chars().count() as u64;
        *counts.entry(w.to_lowercase()).or_default() += 1;
    }
    let words: u32 = counts.values().sum();
    let top = counts
        .iter()
        .max_by(|a, b| a.1.cmp(b.1).then_with(|| b.0.cmp(a.0)))
        .map(|(w, n)| format!("{w}:{n}"))
        .unwrap_or_default();
    format!("words={words} letters={letters} top={top}")
}

#[no_mangle]
pub extern "C" fn tally_abi_version() -> u32 {
    ABI_VERSION
}

/// The summary of a NUL-terminated UTF-8 string, to free with `tally_free`;
/// NULL for NULL or invalid UTF-8.
///
/// # Safety
/// `text` is NULL or a valid NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn tally_summary(text: *const c_char) -> *mut c_char {
    if text.is_null() {
        return std::ptr::null_mut();
    }
    match CStr::from_ptr(text).to_str() {
        Ok(s) => CString::new(summary(s)).map_or(std::ptr::null_mut(), CString::into_raw),
        Err(_) => std::ptr::null_mut(),
    }
}

/// # Safety
/// `s` is NULL or a pointer `tally_summary` returned, freed once.
#[no_mangle]
pub unsafe extern "C" fn tally_free(s: *mut c_char) {
    if !s.is_null() {
        drop(CString::from_raw(s));
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn counts() {
        assert_eq!(super::summary("a b a"), "words=3 letters=3 top=a:2");
    }
}
