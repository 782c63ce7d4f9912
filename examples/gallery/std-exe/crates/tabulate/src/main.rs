//! Prints a self-check that exercises build-script output, a proc macro
//! built for the host, and std (threads, collections, formatting).

use std::collections::BTreeMap;
use std::thread;

use tabulate_macros::{fnv1a, FieldNames};

include!(concat!(env!("OUT_DIR"), "/crc8_table.rs"));

#[allow(dead_code)]
#[derive(FieldNames)]
struct Reading {
    sensor: String,
    pub value: u32,
    tags: Vec<Option<String>>,
}

fn crc8(data: &[u8]) -> u8 {
    data.iter()
        .fold(0u8, |c, &b| CRC8_TABLE[usize::from(c ^ b)])
}

/// Sums the table on four threads.
fn table_sum() -> u32 {
    let workers: Vec<_> = (0..4)
        .map(|i| {
            thread::spawn(move || {
                CRC8_TABLE[i * 64..(i + 1) * 64]
                    .iter()
                    .map(|&b| u32::from(b))
                    .sum::<u32>()
            })
        })
        .collect();
    workers.into_iter().map(|w| w.join().unwrap()).sum()
}

/// How many table entries fall in each high nibble.
fn nibbles() -> String {
    let mut by: BTreeMap<u8, u32> = BTreeMap::new();
    for &b in CRC8_TABLE.iter() {
        *by.entry(b >> 4).or_default() += 1;
    }
    let uniform = by.len() == 16 && by.values().all(|&n| n == 16);
    if uniform {
        "uniform".to_string()
    } else {
        format!("{by:?}")
    }
}

fn main() {
    const KEY: u64 = fnv1a!("relbuild");
    let input = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "123456789".to_string());
    println!(
        "tabulate: crc8({input})=0x{:02x} fnv1a(relbuild)={KEY:#018x} table-sum={} nibbles={} fields={} arch={}",
        crc8(input.as_bytes()),
        table_sum(),
        nibbles(),
        Reading::FIELD_NAMES.join(","),
        std::env::consts::ARCH,
    );
}

#[cfg(test)]
mod tests {
    #[test]
    fn check_values() {
        assert_eq!(super::crc8(b"123456789"), 0xf4);
        assert_eq!(super::Reading::FIELD_NAMES, ["sensor", "value", "tags"]);
        assert_eq!(tabulate_macros::fnv1a!(""), 0xcbf29ce484222325);
        assert_eq!(super::table_sum(), 255 * 256 / 2);
    }
}
