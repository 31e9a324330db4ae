//! The parser threads: each runs one guest at a time and is kept for the
//! next archive, so that extracting many small archives (crates, packages)
//! starts no thread and builds no runtime per archive, while the caller's
//! thread applies the policy and writes what the guest has already parsed.

use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::sync::{Mutex, PoisonError};

use crate::error::Error;

/// One guest run, with everything it needs (the sandbox included).
pub(super) type Job = Box<dyn FnOnce() + Send>;

/// Idle parser threads, each waiting on its own queue: one set for the
/// process, as there is one sandbox.
static IDLE: Mutex<Vec<SyncSender<Job>>> = Mutex::new(Vec::new());

/// Starts a parser thread ahead of the first archive, when none is idle, so
/// that its start (a stack, signal handling, a runtime) overlaps the
/// sandbox's own set-up instead of delaying the first run. It counts as idle
/// at once: a job handed to it waits in its queue until it is ready. A
/// thread that cannot be started now is started (or its failure reported) by
/// [`submit`].
pub(super) fn prestart() {
    let mut idle = IDLE.lock().unwrap_or_else(PoisonError::into_inner);
    if !idle.is_empty() {
        return;
    }
    let (queue, jobs) = sync_channel::<Job>(1);
    if spawn(queue.clone(), jobs).is_ok() {
        idle.push(queue);
    }
}

/// Runs `job` on an idle parser thread, or on a new one.
pub(super) fn submit(job: Job) -> Result<(), Error> {
    let mut job = job;
    loop {
        let idle = IDLE.lock().unwrap_or_else(PoisonError::into_inner).pop();
        let Some(worker) = idle else { break };
        // An idle thread's queue is empty; a thread that has gone (it
        // panicked, or could not start its runtime) hands the job back.
        match worker.try_send(job) {
            Ok(()) => return Ok(()),
            Err(TrySendError::Full(back) | TrySendError::Disconnected(back)) => job = back,
        }
    }
    let (queue, jobs) = sync_channel::<Job>(1);
    // Room for one job is always free in a new queue.
    let _ = queue.try_send(job);
    spawn(queue, jobs).map_err(|e| Error::Setup(format!("starting a parser thread: {e}")))
}

fn spawn(queue: SyncSender<Job>, jobs: Receiver<Job>) -> std::io::Result<()> {
    std::thread::Builder::new().name("sealtar-parser".into()).spawn(move || work(&queue, &jobs)).map(drop)
}

/// A parser thread: runs jobs until [`MAX_IDLE`] threads are idle already.
fn work(queue: &SyncSender<Job>, jobs: &Receiver<Job>) {
    // wasmtime-wasi runs its synchronous host calls on the ambient tokio
    // runtime, or else starts a multi-threaded one for the process (two
    // worker threads and milliseconds of start-up). The calls this guest
    // makes never wait on I/O or timers, so a bare current-thread runtime on
    // this thread serves them.
    let Ok(runtime) = tokio::runtime::Builder::new_current_thread().build() else {
        // The job is dropped, and with it the run's event queue: the caller
        // sees the parser gone and says so.
        return;
    };
    let _runtime = runtime.enter();
    while let Ok(job) = jobs.recv() {
        job();
        let mut idle = IDLE.lock().unwrap_or_else(PoisonError::into_inner);
        if idle.len() >= MAX_IDLE {
            return;
        }
        idle.push(queue.clone());
    }
}

/// The most parser threads kept idle: as many as archives were ever parsed
/// at once, up to this. (An idle thread costs a parked stack, no store.)
const MAX_IDLE: usize = 16;
