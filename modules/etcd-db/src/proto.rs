//! Just enough protobuf to take the user key (field 1) out of an `mvccpb.KeyValue`.

fn varint(b: &[u8], pos: &mut usize) -> Result<u64, String> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let byte = *b
            .get(*pos)
            .ok_or_else(|| format!("varint runs past the end at byte {pos}"))?;
        *pos += 1;
        v |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Ok(v);
        }
    }
    Err(format!("varint longer than 10 bytes ending at byte {pos}"))
}

fn skip(b: &[u8], pos: &mut usize, n: u64) -> Result<(), String> {
    let end = usize::try_from(n)
        .ok()
        .and_then(|n| pos.checked_add(n))
        .filter(|&e| e <= b.len())
        .ok_or_else(|| {
            format!(
                "field of {n} bytes at byte {pos} runs past the end {}",
                b.len()
            )
        })?;
    *pos = end;
    Ok(())
}

/// The bytes of the first length-delimited field 1 of `msg`.
pub(crate) fn field1_bytes(msg: &[u8]) -> Result<&[u8], String> {
    let mut pos = 0usize;
    while pos < msg.len() {
        let tag = varint(msg, &mut pos)?;
        let (field, wire) = (tag >> 3, tag & 7);
        match wire {
            0 => {
                varint(msg, &mut pos)?;
            }
            1 => skip(msg, &mut pos, 8)?,
            5 => skip(msg, &mut pos, 4)?,
            2 => {
                let len = varint(msg, &mut pos)?;
                let start = pos;
                skip(msg, &mut pos, len)?;
                if field == 1 {
                    return Ok(msg.get(start..pos).unwrap_or_default());
                }
            }
            w => return Err(format!("unsupported wire type {w} for field {field}")),
        }
    }
    Err("no field 1 (key)".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_key_after_other_fields() {
        // field 2 varint 300, then field 1 "ab", then field 4 bytes.
        let msg = [0x10, 0xac, 0x02, 0x0a, 0x02, b'a', b'b', 0x22, 0x01, b'z'];
        assert_eq!(field1_bytes(&msg).unwrap(), b"ab");
    }

    #[test]
    fn malformed_input_is_an_error() {
        for bad in [&[0x0a, 0x05, b'a'][..], &[0x0b], &[0x80; 11], &[0x10], &[]] {
            assert!(field1_bytes(bad).is_err(), "{bad:?}");
        }
        let huge = [
            0x0a, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01,
        ];
        assert!(field1_bytes(&huge).is_err());
    }
}
