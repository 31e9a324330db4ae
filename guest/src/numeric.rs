//! Numeric header fields: octal text, or GNU base-256 binary.
//!
//! Readers disagree at the edges (GNU tar accepts `1 2` as 1, Python rejects
//! it; GNU accepts base-256 with stray high bits, Python does not), so this
//! module accepts only the forms every mainstream reader decodes the same way:
//! optional leading spaces, octal digits, then nothing but spaces and NULs; or
//! a first byte of exactly `0x80` (positive) or `0xff` (negative) followed by a
//! big-endian two's-complement value.

/// Why a numeric field could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NumError {
    /// A byte that is neither an octal digit nor padding.
    NotOctal(u8),
    /// The value does not fit the target type.
    Overflow,
    /// A negative value where only non-negative ones make sense.
    Negative,
}

impl std::fmt::Display for NumError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NumError::NotOctal(b) => write!(f, "byte 0x{b:02x} in an octal field"),
            NumError::Overflow => f.write_str("value out of range"),
            NumError::Negative => f.write_str("negative value"),
        }
    }
}

/// Reads a field that may be negative (times).
pub fn parse_signed(field: &[u8]) -> Result<i64, NumError> {
    match field.first() {
        Some(0x80) | Some(0xff) => parse_base256(field),
        _ => {
            let v = parse_octal(field)?;
            i64::try_from(v).map_err(|_| NumError::Overflow)
        }
    }
}

/// Reads a field that must not be negative (sizes, modes, checksums).
pub fn parse_unsigned(field: &[u8]) -> Result<u64, NumError> {
    match field.first() {
        Some(0x80) | Some(0xff) => {
            let v = parse_base256(field)?;
            u64::try_from(v).map_err(|_| NumError::Negative)
        }
        _ => parse_octal(field),
    }
}

/// Whether GNU tar calls `field` blank: after one optional leading NUL,
/// nothing but spaces. GNU tar 1.34 reports "Blanks in header where numeric
/// value expected" and uses -1 where it decodes such a field; Python reads 0.
/// [`parse_unsigned`] reads it as 0 too, so callers refuse it where GNU
/// decodes the field.
pub fn is_blank(field: &[u8]) -> bool {
    let rest = match field {
        [0, rest @ ..] => rest,
        _ => field,
    };
    !rest.is_empty() && rest.iter().all(|&b| b == b' ')
}

fn parse_octal(field: &[u8]) -> Result<u64, NumError> {
    let mut rest = field;
    while let [b' ', tail @ ..] = rest {
        rest = tail;
    }
    let digits = rest.iter().take_while(|b| (b'0'..=b'7').contains(b)).count();
    let (number, padding) = rest.split_at(digits);
    if let Some(&bad) = padding.iter().find(|&&b| b != b' ' && b != 0) {
        return Err(NumError::NotOctal(bad));
    }
    number.iter().try_fold(0u64, |acc, &d| {
        acc.checked_mul(8).and_then(|acc| acc.checked_add(u64::from(d - b'0'))).ok_or(NumError::Overflow)
    })
}

fn parse_base256(field: &[u8]) -> Result<i64, NumError> {
    let negative = field[0] == 0xff;
    let body = &field[1..];
    // Skip the sign-extension bytes, then the value must fit in 8 bytes.
    let fill = if negative { 0xff } else { 0x00 };
    let significant = body.iter().position(|&b| b != fill).unwrap_or(body.len());
    let body = &body[significant..];
    if body.len() > 8 {
        return Err(NumError::Overflow);
    }
    let mut bytes = [fill; 8];
    bytes[8 - body.len()..].copy_from_slice(body);
    let value = i64::from_be_bytes(bytes);
    // The sign of the decoded 64-bit value must match the marker byte.
    if (value < 0) != negative {
        return Err(NumError::Overflow);
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn octal_with_padding() {
        assert_eq!(parse_unsigned(b"0000644\0"), Ok(0o644));
        assert_eq!(parse_unsigned(b"   644 \0"), Ok(0o644));
        assert_eq!(parse_unsigned(b"\0\0\0\0"), Ok(0));
        assert_eq!(parse_unsigned(b"        "), Ok(0));
    }

    #[test]
    fn octal_rejects_garbage_and_inner_spaces() {
        assert_eq!(parse_unsigned(b"1 2\0"), Err(NumError::NotOctal(b'2')));
        assert_eq!(parse_unsigned(b"0008\0"), Err(NumError::NotOctal(b'8')));
        assert_eq!(parse_unsigned(b"12\0x"), Err(NumError::NotOctal(b'x')));
        assert_eq!(parse_unsigned(b"-12\0"), Err(NumError::NotOctal(b'-')));
    }

    #[test]
    fn blank_is_spaces_after_at_most_one_nul() {
        assert!(is_blank(b"        "));
        assert!(is_blank(b"\0       "));
        assert!(!is_blank(b"\0\0\0\0\0\0\0\0"));
        assert!(!is_blank(b"       \0"));
        assert!(!is_blank(b"\0\0      "));
        assert!(!is_blank(b"    644 "));
    }

    #[test]
    fn octal_overflow() {
        assert_eq!(parse_unsigned(b"7777777777777777777777777"), Err(NumError::Overflow));
    }

    #[test]
    fn base256_positive_and_negative() {
        let mut f = [0u8; 12];
        f[0] = 0x80;
        f[11] = 0x01;
        f[10] = 0x02;
        assert_eq!(parse_unsigned(&f), Ok(0x0201));
        let mut n = [0xffu8; 12];
        n[11] = 0xfe; // -2
        assert_eq!(parse_signed(&n), Ok(-2));
        assert_eq!(parse_unsigned(&n), Err(NumError::Negative));
    }

    #[test]
    fn base256_too_wide() {
        let mut f = [0x11u8; 12];
        f[0] = 0x80;
        assert_eq!(parse_unsigned(&f), Err(NumError::Overflow));
        // Fits in 8 bytes but sets the sign bit: not a valid positive i64.
        let mut g = [0u8; 12];
        g[0] = 0x80;
        g[4] = 0x80;
        assert_eq!(parse_unsigned(&g), Err(NumError::Overflow));
    }
}
