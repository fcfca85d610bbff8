//! Low-level msgpack reading and writing, independent of cty types.
//!
//! [`Reader`] is a bounds-checked cursor: it never reads past the input,
//! and rejects declared lengths that cannot fit in the remaining bytes, so
//! callers never allocate for data that is not there.

/// Deepest nesting accepted anywhere in the msgpack codec.
pub const MAX_DEPTH: usize = 256;

/// msgpack ext type code of cty's refined unknown.
pub const REFINED_UNKNOWN_EXT: i8 = 12;

/// One msgpack item header (with the payload for strings, bins and exts).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Token<'a> {
    Nil,
    Bool(bool),
    UInt(u64),
    Int(i64),
    F32(f32),
    F64(f64),
    Str(&'a [u8]),
    Bin(&'a [u8]),
    /// Number of elements that follow.
    Array(usize),
    /// Number of key/value pairs that follow.
    Map(usize),
    Ext(i8, &'a [u8]),
}

impl Token<'_> {
    /// A short name for messages.
    pub fn kind_name(&self) -> &'static str {
        match self {
            Self::Nil => "nil",
            Self::Bool(_) => "bool",
            Self::UInt(_) | Self::Int(_) => "integer",
            Self::F32(_) | Self::F64(_) => "float",
            Self::Str(_) => "string",
            Self::Bin(_) => "binary",
            Self::Array(_) => "array",
            Self::Map(_) => "map",
            Self::Ext(..) => "extension",
        }
    }
}

