//! Calls two Go functions exported from the c-archive gosum/libgosum.a.

#![allow(non_upper_case_globals, non_camel_case_types, non_snake_case, dead_code)]

use std::ffi::{c_char, c_void, CStr};

include!(concat!(env!("OUT_DIR"), "/bindings.rs"));

extern "C" {
    fn free(p: *mut c_void);
}

fn sum_fields(list: &str) -> String {
    // A GoString borrows the bytes for the duration of the call.
    let arg = GoString {
        p: list.as_ptr().cast::<c_char>(),
        n: list.len() as isize,
    };
    unsafe {
        let p = GoSumFields(arg);
        let text = CStr::from_ptr(p).to_string_lossy().into_owned();
        free(p.cast());
        text
    }
}

fn main() {
    println!("go-in-rust: Rust main calling Go from libgosum.a");
    let n = 2026;
    println!("GoDigitSum({n}) = {}", unsafe { GoDigitSum(n) });
    println!("GoSumFields = {}", sum_fields("1 2 3 36"));
}
