//! Linux: the cached compiled guest used where it was checked, without
//! wasmtime's copy.
//!
//! `Component::deserialize` copies the bytes it is given into a mapping of
//! its own and then makes the code in it executable; for the 1 MB guest that
//! copy, and the page faults of a fresh megabyte, were about a sixth of a
//! small archive's run in a process of its own (BENCHMARKS.md). Here the
//! cache maps the artifact privately and read-only ([`Mapped::map`]), checks
//! its digest over that mapping, and hands that very memory to
//! `Component::deserialize_raw`; wasmtime then makes its code executable
//! through [`Mprotect`], set on the engine. Nothing is copied, and the pages
//! the kernel already holds for the file are shared rather than faulted in
//! afresh.
//!
//! What a mapped file means for the digest: the pages are the file's, so a
//! write into that very file after the check would show through. sealtar
//! never writes a cache file in place (it writes a new one and renames it
//! over), and the file must belong to this user and be writable by no one
//! else in a directory that passed the same checks (`cache.rs`), so only this
//! user or root could, and either could as well have replaced the artifact
//! and its digest together before they were opened. The digest is what
//! catches a damaged or truncated artifact; the ownership checks are what
//! keep others out.
//!
//! Where the file's code cannot be made executable in place (its file system
//! is mounted `noexec`), the cache falls back to [`Mapped::read`]: a copy in
//! an anonymous mapping, checked there and made read-only before it is
//! handed over, which nothing but sealtar can write.
//!
//! A mapping is never unmapped once wasmtime has it: a deserialized
//! component may be kept for the life of the process (the sandbox is), so a
//! dropped one leaves its megabyte mapped rather than its code dangling.

use std::fs::File;
use std::io::Read;
use std::ptr::NonNull;

use rustix::mm::{MapFlags, MprotectFlags, ProtFlags};
use wasmtime::CustomCodeMemory;

/// Makes code executable and writable again with `mprotect`, as wasmtime
/// does for memory it maps itself.
pub(super) struct Mprotect;

impl CustomCodeMemory for Mprotect {
    fn required_alignment(&self) -> usize {
        rustix::param::page_size()
    }

    fn publish_executable(&self, ptr: *const u8, len: usize) -> wasmtime::Result<()> {
        // SAFETY: wasmtime passes the page-aligned text of code memory it
        // owns (its own mapping, or one handed over by `deserialize_raw`),
        // which nothing writes once it is published.
        #[allow(unsafe_code, reason = "changing page protections is unsafe")]
        unsafe {
            rustix::mm::mprotect(ptr.cast_mut().cast(), len, MprotectFlags::READ | MprotectFlags::EXEC)?;
        }
        Ok(())
    }

    fn unpublish_executable(&self, ptr: *const u8, len: usize) -> wasmtime::Result<()> {
        // SAFETY: as above; wasmtime guarantees no code runs from the range.
        #[allow(unsafe_code, reason = "changing page protections is unsafe")]
        unsafe {
            rustix::mm::mprotect(ptr.cast_mut().cast(), len, MprotectFlags::READ | MprotectFlags::WRITE)?;
        }
        Ok(())
    }
}

/// `size` bytes of `file`, read into a fresh anonymous mapping. The file must
/// end exactly there (one that changed size is not trusted).
///
/// An artifact of [`HUGE_MIN`] bytes or more is read into a mapping rounded up
/// to whole [`HUGE_PAGE`]s and marked for transparent huge pages: the kernel
/// then backs it with one 2 MiB page, zeroed once, instead of faulting in a
/// fresh 4 KiB page about 250 times during the read. On this project's VM a
/// page fault costs about 1.6 µs, so the read of the 1 MB guest went from
/// about 0.45 ms to 0.16 ms (BENCHMARKS.md). Where huge pages are off the
/// advice is ignored and the read faults page by page as before; the pages
/// past `size` are never touched either way.
pub(super) struct Mapped {
    ptr: NonNull<u8>,
    /// The file's bytes, at the start of the mapping.
    len: usize,
    /// The whole mapping: `len`, rounded up to whole huge pages when they were
    /// asked for.
    mapped: usize,
}

/// A transparent huge page on x86-64 (and aarch64 with 4 KiB pages).
const HUGE_PAGE: usize = 2 << 20;

/// The smallest artifact read into huge pages: below this, the 2 MiB zeroed
/// up front would cost more than the small pages it saves.
const HUGE_MIN: usize = 512 << 10;

