//! Beacon firmware. On a bare-metal target it boots, frames one telemetry
//! sample with the kernel, prints the result over semihosting and exits 0.
//! On a hosted target it is an ordinary program, so `cargo test` runs the
//! same report logic on the development machine.
#![cfg_attr(target_os = "none", no_std, no_main)]

use core::fmt::Write;

#[cfg(target_os = "none")]
mod rt;

/// The sample every beacon sends first; the host tool checks the same bytes.
pub const SAMPLE: &[u8] = b"123456789";

/// Writes the firmware's one-line report.
pub fn report(out: &mut impl Write) -> core::fmt::Result {
    let mut frame = [0u8; 32];
    let n = beacon_core::encode_frame(SAMPLE, &mut frame).map_err(|_| core::fmt::Error)?;
    let ok = beacon_core::decode_frame(&frame[..n]) == Ok(SAMPLE);
    writeln!(
        out,
        "beacon-fw: crc32=0x{:08x} fib(40)={} frame={}B {}",
        beacon_core::crc32(SAMPLE),
        beacon_core::fib(40),
        n,
        if ok { "ok" } else { "BAD" }
    )
}

#[cfg(not(target_os = "none"))]
fn main() {
    let mut line = String::new();
    report(&mut line).expect("report fits");
    print!("{line}");
}

/// Called by the architecture's startup code once RAM is initialised.
#[cfg(target_os = "none")]
fn firmware_main() -> ! {
    let mut line = rt::Line::new();
    let status = match report(&mut line) {
        Ok(()) => 0,
        Err(_) => 1,
    };
    rt::write_str(line.as_cstr());
    rt::exit(status)
}

#[cfg(test)]
mod tests {
    #[test]
    fn report_line() {
        let mut s = String::new();
        super::report(&mut s).unwrap();
        assert_eq!(s, "beacon-fw: crc32=0xcbf43926 fib(40)=102334155 frame=15B ok\n");
    }
}
