//! gzip mutations (RFC 1952): header fields and optional fields, the
//! header CRC-16, the deflate data, the trailer's CRC-32 and ISIZE, and what
//! follows the last member. CRCs are recomputed unless the mutation is of a
//! CRC itself.

use super::{Rng, flip_bit, tail_mutation};

const FHCRC: u8 = 0x02;
const FEXTRA: u8 = 0x04;
const FNAME: u8 = 0x08;
const FCOMMENT: u8 = 0x10;

/// One member: its header's fields and where its data and trailer are.
struct Member {
    start: usize,
    flags: u8,
    /// The optional fields, raw: extra (with its length), name and comment
    /// (each with its NUL).
    extra: Option<Vec<u8>>,
    name: Option<Vec<u8>>,
    comment: Option<Vec<u8>>,
    fixed: [u8; 10],
    data: std::ops::Range<usize>,
}

fn crc32(data: &[u8]) -> u32 {
    let mut c = flate2::Crc::new();
    c.update(data);
    c.sum()
}

/// Inflates raw deflate data: what it decodes to and how many bytes it
/// used, or `None` if it does not decode.
fn inflate(data: &[u8]) -> Option<(Vec<u8>, usize)> {
    let mut d = flate2::Decompress::new(false);
    let mut out = Vec::with_capacity(data.len() * 4 + 1024);
    loop {
        let before_in = d.total_in();
        let before_out = d.total_out();
        let status = d.decompress_vec(&data[d.total_in() as usize..], &mut out, flate2::FlushDecompress::None).ok()?;
        if status == flate2::Status::StreamEnd {
            return Some((out, d.total_in() as usize));
        }
        if d.total_in() == before_in && d.total_out() == before_out {
            if out.len() == out.capacity() {
                out.reserve(out.capacity());
                continue;
            }
            return None; // the data ends before the stream does
        }
        if out.len() == out.capacity() {
            out.reserve(out.capacity());
        }
    }
}

/// The members of a gzip file, as far as they parse.
fn members(bytes: &[u8]) -> Vec<Member> {
    let mut out = Vec::new();
    let mut pos = 0;
    while pos + 18 <= bytes.len() && bytes[pos..pos + 3] == [0x1f, 0x8b, 8] {
        let fixed: [u8; 10] = bytes[pos..pos + 10].try_into().expect("10 bytes");
        let flags = fixed[3];
        let mut at = pos + 10;
        let take_zstr = |at: &mut usize| -> Option<Vec<u8>> {
            let len = bytes.get(*at..)?.iter().position(|&b| b == 0)? + 1;
            let s = bytes[*at..*at + len].to_vec();
            *at += len;
            Some(s)
        };
        let extra = if flags & FEXTRA != 0 {
            let Some(&[a, b]) = bytes.get(at..at + 2) else { break };
            let xlen = usize::from(u16::from_le_bytes([a, b]));
            let e = bytes.get(at..at + 2 + xlen).map(<[u8]>::to_vec);
            at += 2 + xlen;
            e
        } else {
            None
        };
        let name = if flags & FNAME != 0 { take_zstr(&mut at) } else { None };
        let comment = if flags & FCOMMENT != 0 { take_zstr(&mut at) } else { None };
        if flags & FHCRC != 0 {
            at += 2;
        }
        let Some((_, used)) = bytes.get(at..).and_then(inflate) else { break };
        let data = at..at + used;
        let end = data.end + 8;
        if end > bytes.len() {
            break;
        }
        out.push(Member { start: pos, flags, extra, name, comment, fixed, data });
        pos = end;
    }
    out
}

