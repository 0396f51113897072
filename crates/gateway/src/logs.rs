//! Where log lines go: a call appends its formatted line to one shared
//! buffer, and one thread writes whatever has gathered to stdout every few
//! milliseconds, with one system call.
//!
//! A call never waits on the terminal or the log collector, and wakes the
//! writer thread only when its line is the first in an empty buffer: at
//! most once per [`FLUSH_EVERY`], however many lines come (an idle
//! gateway's thread sleeps until a line comes). tracing-appender's writer
//! thread, which this replaces, is woken for a line whenever it has caught
//! up: under full create load it took 1.5% of the gateway's CPU (this one
//! 0.3%), and the calls paid for the wake-ups. A line waits about
//! [`FLUSH_EVERY`] before it is written. No line is dropped: past
//! [`MAX_BUFFERED`] bytes a call waits until the buffer has been written.
//! What is buffered is written when the [`LogGuard`] is dropped (at exit);
//! a process killed outright loses the lines of its last few milliseconds.

use std::io::Write;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;

/// How often gathered lines are written out.
pub const FLUSH_EVERY: Duration = Duration::from_millis(5);
/// Most bytes of lines waiting to be written; a call logging past this
/// waits for the writer thread (which is woken at once).
pub const MAX_BUFFERED: usize = 4 * 1024 * 1024;

#[derive(Debug, Default)]
struct Pending {
    lines: Vec<u8>,
    closed: bool,
}

