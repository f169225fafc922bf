//! Ordered stages: each is one collapsible group titled `[k/N] <stage>` that
//! ends with its result and elapsed time. A failed stage stops the run.

use std::future::Future;
use std::time::{Duration, Instant};

use crate::error::Failure;
use crate::runner::Runner;

pub struct Stages<'a> {
    runner: &'a Runner,
    total: usize,
    done: usize,
}

impl<'a> Stages<'a> {
    pub fn new(runner: &'a Runner, total: usize) -> Self {
        Self {
            runner,
            total,
            done: 0,
        }
    }

    /// Runs one stage. The future returns its value and a one-line result.
    pub async fn run<T>(
        &mut self,
        name: &str,
        stage: impl Future<Output = Result<(T, String), Failure>>,
    ) -> Result<T, Failure> {
        self.done += 1;
        self.runner
            .group_start(&format!("[{}/{}] {name}", self.done, self.total));
        let started = Instant::now();
        let result = stage.await;
        let took = stage_elapsed(started.elapsed());
        let value = match result {
            Ok((value, summary)) => {
                self.runner.info(&format!("✓ {summary} ({took})"));
                Ok(value)
            }
            Err(failure) => {
                self.runner.info(&format!(
                    "✗ {name} failed after {took}: {}",
                    failure.headline
                ));
                Err(failure)
            }
        };
        self.runner.group_end();
        value
    }

    /// The last stage of every mode: the report, whose result is `summary`
    /// (what the run did, said once more).
    pub async fn report(&mut self, summary: String) -> Result<(), Failure> {
        self.run("report", async { Ok(((), summary)) }).await
    }
}

/// A stage's time: hundredths under ten seconds (a stage of a few round
/// trips is tenths of a second, which the benchmark reads), else as
/// [`elapsed`].
fn stage_elapsed(d: Duration) -> String {
    match d.as_secs_f64() {
        s if s < 10.0 => format!("{s:.2}s"),
        _ => elapsed(d),
    }
}

pub fn elapsed(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s < 60.0 {
        format!("{s:.1}s")
    } else {
        format!("{}m{:02}s", (s / 60.0) as u64, (s % 60.0) as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runner::Face;
    use crate::runner::tests::runner;

    #[tokio::test]
    async fn stages_are_numbered_grouped_and_stop_on_failure() {
        let (r, log) = runner(Face::Actions);
        let mut stages = Stages::new(&r, 3);
        let a: u32 = stages
            .run("first", async { Ok((1, "one".to_string())) })
            .await
            .unwrap();
        assert_eq!(a, 1);
        let err = stages
            .run::<()>("second", async { Err(Failure::failed("x", "it broke")) })
            .await
            .unwrap_err();
        assert_eq!(err.headline, "it broke");
        let text = log.text();
        assert!(text.contains("::group::[1/3] first\n✓ one ("), "{text}");
        assert!(
            text.contains("::group::[2/3] second\n✗ second failed after"),
            "{text}"
        );
        assert_eq!(text.matches("::endgroup::").count(), 2);
    }

    #[test]
    fn durations_read_well() {
        assert_eq!(elapsed(Duration::from_millis(1234)), "1.2s");
        assert_eq!(elapsed(Duration::from_secs(125)), "2m05s");
        assert_eq!(stage_elapsed(Duration::from_millis(43)), "0.04s");
        assert_eq!(stage_elapsed(Duration::from_millis(9_876)), "9.88s");
        assert_eq!(stage_elapsed(Duration::from_millis(12_345)), "12.3s");
    }
}