/// A bounds-checked msgpack cursor.
pub struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        Self { buf }
    }

    /// Bytes not consumed yet.
    pub fn remaining(&self) -> usize {
        self.buf.len()
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        if n > self.buf.len() {
            return Err(format!(
                "unexpected end of input: need {n} bytes, {} remain",
                self.buf.len()
            ));
        }
        let (head, tail) = self.buf.split_at(n);
        self.buf = tail;
        Ok(head)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], String> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    fn u8(&mut self) -> Result<u8, String> {
        Ok(self.array::<1>()?[0])
    }

    fn u16(&mut self) -> Result<u16, String> {
        Ok(u16::from_be_bytes(self.array()?))
    }

    fn u32(&mut self) -> Result<u32, String> {
        Ok(u32::from_be_bytes(self.array()?))
    }

    fn u64(&mut self) -> Result<u64, String> {
        Ok(u64::from_be_bytes(self.array()?))
    }

    fn len32(&mut self) -> Result<usize, String> {
        usize::try_from(self.u32()?).map_err(|_| "length does not fit in memory".to_owned())
    }

    /// Checks that `n` items of at least `min_bytes` each can still follow.
    fn count(&self, n: usize, min_bytes: usize) -> Result<usize, String> {
        if n.saturating_mul(min_bytes) > self.buf.len() {
            return Err(format!(
                "declared length {n} exceeds the {} remaining bytes",
                self.buf.len()
            ));
        }
        Ok(n)
    }

    fn ext(&mut self, len: usize) -> Result<Token<'a>, String> {
        let code = i8::from_be_bytes(self.array()?);
        Ok(Token::Ext(code, self.take(len)?))
    }

    /// Reads the next item header.
    pub fn next(&mut self) -> Result<Token<'a>, String> {
        let marker = self.u8()?;
        Ok(match marker {
            0x00..=0x7f => Token::UInt(u64::from(marker)),
            0x80..=0x8f => Token::Map(self.count(usize::from(marker & 0x0f), 2)?),
            0x90..=0x9f => Token::Array(self.count(usize::from(marker & 0x0f), 1)?),
            0xa0..=0xbf => Token::Str(self.take(usize::from(marker & 0x1f))?),
            0xc0 => Token::Nil,
            0xc1 => return Err("invalid msgpack marker 0xc1".to_owned()),
            0xc2 => Token::Bool(false),
            0xc3 => Token::Bool(true),
            0xc4 => {
                let n = usize::from(self.u8()?);
                Token::Bin(self.take(n)?)
            }
            0xc5 => {
                let n = usize::from(self.u16()?);
                Token::Bin(self.take(n)?)
            }
            0xc6 => {
                let n = self.len32()?;
                Token::Bin(self.take(n)?)
            }
            0xc7 => {
                let n = usize::from(self.u8()?);
                self.ext(n)?
            }
            0xc8 => {
                let n = usize::from(self.u16()?);
                self.ext(n)?
            }
            0xc9 => {
                let n = self.len32()?;
                self.ext(n)?
            }
            0xca => Token::F32(f32::from_bits(self.u32()?)),
            0xcb => Token::F64(f64::from_bits(self.u64()?)),
            0xcc => Token::UInt(u64::from(self.u8()?)),
            0xcd => Token::UInt(u64::from(self.u16()?)),
            0xce => Token::UInt(u64::from(self.u32()?)),
            0xcf => Token::UInt(self.u64()?),
            0xd0 => Token::Int(i64::from(i8::from_be_bytes(self.array()?))),
            0xd1 => Token::Int(i64::from(i16::from_be_bytes(self.array()?))),
            0xd2 => Token::Int(i64::from(i32::from_be_bytes(self.array()?))),
            0xd3 => Token::Int(i64::from_be_bytes(self.array()?)),
            0xd4 => self.ext(1)?,
            0xd5 => self.ext(2)?,
            0xd6 => self.ext(4)?,
            0xd7 => self.ext(8)?,
            0xd8 => self.ext(16)?,
            0xd9 => {
                let n = usize::from(self.u8()?);
                Token::Str(self.take(n)?)
            }
            0xda => {
                let n = usize::from(self.u16()?);
                Token::Str(self.take(n)?)
            }
            0xdb => {
                let n = self.len32()?;
                Token::Str(self.take(n)?)
            }
            0xdc => {
                let n = usize::from(self.u16()?);
                Token::Array(self.count(n, 1)?)
            }
            0xdd => {
                let n = self.len32()?;
                Token::Array(self.count(n, 1)?)
            }
            0xde => {
                let n = usize::from(self.u16()?);
                Token::Map(self.count(n, 2)?)
            }
            0xdf => {
                let n = self.len32()?;
                Token::Map(self.count(n, 2)?)
            }
            0xe0..=0xff => Token::Int(i64::from(i8::from_be_bytes([marker]))),
        })
    }

    /// Skips one complete item, nested at most [`MAX_DEPTH`] deep.
    pub fn skip(&mut self, depth: usize) -> Result<(), String> {
        if depth >= MAX_DEPTH {
            return Err(format!("nesting deeper than {MAX_DEPTH}"));
        }
        match self.next()? {
            Token::Array(n) => (0..n).try_for_each(|_| self.skip(depth + 1)),
            Token::Map(n) => (0..n).try_for_each(|_| {
                self.skip(depth + 1)?;
                self.skip(depth + 1)
            }),
            _ => Ok(()),
        }
    }
}

/// Checks that an ext-12 payload is a msgpack map with integer keys and
/// nothing after it. The refinements themselves are not interpreted.
pub fn validate_refinements(payload: &[u8]) -> Result<(), String> {
    let mut r = Reader::new(payload);
    let Token::Map(n) = r.next()? else {
        return Err("refined unknown payload is not a map".to_owned());
    };
    for _ in 0..n {
        if !matches!(r.next()?, Token::UInt(_) | Token::Int(_)) {
            return Err("refined unknown key is not an integer".to_owned());
        }
        r.skip(1)?;
    }
    if r.remaining() != 0 {
        return Err("trailing bytes in refined unknown payload".to_owned());
    }
    Ok(())
}

pub fn write_nil(out: &mut Vec<u8>) {
    out.push(0xc0);
}

pub fn write_bool(out: &mut Vec<u8>, b: bool) {
    out.push(if b { 0xc3 } else { 0xc2 });
}

