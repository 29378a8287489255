//! CRC-32C (Castagnoli), the checksum etcd's `snapshot status` reports as `hash`, and the one
//! that chains etcd's WAL records and guards its `.snap` files.
//!
//! Every key and value of the database goes through it, so it uses the SSE4.2 `crc32`
//! instruction when the CPU has it (about 8 bytes per cycle) and a slice-by-8 table otherwise.

const POLY: u32 = 0x82F6_3B78; // reflected Castagnoli polynomial

const fn make_tables() -> [[u32; 256]; 8] {
    let mut t = [[0u32; 256]; 8];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u32;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 != 0 { (c >> 1) ^ POLY } else { c >> 1 };
            k += 1;
        }
        t[0][i] = c;
        i += 1;
    }
    let mut i = 0;
    while i < 256 {
        let mut s = 1;
        while s < 8 {
            let prev = t[s - 1][i];
            t[s][i] = (prev >> 8) ^ t[0][(prev & 0xff) as usize];
            s += 1;
        }
        i += 1;
    }
    t
}

static TABLES: [[u32; 256]; 8] = make_tables();

/// A running CRC-32C, as Go's `crc32.New(crc32.MakeTable(crc32.Castagnoli))`.
#[derive(Clone, Copy, Debug, Default)]
pub struct Crc32c {
    value: u32,
    hardware: bool,
}

impl Crc32c {
    pub fn new() -> Self {
        Self::with_initial(0)
    }

    /// Continues from a finished CRC, as Go's `crc.New(prev, table)` in etcd's `pkg/crc` does
    /// for the WAL, whose every record carries the CRC of all record data before it.
    pub fn with_initial(value: u32) -> Self {
        Crc32c {
            value,
            hardware: hardware_available(),
        }
    }

    #[cfg(test)]
    fn software() -> Self {
        Crc32c {
            value: 0,
            hardware: false,
        }
    }

    pub fn update(&mut self, data: &[u8]) {
        let state = !self.value;
        let state = if self.hardware {
            update_hardware_checked(state, data)
        } else {
            update_software(state, data)
        };
        self.value = !state;
    }

    pub fn sum(&self) -> u32 {
        self.value
    }
}

fn update_software(mut crc: u32, data: &[u8]) -> u32 {
    let t = &TABLES;
    let mut chunks = data.chunks_exact(8);
    for c in &mut chunks {
        let lo = u32::from_le_bytes([c[0], c[1], c[2], c[3]]) ^ crc;
        crc = t[7][(lo & 0xff) as usize]
            ^ t[6][((lo >> 8) & 0xff) as usize]
            ^ t[5][((lo >> 16) & 0xff) as usize]
            ^ t[4][(lo >> 24) as usize]
            ^ t[3][c[4] as usize]
            ^ t[2][c[5] as usize]
            ^ t[1][c[6] as usize]
            ^ t[0][c[7] as usize];
    }
    for &b in chunks.remainder() {
        crc = (crc >> 8) ^ t[0][((crc ^ u32::from(b)) & 0xff) as usize];
    }
    crc
}

#[cfg(target_arch = "x86_64")]
fn hardware_available() -> bool {
    std::is_x86_feature_detected!("sse4.2")
}

#[cfg(not(target_arch = "x86_64"))]
fn hardware_available() -> bool {
    false
}

#[cfg(target_arch = "x86_64")]
fn update_hardware_checked(crc: u32, data: &[u8]) -> u32 {
    // SAFETY: `hardware` is only true when `is_x86_feature_detected!("sse4.2")` said so.
    unsafe { update_sse42(crc, data) }
}

#[cfg(not(target_arch = "x86_64"))]
fn update_hardware_checked(crc: u32, data: &[u8]) -> u32 {
    update_software(crc, data)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "sse4.2")]
fn update_sse42(crc: u32, data: &[u8]) -> u32 {
    use std::arch::x86_64::{_mm_crc32_u64, _mm_crc32_u8};
    let mut c = u64::from(crc);
    let mut chunks = data.chunks_exact(8);
    for w in &mut chunks {
        let word = u64::from_le_bytes([w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7]]);
        c = _mm_crc32_u64(c, word);
    }
    // The instruction keeps the CRC in the low 32 bits.
    let mut c = c as u32;
    for &b in chunks.remainder() {
        c = _mm_crc32_u8(c, b);
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_value() {
        let mut h = Crc32c::new();
        h.update(b"123456789");
        assert_eq!(h.sum(), 0xE306_9283);
    }

    #[test]
    fn continuing_equals_one_pass() {
        let mut a = Crc32c::new();
        a.update(b"12345");
        let mut b = Crc32c::with_initial(a.sum());
        b.update(b"6789");
        assert_eq!(b.sum(), 0xE306_9283);
    }

    #[test]
    fn hardware_and_software_agree_across_splits() {
        let data: Vec<u8> = (0..1000u32).map(|i| (i * 31 % 251) as u8).collect();
        for split in [0, 1, 7, 8, 9, 63, 500, 999, 1000] {
            let (a, b) = data.split_at(split);
            let mut hw = Crc32c::new();
            hw.update(a);
            hw.update(b);
            let mut sw = Crc32c::software();
            sw.update(&data);
            assert_eq!(hw.sum(), sw.sum(), "split at {split}");
        }
    }
}
