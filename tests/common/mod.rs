//! The test harness: the emulator (moto + our thin layer, tests/emulator)
//! on a free 127.0.0.1 port (emulator.rs), the real binary started exactly
//! as the GitHub runner starts a container action (action.rs), what every
//! run is checked for (checks.rs), and the shared answers of the scenario
//! tests (capture.rs, ecs.rs, recorded.rs). Each test binary (e2e,
//! scenarios, iam_policy) uses its own part of it: hence the allowances.
#![allow(dead_code)]

pub mod capture;
pub mod ecs;
pub mod image;
pub mod recorded;
pub mod runner_parser;

mod action;
mod checks;
mod emulator;
// Not every test binary uses each part (scenarios and iam_policy use none
// of these three).
#[allow(unused_imports)]
pub use action::*;
#[allow(unused_imports)]
pub use checks::*;
#[allow(unused_imports)]
pub use emulator::*;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use serde_json::Value;

pub const REQUEST_TOKEN: &str = "gha-request-token-0b5e9f";
/// The static secret key of runs without `role-to-assume` (moto accepts
/// any): a secret like any other, scanned for in every run.
pub const STATIC_SECRET_KEY: &str = "fdemuStaticSecretKey/0b5e9f7c1d2e";
pub const SUB: &str = "repo:octo-org/octo-app:ref:refs/heads/main";

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The Python of the virtualenv `tests/run` creates (or `FARGATE_DEPLOY_PYTHON`).
pub fn python() -> PathBuf {
    if let Some(p) = std::env::var_os("FARGATE_DEPLOY_PYTHON") {
        return PathBuf::from(p);
    }
    let p = repo_root().join("target/emulator-venv/bin/python");
    assert!(
        p.exists(),
        "the emulator's virtualenv is missing: run `tests/run` (it installs moto[server] into target/emulator-venv)"
    );
    p
}

/// GitHub's OpenAPI description that `tests/github-openapi` installs (or
/// `FARGATE_DEPLOY_GITHUB_OPENAPI`), for the emulator's GitHub API mock.
pub fn github_openapi() -> PathBuf {
    if let Some(p) = std::env::var_os("FARGATE_DEPLOY_GITHUB_OPENAPI") {
        return PathBuf::from(p);
    }
    std::fs::read_dir(repo_root().join("target/github-openapi"))
        .ok()
        .and_then(|dir| {
            dir.filter_map(|e| e.ok().map(|e| e.path()))
                .find(|p| p.extension().is_some_and(|x| x == "json"))
        })
        .expect("GitHub's OpenAPI description is missing: run `tests/run` (tests/github-openapi installs it)")
}

/// What the runner passes for `github-token`'s default `${{ github.token }}`:
/// the job's token (the emulator's GitHub API does not accept this one).
pub const JOB_TOKEN: &str = "ghs_jobTokenOfTheRunner0000000000000000000";

/// `environment-variables` that make the emulator's tasks of a revision fail
/// to start as an image that cannot be pulled does (ecs_layer.py).
pub const CANNOT_PULL: &str = "FDEMU_FAIL_TO_START=CannotPullContainerError: pull image manifest has been retried 1 time(s): failed to resolve ref: not found";

/// The token the emulator's GitHub API accepts (fdemu.py's GITHUB_TOKEN).
pub const GITHUB_TOKEN: &str = "ghs_fdemuToken0b5e9f7c1d2e3f4a5b6c7d8e9f0a1b2c3d";

/// Runs `command` to its end; its standard output, or (when it fails) a
/// panic that shows what it wrote to standard error.
#[track_caller]
pub fn succeeded(command: &mut Command) -> Vec<u8> {
    let out = command.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{command:?} failed: {stderr}");
    out.stdout
}

/// `haystack` contains `needle`; otherwise the whole haystack is shown.
#[track_caller]
pub fn assert_contains(haystack: &str, needle: &str) {
    assert!(
        haystack.contains(needle),
        "expected `{needle}` in:\n{haystack}"
    );
}

/// `haystack` does not contain `needle`; otherwise the whole haystack is shown.
#[track_caller]
pub fn assert_lacks(haystack: &str, needle: &str) {
    assert!(
        !haystack.contains(needle),
        "did not expect `{needle}` in:\n{haystack}"
    );
}