/// Writes the plain unknown value, `d4 00 00`.
pub fn write_unknown(out: &mut Vec<u8>) {
    out.extend_from_slice(&[0xd4, 0x00, 0x00]);
}

/// Writes `u` in the smallest unsigned form.
pub fn write_uint(out: &mut Vec<u8>, u: u64) {
    if let Ok(b) = u8::try_from(u) {
        if b < 0x80 {
            out.push(b);
        } else {
            out.extend_from_slice(&[0xcc, b]);
        }
    } else if let Ok(v) = u16::try_from(u) {
        out.push(0xcd);
        out.extend_from_slice(&v.to_be_bytes());
    } else if let Ok(v) = u32::try_from(u) {
        out.push(0xce);
        out.extend_from_slice(&v.to_be_bytes());
    } else {
        out.push(0xcf);
        out.extend_from_slice(&u.to_be_bytes());
    }
}

/// Writes `i` in the smallest form (unsigned forms for non-negatives).
pub fn write_int(out: &mut Vec<u8>, i: i64) {
    if let Ok(u) = u64::try_from(i) {
        write_uint(out, u);
    } else if let Ok(v) = i8::try_from(i) {
        if v >= -32 {
            out.extend_from_slice(&v.to_be_bytes());
        } else {
            out.push(0xd0);
            out.extend_from_slice(&v.to_be_bytes());
        }
    } else if let Ok(v) = i16::try_from(i) {
        out.push(0xd1);
        out.extend_from_slice(&v.to_be_bytes());
    } else if let Ok(v) = i32::try_from(i) {
        out.push(0xd2);
        out.extend_from_slice(&v.to_be_bytes());
    } else {
        out.push(0xd3);
        out.extend_from_slice(&i.to_be_bytes());
    }
}

pub fn write_f64(out: &mut Vec<u8>, f: f64) {
    out.push(0xcb);
    out.extend_from_slice(&f.to_be_bytes());
}

/// Writes a length header in its fix/8/16/32 form.
fn write_len(
    out: &mut Vec<u8>,
    n: usize,
    fix: Option<(u8, usize)>,
    markers: [Option<u8>; 3],
) -> Result<(), String> {
    if let Some((base, limit)) = fix {
        if n < limit {
            if let Ok(b) = u8::try_from(n) {
                out.push(base | b);
                return Ok(());
            }
        }
    }
    if let (Some(m), Ok(v)) = (markers[0], u8::try_from(n)) {
        out.extend_from_slice(&[m, v]);
    } else if let (Some(m), Ok(v)) = (markers[1], u16::try_from(n)) {
        out.push(m);
        out.extend_from_slice(&v.to_be_bytes());
    } else if let (Some(m), Ok(v)) = (markers[2], u32::try_from(n)) {
        out.push(m);
        out.extend_from_slice(&v.to_be_bytes());
    } else {
        return Err(format!("length {n} is too large for msgpack"));
    }
    Ok(())
}

pub fn write_str(out: &mut Vec<u8>, s: &str) -> Result<(), String> {
    write_len(
        out,
        s.len(),
        Some((0xa0, 32)),
        [Some(0xd9), Some(0xda), Some(0xdb)],
    )?;
    out.extend_from_slice(s.as_bytes());
    Ok(())
}

pub fn write_bin(out: &mut Vec<u8>, b: &[u8]) -> Result<(), String> {
    write_len(out, b.len(), None, [Some(0xc4), Some(0xc5), Some(0xc6)])?;
    out.extend_from_slice(b);
    Ok(())
}

pub fn write_array_len(out: &mut Vec<u8>, n: usize) -> Result<(), String> {
    write_len(out, n, Some((0x90, 16)), [None, Some(0xdc), Some(0xdd)])
}

