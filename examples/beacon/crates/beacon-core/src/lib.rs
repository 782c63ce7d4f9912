//! The beacon kernel: framing and checksums for telemetry packets.
//!
//! `no_std` and allocation-free so the same code runs in firmware and, through
//! the C ABI of `beacon-ffi`, inside the Go host tool.
#![cfg_attr(not(test), no_std)]

use crc::{Crc, CRC_32_ISO_HDLC};

const CRC32: Crc<u32> = Crc::<u32>::new(&CRC_32_ISO_HDLC);

/// Frame start marker.
pub const SYNC: u8 = 0x7E;
/// Bytes a frame adds around its payload: sync, length, 4-byte CRC.
pub const OVERHEAD: usize = 6;

/// CRC-32 (ISO-HDLC, the zlib/Ethernet one) of `data`.
pub fn crc32(data: &[u8]) -> u32 {
    CRC32.checksum(data)
}

/// The `n`th Fibonacci number, saturating at `u64::MAX`.
pub fn fib(n: u32) -> u64 {
    let (mut a, mut b) = (0u64, 1u64);
    for _ in 0..n {
        let next = a.saturating_add(b);
        a = b;
        b = next;
    }
    a
}

/// Errors from [`encode_frame`] and [`decode_frame`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameError {
    /// The payload is longer than 255 bytes.
    TooLong,
    /// The output buffer cannot hold the frame.
    NoRoom,
    /// The input is not a whole frame.
    Truncated,
    /// The first byte is not [`SYNC`].
    BadSync,
    /// The CRC does not match the payload.
    BadCrc,
}

/// Writes `payload` as a frame into `out` and returns the frame's length.
///
/// Layout: `SYNC`, payload length (one byte), payload, CRC-32 little-endian.
pub fn encode_frame(payload: &[u8], out: &mut [u8]) -> Result<usize, FrameError> {
    let len = u8::try_from(payload.len()).map_err(|_| FrameError::TooLong)?;
    let total = payload.len() + OVERHEAD;
    if out.len() < total {
        return Err(FrameError::NoRoom);
    }
    out[0] = SYNC;
    out[1] = len;
    out[2..2 + payload.len()].copy_from_slice(payload);
    out[2 + payload.len()..total].copy_from_slice(&crc32(payload).to_le_bytes());
    Ok(total)
}

/// Checks a frame and returns its payload.
pub fn decode_frame(frame: &[u8]) -> Result<&[u8], FrameError> {
    if frame.len() < OVERHEAD {
        return Err(FrameError::Truncated);
    }
    if frame[0] != SYNC {
        return Err(FrameError::BadSync);
    }
    let len = usize::from(frame[1]);
    if frame.len() < len + OVERHEAD {
        return Err(FrameError::Truncated);
    }
    let payload = &frame[2..2 + len];
    let mut crc = [0u8; 4];
    crc.copy_from_slice(&frame[2 + len..len + OVERHEAD]);
    if u32::from_le_bytes(crc) != crc32(payload) {
        return Err(FrameError::BadCrc);
    }
    Ok(payload)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32_check_value() {
        // The catalogue's check value for CRC-32/ISO-HDLC.
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(crc32(b""), 0);
    }

    #[test]
    fn fib_values_and_saturation() {
        assert_eq!(fib(0), 0);
        assert_eq!(fib(1), 1);
        assert_eq!(fib(40), 102_334_155);
        assert_eq!(fib(93), 12_200_160_415_121_876_738);
        assert_eq!(fib(200), u64::MAX);
    }

    #[test]
    fn frame_round_trip() {
        let mut buf = [0u8; 64];
        let n = encode_frame(b"temp=21.5", &mut buf).unwrap();
        assert_eq!(n, 9 + OVERHEAD);
        assert_eq!(decode_frame(&buf[..n]).unwrap(), b"temp=21.5");
    }

    #[test]
    fn frame_errors() {
        let mut buf = [0u8; 8];
        assert_eq!(encode_frame(b"abc", &mut buf), Err(FrameError::NoRoom));
        assert_eq!(encode_frame(&[0u8; 300], &mut [0u8; 400]), Err(FrameError::TooLong));
        let mut buf = [0u8; 16];
        let n = encode_frame(b"ok", &mut buf).unwrap();
        buf[3] ^= 1;
        assert_eq!(decode_frame(&buf[..n]), Err(FrameError::BadCrc));
        assert_eq!(decode_frame(&buf[..3]), Err(FrameError::Truncated));
        buf[0] = 0;
        assert_eq!(decode_frame(&buf[..n]), Err(FrameError::BadSync));
    }
}
