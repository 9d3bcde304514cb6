//! A small, strict, bounded CBOR (RFC 8949) reader: exactly the subset WebAuthn needs.
//!
//! Accepted: unsigned and negative integers (major types 0 and 1), byte strings (2), text
//! strings (3, valid UTF-8), arrays (4), maps (5) and the simple values `false`, `true`,
//! `null` and `undefined` (7).
//!
//! Refused: indefinite lengths (additional information 31), the reserved additional
//! information values 28..=30, tags (6), floating point numbers and other simple values,
//! duplicate map keys, map keys that are not integers or text strings, nesting deeper than
//! [`MAX_DEPTH`] and more than [`MAX_ITEMS`] data items in one decode.
//!
//! Integer and length heads are not required to use the shortest form. Authenticators are
//! asked to emit the CTAP2 canonical form, but nothing here depends on canonical encoding:
//! the signed bytes are always the raw authenticator data, never a re-encoding, so a looser
//! head encoding cannot change what a signature covers.
//!
//! No declared length or count is trusted before it is checked against the bytes that are
//! actually left, so hostile input cannot make the reader allocate more than a small
//! multiple of its own size.

use core::fmt;

/// Deepest nesting of arrays and maps accepted.
pub(crate) const MAX_DEPTH: usize = 16;
/// Most data items (of any kind, at any depth) accepted in one decode.
pub(crate) const MAX_ITEMS: usize = 4096;

/// A decoded CBOR data item, borrowing strings from the input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Value<'a> {
    /// An integer: major type 0 (`n`) or 1 (`-1 - n`). Both fit in `i128`.
    Int(i128),
    /// A byte string.
    Bytes(&'a [u8]),
    /// A UTF-8 text string.
    Text(&'a str),
    /// An array.
    Array(Vec<Value<'a>>),
    /// A map, in encoded order; keys are unique integers or text strings.
    Map(Vec<(Value<'a>, Value<'a>)>),
    /// `false` or `true`.
    Bool(bool),
    /// `null`.
    Null,
    /// `undefined`.
    Undefined,
}

impl<'a> Value<'a> {
    /// The entries of a map, or `None`.
    pub(crate) fn as_map(&self) -> Option<&[(Value<'a>, Value<'a>)]> {
        match self {
            Value::Map(entries) => Some(entries),
            _ => None,
        }
    }

    /// The value stored under the integer key `key` in a map's entries.
    pub(crate) fn int_key<'v>(
        entries: &'v [(Value<'a>, Value<'a>)],
        key: i128,
    ) -> Option<&'v Value<'a>> {
        entries.iter().find_map(|(k, v)| match k {
            Value::Int(n) if *n == key => Some(v),
            _ => None,
        })
    }

    /// The value stored under the text key `key` in a map's entries.
    pub(crate) fn text_key<'v>(
        entries: &'v [(Value<'a>, Value<'a>)],
        key: &str,
    ) -> Option<&'v Value<'a>> {
        entries.iter().find_map(|(k, v)| match k {
            Value::Text(t) if *t == key => Some(v),
            _ => None,
        })
    }
}

/// Why a CBOR item was refused. Messages are fixed strings: nothing from the input is echoed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CborError {
    /// The input ended inside an item.
    Truncated,
    /// Additional information 31 (indefinite length or "break").
    Indefinite,
    /// Additional information 28, 29 or 30.
    Reserved,
    /// Major type 6.
    Tag,
    /// A float or a simple value other than false/true/null/undefined.
    UnsupportedSimple,
    /// A text string that is not UTF-8.
    InvalidUtf8,
    /// A map key that is neither an integer nor a text string.
    BadMapKey,
    /// The same key twice in one map.
    DuplicateKey,
    /// Nesting deeper than [`MAX_DEPTH`].
    TooDeep,
    /// More than [`MAX_ITEMS`] items.
    TooManyItems,
    /// Bytes after the item where none are allowed.
    TrailingBytes(usize),
}

impl CborError {
    /// A short, fixed description.
    pub(crate) fn reason(self) -> &'static str {
        match self {
            CborError::Truncated => "truncated item",
            CborError::Indefinite => "indefinite length",
            CborError::Reserved => "reserved additional information",
            CborError::Tag => "tags are not accepted",
            CborError::UnsupportedSimple => "unsupported simple value or float",
            CborError::InvalidUtf8 => "text string is not UTF-8",
            CborError::BadMapKey => "map key is not an integer or text string",
            CborError::DuplicateKey => "duplicate map key",
            CborError::TooDeep => "nesting too deep",
            CborError::TooManyItems => "too many items",
            CborError::TrailingBytes(_) => "trailing bytes",
        }
    }
}

impl fmt::Display for CborError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.reason())
    }
}

