//! Scenario tests of the AWS orchestration: aws-smithy-mocks answers and
//! paused tokio time. One test binary, one module per concern.

#[path = "../common/mod.rs"]
mod common;

mod alarms;
mod codedeploy;
mod credentials;
mod deploy;
mod fail_fast;
mod migrate;
mod native;
mod on_cancel;
mod recorded;
mod schedules;
mod service;
