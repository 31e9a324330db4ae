//! The guest's standard input: archive bytes handed over from the input
//! queue, one chunk at a time, without copying.

use std::sync::mpsc::{Receiver, TryRecvError};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use wasmtime_wasi::cli::{IsTerminal, StdinStream};
use wasmtime_wasi::p2::{InputStream, Pollable, StreamError, StreamResult};

/// The guest's standard input: the archive bytes from the input queue.
pub(super) struct Feed(Arc<Mutex<FeedState>>);

struct FeedState {
    queue: Receiver<Vec<u8>>,
    current: Bytes,
    closed: bool,
}

impl Feed {
    pub(super) fn new(queue: Receiver<Vec<u8>>) -> Feed {
        Feed(Arc::new(Mutex::new(FeedState { queue, current: Bytes::new(), closed: false })))
    }
}

impl FeedState {
    fn fill(&mut self, block: bool) {
        if !self.current.is_empty() || self.closed {
            return;
        }
        let next =
            if block { self.queue.recv().map_err(|_| TryRecvError::Disconnected) } else { self.queue.try_recv() };
        match next {
            Ok(chunk) => self.current = Bytes::from(chunk),
            Err(TryRecvError::Disconnected) => self.closed = true,
            Err(TryRecvError::Empty) => {}
        }
    }

    fn take(&mut self, size: usize, block: bool) -> StreamResult<Bytes> {
        self.fill(block);
        if !self.current.is_empty() {
            let n = size.min(self.current.len());
            return Ok(self.current.split_to(n));
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
        let feed = Feed::new(rx);
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
}