impl Mapped {
    pub(super) fn read(file: &File, size: usize) -> Option<Mapped> {
        if size == 0 {
            return None;
        }
        // SAFETY: a new private anonymous mapping, at an address the kernel
        // chooses; nothing else refers to it.
        let huge = size >= HUGE_MIN;
        let mapped_len = if huge { size.checked_next_multiple_of(HUGE_PAGE)? } else { size };
        #[allow(unsafe_code, reason = "mapping memory is unsafe")]
        let ptr = unsafe {
            rustix::mm::mmap_anonymous(
                std::ptr::null_mut(),
                mapped_len,
                ProtFlags::READ | ProtFlags::WRITE,
                MapFlags::PRIVATE,
            )
        }
        .ok()?;
        // From here on, dropping `mapped` unmaps it.
        let mapped = Mapped { ptr: NonNull::new(ptr.cast())?, len: size, mapped: mapped_len };
        if huge {
            // SAFETY: advice about our own new mapping; it changes neither
            // its contents nor its protection. Refused advice (huge pages off
            // or unsupported) only leaves small pages.
            #[allow(unsafe_code, reason = "memory advice is unsafe in rustix")]
            unsafe {
                let _ = rustix::mm::madvise(ptr, mapped_len, rustix::mm::Advice::LinuxHugepage);
            }
        }
        // SAFETY: `size` writable bytes at `ptr`, seen by nothing else until
        // `mapped` is returned, and this view ends before that.
        #[allow(unsafe_code, reason = "a view of the new mapping to read into")]
        let buffer = unsafe { std::slice::from_raw_parts_mut(mapped.ptr.as_ptr(), size) };
        let mut reader = file;
        reader.read_exact(buffer).ok()?;
        let mut probe = [0u8; 1];
        matches!(reader.read(&mut probe), Ok(0)).then_some(mapped)
    }

    /// `size` bytes of `file`, mapped privately and read-only: no copy, and
    /// pages the kernel already holds for the file are shared, not faulted in
    /// afresh. The caller must check the size and the digest as for [`read`],
    /// and fall back to [`read`] if wasmtime cannot make the code in it
    /// executable (a file system mounted `noexec`).
    ///
    /// [`read`]: Mapped::read
    pub(super) fn map(file: &File, size: usize) -> Option<Mapped> {
        if size == 0 {
            return None;
        }
        // SAFETY: a new private read-only mapping of a file we hold open, at
        // an address the kernel chooses; nothing else refers to it.
        #[allow(unsafe_code, reason = "mapping memory is unsafe")]
        let ptr = unsafe { rustix::mm::mmap(std::ptr::null_mut(), size, ProtFlags::READ, MapFlags::PRIVATE, file, 0) }
            .ok()?;
        let mapped = Mapped { ptr: NonNull::new(ptr.cast())?, len: size, mapped: size };
        // The file must not have changed size since `size` was read (a
        // mapping past its end would fault when read).
        let now = file.metadata().ok()?.len();
        (u64::try_from(size).ok()? == now).then_some(mapped)
    }

    pub(super) fn bytes(&self) -> &[u8] {
        // SAFETY: `len` bytes mapped readable at `ptr`, alive as long as `self`.
        #[allow(unsafe_code, reason = "a view of the mapping")]
        unsafe {
            std::slice::from_raw_parts(self.ptr.as_ptr(), self.len)
        }
    }

    /// Makes the mapping read-only and gives it up for good: the memory
    /// `Component::deserialize_raw` may keep using for the rest of the
    /// process. On an error the mapping is unmapped.
    pub(super) fn freeze(self) -> Option<NonNull<[u8]>> {
        // SAFETY: the whole of our own mapping; no reference into it is
        // writable after this.
        #[allow(unsafe_code, reason = "changing page protections is unsafe")]
        let frozen = unsafe { rustix::mm::mprotect(self.ptr.as_ptr().cast(), self.mapped, MprotectFlags::READ) };
        frozen.ok()?;
        let memory = NonNull::slice_from_raw_parts(self.ptr, self.len);
        std::mem::forget(self);
        Some(memory)
    }
}

