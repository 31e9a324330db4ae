//! The sandbox: one wasmtime engine and compiled guest per process, a fresh
//! store per archive, and the pipeline that feeds the guest and drains it.
//!
//! ```text
//!  reader ──(pump thread)──► input queue ──► guest stdin
//!                                            guest (parser thread) ──► event queue ──► caller's thread: policy + writes
//! ```
//!
//! Both queues are bounded, so memory stays flat however large the archive.
//! An archive of at most one input chunk (256 KiB: most crates) is read whole
//! up front and needs no pump thread. Parser threads are kept between
//! archives (`workers`), so parsing and writing overlap on two cores without
//! a thread started per archive; the first starts while the guest loads. The
//! caller's thread advances the guest's deadline clock (the engine's epoch)
//! whenever it waits for events, and once more when it stops, so a guest
//! computing is interrupted at its deadline or as soon as no one wants its
//! events.
//! The guest is linked against `wasi:io` and `wasi:cli` only; its standard
//! input is the archive, its standard output is discarded, its standard error
//! is kept (a few KiB) to explain a trap, and it has no files, sockets,
//! clocks, random numbers, environment or arguments.
//!
//! This file is the per-archive run; beside it, `engine` holds the
//! process-wide engine, compiled guest and linker, `workers` the
//! parser threads, `feed` the guest's standard input, and `record` the conversion of guest records to host
//! types (which [`crate::policy`] then re-checks).

use std::io::{self, Read};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, sync_channel};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use wasmtime::component::{Linker, ResourceTable};
use wasmtime::{Engine, ResourceLimiter, Store, Trap, UpdateDeadline};
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};

use crate::deadline::Deadline;
use crate::error::{Error, Layer, SandboxFault};
use crate::options::Options;

mod cache;
#[cfg(target_os = "linux")]
mod code_memory;
mod engine;
mod feed;
mod record;
mod sent_checks;
mod workers;

pub use cache::default_cache_dir;

pub(crate) use record::{RawEntry, RawEvent};

use feed::{Feed, Waits};
use record::convert_entry;
use sent_checks::SentChecks;

mod bindings {
    wasmtime::component::bindgen!({
        path: "wit",
        world: "extractor",
    });
}

use bindings::exports::sealtar::extractor::parser as wit;

/// Bytes of file data the guest returns per call, about, once under way.
const BATCH_BUDGET: u32 = 128 << 10;
/// The first call's budget, doubled on each call up to [`BATCH_BUDGET`]: the
/// writer starts on an archive as soon as its first entries are decoded,
/// instead of waiting for a whole batch (most crates are smaller than one),
/// while large archives soon move in full batches.
const FIRST_BATCH_BUDGET: u32 = 8 << 10;
/// Input chunks read ahead of the guest.
const INPUT_QUEUE: usize = 2;
/// Size of one input chunk.
const INPUT_CHUNK: usize = 256 * 1024;
/// The first read's buffer, grown fourfold up to a chunk while it fills.
const FIRST_READ: usize = 16 * 1024;
/// Event batches decoded ahead of the writer.
const EVENT_QUEUE: usize = 8;
/// How often an idle consumer ticks the deadline clock.
const TICK: Duration = Duration::from_millis(50);
/// How much of the guest's standard error is kept to explain a trap.
const STDERR_KEEP: usize = 4096;

/// The process-wide engine and pre-linked guests (see `engine`).
pub(crate) struct Sandbox {
    engine: Engine,
    linker: Linker<State>,
    /// Where the full guest is looked for when it is first needed.
    cache_dir: Option<PathBuf>,
    /// The tar and gzip guest, loaded up front.
    gzip: bindings::ExtractorPre<State>,
    /// The guest for every format, loaded on first need.
    full: OnceLock<Result<bindings::ExtractorPre<State>, String>>,
}

