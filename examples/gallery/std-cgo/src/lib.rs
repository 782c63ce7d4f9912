//! Word statistics that use `std` (HashMap, BTreeMap, String, `format!`,
//! Vec, CString), behind the C ABI in `include/wordstat.h`.

use std::collections::{BTreeMap, HashMap};
use std::ffi::{c_char, CStr, CString};

/// Must equal `WORDSTAT_ABI_VERSION` in `include/wordstat.h`.
pub const ABI_VERSION: u32 = 1;

fn words(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
}

/// `words=N distinct=M top=w:n,w:n,w:n lengths=len:n,...`
pub fn report(text: &str) -> String {
    let mut counts: HashMap<String, u32> = HashMap::new();
    let mut lengths: BTreeMap<usize, u32> = BTreeMap::new();
    let mut total = 0u32;
    for w in words(text) {
        total += 1;
        *lengths.entry(w.chars().count()).or_default() += 1;
        *counts.entry(w).or_default() += 1;
    }
    let distinct = counts.len();
    let mut ranked: Vec<(String, u32)> = counts.into_iter().collect();
    ranked.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let top: Vec<String> = ranked
        .iter()
        .take(3)
        .map(|(w, n)| format!("{w}:{n}"))
        .collect();
    let hist: Vec<String> = lengths.iter().map(|(l, n)| format!("{l}:{n}")).collect();
    format!(
        "words={total} distinct={distinct} top={} lengths={}",
        top.join(","),
        hist.join(",")
    )
}

unsafe fn as_str<'a>(p: *const c_char) -> Option<&'a str> {
    if p.is_null() {
        return None;
    }
    CStr::from_ptr(p).to_str().ok()
}

#[no_mangle]
pub extern "C" fn wordstat_abi_version() -> u32 {
    ABI_VERSION
}

/// # Safety
/// `text` must be NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn wordstat_count(text: *const c_char) -> usize {
    as_str(text).map_or(0, |t| words(t).count())
}

/// # Safety
/// `text` must be NULL or a NUL-terminated string. The result must be
/// released with `wordstat_free`.
#[no_mangle]
pub unsafe extern "C" fn wordstat_report(text: *const c_char) -> *mut c_char {
    match as_str(text) {
        Some(t) => CString::new(report(t)).map_or(std::ptr::null_mut(), CString::into_raw),
        None => std::ptr::null_mut(),
    }
}

/// # Safety
/// `s` must be NULL or a pointer returned by `wordstat_report`.
#[no_mangle]
pub unsafe extern "C" fn wordstat_free(s: *mut c_char) {
    if !s.is_null() {
        drop(CString::from_raw(s));
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn report() {
        assert_eq!(
            super::report("a b a, C c c"),
            "words=6 distinct=3 top=c:3,a:2,b:1 lengths=1:6"
        );
    }
}