impl Member {
    /// The header as it would be written with these fields (and a right
    /// header CRC if the flag is set).
    fn header(&self) -> Vec<u8> {
        let mut h = self.fixed.to_vec();
        h[3] = self.flags;
        if self.flags & FEXTRA != 0 {
            h.extend(self.extra.clone().unwrap_or_else(|| vec![0, 0]));
        }
        if self.flags & FNAME != 0 {
            h.extend(self.name.clone().unwrap_or_else(|| b"x\0".to_vec()));
        }
        if self.flags & FCOMMENT != 0 {
            h.extend(self.comment.clone().unwrap_or_else(|| b"\0".to_vec()));
        }
        if self.flags & FHCRC != 0 {
            let crc = crc32(&h) as u16;
            h.extend(crc.to_le_bytes());
        }
        h
    }
}

/// Applies one mutation to a random member; says what it did.
pub fn mutate(rng: &mut Rng, bytes: &mut Vec<u8>) -> String {
    let mut list = members(bytes);
    if list.is_empty() || rng.chance(1, 8) {
        return tail_mutation(rng, bytes, &[0x1f, 0x8b]);
    }
    let i = rng.below(list.len());
    let m = &mut list[i];
    let note;
    let mut trailer_fix = false;
    match rng.below(12) {
        0 => {
            let bit = [0x20, 0x40, 0x80][rng.below(3)];
            m.flags |= bit;
            note = format!("member {i}: reserved flag {bit:#x} set");
        }
        1 => {
            m.fixed[2] = [0, 7, 9, 0xff][rng.below(4)];
            note = format!("member {i}: compression method {}", m.fixed[2]);
        }
        2 => {
            let at = 4 + rng.below(6);
            m.fixed[at] = rng.below(256) as u8;
            m.flags ^= u8::from(rng.chance(1, 2)); // FTEXT
            note = format!("member {i}: header byte {at} (time, XFL, OS) changed, FTEXT maybe toggled");
        }
        3 => {
            m.flags |= FHCRC;
            note = format!("member {i}: header CRC-16 added (right)");
        }
        4 => {
            m.flags |= FEXTRA;
            let len = rng.below(40);
            let mut e = (len as u16 + 4).to_le_bytes().to_vec();
            e.extend([b'S', b'T']);
            e.extend(((len as u16).wrapping_add(rng.below(3) as u16).wrapping_sub(1)).to_le_bytes());
            e.extend((0..len).map(|_| rng.below(256) as u8));
            m.extra = Some(e);
            note = format!("member {i}: extra field of one subfield ({len} bytes, its length maybe off by one)");
        }
        5 => {
            m.flags ^= FNAME;
            m.name = Some(b"renamed.tar\0".to_vec());
            note = format!("member {i}: file name toggled");
        }
        6 => {
            m.flags |= FCOMMENT;
            m.comment = Some(b"a comment\0".to_vec());
            note = format!("member {i}: comment added");
        }
        7 => {
            // A header CRC-16 that is wrong.
            m.flags |= FHCRC;
            let mut h = m.header();
            let last = h.len() - 1;
            h[last] ^= 1 << rng.below(8);
            bytes.splice(m.start..m.data.start, h);
            return format!("member {i}: header CRC-16 added, wrong");
        }
        8 => {
            let at = m.data.end + rng.below(4);
            bytes[at] ^= 1 << rng.below(8);
            return format!("member {i}: CRC-32 wrong");
        }
        9 => {
            let at = m.data.end + 4 + rng.below(4);
            bytes[at] ^= 1 << rng.below(8);
            return format!("member {i}: ISIZE wrong");
        }
        _ => {
            note = format!("member {i}: data {}, CRC-32 and ISIZE recomputed", flip_bit(rng, bytes, m.data.clone()));
            trailer_fix = true;
        }
    }
    if trailer_fix {
        // The data may now end elsewhere: the trailer follows wherever it does.
        if let Some((out, used)) = inflate(&bytes[m.data.start..]) {
            let at = m.data.start + used;
            let mut trailer = crc32(&out).to_le_bytes().to_vec();
            trailer.extend((out.len() as u32).to_le_bytes());
            let end = (at + 8).min(bytes.len());
            bytes.splice(at..end, trailer);
        }
        return note;
    }
    let header = m.header();
    bytes.splice(m.start..m.data.start, header);
    note
}
