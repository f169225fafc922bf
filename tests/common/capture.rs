//! A runner whose log a scenario test can read back.

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

/// An Actions-face runner writing into a [`Log`].
pub fn runner() -> (Runner, Log) {
    let log = Log::default();
    (
        Runner::new(
            Face::Actions,
            Box::new(log.clone()),
            Box::new(log.clone()),
            None,
            None,
        ),
        log,
    )
}

/// Runs `f` with a fresh [`runner`]; what it returned and the log it wrote.
pub async fn logged<T>(f: impl AsyncFnOnce(&Runner) -> T) -> (T, Log) {
    let (r, log) = runner();
    (f(&r).await, log)
}
