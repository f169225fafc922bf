//! A runner whose log a test can read back (the scenario tests', and the
//! crate's own unit tests: `runner::tests` includes this file).

use std::io::Write;
use std::sync::{Arc, Mutex};

use fargate_deploy::runner::{Face, Runner};

#[derive(Clone, Default)]
pub struct Log(Arc<Mutex<Vec<u8>>>);

impl Write for Log {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Log {
    pub fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }
}

/// A runner of `face` writing into a [`Log`].
pub fn runner_with(face: Face) -> (Runner, Log) {
    let log = Log::default();
    let out = Box::new(log.clone());
    (
        Runner::new(face, out, Box::new(log.clone()), None, None),
        log,
    )
}

/// An Actions-face runner writing into a [`Log`].
pub fn runner() -> (Runner, Log) {
    runner_with(Face::Actions)
}

/// Runs `f` with a fresh [`runner`]; what it returned and the log it wrote.
pub async fn logged<T>(f: impl AsyncFnOnce(&Runner) -> T) -> (T, Log) {
    let (r, log) = runner();
    (f(&r).await, log)
}
