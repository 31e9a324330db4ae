//! PAX extended header records (`<length> <key>=<value>\n`).
//!
//! Parsing is strict: the records must tile the payload exactly, every length
//! must be plain decimal and match, every key must be followed by `=`, and a
//! key may appear only once. Python's tarfile silently stops at the first
//! malformed record while GNU tar reports it, so anything short of a
//! well-formed payload is refused rather than interpreted.

use std::collections::BTreeSet;

/// The records of one extended header that change how a member is read.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct PaxRecords {
    /// `path`: replaces the header's name.
    pub path: Option<Vec<u8>>,
    /// `linkpath`: replaces the header's link target.
    pub linkpath: Option<Vec<u8>>,
    /// `size`: replaces the header's size field, larger or smaller.
    pub size: Option<u64>,
    /// `mtime`: replaces the header's modification time (whole seconds).
    pub mtime: Option<i64>,
    /// Some `GNU.sparse.*` key was present: the member is a PAX sparse file.
    pub sparse: bool,
}

impl PaxRecords {
    /// Whether any record would change a member (as opposed to comments,
    /// ownership names, extended attributes and the like, which sealtar never
    /// applies).
    pub fn affects_members(&self) -> bool {
        self.path.is_some() || self.linkpath.is_some() || self.size.is_some() || self.mtime.is_some() || self.sparse
    }
}

/// Parses a whole extended-header payload.
pub fn parse(payload: &[u8]) -> Result<PaxRecords, String> {
    let mut records = PaxRecords::default();
    let mut seen = BTreeSet::new();
    let mut pos = 0usize;
    while pos < payload.len() {
        let rest = &payload[pos..];
        let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
        if digits == 0 || digits > 20 || rest.get(digits) != Some(&b' ') {
            return Err(format!("malformed PAX record at payload byte {pos}: no length"));
        }
        if rest[0] == b'0' {
            return Err(format!("malformed PAX record at payload byte {pos}: length has a leading zero"));
        }
        let len: usize = std::str::from_utf8(&rest[..digits])
            .ok()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| format!("malformed PAX record at payload byte {pos}: bad length"))?;
        if len > rest.len() || len < digits + 3 {
            return Err(format!("malformed PAX record at payload byte {pos}: length {len} does not fit"));
        }
        let record = &rest[digits + 1..len];
        let Some((&b'\n', body)) = record.split_last() else {
            return Err(format!("malformed PAX record at payload byte {pos}: missing newline"));
        };
        let Some(eq) = body.iter().position(|&b| b == b'=') else {
            return Err(format!("malformed PAX record at payload byte {pos}: missing '='"));
        };
        let (key, value) = (&body[..eq], &body[eq + 1..]);
        if key.is_empty() || key.contains(&0) {
            return Err(format!("malformed PAX record at payload byte {pos}: bad key"));
        }
        let key_text = String::from_utf8_lossy(key).into_owned();
        if !seen.insert(key.to_vec()) {
            return Err(format!("PAX key {key_text:?} appears twice in one header"));
        }
        apply(&mut records, key, &key_text, value)?;
        pos += len;
    }
    Ok(records)
}

fn apply(records: &mut PaxRecords, key: &[u8], key_text: &str, value: &[u8]) -> Result<(), String> {
    let used = matches!(key, b"path" | b"linkpath" | b"size" | b"mtime");
    if used && value.is_empty() {
        // POSIX reads an empty value as "unset", Python as an empty string.
        return Err(format!("PAX key {key_text:?} has an empty value"));
    }
    match key {
        b"path" => records.path = Some(value.to_vec()),
        b"linkpath" => records.linkpath = Some(value.to_vec()),
        b"size" => records.size = Some(parse_decimal(value).ok_or_else(|| bad(key_text, value))?),
        b"mtime" => records.mtime = Some(parse_time(value).ok_or_else(|| bad(key_text, value))?),
        _ if key.starts_with(b"GNU.sparse.") => records.sparse = true,
        _ => {}
    }
    Ok(())
}

