//! Records from the guest, converted to host types field by field and not yet
//! trusted: the policy ([`crate::policy`]) re-checks every one of them.

use super::wit;
use crate::kind::Kind;

/// A record from the guest, in host types, not yet trusted.
#[derive(Debug, Clone)]
pub(crate) struct RawEntry {
    pub index: u64,
    pub header_offset: u64,
    pub path: Vec<u8>,
    pub kind: Kind,
    pub type_flag: u8,
    pub size: u64,
    pub mode: u32,
    pub mtime: i64,
    pub link_target: Option<Vec<u8>>,
    pub refusal: Option<String>,
}

/// One step of the guest's output.
#[derive(Debug)]
pub(crate) enum RawEvent {
    Entry(RawEntry),
    Data(Vec<u8>),
}

/// Converts one guest entry; nothing is judged here.
pub(super) fn convert_entry(e: wit::Entry) -> RawEntry {
    RawEntry {
        index: e.index,
        header_offset: e.header_offset,
        path: e.path,
        kind: match e.kind {
            wit::EntryKind::File => Kind::File,
            wit::EntryKind::Directory => Kind::Directory,
            wit::EntryKind::Symlink => Kind::Symlink,
            wit::EntryKind::Hardlink => Kind::Hardlink,
            wit::EntryKind::CharDevice => Kind::CharDevice,
            wit::EntryKind::BlockDevice => Kind::BlockDevice,
            wit::EntryKind::Fifo => Kind::Fifo,
            wit::EntryKind::Other => Kind::Other,
        },
        type_flag: e.type_flag,
        size: e.size,
        mode: e.mode,
        mtime: e.mtime,
        link_target: e.link_target,
        refusal: e.refusal,
    }
}
