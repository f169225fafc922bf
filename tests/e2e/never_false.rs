//! Never a false result: seeded random combinations of outcomes — migration
//! exit codes, failed starts, timeouts, and deployments of several services
//! where some families crash (circuit breaker and rollback, or no breaker
//! and a timeout) — run end to end; the step's exit code, its outputs and
//! each service's result must equal what the emulator made true.
//! `FARGATE_DEPLOY_SEED=<n>` replays a seed; the seed is printed.

use crate::common;

use common::{ActionRun, Emulator, Finished};
use serde_json::Value;

/// xorshift64*: small, seeded, good enough to pick cases.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn run(emu: &Emulator, inputs: &[(&str, &str)]) -> Finished {
    let mut all = vec![("aws-region", "eu-west-1"), ("cluster", "prod")];
    all.extend_from_slice(inputs);
    ActionRun::new(Some(emu), &all).run()
}

fn result(done: &Finished) -> Value {
    serde_json::from_str(done.output("result")).unwrap()
}

#[derive(Debug)]
enum Migration {
    Exits(u8),
    FailsToStart,
    TimesOut,
}

fn migrate_case(emu: &Emulator, rng: &mut Rng, n: u64) -> String {
    // The first four cover every kind of outcome; then chance decides.
    let kind = if n < 4 { n } else { rng.below(4) };
    let truth = match kind {
        0 => Migration::Exits(0),
        1 => Migration::Exits(1 + rng.below(255) as u8),
        2 => Migration::FailsToStart,
        _ => Migration::TimesOut,
    };
    let seconds = 0.5 + rng.below(15) as f64 / 10.0;
    let env = match &truth {
        Migration::Exits(code) => format!("FDEMU_RUN_SECONDS={seconds}\nFDEMU_EXIT_CODE={code}"),
        Migration::FailsToStart => {
            "FDEMU_FAIL_TO_START=CannotPullContainerError: pull access denied".to_string()
        }
        Migration::TimesOut => "FDEMU_RUN_SECONDS=600".to_string(),
    };
    let stops_before = emu.params("StopTask").len();
    // Only the hanging migration meets a (3 s) timeout.
    let timeout = if matches!(truth, Migration::TimesOut) {
        "0.05"
    } else {
        "5"
    };
    let done = run(
        emu,
        &[
            ("mode", "migrate"),
            ("service", "web"),
            ("image", "web:v2"),
            ("environment-variables", &env),
            ("timeout-minutes", timeout),
        ],
    );
    let what = format!("migrate {truth:?}");
    match truth {
        Migration::Exits(0) => {
            assert_eq!(done.code, 0, "{what}: {}", done.all_text());
            assert_eq!(done.output("exit-code"), "0", "{what}");
            assert_eq!(result(&done)["result"], "success", "{what}");
        }
        Migration::Exits(code) => {
            assert_eq!(done.code, 1, "{what}: {}", done.all_text());
            assert_eq!(done.output("exit-code"), code.to_string(), "{what}");
            assert!(
                done.first_error()
                    .contains(&format!("exited with code {code}")),
                "{what}: {}",
                done.first_error()
            );
            assert_eq!(result(&done)["result"], "failure", "{what}");
        }
        Migration::FailsToStart => {
            assert_eq!(done.code, 1, "{what}: {}", done.all_text());
            assert!(
                !done.outputs.contains_key("exit-code"),
                "{what}: no exit code to report"
            );
            assert!(
                done.first_error().contains("CannotPullContainerError"),
                "{what}: {}",
                done.first_error()
            );
            assert_eq!(result(&done)["result"], "failure", "{what}");
        }
        Migration::TimesOut => {
            assert_eq!(done.code, 1, "{what}: {}", done.all_text());
            assert_eq!(
                emu.params("StopTask").len(),
                stops_before + 1,
                "{what}: the task is stopped"
            );
            assert_eq!(result(&done)["result"], "failure", "{what}");
        }
    }
    what
}

fn deploy_case(emu: &Emulator, rng: &mut Rng, image: &str) -> String {
    let all = ["web", "worker", "scheduler"];
    let mut services: Vec<&str> = all.iter().copied().filter(|_| rng.below(2) == 0).collect();
    if services.is_empty() {
        services.push(all[rng.below(3) as usize]);
    }
    let (web_crashes, worker_crashes) = (rng.below(3) == 0, rng.below(3) == 0);
    // With fail-fast the worker family's crash loop is stopped with
    // rollback; without, the timeout ends it.
    let fail_fast = rng.below(2) == 0;
    // Both always set: the template is each service's current definition,
    // which keeps what the previous case put there.
    let env = [
        format!("APP_RELEASE=r{}", rng.below(1000)),
        // web's tasks cannot start (the breaker rolls back); the worker
        // family's crash-loop (no breaker: the timeout ends it).
        format!(
            "FDEMU_FAIL_TO_START_WEB={}",
            if web_crashes {
                "CannotPullContainerError: pull image manifest has been retried 1 time(s): failed to resolve ref: not found"
            } else {
                ""
            }
        ),
        format!("FDEMU_EXIT_CODE_WORKER={}", 2 * u8::from(worker_crashes)),
    ];
    let list = services.join(",");
    let done = run(
        emu,
        &[
            ("mode", "deploy"),
            ("service", &list),
            ("image", image),
            ("environment-variables", &env.join("\n")),
            ("timeout-minutes", "0.1"),
            ("fail-fast", if fail_fast { "true" } else { "false" }),
        ],
    );
    let what = format!(
        "deploy {list} (web crashes: {web_crashes}, worker family crashes: {worker_crashes}, fail-fast: {fail_fast})"
    );
    let fails = |s: &str| {
        if s == "web" {
            web_crashes
        } else {
            worker_crashes
        }
    };
    let any_fails = services.iter().any(|s| fails(s));
    assert_eq!(
        done.code,
        if any_fails { 1 } else { 0 },
        "{what}: {}",
        done.all_text()
    );
    let r = result(&done);
    assert_eq!(
        r["result"],
        if any_fails { "failure" } else { "success" },
        "{what}: {r}"
    );
    // Every service asked for is reported, once: a dropped service fails here.
    let mut reported: Vec<&str> = r["targets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    reported.sort();
    let mut asked = services.clone();
    asked.sort();
    assert_eq!(reported, asked, "{what}: {r}");
    for t in r["targets"].as_array().unwrap() {
        let name = t["name"].as_str().unwrap();
        let expected = match (fails(name), name) {
            (false, _) => "success",
            (true, "web") => "rolled back",
            (true, _) if fail_fast => "rolled back",
            (true, _) => "failure",
        };
        assert_eq!(t["result"], expected, "{what}: {name}: {t}");
    }
    what
}

#[test]
fn the_reported_result_always_equals_the_emulated_truth() {
    let seed: u64 = std::env::var("FARGATE_DEPLOY_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5eed_f00d);
    println!("seed {seed} (FARGATE_DEPLOY_SEED={seed} replays it)");
    let mut rng = Rng(seed | 1);
    let emu = emulator!({"rollout_seconds": 1.5, "task_cycle_seconds": 0.2});
    let mut cases = Vec::new();
    for i in 0..10 {
        let what = if i % 2 == 0 {
            migrate_case(&emu, &mut rng, i / 2)
        } else {
            deploy_case(&emu, &mut rng, if i % 4 == 1 { "web:v2" } else { "web:v1" })
        };
        println!("case {i}: {what}: reported truthfully");
        cases.push(what);
    }
    assert_eq!(cases.len(), 10);
}