fn bad(key: &str, value: &[u8]) -> String {
    format!("PAX key {key:?} has a malformed value {:?}", String::from_utf8_lossy(value))
}

/// Plain unsigned decimal: digits only, no sign, no spaces.
fn parse_decimal(value: &[u8]) -> Option<u64> {
    if value.is_empty() || !value.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(value).ok()?.parse().ok()
}

/// `[-]seconds[.fraction]`, kept to whole seconds (rounded toward negative
/// infinity, as GNU tar and Python do).
fn parse_time(value: &[u8]) -> Option<i64> {
    let (negative, body) = match value.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, value),
    };
    let (whole, fraction) = match body.iter().position(|&b| b == b'.') {
        Some(dot) => (&body[..dot], &body[dot + 1..]),
        None => (body, &[][..]),
    };
    if !fraction.iter().all(u8::is_ascii_digit) || (body.contains(&b'.') && fraction.is_empty()) {
        return None;
    }
    let seconds = i64::try_from(parse_decimal(whole)?).ok()?;
    let has_fraction = fraction.iter().any(|&d| d != b'0');
    Some(match (negative, has_fraction) {
        (false, _) => seconds,
        (true, false) => -seconds,
        (true, true) => (-seconds).checked_sub(1)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(key: &str, value: &str) -> Vec<u8> {
        let body = format!(" {key}={value}\n");
        let mut len = body.len() + 1;
        while format!("{len}{body}").len() != len {
            len += 1;
        }
        format!("{len}{body}").into_bytes()
    }

    #[test]
    fn reads_known_keys() {
        let mut p = rec("path", "a/b");
        p.extend(rec("size", "12"));
        p.extend(rec("mtime", "1700000000.5"));
        p.extend(rec("comment", "hello"));
        let r = parse(&p).unwrap();
        assert_eq!(r.path.as_deref(), Some(&b"a/b"[..]));
        assert_eq!(r.size, Some(12));
        assert_eq!(r.mtime, Some(1_700_000_000));
        assert!(r.affects_members());
    }

    #[test]
    fn comment_only_does_not_affect_members() {
        let r = parse(&rec("comment", "git commit id")).unwrap();
        assert!(!r.affects_members());
    }

    #[test]
    fn negative_fractional_time_floors() {
        let r = parse(&rec("mtime", "-1.5")).unwrap();
        assert_eq!(r.mtime, Some(-2));
        let r = parse(&rec("mtime", "-3")).unwrap();
        assert_eq!(r.mtime, Some(-3));
    }

    #[test]
    fn rejects_malformed_records() {
        assert!(parse(b"13 path=abc").is_err(), "no newline");
        assert!(parse(b"99 path=abc\n").is_err(), "length too long");
        assert!(parse(b"5 path=abc\n").is_err(), "length too short");
        assert!(parse(b"12 pathabc\n\n").is_err(), "no equals sign");
        assert!(parse(b"012 path=ab\n").is_err(), "leading zero");
        assert!(parse(b"+12 path=ab\n").is_err(), "signed length");
        assert!(parse(&rec("size", "-1")).is_err(), "signed size");
        assert!(parse(&rec("size", " 1")).is_err(), "space in size");
        assert!(parse(&rec("path", "")).is_err(), "empty path");
        let mut twice = rec("path", "a");
        twice.extend(rec("path", "b"));
        assert!(parse(&twice).is_err(), "repeated key");
        let mut trailing = rec("path", "a");
        trailing.push(0);
        assert!(parse(&trailing).is_err(), "trailing NUL");
    }

    #[test]
    fn sparse_keys_are_flagged() {
        let r = parse(&rec("GNU.sparse.major", "1")).unwrap();
        assert!(r.sparse);
    }

    #[test]
    fn value_may_contain_newline_and_equals() {
        let r = parse(&rec("path", "a=b\nc")).unwrap();
        assert_eq!(r.path.as_deref(), Some(&b"a=b\nc"[..]));
    }
}