impl Sandbox {
    /// Parses `reader` in a fresh store and hands every event to `sink`, with
    /// the number of input bytes read so far. Stops at the first error from
    /// the guest, the reader or `sink`. `run_deadline` moves back if the run
    /// had to load the full guest first.
    pub(crate) fn run<R: Read + Send>(
        &'static self,
        options: &Options,
        reader: R,
        with_data: bool,
        run_deadline: &mut Deadline,
        sink: &mut dyn FnMut(RawEvent, u64) -> Result<(), Error>,
    ) -> Result<(), Error> {
        // One wall-clock deadline for the whole run: reading the input,
        // parsing, and whatever `sink` does (and, after this returns, the
        // pipeline's own work).
        let mut deadline = run_deadline.instant();
        // Most archives (crates, packages) are small: read one chunk's worth
        // up front, and start the input thread only if there is more.
        let mut reader = reader;
        // The deadline is checked between reads (a read that blocks forever
        // is the reader's to bound; the CLI's does).
        // The buffer grows as it fills, so a small archive does not pay for
        // zeroing a whole chunk.
        let mut first = vec![0u8; FIRST_READ];
        let mut filled = 0;
        while filled < INPUT_CHUNK + 1 {
            if deadline.is_some_and(|d| Instant::now() >= d) {
                return Err(Error::Sandbox(SandboxFault::Timeout));
            }
            if filled == first.len() {
                first.resize((first.len() * 4).min(INPUT_CHUNK + 1), 0);
            }
            match reader.read(&mut first[filled..]) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(Error::io("reading the archive", e)),
            }
        }
        first.truncate(filled);
        // The guest that reads it, chosen by its first bytes. Loading the full
        // guest the first time one is needed (compiling it, without a cache)
        // is the process's set-up, not this archive's work: the deadline moves
        // back by as long as that took.
        let choosing = Instant::now();
        let (pre, waited) = self.guest_for(&first)?;
        if waited {
            run_deadline.postpone(choosing.elapsed());
            deadline = run_deadline.instant();
        }
        let whole = first.len() <= INPUT_CHUNK;
        let compressed = AtomicU64::new(first.len() as u64);
        let (in_tx, in_rx) = sync_channel::<Vec<u8>>(INPUT_QUEUE);
        // Room for one chunk is always free in a new queue.
        let _ = in_tx.send(first);
        let (ev_tx, ev_rx) = sync_channel::<Parsed>(EVENT_QUEUE);
        let stop = Arc::new(AtomicBool::new(false));
        let guest = Guest::new(options, with_data, deadline);
        let guest_stop = stop.clone();
        let sandbox = self;
        workers::submit(Box::new(move || {
            let events = &ev_tx;
            let parsed =
                sandbox.drive(pre, guest, guest_stop, in_rx, &mut |batch| events.send(Parsed::Batch(batch)).is_ok());
            let _ = ev_tx.send(Parsed::Done(parsed));
        }))?;
        if whole {
            drop(in_tx);
            // A consumer's refusal explains everything after it.
            return self.drain(&ev_rx, &stop, &compressed, deadline, sink)?;
        }
        std::thread::scope(|s| {
            let compressed = &compressed;
            let pump = s.spawn(move || pump(reader, in_tx, compressed, deadline));
            let drained = self.drain(&ev_rx, &stop, compressed, deadline, sink);
            // The guest's end drops the input queue, which ends the pump.
            drop(ev_rx);
            let pumped = pump
                .join()
                .unwrap_or_else(|_| Err(Error::io("reading the archive", io::Error::other("input thread panicked"))));
            // A consumer's refusal explains everything after it; a read
            // error explains whatever the guest made of the cut-off input
            // (even an apparently clean end).
            let parsed = drained?;
            pumped?;
            parsed
        })
    }

    /// Hands the guest's events to `sink` as they come, on the caller's
    /// thread, while the guest parses ahead on a parser thread. The outer
    /// error is the consumer's own (`sink`, the deadline), the inner one the
    /// guest's. A consumer that stops leaves the guest stopping: the event
    /// queue closes, `stop` is set, and the next tick interrupts it.
    fn drain(
        &self,
        events: &Receiver<Parsed>,
        stop: &AtomicBool,
        compressed: &AtomicU64,
        deadline: Option<Instant>,
        sink: &mut dyn FnMut(RawEvent, u64) -> Result<(), Error>,
    ) -> Result<Result<(), Error>, Error> {
        let outcome = 'drain: loop {
            if deadline.is_some_and(|d| Instant::now() >= d) {
                break Err(Error::Sandbox(SandboxFault::Timeout));
            }
            match events.recv_timeout(TICK) {
                Ok(Parsed::Batch(batch)) => {
                    for event in batch {
                        if let Err(e) = sink(event, compressed.load(Ordering::Relaxed)) {
                            break 'drain Err(e);
                        }
                    }
                }
                Ok(Parsed::Done(parsed)) => return Ok(parsed),
                // Idle while the guest works: let its deadline check run.
                Err(RecvTimeoutError::Timeout) => self.engine.increment_epoch(),
                Err(RecvTimeoutError::Disconnected) => {
                    return Ok(Err(Error::Setup("the parser thread stopped".into())));
                }
            }
        };
        stop.store(true, Ordering::Relaxed);
        // The guest's next epoch check sees `stop`, even mid-computation.
        self.engine.increment_epoch();
        outcome
    }

    /// Runs the guest over the input queue, handing each batch of events to
    /// `deliver`, which says whether to go on.
    fn drive(
        &self,
        pre: &bindings::ExtractorPre<State>,
        guest: Guest,
        stop: Arc<AtomicBool>,
        input: Receiver<Vec<u8>>,
        deliver: &mut dyn FnMut(Vec<RawEvent>) -> bool,
    ) -> Result<(), Error> {
        let Guest { limits, with_data, memory, stall, deadline } = guest;
        let stderr = MemoryOutputPipe::new(STDERR_KEEP);
        let stalled = Arc::new(AtomicBool::new(false));
        let stopped = stop.clone();
        let feed = Feed::new(input, Waits { deadline, stall, stalled: stalled.clone(), stop });
        let wasi = WasiCtxBuilder::new().stdin(feed).stderr(stderr.clone()).build();
        let state = State { wasi, table: ResourceTable::new(), memory: MemoryCap { max: memory, hit: false }, stalled };
        let mut store = Store::new(&self.engine, state);
        store.limiter(|s| &mut s.memory);
        // The deadline is wall-clock time, checked whenever the epoch ticks
        // (its consumer ticks it, and other runs' consumers only make it
        // check more often). A run whose consumer stopped is interrupted at
        // the next tick, which the consumer gives as it stops.
        store.set_epoch_deadline(1);
        store.epoch_deadline_callback(move |_| {
            if stopped.load(Ordering::Relaxed) || deadline.is_some_and(|d| Instant::now() >= d) {
                Ok(UpdateDeadline::Interrupt)
            } else {
                Ok(UpdateDeadline::Continue(1))
            }
        });

        let fault = |store: &Store<State>, e: wasmtime::Error| fault(store, &stderr, deadline, e);
        let instance = pre.instantiate(&mut store).map_err(|e| fault(&store, e))?;
        let parser = instance.sealtar_extractor_parser().archive();
        let archive = parser.call_constructor(&mut store, limits, with_data).map_err(|e| fault(&store, e))?;
        let mut budget = FIRST_BATCH_BUDGET;
        let mut checks = SentChecks::default();
        loop {
            let batch = match parser.call_next(&mut store, archive, budget) {
                Ok(Ok(batch)) => batch,
                Ok(Err(e)) => {
                    let layer = match e.layer {
                        wit::StreamLayer::Input => Layer::Input,
                        wit::StreamLayer::Tar => Layer::Tar,
                    };
                    return Err(Error::Malformed { offset: e.offset, layer, message: e.message });
                }
                Err(e) => return Err(fault(&store, e)),
            };
            if batch.is_empty() {
                return checks.finish();
            }
            budget = budget.saturating_mul(2).min(BATCH_BUDGET);
            let mut events = Vec::with_capacity(batch.len());
            for event in batch {
                let checked = match event {
                    wit::Event::Entry(e) => {
                        checks.entry(e.data_offset);
                        events.push(RawEvent::Entry(convert_entry(e)));
                        Ok(())
                    }
                    wit::Event::Data(d) => {
                        let checked = checks.data(&d);
                        events.push(RawEvent::Data(d));
                        checked
                    }
                    wit::Event::CheckStart(start) => checks.start(&start),
                    wit::Event::CheckEnd(end) => checks.end(&end),
                };
                if let Err(e) = checked {
                    // What came before the bad unit's end goes first, as
                    // with any error the guest reports.
                    deliver(events);
                    return Err(e);
                }
            }
            if !deliver(events) {
                // The consumer stopped; its reason is the one reported.
                return Ok(());
            }
        }
    }
}