impl Drop for Mapped {
    fn drop(&mut self) {
        // SAFETY: our own mapping, not handed to wasmtime (`freeze` forgets
        // `self` when it is), with no view of it left.
        #[allow(unsafe_code, reason = "unmapping memory is unsafe")]
        unsafe {
            let _ = rustix::mm::munmap(self.ptr.as_ptr().cast(), self.mapped);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    fn file_with(bytes: &[u8]) -> File {
        let mut file = tempfile::tempfile().unwrap();
        file.write_all(bytes).unwrap();
        file.sync_all().unwrap();
        let mut reopened = file.try_clone().unwrap();
        std::io::Seek::rewind(&mut reopened).unwrap();
        reopened
    }

    /// The permissions `/proc/self/maps` gives the mapping that holds `at`.
    fn permissions_at(at: usize) -> String {
        let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
        for line in maps.lines() {
            let (range, rest) = line.split_once(' ').unwrap();
            let (start, end) = range.split_once('-').unwrap();
            let (start, end) = (usize::from_str_radix(start, 16).unwrap(), usize::from_str_radix(end, 16).unwrap());
            if (start..end).contains(&at) {
                return rest[..4].to_string();
            }
        }
        panic!("{at:#x} is not mapped");
    }

    #[test]
    fn a_file_is_read_whole_and_frozen_read_only() {
        let content: Vec<u8> = (0..20_000u32).map(|i| (i % 251) as u8).collect();
        let mapped = Mapped::read(&file_with(&content), content.len()).unwrap();
        assert_eq!(mapped.bytes(), &content[..]);
        let at = mapped.bytes().as_ptr() as usize;
        assert_eq!(at % rustix::param::page_size(), 0, "page-aligned, as wasmtime requires of code");
        assert_eq!(permissions_at(at), "rw-p");
        let memory = mapped.freeze().unwrap();
        assert_eq!(memory.len(), content.len());
        assert_eq!(permissions_at(at), "r--p", "nothing can write the checked bytes");
        assert_eq!(permissions_at(at + content.len() - 1), "r--p");
    }

    #[test]
    fn a_large_file_is_read_whole_into_huge_pages_and_frozen_read_only() {
        // Just over one huge page, and not a multiple of a page: the mapping
        // is rounded up to two, and only the file's bytes are handed over.
        let content: Vec<u8> = (0..(HUGE_PAGE as u32 + 12_345)).map(|i| (i % 253) as u8).collect();
        let mapped = Mapped::read(&file_with(&content), content.len()).unwrap();
        assert_eq!(mapped.mapped, HUGE_PAGE * 2);
        assert_eq!(mapped.bytes(), &content[..]);
        let at = mapped.bytes().as_ptr() as usize;
        let memory = mapped.freeze().unwrap();
        assert_eq!(memory.len(), content.len());
        assert_eq!(permissions_at(at), "r--p");
        assert_eq!(permissions_at(at + content.len()), "r--p", "the rounding is read-only too");
        assert_eq!(permissions_at(at + HUGE_PAGE * 2 - 1), "r--p");
        // SAFETY: the frozen mapping is never unmapped, and readable.
        #[allow(unsafe_code, reason = "reading back the frozen mapping")]
        let back = unsafe { memory.as_ref() };
        assert_eq!(back, &content[..]);
    }

    #[test]
    fn a_file_is_mapped_read_only_in_place() {
        let content: Vec<u8> = (0..30_000u32).map(|i| (i % 241) as u8).collect();
        let mapped = Mapped::map(&file_with(&content), content.len()).unwrap();
        assert_eq!(mapped.bytes(), &content[..]);
        let at = mapped.bytes().as_ptr() as usize;
        assert_eq!(at % rustix::param::page_size(), 0, "page-aligned, as wasmtime requires of code");
        assert_eq!(permissions_at(at), "r--p", "private and read-only from the start");
        let memory = mapped.freeze().unwrap();
        assert_eq!(memory.len(), content.len());
        assert_eq!(permissions_at(at), "r--p");
        assert!(Mapped::map(&file_with(&content), content.len() + 1).is_none(), "shorter than its metadata said");
        assert!(Mapped::map(&file_with(&content), content.len() - 1).is_none(), "longer than its metadata said");
        assert!(Mapped::map(&file_with(b""), 0).is_none());
    }

    #[test]
    fn a_file_of_another_size_than_expected_is_not_read() {
        let content = vec![7u8; 5000];
        assert!(Mapped::read(&file_with(&content), 5001).is_none(), "shorter than its metadata said");
        assert!(Mapped::read(&file_with(&content), 4999).is_none(), "longer than its metadata said");
        assert!(Mapped::read(&file_with(b""), 0).is_none());
    }
}
