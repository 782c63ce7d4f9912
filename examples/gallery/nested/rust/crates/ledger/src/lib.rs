//! A ledger of meter totals using `std`; C ABI in `include/ledger.h`.

use std::collections::BTreeMap;
use std::ffi::{c_char, CStr, CString};

pub const ABI_VERSION: u32 = 1;

#[derive(Default)]
pub struct Ledger {
    totals: BTreeMap<String, (u64, u32)>,
}

impl Ledger {
    pub fn record(&mut self, meter: &str, value: u64) {
        let e = self.totals.entry(meter.to_owned()).or_default();
        e.0 = e.0.saturating_add(value);
        e.1 += 1;
    }

    /// `name=total/count,...` in name order.
    pub fn summary(&self) -> String {
        let parts: Vec<String> = self
            .totals
            .iter()
            .map(|(k, (t, n))| format!("{k}={t}/{n}"))
            .collect();
        parts.join(",")
    }
}

#[no_mangle]
pub extern "C" fn ledger_abi_version() -> u32 {
    ABI_VERSION
}

#[no_mangle]
pub extern "C" fn ledger_new() -> *mut Ledger {
    Box::into_raw(Box::default())
}

/// # Safety
/// `l` must come from `ledger_new`; `meter` must be a NUL-terminated string.
/// Returns 0, or -1 for a NULL argument or a name that is not UTF-8.
#[no_mangle]
pub unsafe extern "C" fn ledger_record(l: *mut Ledger, meter: *const c_char, value: u64) -> i32 {
    if l.is_null() || meter.is_null() {
        return -1;
    }
    match CStr::from_ptr(meter).to_str() {
        Ok(name) => {
            (*l).record(name, value);
            0
        }
        Err(_) => -1,
    }
}

/// # Safety
/// `l` must come from `ledger_new`. Free the result with `ledger_free_string`.
#[no_mangle]
pub unsafe extern "C" fn ledger_summary(l: *const Ledger) -> *mut c_char {
    if l.is_null() {
        return std::ptr::null_mut();
    }
    CString::new((*l).summary()).map_or(std::ptr::null_mut(), CString::into_raw)
}

/// # Safety
/// `s` must be NULL or come from `ledger_summary`.
#[no_mangle]
pub unsafe extern "C" fn ledger_free_string(s: *mut c_char) {
    if !s.is_null() {
        drop(CString::from_raw(s));
    }
}

/// # Safety
/// `l` must be NULL or come from `ledger_new`, and not be used afterwards.
#[no_mangle]
pub unsafe extern "C" fn ledger_free(l: *mut Ledger) {
    if !l.is_null() {
        drop(Box::from_raw(l));
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn summary() {
        let mut l = super::Ledger::default();
        l.record("b", 2);
        l.record("a", 1);
        l.record("b", 3);
        assert_eq!(l.summary(), "a=1/1,b=5/2");
    }
}