/// What a parser thread sends the caller: events, then how the run ended.
enum Parsed {
    Batch(Vec<RawEvent>),
    Done(Result<(), Error>),
}

/// What one guest run needs from [`Options`], owned so that it can move to a
/// parser thread.
#[derive(Clone, Copy)]
struct Guest {
    limits: wit::Limits,
    with_data: bool,
    /// The guest's linear-memory cap.
    memory: usize,
    /// The longest wait for one input chunk.
    stall: Duration,
    deadline: Option<Instant>,
}

impl Guest {
    fn new(options: &Options, with_data: bool, deadline: Option<Instant>) -> Guest {
        // The guest's caps only bound its own work; they sit just beyond the
        // host's so that the host, not the guest, refuses an archive at a
        // limit and names the entry and the rule. A path can be no longer
        // than an extension payload (or a ustar name), so that caps paths.
        let limits = wit::Limits {
            max_entries: options.max_entries.saturating_add(1),
            max_path_bytes: options.max_extension_bytes.max(u32::try_from(options.max_path_bytes).unwrap_or(u32::MAX)),
            max_extension_bytes: options.max_extension_bytes,
        };
        Guest { limits, with_data, memory: options.guest_memory, stall: options.stall_timeout, deadline }
    }
}

/// Per-archive store data.
pub(crate) struct State {
    wasi: WasiCtx,
    table: ResourceTable,
    memory: MemoryCap,
    /// The guest's input delivered nothing for the stall timeout.
    stalled: Arc<AtomicBool>,
}

