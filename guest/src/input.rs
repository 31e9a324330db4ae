//! The byte source: detects gzip by its magic bytes and decompresses it, all
//! members of a multi-member stream as gzip(1) does, or passes plain tar
//! through. Keeps count of how far into the input it has read so that errors
//! can name a byte offset.

use std::io::{self, BufReader, Chain, Cursor, Read};

use flate2::bufread::MultiGzDecoder;

/// How much compressed input is buffered ahead of the decoder.
const INPUT_BUFFER: usize = 256 * 1024;

/// A reader that counts the bytes it hands out.
pub struct Counted<R> {
    inner: R,
    count: u64,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count += n as u64;
        Ok(n)
    }
}

type Rewound<R> = Chain<Cursor<Vec<u8>>, R>;

/// The decompressed tar stream.
pub enum Source<R: Read> {
    /// Uncompressed tar.
    Plain(Counted<Rewound<R>>),
    /// gzip-compressed tar.
    Gzip(Box<MultiGzDecoder<BufReader<Counted<Rewound<R>>>>>),
}

/// A compression format sealtar recognises but does not decode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unsupported(pub &'static str);

impl<R: Read> Source<R> {
    /// Looks at the first bytes of `reader` to choose the decoder.
    pub fn detect(mut reader: R) -> io::Result<Result<Self, Unsupported>> {
        let mut magic = Vec::with_capacity(6);
        (&mut reader).take(6).read_to_end(&mut magic)?;
        let format = match magic.as_slice() {
            [0x1f, 0x8b, ..] => None,
            [b'B', b'Z', b'h', ..] => Some("bzip2"),
            [0xfd, b'7', b'z', b'X', b'Z', 0x00] => Some("xz"),
            [0x28, 0xb5, 0x2f, 0xfd, ..] => Some("zstd"),
            [0x1f, 0x9d, ..] => Some("compress (.Z)"),
            _ => {
                let counted = Counted { inner: Cursor::new(magic).chain(reader), count: 0 };
                return Ok(Ok(Source::Plain(counted)));
            }
        };
        if let Some(name) = format {
            return Ok(Err(Unsupported(name)));
        }
        let counted = Counted { inner: Cursor::new(magic).chain(reader), count: 0 };
        let buffered = BufReader::with_capacity(INPUT_BUFFER, counted);
        Ok(Ok(Source::Gzip(Box::new(MultiGzDecoder::new(buffered)))))
    }

    /// Whether the input is gzip-compressed.
    pub fn is_gzip(&self) -> bool {
        matches!(self, Source::Gzip(_))
    }

    /// Bytes of the input consumed so far (for gzip, up to the decoder's
    /// position, not counting what is buffered ahead of it).
    pub fn input_offset(&self) -> u64 {
        match self {
            Source::Plain(c) => c.count,
            Source::Gzip(d) => {
                let buffered = d.get_ref();
                buffered.get_ref().count - buffered.buffer().len() as u64
            }
        }
    }
}

impl<R: Read> Read for Source<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Source::Plain(r) => r.read(buf),
            Source::Gzip(r) => r.read(buf),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn gz(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    #[test]
    fn plain_passes_through() {
        let mut s = Source::detect(&b"hello world"[..]).unwrap().unwrap();
        assert!(!s.is_gzip());
        let mut out = Vec::new();
        s.read_to_end(&mut out).unwrap();
        assert_eq!(out, b"hello world");
        assert_eq!(s.input_offset(), 11);
    }

    #[test]
    fn short_input_is_plain() {
        let mut s = Source::detect(&b"ab"[..]).unwrap().unwrap();
        let mut out = Vec::new();
        s.read_to_end(&mut out).unwrap();
        assert_eq!(out, b"ab");
    }

    #[test]
    fn multi_member_gzip_is_read_whole() {
        let mut data = gz(b"first ");
        data.extend(gz(b"second"));
        let mut s = Source::detect(&data[..]).unwrap().unwrap();
        assert!(s.is_gzip());
        let mut out = Vec::new();
        s.read_to_end(&mut out).unwrap();
        assert_eq!(out, b"first second");
        assert_eq!(s.input_offset(), data.len() as u64);
    }

    #[test]
    fn other_compressions_are_named() {
        assert_eq!(Source::detect(&b"BZh91AY"[..]).unwrap().err(), Some(Unsupported("bzip2")));
        let xz = [0xfd, b'7', b'z', b'X', b'Z', 0, 1, 2];
        assert_eq!(Source::detect(&xz[..]).unwrap().err(), Some(Unsupported("xz")));
    }

    #[test]
    fn corrupt_gzip_is_an_error() {
        let mut data = gz(b"some data to compress, some data to compress");
        let mid = data.len() / 2;
        data[mid] ^= 0xff;
        data[mid + 1] ^= 0xff;
        let mut s = Source::detect(&data[..]).unwrap().unwrap();
        let mut out = Vec::new();
        assert!(s.read_to_end(&mut out).is_err());
    }
}
