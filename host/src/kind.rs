//! What an archive member is, as the parser reports it.

use std::fmt;

/// What a member is. Examples: [`Extractor::list`](crate::Extractor::list)
/// and [`Report`](crate::Report).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Kind {
    /// A regular file.
    File,
    /// A directory.
    Directory,
    /// A symbolic link.
    Symlink,
    /// A hard link.
    Hardlink,
    /// A character device.
    CharDevice,
    /// A block device.
    BlockDevice,
    /// A named pipe.
    Fifo,
    /// Any other type (volume labels, vendor extensions, unknown flags).
    Other,
}

impl Kind {
    /// A short lowercase name, as used by `sealtar list`.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::File => "file",
            Kind::Directory => "dir",
            Kind::Symlink => "symlink",
            Kind::Hardlink => "hardlink",
            Kind::CharDevice => "chardev",
            Kind::BlockDevice => "blockdev",
            Kind::Fifo => "fifo",
            Kind::Other => "other",
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}
