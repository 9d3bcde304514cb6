//! The few protobuf (proto2) encodings the session code needs, written by hand: varints
//! (wire type 0), fixed64 (wire type 1) and length-delimited fields (wire type 2).
//!
//! Writers emit fields in the order the caller gives (always ascending tag order, as prost
//! does), so our bytes equal libsignal's for the same message. The reader keeps the last
//! value of a repeated scalar field, as protobuf requires, and skips unknown fields only
//! where the caller asks it to.

use zeroize::Zeroizing;

const VARINT: u8 = 0;
const FIXED64: u8 = 1;
const LEN: u8 = 2;
const FIXED32: u8 = 5;

/// A protobuf field that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed protobuf: {0}")]
pub(crate) struct ProtoError(pub(crate) &'static str);

/// Appends protobuf fields to a zeroizing buffer (it may hold key material).
#[derive(Default)]
pub(crate) struct Writer {
    buf: Zeroizing<Vec<u8>>,
}

pub(crate) fn put_varint(buf: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        buf.push((v as u8 & 0x7F) | 0x80);
        v >>= 7;
    }
    buf.push(v as u8);
}

impl Writer {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    fn key(&mut self, field: u32, wire: u8) {
        put_varint(&mut self.buf, (u64::from(field) << 3) | u64::from(wire));
    }

    pub(crate) fn uint(&mut self, field: u32, v: u64) -> &mut Self {
        self.key(field, VARINT);
        put_varint(&mut self.buf, v);
        self
    }

    pub(crate) fn fixed64(&mut self, field: u32, v: u64) -> &mut Self {
        self.key(field, FIXED64);
        self.buf.extend_from_slice(&v.to_le_bytes());
        self
    }

    pub(crate) fn bytes(&mut self, field: u32, v: &[u8]) -> &mut Self {
        self.key(field, LEN);
        put_varint(&mut self.buf, v.len() as u64);
        self.buf.extend_from_slice(v);
        self
    }

    pub(crate) fn finish(self) -> Zeroizing<Vec<u8>> {
        self.buf
    }
}

/// One field value as read.
#[derive(Clone, Copy)]
pub(crate) enum Value<'a> {
    Uint(u64),
    Fixed(u64),
    Bytes(&'a [u8]),
}

impl<'a> Value<'a> {
    pub(crate) fn uint(self, what: &'static str) -> Result<u64, ProtoError> {
        match self {
            Value::Uint(v) => Ok(v),
            _ => Err(ProtoError(what)),
        }
    }

    pub(crate) fn u32(self, what: &'static str) -> Result<u32, ProtoError> {
        // proto2 uint32: a varint whose value fits 32 bits (prost truncates; we refuse).
        u32::try_from(self.uint(what)?).map_err(|_| ProtoError(what))
    }

    pub(crate) fn fixed64(self, what: &'static str) -> Result<u64, ProtoError> {
        match self {
            Value::Fixed(v) => Ok(v),
            _ => Err(ProtoError(what)),
        }
    }

    pub(crate) fn bytes(self, what: &'static str) -> Result<&'a [u8], ProtoError> {
        match self {
            Value::Bytes(v) => Ok(v),
            _ => Err(ProtoError(what)),
        }
    }
}

pub(crate) fn get_varint(buf: &[u8], pos: &mut usize) -> Result<u64, ProtoError> {
    let mut out = 0u64;
    for i in 0..10 {
        let b = *buf.get(*pos).ok_or(ProtoError("truncated varint"))?;
        *pos += 1;
        if i == 9 && b > 1 {
            return Err(ProtoError("varint longer than 64 bits"));
        }
        out |= u64::from(b & 0x7F) << (7 * i);
        if b & 0x80 == 0 {
            return Ok(out);
        }
    }
    Err(ProtoError("varint longer than 10 bytes"))
}

/// Iterates over `(field number, value)` pairs.
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        Self { buf, pos: 0 }
    }
}

impl<'a> Iterator for Reader<'a> {
    type Item = Result<(u32, Value<'a>), ProtoError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.pos >= self.buf.len() {
            return None;
        }
        Some(self.read_field())
    }
}

impl<'a> Reader<'a> {
    fn read_field(&mut self) -> Result<(u32, Value<'a>), ProtoError> {
        let key = get_varint(self.buf, &mut self.pos)?;
        let field = u32::try_from(key >> 3).map_err(|_| ProtoError("field number too large"))?;
        if field == 0 {
            return Err(ProtoError("field number 0"));
        }
        let take = |pos: &mut usize, n: usize| -> Result<&'a [u8], ProtoError> {
            let end = pos
                .checked_add(n)
                .filter(|end| *end <= self.buf.len())
                .ok_or(ProtoError("truncated field"))?;
            let out = &self.buf[*pos..end];
            *pos = end;
            Ok(out)
        };
        let value = match (key & 7) as u8 {
            VARINT => Value::Uint(get_varint(self.buf, &mut self.pos)?),
            FIXED64 => {
                let b = take(&mut self.pos, 8)?;
                let mut a = [0u8; 8];
                a.copy_from_slice(b);
                Value::Fixed(u64::from_le_bytes(a))
            }
            LEN => {
                let n = get_varint(self.buf, &mut self.pos)?;
                let n = usize::try_from(n).map_err(|_| ProtoError("length too large"))?;
                Value::Bytes(take(&mut self.pos, n)?)
            }
            FIXED32 => {
                let b = take(&mut self.pos, 4)?;
                let mut a = [0u8; 4];
                a.copy_from_slice(b);
                Value::Uint(u64::from(u32::from_le_bytes(a)))
            }
            _ => return Err(ProtoError("unsupported wire type")),
        };
        Ok((field, value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_truncation() {
        let mut w = Writer::new();
        w.uint(1, 300)
            .bytes(2, b"abc")
            .fixed64(3, 7)
            .uint(4, u64::MAX);
        let bytes = w.finish();
        assert_eq!(&bytes[..5], &[0x08, 0xAC, 0x02, 0x12, 0x03]);
        let fields: Vec<_> = Reader::new(&bytes).collect::<Result<_, _>>().unwrap();
        assert_eq!(fields.len(), 4);
        assert_eq!(fields[0].1.uint("a").unwrap(), 300);
        assert_eq!(fields[1].1.bytes("b").unwrap(), b"abc");
        assert_eq!(fields[2].1.fixed64("c").unwrap(), 7);
        assert_eq!(fields[3].1.uint("d").unwrap(), u64::MAX);
        for cut in 1..bytes.len() {
            let r: Result<Vec<_>, _> = Reader::new(&bytes[..cut]).collect();
            // Some prefixes end on a field boundary and parse; none may panic.
            let _ = r;
        }
        assert!(Reader::new(&[0x12, 0x05, 0x00]).next().unwrap().is_err());
        assert!(Reader::new(&[0x00, 0x00]).next().unwrap().is_err());
        assert!(Reader::new(&[0x0B]).next().unwrap().is_err());
        assert!(Value::Uint(1 << 32).u32("x").is_err());
    }
}
