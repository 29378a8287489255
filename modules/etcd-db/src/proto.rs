//! Just enough protobuf to read etcd's messages: a field iterator over the wire format, no
//! schema. Shared with the data-dir reader (WAL records, raft entries, snapshots).

/// One field's value as it is on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Value<'a> {
    Varint(u64),
    Fixed64(u64),
    Bytes(&'a [u8]),
    Fixed32(u32),
}

impl Value<'_> {
    /// The value of a varint field; None for any other wire type.
    pub fn varint(self) -> Option<u64> {
        match self {
            Value::Varint(v) => Some(v),
            _ => None,
        }
    }

    /// The bytes of a length-delimited field; None for any other wire type.
    pub fn bytes(&self) -> Option<&[u8]> {
        match self {
            Value::Bytes(b) => Some(b),
            _ => None,
        }
    }
}

/// A protobuf varint at `*pos`, advancing it.
pub fn varint(b: &[u8], pos: &mut usize) -> Result<u64, String> {
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

fn take<'a>(b: &'a [u8], pos: &mut usize, n: u64) -> Result<&'a [u8], String> {
    let start = *pos;
    let end = usize::try_from(n)
        .ok()
        .and_then(|n| start.checked_add(n))
        .filter(|&e| e <= b.len())
        .ok_or_else(|| {
            format!(
                "field of {n} bytes at byte {start} runs past the end {}",
                b.len()
            )
        })?;
    *pos = end;
    Ok(b.get(start..end).unwrap_or_default())
}

/// The fields of `msg` in wire order, as `(field number, value)`. Groups (wire types 3 and 4,
/// which etcd never writes) and field number 0 are errors; after an error the iterator ends.
pub fn fields(msg: &[u8]) -> Fields<'_> {
    Fields {
        msg,
        pos: 0,
        failed: false,
    }
}

pub struct Fields<'a> {
    msg: &'a [u8],
    pos: usize,
    failed: bool,
}

impl<'a> Fields<'a> {
    fn field(&mut self) -> Result<(u64, Value<'a>), String> {
        let at = self.pos;
        let tag = varint(self.msg, &mut self.pos)?;
        let (field, wire) = (tag >> 3, tag & 7);
        if field == 0 {
            return Err(format!("field number 0 at byte {at}"));
        }
        let value = match wire {
            0 => Value::Varint(varint(self.msg, &mut self.pos)?),
            1 => {
                let b = take(self.msg, &mut self.pos, 8)?;
                Value::Fixed64(u64::from_le_bytes(b.try_into().unwrap_or_default()))
            }
            2 => {
                let len = varint(self.msg, &mut self.pos)?;
                Value::Bytes(take(self.msg, &mut self.pos, len)?)
            }
            5 => {
                let b = take(self.msg, &mut self.pos, 4)?;
                Value::Fixed32(u32::from_le_bytes(b.try_into().unwrap_or_default()))
            }
            w => {
                return Err(format!(
                    "unsupported wire type {w} for field {field} at byte {at}"
                ))
            }
        };
        Ok((field, value))
    }
}

impl<'a> Iterator for Fields<'a> {
    type Item = Result<(u64, Value<'a>), String>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.pos >= self.msg.len() {
            return None;
        }
        let r = self.field();
        self.failed = r.is_err();
        Some(r)
    }
}

/// The bytes of the first length-delimited field 1 of `msg`.
pub(crate) fn field1_bytes(msg: &[u8]) -> Result<&[u8], String> {
    for f in fields(msg) {
        if let (1, Value::Bytes(b)) = f? {
            return Ok(b);
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
        let all: Vec<_> = fields(&msg).collect::<Result<_, _>>().unwrap();
        assert_eq!(
            all,
            [
                (2, Value::Varint(300)),
                (1, Value::Bytes(b"ab")),
                (4, Value::Bytes(b"z"))
            ]
        );
    }

    #[test]
    fn fixed_width_fields() {
        let mut msg = vec![0x09];
        msg.extend_from_slice(&7u64.to_le_bytes());
        msg.push(0x15);
        msg.extend_from_slice(&9u32.to_le_bytes());
        let all: Vec<_> = fields(&msg).collect::<Result<_, _>>().unwrap();
        assert_eq!(all, [(1, Value::Fixed64(7)), (2, Value::Fixed32(9))]);
    }

    #[test]
    fn malformed_input_is_an_error() {
        for bad in [
            &[0x0a, 0x05, b'a'][..],
            &[0x0b],
            &[0x80; 11],
            &[0x10],
            &[],
            &[0x00],
        ] {
            assert!(field1_bytes(bad).is_err(), "{bad:?}");
        }
        let huge = [
            0x0a, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01,
        ];
        assert!(field1_bytes(&huge).is_err());
        // After an error the iterator stops instead of looping on the same bytes.
        assert_eq!(fields(&[0x0b, 0x0b]).count(), 1);
    }
}