#[derive(Debug, Default)]
struct Shared {
    pending: Mutex<Pending>,
    /// The writer thread waits on it while the buffer is empty; woken by
    /// the first line, when the buffer is full, or when the guard is
    /// dropped.
    wake: Condvar,
    /// Calls waiting for room wait on it; notified after every round.
    drained: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Pending> {
        // A panic while holding the lock leaves the buffer usable: it is
        // only ever appended to or taken whole.
        self.pending.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The handle calls log through ([`tracing_subscriber::fmt::MakeWriter`]).
#[derive(Debug, Clone)]
pub struct LogWriter(Arc<Shared>);

impl Write for &LogWriter {
    /// Appends the whole of `line` (the fmt layer writes one event with one
    /// `write_all`, so lines from different calls never interleave).
    fn write(&mut self, line: &[u8]) -> std::io::Result<usize> {
        let mut pending = self.0.lock();
        while pending.lines.len() >= MAX_BUFFERED && !pending.closed {
            self.0.wake.notify_one();
            pending = self
                .0
                .drained
                .wait(pending)
                .unwrap_or_else(|e| e.into_inner());
        }
        if pending.lines.is_empty() {
            self.0.wake.notify_one();
        }
        pending.lines.extend_from_slice(line);
        Ok(line.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Each line borrows the one handle (no reference count touched per line).
impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for LogWriter {
    type Writer = &'a LogWriter;

    fn make_writer(&'a self) -> Self::Writer {
        self
    }
}

/// Writes what is still buffered, and stops the writer thread, when dropped.
#[derive(Debug)]
pub struct LogGuard {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

impl Drop for LogGuard {
    fn drop(&mut self) {
        self.shared.lock().closed = true;
        self.shared.wake.notify_one();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Start the writer thread, writing to `out`.
pub fn start<W: Write + Send + 'static>(mut out: W) -> std::io::Result<(LogWriter, LogGuard)> {
    let shared = Arc::new(Shared::default());
    let thread = {
        let shared = shared.clone();
        std::thread::Builder::new()
            .name("log-writer".into())
            .spawn(move || {
                let mut spare = Vec::new();
                loop {
                    let (lines, closed) = {
                        let mut pending = shared.lock();
                        while pending.lines.is_empty() && !pending.closed {
                            pending = shared.wake.wait(pending).unwrap_or_else(|e| e.into_inner());
                        }
                        // A line came: let more gather, unless the buffer
                        // is full or the gateway is stopping.
                        if pending.lines.len() < MAX_BUFFERED && !pending.closed {
                            pending = shared
                                .wake
                                .wait_timeout(pending, FLUSH_EVERY)
                                .unwrap_or_else(|e| e.into_inner())
                                .0;
                        }
                        (
                            std::mem::replace(&mut pending.lines, std::mem::take(&mut spare)),
                            pending.closed,
                        )
                    };
                    shared.drained.notify_all();
                    if !lines.is_empty() {
                        // Nowhere to report a failing stdout: the lines are
                        // lost, the gateway goes on.
                        let _ = out.write_all(&lines).and_then(|()| out.flush());
                    }
                    if closed {
                        return;
                    }
                    spare = lines;
                    spare.clear();
                    // Don't keep a burst's worth of memory for good.
                    spare.shrink_to(64 * 1024);
                }
            })?
    };
    Ok((
        LogWriter(shared.clone()),
        LogGuard {
            shared,
            thread: Some(thread),
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    // Lines are written as the fmt layer writes them: through `make_writer`.
    use tracing_subscriber::fmt::MakeWriter;

    /// An output that keeps what it is given, slowly when asked.
    #[derive(Clone, Default)]
    struct Kept {
        bytes: Arc<Mutex<Vec<u8>>>,
        writes: Arc<Mutex<usize>>,
        delay: Duration,
    }

    impl Write for Kept {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            std::thread::sleep(self.delay);
            *self.writes.lock().unwrap() += 1;
            self.bytes.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn every_line_from_every_thread_is_written_whole_and_in_its_order_by_the_time_the_guard_is_dropped(
    ) {
        let out = Kept::default();
        let (writer, guard) = start(out.clone()).unwrap();
        let threads: Vec<_> = (0..4)
            .map(|t| {
                let w = writer.clone();
                std::thread::spawn(move || {
                    for i in 0..5_000 {
                        w.make_writer()
                            .write_all(format!("thread {t} line {i}\n").as_bytes())
                            .unwrap();
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        drop(guard);
        let text = String::from_utf8(out.bytes.lock().unwrap().clone()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 20_000);
        for t in 0..4 {
            let own: Vec<&str> = lines
                .iter()
                .copied()
                .filter(|l| l.starts_with(&format!("thread {t} ")))
                .collect();
            let expected: Vec<String> =
                (0..5_000).map(|i| format!("thread {t} line {i}")).collect();
            assert_eq!(own, expected, "thread {t}'s lines, whole and in order");
        }
        // Gathered, not a system call a line.
        assert!(*out.writes.lock().unwrap() < 20_000);
    }

    #[test]
    fn a_line_is_written_within_moments_without_a_flush_or_another_line() {
        let out = Kept::default();
        let (writer, _guard) = start(out.clone()).unwrap();
        writer.make_writer().write_all(b"alone\n").unwrap();
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while out.bytes.lock().unwrap().is_empty() {
            assert!(
                std::time::Instant::now() < deadline,
                "the line was never written"
            );
            std::thread::sleep(Duration::from_millis(1));
        }
        assert_eq!(out.bytes.lock().unwrap().as_slice(), b"alone\n");
    }

    #[test]
    fn a_slow_output_holds_callers_back_at_the_limit_instead_of_dropping_lines() {
        let out = Kept {
            delay: Duration::from_millis(20),
            ..Kept::default()
        };
        let (writer, guard) = start(out.clone()).unwrap();
        let line = vec![b'x'; 64 * 1024];
        // Well past the limit: the calls must wait for the slow output.
        let n = 3 * MAX_BUFFERED / line.len();
        for _ in 0..n {
            writer.make_writer().write_all(&line).unwrap();
            assert!(writer.0.lock().lines.len() <= MAX_BUFFERED + line.len());
        }
        drop(guard);
        assert_eq!(out.bytes.lock().unwrap().len(), n * line.len());
    }
}