impl WasiView for State {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.wasi, table: &mut self.table }
    }
}

/// Refuses linear-memory growth past the cap, remembering that it did.
struct MemoryCap {
    max: usize,
    hit: bool,
}

impl ResourceLimiter for MemoryCap {
    fn memory_growing(&mut self, _current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        if desired > self.max {
            self.hit = true;
            return Ok(false);
        }
        Ok(true)
    }

    fn table_growing(&mut self, _current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        Ok(desired <= 1 << 16)
    }
}

/// Turns a wasmtime error from a guest call into the reason the archive is refused.
fn fault(store: &Store<State>, stderr: &MemoryOutputPipe, deadline: Option<Instant>, e: wasmtime::Error) -> Error {
    if matches!(e.downcast_ref::<Trap>(), Some(Trap::Interrupt)) || deadline.is_some_and(|d| Instant::now() >= d) {
        return Error::Sandbox(SandboxFault::Timeout);
    }
    if store.data().stalled.load(Ordering::Relaxed) {
        return Error::Sandbox(SandboxFault::InputStalled);
    }
    if store.data().memory.hit {
        return Error::Sandbox(SandboxFault::MemoryLimit);
    }
    let said = stderr.contents();
    let said = String::from_utf8_lossy(said.trim_ascii());
    let what = if said.is_empty() { format!("{e}") } else { format!("{e}: {said}") };
    Error::Sandbox(SandboxFault::Trap(crate::escape(what.as_bytes())))
}

/// Reads the archive in chunks into the input queue.
fn pump<R: Read>(
    mut reader: R,
    queue: SyncSender<Vec<u8>>,
    read: &AtomicU64,
    deadline: Option<Instant>,
) -> Result<(), Error> {
    loop {
        if deadline.is_some_and(|d| Instant::now() >= d) {
            // The same refusal as a guest stopped by the deadline.
            return Err(Error::Sandbox(SandboxFault::Timeout));
        }
        let mut chunk = vec![0u8; INPUT_CHUNK];
        let n = loop {
            match reader.read(&mut chunk) {
                Ok(n) => break n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(Error::io("reading the archive", e)),
            }
        };
        if n == 0 {
            return Ok(());
        }
        chunk.truncate(n);
        read.fetch_add(n as u64, Ordering::Relaxed);
        if queue.send(chunk).is_err() {
            // The guest is gone; whatever stopped it is reported instead.
            return Ok(());
        }
    }
}

#[cfg(test)]
mod tests;
