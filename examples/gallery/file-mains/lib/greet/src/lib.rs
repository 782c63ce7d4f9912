//! Greetings printed by Rust for the two Go programs in the project root.
//! The C declarations are in `../greet.h` (written by hand).

use std::ffi::{c_char, CStr};
use std::io::Write;

unsafe fn text<'a>(p: *const c_char) -> &'a str {
    if p.is_null() {
        return "";
    }
    CStr::from_ptr(p).to_str().unwrap_or("?")
}

/// Prints `Hello <name>!`.
///
/// # Safety
/// `name` must be NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn greet(name: *const c_char) {
    println!("Hello {}!", text(name));
}

/// Prints `(<message>)`.
///
/// # Safety
/// `message` must be NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn whisper(message: *const c_char) {
    println!("({})", text(message));
}

/// The line `count_greetings` prints, its number written by `itoa`.
pub fn counted(n: u32) -> String {
    let mut buf = itoa::Buffer::new();
    let word = if n == 1 { "greeting" } else { "greetings" };
    format!("{} {word} counted in Rust", buf.format(n))
}

#[no_mangle]
pub extern "C" fn count_greetings(n: u32) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{}", counted(n));
    let _ = out.flush();
}

#[cfg(test)]
mod tests {
    #[test]
    fn counted() {
        assert_eq!(super::counted(1), "1 greeting counted in Rust");
        assert_eq!(super::counted(12), "12 greetings counted in Rust");
    }
}
