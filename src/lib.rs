//! fargate-deploy: from "image pushed to ECR" to "running on ECS Fargate",
//! as a GitHub Action and a CLI. See the README for the map of modules.

// Test helpers shared with the integration tests name the crate as they do.
#[cfg(test)]
extern crate self as fargate_deploy;

pub mod arn;
pub mod artifacts;
pub mod aws;
pub mod cancel;
pub mod cli;
pub mod context;
pub mod credentials;
pub mod deployment;
pub mod error;
pub mod github;
pub mod http;
pub mod image;
pub mod inputs;
pub mod markdown;
pub mod modes;
pub mod plan;
pub mod poll;
pub mod preflight;
pub mod runner;
pub mod runtask;
pub mod schedules;
pub mod service;
pub mod stages;
pub mod taskdef;
pub mod workspace;