/// Decodes one item that must fill `bytes` exactly.
pub(crate) fn decode_exact(bytes: &[u8]) -> Result<Value<'_>, CborError> {
    let (value, used) = decode_prefix(bytes)?;
    let rest = bytes.len().saturating_sub(used);
    if rest == 0 {
        Ok(value)
    } else {
        Err(CborError::TrailingBytes(rest))
    }
}

/// Decodes one item from the start of `bytes`; returns it and the number of bytes it used.
pub(crate) fn decode_prefix(bytes: &[u8]) -> Result<(Value<'_>, usize), CborError> {
    let mut reader = Reader {
        bytes,
        pos: 0,
        items: 0,
    };
    let value = reader.item(0)?;
    Ok((value, reader.pos))
}

struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
    items: usize,
}

impl<'a> Reader<'a> {
    fn remaining(&self) -> usize {
        self.bytes.len().saturating_sub(self.pos)
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], CborError> {
        let end = self.pos.checked_add(n).ok_or(CborError::Truncated)?;
        let out = self.bytes.get(self.pos..end).ok_or(CborError::Truncated)?;
        self.pos = end;
        Ok(out)
    }

    fn take_array<const N: usize>(&mut self) -> Result<[u8; N], CborError> {
        <[u8; N]>::try_from(self.take(N)?).map_err(|_| CborError::Truncated)
    }

    fn byte(&mut self) -> Result<u8, CborError> {
        let b = *self.bytes.get(self.pos).ok_or(CborError::Truncated)?;
        self.pos = self.pos.saturating_add(1);
        Ok(b)
    }

    /// Reads the argument that follows an initial byte with additional information `info`.
    fn argument(&mut self, info: u8) -> Result<u64, CborError> {
        match info {
            0..=23 => Ok(u64::from(info)),
            24 => Ok(u64::from(self.byte()?)),
            25 => Ok(u64::from(u16::from_be_bytes(self.take_array()?))),
            26 => Ok(u64::from(u32::from_be_bytes(self.take_array()?))),
            27 => Ok(u64::from_be_bytes(self.take_array()?)),
            28..=30 => Err(CborError::Reserved),
            _ => Err(CborError::Indefinite),
        }
    }

    /// A length or count that must fit in what is left of the input (each element of an
    /// array or map entry needs at least one byte, each string byte one byte).
    fn bounded_len(&self, n: u64) -> Result<usize, CborError> {
        let n = usize::try_from(n).map_err(|_| CborError::Truncated)?;
        if n > self.remaining() {
            Err(CborError::Truncated)
        } else {
            Ok(n)
        }
    }

