//! The two meta pages (0 and 1): which one bbolt would use, and the page size.

use crate::page::{self, u32_at, u64_at};

const MAGIC: u32 = 0xED0C_DAED;
const VERSION: u32 = 2;
const META_SIZE: usize = 64;
const CHECKSUM_OFFSET: usize = 56;
/// The free list is not stored (etcd sets NoFreelistSync): free pages are the unreachable ones.
pub(crate) const NO_FREELIST: u64 = u64::MAX;
/// Bytes needed from the start of a page to validate its meta.
pub(crate) const META_PAGE_BYTES: usize = page::HEADER_SIZE + META_SIZE;
pub(crate) const MIN_PAGE_SIZE: u32 = 512;
pub(crate) const MAX_PAGE_SIZE: u32 = 1 << 20;

#[derive(Clone, Copy, Debug)]
pub(crate) struct Meta {
    pub(crate) page_size: u32,
    pub(crate) root: u64,
    pub(crate) freelist: u64,
    /// High-water mark: pages at and above it are not part of the database.
    pub(crate) pgid: u64,
    pub(crate) txid: u64,
}

#[derive(Debug, PartialEq, Eq)]
pub(crate) enum MetaError {
    Short(usize),
    BadMagic(u32),
    Version(u32),
    Checksum { stored: u64, computed: u64 },
    PageSize(u32),
    Header(String),
}

impl std::fmt::Display for MetaError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MetaError::Short(n) => write!(f, "only {n} bytes, a meta page needs {META_PAGE_BYTES}"),
            MetaError::BadMagic(m) => write!(f, "bad magic 0x{m:08x}"),
            MetaError::Version(v) => write!(f, "version {v}, expected {VERSION}"),
            MetaError::Checksum { stored, computed } => write!(
                f,
                "checksum mismatch: stored 0x{stored:016x}, computed 0x{computed:016x}"
            ),
            MetaError::PageSize(s) => write!(
                f,
                "page size {s} is not a power of two in {MIN_PAGE_SIZE}..={MAX_PAGE_SIZE}"
            ),
            MetaError::Header(h) => write!(f, "{h}"),
        }
    }
}

fn fnv1a64(data: &[u8]) -> u64 {
    data.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// Parses and validates the meta in `buf`, the first bytes of page `id`, in bbolt's order
/// (magic, version, checksum), then the header fields bbolt trusts without checking.
pub(crate) fn parse(buf: &[u8], id: u64) -> Result<Meta, MetaError> {
    let m = buf
        .get(page::HEADER_SIZE..META_PAGE_BYTES)
        .ok_or(MetaError::Short(buf.len()))?;
    let field32 = |off| u32_at(m, off).unwrap_or(0);
    let field64 = |off| u64_at(m, off).unwrap_or(0);
    let magic = field32(0);
    if magic != MAGIC {
        return Err(MetaError::BadMagic(magic));
    }
    let version = field32(4);
    if version != VERSION {
        return Err(MetaError::Version(version));
    }
    let stored = field64(CHECKSUM_OFFSET);
    let computed = fnv1a64(m.get(..CHECKSUM_OFFSET).unwrap_or_default());
    if stored != computed {
        return Err(MetaError::Checksum { stored, computed });
    }
    let page_size = field32(8);
    if !page_size.is_power_of_two() || !(MIN_PAGE_SIZE..=MAX_PAGE_SIZE).contains(&page_size) {
        return Err(MetaError::PageSize(page_size));
    }
    let hdr = page::header(buf).ok_or(MetaError::Short(buf.len()))?;
    if hdr.flags != page::META {
        return Err(MetaError::Header(format!(
            "header says {} page, not meta",
            page::type_name(hdr.flags)
        )));
    }
    if hdr.id != id {
        return Err(MetaError::Header(format!("header says page id {}", hdr.id)));
    }
    Ok(Meta {
        page_size,
        root: field64(16),
        freelist: field64(32),
        pgid: field64(40),
        txid: field64(48),
    })
}

/// bbolt's choice: the meta with the higher txid if it is valid, else the other one.
pub(crate) fn choose(
    m0: Result<Meta, MetaError>,
    m1: Result<Meta, MetaError>,
) -> Result<Meta, String> {
    match (m0, m1) {
        (Ok(a), Ok(b)) => Ok(if b.txid > a.txid { b } else { a }),
        (Ok(a), Err(_)) | (Err(_), Ok(a)) => Ok(a),
        (Err(a), Err(b)) => Err(format!("page 0: {a}; page 1: {b}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta_page(id: u64, page_size: u32, pgid: u64, txid: u64) -> Vec<u8> {
        let mut p = vec![0u8; META_PAGE_BYTES];
        p[0..8].copy_from_slice(&id.to_le_bytes());
        p[8..10].copy_from_slice(&page::META.to_le_bytes());
        let m = &mut p[16..];
        m[0..4].copy_from_slice(&MAGIC.to_le_bytes());
        m[4..8].copy_from_slice(&VERSION.to_le_bytes());
        m[8..12].copy_from_slice(&page_size.to_le_bytes());
        m[16..24].copy_from_slice(&3u64.to_le_bytes());
        m[32..40].copy_from_slice(&NO_FREELIST.to_le_bytes());
        m[40..48].copy_from_slice(&pgid.to_le_bytes());
        m[48..56].copy_from_slice(&txid.to_le_bytes());
        let sum = fnv1a64(&m[..56]);
        m[56..64].copy_from_slice(&sum.to_le_bytes());
        p
    }

    #[test]
    fn valid_meta_parses() {
        let m = parse(&meta_page(1, 4096, 9, 7), 1).unwrap();
        assert_eq!((m.page_size, m.pgid, m.txid, m.root), (4096, 9, 7, 3));
    }

    #[test]
    fn each_defect_is_named() {
        let mut p = meta_page(0, 4096, 9, 7);
        p[60] ^= 1;
        assert!(matches!(parse(&p, 0), Err(MetaError::Checksum { .. })));
        let mut p = meta_page(0, 4096, 9, 7);
        p[16] ^= 1;
        assert!(matches!(parse(&p, 0), Err(MetaError::BadMagic(_))));
        assert!(matches!(
            parse(&meta_page(0, 4096, 9, 7), 1),
            Err(MetaError::Header(_))
        ));
        assert!(matches!(
            parse(&meta_page(0, 4000, 9, 7), 0),
            Err(MetaError::PageSize(4000))
        ));
        assert!(matches!(parse(&[0u8; 10], 0), Err(MetaError::Short(10))));
    }

    #[test]
    fn higher_valid_txid_wins() {
        let a = parse(&meta_page(0, 4096, 9, 7), 0);
        let b = parse(&meta_page(1, 4096, 10, 8), 1);
        assert_eq!(choose(a, b).unwrap().txid, 8);
        let a = parse(&meta_page(0, 4096, 9, 7), 0);
        assert_eq!(choose(a, Err(MetaError::BadMagic(0))).unwrap().txid, 7);
    }
}
