//! Minimal runtime: reset/startup code, semihosting and a panic handler.
//! Hand-written rather than cortex-m-rt/riscv-rt so that one small file
//! covers both architectures and the image stays a few kilobytes.

use core::ptr::{addr_of, addr_of_mut};

#[cfg(target_arch = "arm")]
#[path = "rt/cortex_m.rs"]
mod arch;
#[cfg(target_arch = "riscv32")]
#[path = "rt/riscv32.rs"]
mod arch;

/// Semihosting operations (ARM "Semihosting for AArch32 and AArch64").
const SYS_WRITE0: usize = 0x04;
const SYS_EXIT: usize = 0x18;
const ADP_STOPPED_APPLICATION_EXIT: usize = 0x20026;
const ADP_STOPPED_RUN_TIME_ERROR_UNKNOWN: usize = 0x20023;

extern "C" {
    static mut _sbss: u32;
    static mut _ebss: u32;
    static mut _sdata: u32;
    static mut _edata: u32;
    static _sidata: u32;
}

/// Zeroes .bss, copies .data from flash, then runs the firmware.
///
/// # Safety
/// Called once, from the reset path, before anything touches a static.
unsafe fn init_ram_and_run() -> ! {
    let mut dst = addr_of_mut!(_sbss);
    while dst < addr_of_mut!(_ebss) {
        dst.write_volatile(0);
        dst = dst.add(1);
    }
    let mut dst = addr_of_mut!(_sdata);
    let mut src = addr_of!(_sidata);
    while dst < addr_of_mut!(_edata) {
        dst.write_volatile(src.read());
        dst = dst.add(1);
        src = src.add(1);
    }
    crate::firmware_main()
}

/// Prints a NUL-terminated string on the host's console.
pub fn write_str(s: &[u8]) {
    debug_assert_eq!(s.last(), Some(&0));
    unsafe { arch::semihost(SYS_WRITE0, s.as_ptr() as usize) };
}

/// Ends the QEMU session; the emulator exits 0 only for `status == 0`.
pub fn exit(status: u32) -> ! {
    let reason = if status == 0 {
        ADP_STOPPED_APPLICATION_EXIT
    } else {
        ADP_STOPPED_RUN_TIME_ERROR_UNKNOWN
    };
    // On 32-bit targets SYS_EXIT takes the reason itself, not a block.
    unsafe { arch::semihost(SYS_EXIT, reason) };
    loop {}
}

/// A fixed buffer that collects one line for SYS_WRITE0.
pub struct Line {
    buf: [u8; 128],
    len: usize,
}

impl Line {
    pub const fn new() -> Self {
        Line { buf: [0; 128], len: 0 }
    }

    /// The text so far, NUL-terminated (the last byte is kept for the NUL).
    pub fn as_cstr(&mut self) -> &[u8] {
        self.buf[self.len] = 0;
        &self.buf[..=self.len]
    }
}

impl core::fmt::Write for Line {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        let end = self.len + s.len();
        if end >= self.buf.len() {
            return Err(core::fmt::Error);
        }
        self.buf[self.len..end].copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

#[panic_handler]
fn panic(_info: &core::panic::PanicInfo) -> ! {
    write_str(b"beacon-fw: panic\n\0");
    exit(1)
}
