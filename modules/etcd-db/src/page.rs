//! bbolt's on-disk page format: the 16-byte header and the branch and leaf elements.
//!
//! Everything here works on byte slices with checked offsets, because the bytes come from a
//! file that may be damaged: a bad element must become an error that names it, never a panic.

pub(crate) const HEADER_SIZE: usize = 16;
const ELEMENT_SIZE: usize = 16;

pub(crate) const BRANCH: u16 = 0x01;
pub(crate) const LEAF: u16 = 0x02;
pub(crate) const META: u16 = 0x04;
pub(crate) const FREELIST: u16 = 0x10;

/// Leaf element flag: the value is a bucket header, not user data.
pub(crate) const BUCKET_LEAF: u32 = 0x01;

pub(crate) fn u16_at(b: &[u8], off: usize) -> Option<u16> {
    let s = b.get(off..off.checked_add(2)?)?;
    Some(u16::from_le_bytes([s[0], s[1]]))
}

pub(crate) fn u32_at(b: &[u8], off: usize) -> Option<u32> {
    let s = b.get(off..off.checked_add(4)?)?;
    Some(u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
}

pub(crate) fn u64_at(b: &[u8], off: usize) -> Option<u64> {
    let s = b.get(off..off.checked_add(8)?)?;
    let mut a = [0u8; 8];
    a.copy_from_slice(s);
    Some(u64::from_le_bytes(a))
}

pub(crate) fn type_name(flags: u16) -> String {
    match flags {
        BRANCH => "branch".into(),
        LEAF => "leaf".into(),
        META => "meta".into(),
        FREELIST => "freelist".into(),
        other => format!("unknown type 0x{other:02x}"),
    }
}

#[derive(Clone, Copy, Debug)]
pub(crate) struct Header {
    pub(crate) id: u64,
    pub(crate) flags: u16,
    pub(crate) count: u16,
    pub(crate) overflow: u32,
}

pub(crate) fn header(b: &[u8]) -> Option<Header> {
    Some(Header {
        id: u64_at(b, 0)?,
        flags: u16_at(b, 8)?,
        count: u16_at(b, 10)?,
        overflow: u32_at(b, 12)?,
    })
}

/// A slice of `page` given as a position and length read from the file; the error says where
/// it would have ended.
fn range<'a>(
    page: &'a [u8],
    what: &str,
    i: usize,
    start: usize,
    len: u32,
) -> Result<&'a [u8], String> {
    let end = usize::try_from(len).ok().and_then(|l| start.checked_add(l));
    match end.and_then(|e| page.get(start..e)) {
        Some(s) => Ok(s),
        None => Err(format!(
            "element {i}: {what} at offset {start} ({len} bytes) runs past the page end {}",
            page.len()
        )),
    }
}

fn element_offset(page: &[u8], i: usize) -> Result<usize, String> {
    let off = i
        .checked_mul(ELEMENT_SIZE)
        .and_then(|o| o.checked_add(HEADER_SIZE))
        .filter(|o| o.checked_add(ELEMENT_SIZE).is_some_and(|e| e <= page.len()));
    off.ok_or_else(|| {
        format!(
            "element {i}: element header runs past the page end {}",
            page.len()
        )
    })
}

#[derive(Debug)]
pub(crate) struct LeafElem<'a> {
    pub(crate) flags: u32,
    pub(crate) key: &'a [u8],
    pub(crate) value: &'a [u8],
}

/// Leaf element `i`: `flags u32, pos u32, ksize u32, vsize u32`, the key at the element's own
/// offset plus `pos`, the value right after the key.
pub(crate) fn leaf_elem(page: &[u8], i: usize) -> Result<LeafElem<'_>, String> {
    let off = element_offset(page, i)?;
    let field = |at: usize| u32_at(page, off + at).unwrap_or(0);
    let (flags, pos, ksize, vsize) = (field(0), field(4), field(8), field(12));
    let key_start = usize::try_from(pos)
        .ok()
        .and_then(|p| off.checked_add(p))
        .ok_or_else(|| format!("element {i}: key position {pos} overflows"))?;
    let key = range(page, "key", i, key_start, ksize)?;
    let value_start = key_start + key.len();
    let value = range(page, "value", i, value_start, vsize)?;
    Ok(LeafElem { flags, key, value })
}

/// Branch element `i`: `pos u32, ksize u32, pgid u64`; returns the key and the child page id.
pub(crate) fn branch_elem(page: &[u8], i: usize) -> Result<(&[u8], u64), String> {
    let off = element_offset(page, i)?;
    let pos = u32_at(page, off).unwrap_or(0);
    let ksize = u32_at(page, off + 4).unwrap_or(0);
    let child = u64_at(page, off + 8).unwrap_or(0);
    let key_start = usize::try_from(pos)
        .ok()
        .and_then(|p| off.checked_add(p))
        .ok_or_else(|| format!("element {i}: key position {pos} overflows"))?;
    let key = range(page, "key", i, key_start, ksize)?;
    Ok((key, child))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leaf_with(pos: u32, ksize: u32, vsize: u32) -> Vec<u8> {
        let mut p = vec![0u8; 64];
        p[8..10].copy_from_slice(&LEAF.to_le_bytes());
        p[10..12].copy_from_slice(&1u16.to_le_bytes());
        p[20..24].copy_from_slice(&pos.to_le_bytes());
        p[24..28].copy_from_slice(&ksize.to_le_bytes());
        p[28..32].copy_from_slice(&vsize.to_le_bytes());
        p
    }

    #[test]
    fn leaf_element_in_bounds() {
        let mut p = leaf_with(16, 3, 2);
        p[32..37].copy_from_slice(b"abcxy");
        let e = leaf_elem(&p, 0).unwrap();
        assert_eq!(e.key, b"abc");
        assert_eq!(e.value, b"xy");
    }

    #[test]
    fn leaf_element_out_of_bounds_is_an_error() {
        for (pos, k, v) in [
            (16, 40, 0),
            (16, 3, 100),
            (u32::MAX, 1, 1),
            (16, u32::MAX, u32::MAX),
        ] {
            let p = leaf_with(pos, k, v);
            assert!(leaf_elem(&p, 0).is_err());
        }
        assert!(leaf_elem(&leaf_with(16, 1, 1), 3)
            .unwrap_err()
            .contains("element 3"));
        assert!(leaf_elem(&leaf_with(16, 1, 1), usize::MAX).is_err());
    }
}
