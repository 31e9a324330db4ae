//! PAX extended header records (`<length> <key>=<value>\n`).
//!
//! Parsing is strict: the records must tile the payload exactly, every length
//! must be plain decimal and match, every key must be followed by `=`, and a
//! key may appear only once. Python's tarfile silently stops at the first
//! malformed record while GNU tar reports it, so anything short of a
//! well-formed payload is refused rather than interpreted.
//!
//! The numeric records GNU tar decodes (`size`, `uid`, `gid`, `mtime`,
//! `atime`, `ctime`) must be plain numbers in GNU's range: GNU tar stops on a
//! malformed one, Python silently reads it as 0 ([`GrammarRule::PaxNumber`]).
//! A fractional `mtime` is kept to whole seconds, rounded toward negative
//! infinity as GNU tar's `st_mtime` is; one whose whole second Python's
//! binary float would put elsewhere is refused
//! ([`GrammarRule::PaxTimeRounding`]).

use std::collections::BTreeSet;

use crate::rules::GrammarRule;

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
    if matches!(key, b"path" | b"linkpath") && value.is_empty() {
        // POSIX reads an empty value as "unset", Python as an empty string.
        return Err(format!("PAX key {key_text:?} has an empty value"));
    }
    match key {
        b"path" => records.path = Some(value.to_vec()),
        b"linkpath" => records.linkpath = Some(value.to_vec()),
        // GNU tar's ranges: off_t for sizes, uid_t/gid_t for ids.
        b"size" => {
            let size = parse_decimal(value).filter(|&s| i64::try_from(s).is_ok());
            records.size = Some(size.ok_or_else(|| bad(key_text, value))?);
        }
        b"uid" | b"gid" => {
            parse_decimal(value).filter(|&id| u32::try_from(id).is_ok()).ok_or_else(|| bad(key_text, value))?;
        }
        b"mtime" => {
            let time = parse_time(value).ok_or_else(|| bad(key_text, value))?;
            if python_seconds(value) != Some(time) {
                return Err(GrammarRule::PaxTimeRounding.message(format_args!(
                    "PAX mtime {:?} is second {time} exactly but not as a binary float",
                    String::from_utf8_lossy(value)
                )));
            }
            records.mtime = Some(time);
        }
        b"atime" | b"ctime" => {
            parse_time(value).ok_or_else(|| bad(key_text, value))?;
        }
        _ if key.starts_with(b"GNU.sparse.") => records.sparse = true,
        _ => {}
    }
    Ok(())
}

fn bad(key: &str, value: &[u8]) -> String {
    GrammarRule::PaxNumber.message(format_args!(
        "PAX key {key:?} has a malformed or out-of-range value {:?}",
        String::from_utf8_lossy(value)
    ))
}

/// Plain unsigned decimal: digits only, no sign, no spaces.
fn parse_decimal(value: &[u8]) -> Option<u64> {
    if value.is_empty() || !value.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(value).ok()?.parse().ok()
}

/// `[-]seconds[.fraction]`, kept to whole seconds rounded toward negative
/// infinity: the `tv_sec` GNU tar gives the file (it keeps nanoseconds,
/// flooring any further digits), so `-1.5` is second -2.
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

/// The whole second Python's tarfile gives a file for this PAX time: it
/// reads the value as a binary float, and `os.utime` splits that into
/// seconds and nanoseconds rounding toward negative infinity (CPython's
/// `_PyTime_DoubleToDenominator` with `ROUND_FLOOR`). The steps and their
/// IEEE double arithmetic are the same here. `None` where Python fails
/// (out of `time_t` range).
fn python_seconds(value: &[u8]) -> Option<i64> {
    let f: f64 = std::str::from_utf8(value).ok()?.parse().ok()?;
    let mut whole = f.trunc();
    let nanos = ((f - whole) * 1e9).floor();
    if nanos >= 1e9 {
        whole += 1.0;
    } else if nanos < 0.0 {
        whole -= 1.0;
    }
    // i64::MIN and 2^63 are exact doubles; whole is an integer.
    (-9_223_372_036_854_775_808.0..9_223_372_036_854_775_808.0).contains(&whole).then_some(whole as i64)
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
        // GNU tar 1.34 gives `mtime=-1.5` the time -1.5 s (tv_sec -2,
        // tv_nsec 500000000), and so does Python: whole second -2.
        for (value, second) in [
            ("-1.5", -2),
            ("-0.5", -1),
            ("-3", -3),
            ("-0", 0),
            ("-1.000", -1),
            ("-1.0000000001", -2),
            ("1.9999999999", 1),
        ] {
            assert_eq!(parse(&rec("mtime", value)).unwrap().mtime, Some(second), "{value}");
        }
    }

    fn rule(payload: &[u8]) -> String {
        let e = parse(payload).unwrap_err();
        let start = e.rfind("[rule ").unwrap_or_else(|| panic!("no rule in {e}"));
        e[start + 6..e.len() - 1].to_string()
    }

    #[test]
    fn times_python_rounds_to_another_second_are_refused() {
        // 1700000000.999999999 is the double 1700000001.0; GNU tar keeps
        // the nanoseconds (second 1700000000).
        assert_eq!(rule(&rec("mtime", "1700000000.999999999")), "pax-time-rounding");
        // -1.000...0001 is the double -1.0 (second -1); exactly, second -2.
        assert_eq!(rule(&rec("mtime", "-1.00000000000000000000000000001")), "pax-time-rounding");
        // Just below 2^63: a double rounds it up out of time_t's range.
        assert_eq!(rule(&rec("mtime", "9223372036854775807")), "pax-time-rounding");
        // What GNU tar and Python write is read.
        for value in ["1700000000.123456789", "1700000000.5", "1700000000", "-86400.25", "0.000000001"] {
            assert!(parse(&rec("mtime", value)).is_ok(), "{value}");
        }
    }

    #[test]
    fn malformed_numeric_records_are_refused() {
        for (key, value) in [
            ("uid", "x"),
            ("uid", "-1"),
            ("uid", "+1"),
            ("uid", "4294967296"),
            ("uid", ""),
            ("gid", "1.5"),
            ("gid", ""),
            ("size", "1.0"),
            ("size", "9223372036854775808"),
            ("size", ""),
            ("mtime", ".5"),
            ("mtime", "+5"),
            ("mtime", "1e3"),
            ("mtime", " 5"),
            ("mtime", "-1."),
            ("mtime", "1.5.5"),
            ("mtime", ""),
            ("mtime", "99999999999999999999"),
            ("atime", "garbage"),
            ("atime", ""),
            ("ctime", "1.5.5"),
        ] {
            assert_eq!(rule(&rec(key, value)), "pax-number", "{key}={value}");
        }
        for (key, value) in [("uid", "4294967295"), ("gid", "007"), ("atime", "-1.5"), ("ctime", "1700000000.5")] {
            assert!(parse(&rec(key, value)).is_ok(), "{key}={value}");
        }
    }

    #[test]
    fn rejects_malformed_records() {
        assert!(parse(b"13 path=abc").is_err(), "no newline");
        assert!(parse(b"99 path=abc\n").is_err(), "length too long");
        assert!(parse(b"5 path=abc\n").is_err(), "length too short");
        assert!(parse(b"12 pathabc\n\n").is_err(), "no equals sign");
        assert!(parse(b"012 path=ab\n").is_err(), "leading zero");
        assert!(parse(b"+12 path=ab\n").is_err(), "signed length");
        assert_eq!(rule(&rec("size", "-1")), "pax-number", "signed size");
        assert_eq!(rule(&rec("size", " 1")), "pax-number", "space in size");
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