pub fn write_map_len(out: &mut Vec<u8>, n: usize) -> Result<(), String> {
    write_len(out, n, Some((0x80, 16)), [None, Some(0xde), Some(0xdf)])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(bytes: &[u8]) -> Result<Token<'_>, String> {
        let mut r = Reader::new(bytes);
        let t = r.next()?;
        assert_eq!(r.remaining(), 0, "{bytes:02x?}");
        Ok(t)
    }

    #[test]
    fn read_table() {
        let cases: &[(&[u8], Token<'_>)] = &[
            (&[0x05], Token::UInt(5)),
            (&[0xff], Token::Int(-1)),
            (&[0xe0], Token::Int(-32)),
            (&[0xcc, 0xff], Token::UInt(255)),
            (&[0xcd, 0x01, 0x2c], Token::UInt(300)),
            (&[0xce, 0, 1, 0, 0], Token::UInt(65536)),
            (
                &[0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
                Token::UInt(u64::MAX),
            ),
            (&[0xd0, 0x80], Token::Int(-128)),
            (&[0xd1, 0xff, 0x00], Token::Int(-256)),
            (&[0xd2, 0xff, 0xff, 0xff, 0xfe], Token::Int(-2)),
            (&[0xd3, 0x80, 0, 0, 0, 0, 0, 0, 0], Token::Int(i64::MIN)),
            (&[0xca, 0x3f, 0xc0, 0, 0], Token::F32(1.5)),
            (&[0xcb, 0x3f, 0xf8, 0, 0, 0, 0, 0, 0], Token::F64(1.5)),
            (&[0xc0], Token::Nil),
            (&[0xc2], Token::Bool(false)),
            (&[0xc3], Token::Bool(true)),
            (&[0xa2, b'h', b'i'], Token::Str(b"hi")),
            (&[0xd9, 1, b'x'], Token::Str(b"x")),
            (&[0xda, 0, 1, b'x'], Token::Str(b"x")),
            (&[0xdb, 0, 0, 0, 1, b'x'], Token::Str(b"x")),
            (&[0xc4, 1, 7], Token::Bin(&[7])),
            (&[0xc5, 0, 1, 7], Token::Bin(&[7])),
            (&[0xc6, 0, 0, 0, 1, 7], Token::Bin(&[7])),
            (&[0x90], Token::Array(0)),
            (&[0xdc, 0, 0], Token::Array(0)),
            (&[0xdd, 0, 0, 0, 0], Token::Array(0)),
            (&[0x80], Token::Map(0)),
            (&[0xde, 0, 0], Token::Map(0)),
            (&[0xdf, 0, 0, 0, 0], Token::Map(0)),
            (&[0xd4, 0, 0], Token::Ext(0, &[0])),
            (&[0xd5, 1, 0, 0], Token::Ext(1, &[0, 0])),
            (&[0xd6, 2, 0, 0, 0, 0], Token::Ext(2, &[0; 4])),
            (&[0xd7, 3, 0, 0, 0, 0, 0, 0, 0, 0], Token::Ext(3, &[0; 8])),
            (
                &[0xd8, 0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
                Token::Ext(-1, &[0; 16]),
            ),
            (&[0xc7, 1, 12, 9], Token::Ext(12, &[9])),
            (&[0xc8, 0, 1, 12, 9], Token::Ext(12, &[9])),
            (&[0xc9, 0, 0, 0, 1, 12, 9], Token::Ext(12, &[9])),
        ];
        for (bytes, want) in cases {
            assert_eq!(one(bytes), Ok(*want), "{bytes:02x?}");
        }
    }

    #[test]
    fn read_errors() {
        let cases: &[&[u8]] = &[
            &[],
            &[0xc1],
            &[0xa2, b'h'],
            &[0xcd, 0x01],
            &[0xdb, 0xff, 0xff, 0xff, 0xff],
            &[0xdd, 0xff, 0xff, 0xff, 0xff, 0],
            &[0xdf, 0, 0, 0, 1, 0],
            &[0x91],
            &[0xc9, 0xff, 0xff, 0xff, 0xff, 1],
            &[0xd8, 1, 0],
        ];
        for bytes in cases {
            assert!(Reader::new(bytes).next().is_err(), "{bytes:02x?}");
        }
    }

    #[test]
    fn skip_and_refinements() {
        let mut r = Reader::new(&[0x92, 0x81, 0x01, 0xc2, 0xa1, b'x', 0x07]);
        assert_eq!(r.skip(0), Ok(()));
        assert_eq!(r.remaining(), 1);
        let deep: Vec<u8> = std::iter::repeat_n(0x91, 300).chain([0xc0]).collect();
        assert!(Reader::new(&deep).skip(0).is_err());
        assert_eq!(validate_refinements(&[0x81, 0x01, 0xc2]), Ok(()));
        assert_eq!(
            validate_refinements(&[0x82, 0x01, 0xc3, 0x02, 0xa1, b'a']),
            Ok(())
        );
        assert_eq!(validate_refinements(&[0x80]), Ok(()));
        for bad in [
            &[][..],
            &[0x90],
            &[0x81, 0xa1, b'a', 0xc2],
            &[0x81, 0x01],
            &[0x80, 0x00],
        ] {
            assert!(validate_refinements(bad).is_err(), "{bad:02x?}");
        }
    }

    #[test]
    fn write_table() {
        type W = fn(&mut Vec<u8>);
        let cases: &[(W, &[u8])] = &[
            (|o| write_int(o, 1), &[0x01]),
            (|o| write_int(o, 127), &[0x7f]),
            (|o| write_int(o, 128), &[0xcc, 0x80]),
            (|o| write_int(o, 300), &[0xcd, 0x01, 0x2c]),
            (|o| write_int(o, 70_000), &[0xce, 0, 1, 0x11, 0x70]),
            (|o| write_int(o, -1), &[0xff]),
            (|o| write_int(o, -32), &[0xe0]),
            (|o| write_int(o, -33), &[0xd0, 0xdf]),
            (|o| write_int(o, -200), &[0xd1, 0xff, 0x38]),
            (|o| write_int(o, -70_000), &[0xd2, 0xff, 0xfe, 0xee, 0x90]),
            (
                |o| write_int(o, i64::MIN),
                &[0xd3, 0x80, 0, 0, 0, 0, 0, 0, 0],
            ),
            (
                |o| write_uint(o, u64::MAX),
                &[0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
            ),
            (|o| write_f64(o, 1.5), &[0xcb, 0x3f, 0xf8, 0, 0, 0, 0, 0, 0]),
            (write_unknown, &[0xd4, 0, 0]),
            (write_nil, &[0xc0]),
            (|o| write_bool(o, true), &[0xc3]),
            (|o| drop(write_str(o, "hi")), &[0xa2, b'h', b'i']),
            (|o| drop(write_bin(o, b"x")), &[0xc4, 1, b'x']),
            (|o| drop(write_array_len(o, 15)), &[0x9f]),
            (|o| drop(write_array_len(o, 16)), &[0xdc, 0, 16]),
            (
                |o| drop(write_array_len(o, 70_000)),
                &[0xdd, 0, 1, 0x11, 0x70],
            ),
            (|o| drop(write_map_len(o, 3)), &[0x83]),
            (|o| drop(write_map_len(o, 300)), &[0xde, 1, 0x2c]),
        ];
        for (i, (write, want)) in cases.iter().enumerate() {
            let mut out = Vec::new();
            write(&mut out);
            assert_eq!(&out, want, "case {i}");
        }
        let mut out = Vec::new();
        assert_eq!(write_str(&mut out, &"a".repeat(40)), Ok(()));
        assert_eq!(&out[..2], &[0xd9, 40]);
        out.clear();
        assert_eq!(write_str(&mut out, &"a".repeat(300)), Ok(()));
        assert_eq!(&out[..3], &[0xda, 1, 0x2c]);
        out.clear();
        assert_eq!(write_bin(&mut out, &[0; 70_000]), Ok(()));
        assert_eq!(&out[..5], &[0xc6, 0, 1, 0x11, 0x70]);
    }
}
