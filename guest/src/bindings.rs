//! Exports [`crate::parser::Parser`] through the WIT `parser` interface.

// The canonical-ABI glue that wit-bindgen generates is `unsafe` by nature;
// nothing hand-written in this crate is.
#![allow(unsafe_code, reason = "wit-bindgen's generated exports are unsafe glue")]

use std::cell::RefCell;
use std::io::Stdin;

use crate::input::checked;
use crate::parser::{self, Event as PEvent, Kind, Layer, Limits as PLimits, Parser};

wit_bindgen::generate!({
    path: "../wit",
    world: "extractor",
});

use exports::sealtar::extractor::parser::{
    CheckEnd, CheckKind, CheckStart, Container, Entry, EntryKind, Event, Guest, GuestArchive, Limits, ParseError,
    StreamLayer,
};

struct Component;

impl Guest for Component {
    type Archive = Archive;
}

/// One archive being parsed from standard input.
struct Archive {
    parser: RefCell<Parser<Stdin>>,
}

impl GuestArchive for Archive {
    fn new(limits: Limits, with_data: bool) -> Self {
        let limits = PLimits {
            max_entries: limits.max_entries,
            max_path_bytes: limits.max_path_bytes as usize,
            max_extension_bytes: limits.max_extension_bytes as usize,
        };
        Archive { parser: RefCell::new(Parser::new(std::io::stdin(), limits, with_data)) }
    }

    fn next(&self, budget: u32) -> Result<Vec<Event>, ParseError> {
        let events = self.parser.borrow_mut().next_batch(budget as usize).map_err(convert_error)?;
        Ok(events.into_iter().map(convert_event).collect())
    }
}

fn convert_event(event: PEvent) -> Event {
    match event {
        PEvent::Data(d) => Event::Data(d),
        PEvent::CheckStart(m) => Event::CheckStart(CheckStart {
            container: match m.container {
                checked::Container::GzipMember => Container::GzipMember,
                #[cfg(feature = "all-formats")]
                checked::Container::XzBlock => Container::XzBlock,
            },
            kind: match m.kind {
                checked::Kind::Crc32 => CheckKind::Crc32,
                #[cfg(feature = "all-formats")]
                checked::Kind::Crc64 => CheckKind::Crc64,
            },
            tar_start: m.tar_start,
        }),
        PEvent::CheckEnd(m) => Event::CheckEnd(CheckEnd {
            tar_end: m.tar_end,
            input_offset: m.input_offset,
            stored: m.stored,
            unsent: m.unsent,
        }),
        PEvent::Entry(e) => Event::Entry(Entry {
            index: e.index,
            header_offset: e.header_offset,
            data_offset: e.data_offset,
            path: e.path,
            kind: match e.kind {
                Kind::File => EntryKind::File,
                Kind::Directory => EntryKind::Directory,
                Kind::Symlink => EntryKind::Symlink,
                Kind::Hardlink => EntryKind::Hardlink,
                Kind::CharDevice => EntryKind::CharDevice,
                Kind::BlockDevice => EntryKind::BlockDevice,
                Kind::Fifo => EntryKind::Fifo,
                Kind::Other => EntryKind::Other,
            },
            type_flag: e.type_flag,
            size: e.size,
            mode: e.mode,
            mtime: e.mtime,
            link_target: e.link_target,
            refusal: e.refusal,
        }),
    }
}

fn convert_error(e: parser::ParseError) -> ParseError {
    ParseError {
        offset: e.offset,
        layer: match e.layer {
            Layer::Input => StreamLayer::Input,
            Layer::Tar => StreamLayer::Tar,
        },
        message: e.message,
    }
}

export!(Component);