    fn item(&mut self, depth: usize) -> Result<Value<'a>, CborError> {
        self.items = self.items.saturating_add(1);
        if self.items > MAX_ITEMS {
            return Err(CborError::TooManyItems);
        }
        let initial = self.byte()?;
        let major = initial >> 5;
        let info = initial & 0x1f;
        match major {
            0 => Ok(Value::Int(i128::from(self.argument(info)?))),
            1 => Ok(Value::Int(-1 - i128::from(self.argument(info)?))),
            2 => {
                let arg = self.argument(info)?;
                let n = self.bounded_len(arg)?;
                Ok(Value::Bytes(self.take(n)?))
            }
            3 => {
                let arg = self.argument(info)?;
                let n = self.bounded_len(arg)?;
                let raw = self.take(n)?;
                core::str::from_utf8(raw)
                    .map(Value::Text)
                    .map_err(|_| CborError::InvalidUtf8)
            }
            4 => {
                let arg = self.argument(info)?;
                let n = self.bounded_len(arg)?;
                let depth = self.nest(depth)?;
                let mut out = Vec::with_capacity(n);
                for _ in 0..n {
                    out.push(self.item(depth)?);
                }
                Ok(Value::Array(out))
            }
            5 => {
                let arg = self.argument(info)?;
                let n = self.bounded_len(arg)?;
                let depth = self.nest(depth)?;
                let mut out: Vec<(Value<'a>, Value<'a>)> = Vec::with_capacity(n);
                for _ in 0..n {
                    let key = self.item(depth)?;
                    if !matches!(key, Value::Int(_) | Value::Text(_)) {
                        return Err(CborError::BadMapKey);
                    }
                    if out.iter().any(|(k, _)| *k == key) {
                        return Err(CborError::DuplicateKey);
                    }
                    let value = self.item(depth)?;
                    out.push((key, value));
                }
                Ok(Value::Map(out))
            }
            6 => Err(CborError::Tag),
            _ => match info {
                20 => Ok(Value::Bool(false)),
                21 => Ok(Value::Bool(true)),
                22 => Ok(Value::Null),
                23 => Ok(Value::Undefined),
                31 => Err(CborError::Indefinite),
                28..=30 => Err(CborError::Reserved),
                _ => Err(CborError::UnsupportedSimple),
            },
        }
    }

    fn nest(&self, depth: usize) -> Result<usize, CborError> {
        let next = depth.saturating_add(1);
        if next > MAX_DEPTH {
            Err(CborError::TooDeep)
        } else {
            Ok(next)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers() {
        assert_eq!(decode_exact(&[0x00]), Ok(Value::Int(0)));
        assert_eq!(decode_exact(&[0x17]), Ok(Value::Int(23)));
        assert_eq!(decode_exact(&[0x18, 0x18]), Ok(Value::Int(24)));
        assert_eq!(decode_exact(&[0x19, 0x01, 0x00]), Ok(Value::Int(256)));
        assert_eq!(decode_exact(&[0x20]), Ok(Value::Int(-1)));
        assert_eq!(decode_exact(&[0x26]), Ok(Value::Int(-7)));
        assert_eq!(
            decode_exact(&[0x3b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]),
            Ok(Value::Int(-1 - i128::from(u64::MAX)))
        );
    }

    #[test]
    fn strings_and_containers() {
        assert_eq!(decode_exact(&[0x42, 1, 2]), Ok(Value::Bytes(&[1, 2])));
        assert_eq!(
            decode_exact(&[0x63, b'f', b'm', b't']),
            Ok(Value::Text("fmt"))
        );
        assert_eq!(
            decode_exact(&[0x82, 0x01, 0xf5]),
            Ok(Value::Array(vec![Value::Int(1), Value::Bool(true)]))
        );
        assert_eq!(
            decode_exact(&[0xa1, 0x01, 0x02]),
            Ok(Value::Map(vec![(Value::Int(1), Value::Int(2))]))
        );
        assert_eq!(decode_exact(&[0xa0]), Ok(Value::Map(vec![])));
    }

    #[test]
    fn refusals() {
        assert_eq!(decode_exact(&[]), Err(CborError::Truncated));
        assert_eq!(decode_exact(&[0x5f, 0xff]), Err(CborError::Indefinite));
        assert_eq!(decode_exact(&[0x9f, 0xff]), Err(CborError::Indefinite));
        assert_eq!(decode_exact(&[0xbf, 0xff]), Err(CborError::Indefinite));
        assert_eq!(decode_exact(&[0x1c]), Err(CborError::Reserved));
        assert_eq!(decode_exact(&[0xc0, 0x00]), Err(CborError::Tag));
        assert_eq!(
            decode_exact(&[0xf9, 0, 0]),
            Err(CborError::UnsupportedSimple)
        );
        assert_eq!(
            decode_exact(&[0x62, 0xff, 0xfe]),
            Err(CborError::InvalidUtf8)
        );
        assert_eq!(decode_exact(&[0xa1, 0x40, 0x00]), Err(CborError::BadMapKey));
        assert_eq!(
            decode_exact(&[0xa2, 0x01, 0x00, 0x01, 0x00]),
            Err(CborError::DuplicateKey)
        );
        assert_eq!(
            decode_exact(&[0x00, 0x00]),
            Err(CborError::TrailingBytes(1))
        );
        // A huge declared length must fail without allocating.
        assert_eq!(
            decode_exact(&[0x9b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]),
            Err(CborError::Truncated)
        );
        assert_eq!(
            decode_exact(&[0x5a, 0xff, 0xff, 0xff, 0xff]),
            Err(CborError::Truncated)
        );
    }

    #[test]
    fn depth_and_item_limits() {
        let deep: Vec<u8> = core::iter::repeat_n(0x81, MAX_DEPTH)
            .chain([0x00])
            .collect();
        assert!(decode_exact(&deep).is_ok());
        let too_deep: Vec<u8> = core::iter::repeat_n(0x81, MAX_DEPTH + 1)
            .chain([0x00])
            .collect();
        assert_eq!(decode_exact(&too_deep), Err(CborError::TooDeep));

        let mut many = vec![0x9a];
        many.extend_from_slice(&u32::try_from(MAX_ITEMS).unwrap_or(u32::MAX).to_be_bytes());
        many.extend(core::iter::repeat_n(0x00, MAX_ITEMS));
        assert_eq!(decode_exact(&many), Err(CborError::TooManyItems));
    }

    #[test]
    fn prefix_reports_length() {
        let (v, used) = decode_prefix(&[0xa1, 0x01, 0x02, 0xff, 0xff]).unwrap_or((Value::Null, 0));
        assert_eq!(v, Value::Map(vec![(Value::Int(1), Value::Int(2))]));
        assert_eq!(used, 3);
    }
}
