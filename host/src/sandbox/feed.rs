//! The guest's standard input: archive bytes handed over from the input
//! queue, one chunk at a time, without copying.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, TryRecvError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use wasmtime_wasi::cli::{IsTerminal, StdinStream};
use wasmtime_wasi::p2::{InputStream, Pollable, StreamError, StreamResult};

/// The guest's standard input: the archive bytes from the input queue.
pub(super) struct Feed(Arc<Mutex<FeedState>>);

struct FeedState {
    queue: Receiver<Vec<u8>>,
    current: Bytes,
    closed: bool,
    waits: Waits,
}

/// How long the guest waits for input.
pub(super) struct Waits {
    /// The run's deadline.
    pub deadline: Option<Instant>,
    /// The longest wait for one chunk.
    pub stall: Duration,
    /// Set when a wait ran out.
    pub stalled: Arc<AtomicBool>,
    /// Set when the consumer stopped: nothing the guest reads matters now.
    pub stop: Arc<AtomicBool>,
}

impl Feed {
    pub(super) fn new(queue: Receiver<Vec<u8>>, waits: Waits) -> Feed {
        Feed(Arc::new(Mutex::new(FeedState { queue, current: Bytes::new(), closed: false, waits })))
    }
}

impl FeedState {
    fn fill(&mut self, block: bool) {
        if !self.current.is_empty() || self.closed {
            return;
        }
        let next = if block {
            // Bounded by the stall timeout and the deadline: a reader that
            // never delivers must not hold the guest (and the run) forever.
            let now = Instant::now();
            let until = now
                .checked_add(self.waits.stall)
                .map_or(self.waits.deadline, |s| Some(self.waits.deadline.map_or(s, |d| d.min(s))));
            let wait = until.map_or(Duration::MAX, |u| u.saturating_duration_since(now));
            match self.queue.recv_timeout(wait) {
                Ok(chunk) => Ok(chunk),
                Err(RecvTimeoutError::Disconnected) => Err(TryRecvError::Disconnected),
                Err(RecvTimeoutError::Timeout) => {
                    self.waits.stalled.store(true, Ordering::Relaxed);
                    Err(TryRecvError::Disconnected)
                }
            }
        } else {
            self.queue.try_recv()
        };
        match next {
            Ok(chunk) => self.current = Bytes::from(chunk),
            Err(TryRecvError::Disconnected) => self.closed = true,
            Err(TryRecvError::Empty) => {}
        }
    }

    fn take(&mut self, size: usize, block: bool) -> StreamResult<Bytes> {
        // Input that keeps trickling in must not outlast the deadline either.
        if self.waits.deadline.is_some_and(|d| Instant::now() >= d) {
            return Err(StreamError::trap("the deadline passed"));
        }
        if self.waits.stop.load(Ordering::Relaxed) {
            return Err(StreamError::trap("the run stopped"));
        }
        self.fill(block);
        if !self.current.is_empty() {
            let n = size.min(self.current.len());
            return Ok(self.current.split_to(n));
        }
        if self.waits.stalled.load(Ordering::Relaxed) {
            // A trap, not an end of stream: the archive is not complete.
            return Err(StreamError::trap("the input stalled"));
        }
        if self.closed { Err(StreamError::Closed) } else { Ok(Bytes::new()) }
    }
}

impl IsTerminal for Feed {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdinStream for Feed {
    fn async_stream(&self) -> Box<dyn tokio::io::AsyncRead + Send + Sync> {
        // Only wasip3 guests use this interface; sealtar's guest is wasip2.
        Box::new(tokio::io::empty())
    }

    fn p2_stream(&self) -> Box<dyn InputStream> {
        Box::new(FeedStream(self.0.clone()))
    }
}

struct FeedStream(Arc<Mutex<FeedState>>);

impl FeedStream {
    fn state(&self) -> std::sync::MutexGuard<'_, FeedState> {
        self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[wasmtime_wasi::async_trait]
impl InputStream for FeedStream {
    fn read(&mut self, size: usize) -> StreamResult<Bytes> {
        self.state().take(size, false)
    }

    async fn blocking_read(&mut self, size: usize) -> StreamResult<Bytes> {
        self.state().take(size, true)
    }
}

#[wasmtime_wasi::async_trait]
impl Pollable for FeedStream {
    async fn ready(&mut self) {
        self.state().fill(true);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc::sync_channel;

    use super::*;

    #[test]
    fn feed_hands_out_chunks_then_closes() {
        let (tx, rx) = sync_channel(2);
        let waits =
            Waits { deadline: None, stall: Duration::from_secs(60), stalled: Arc::default(), stop: Arc::default() };
        let feed = Feed::new(rx, waits);
        let mut s = feed.p2_stream();
        tx.send(b"hello".to_vec()).unwrap();
        drop(tx);
        let mut state = FeedStream(feed.0.clone());
        assert_eq!(&state.state().take(3, true).unwrap()[..], b"hel");
        assert_eq!(&s.read(10).unwrap()[..], b"lo");
        assert!(matches!(s.read(10), Err(StreamError::Closed)));
        assert!(matches!(state.state().take(1, true), Err(StreamError::Closed)));
        let _ = &mut state;
    }

    #[test]
    fn feed_gives_up_on_a_stalled_input() {
        let (tx, rx) = sync_channel::<Vec<u8>>(2);
        let stalled = Arc::new(AtomicBool::new(false));
        let waits =
            Waits { deadline: None, stall: Duration::from_millis(50), stalled: stalled.clone(), stop: Arc::default() };
        let feed = Feed::new(rx, waits);
        let mut s = feed.p2_stream();
        let started = Instant::now();
        // Nothing is ever sent, and the sender stays alive.
        assert!(matches!(s.read(10), Ok(b) if b.is_empty()));
        let mut state = FeedStream(feed.0.clone());
        assert!(matches!(state.state().take(1, true), Err(StreamError::Trap(_))));
        assert!(stalled.load(Ordering::Relaxed));
        assert!(started.elapsed() < Duration::from_secs(5));
        let _ = &mut state;
        drop(tx);
    }
}
