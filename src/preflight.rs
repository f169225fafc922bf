//! Pre-flight verification of a rendered task definition, before anything
//! changes in AWS: what ECS would refuse, or accept and then fail on, found
//! from the definition and the service alone (no AWS call): the definition
//! against ECS's API model, the Fargate task size, and the load balancer's
//! container and port. Each finding names the input to fix.

use aws_sdk_ecs::types::Service;
use serde_json::Value;

use crate::taskdef::model;

pub mod platform;
pub mod reads;

/// One thing to fix before the run may change anything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// The input that fixes it (its annotation title).
    pub input: &'static str,
    pub message: String,
}

/// What a target is checked with: its rendered definition, the service it
/// is for, and `container-port`.
pub struct Subject<'a> {
    pub name: &'a str,
    pub definition: &'a Value,
    pub service: Option<&'a Service>,
    pub container_port: Option<i32>,
    pub image_containers: &'a [String],
}

/// Every finding for one target, the model's first (at most ten of those).
pub fn check(s: &Subject) -> Vec<Finding> {
    let mut found: Vec<Finding> = model::violations(s.definition, 10)
        .into_iter()
        .map(|v| Finding {
            input: "task-definition",
            message: format!("{}: ECS would refuse the task definition: {v}", s.name),
        })
        .collect();
    if runs_on_fargate(s.definition, s.service) {
        found.extend(fargate_size(s.definition).map(|m| Finding {
            input: "task-definition",
            message: format!("{}: {m}", s.name),
        }));
    }
    found.extend(load_balancers(s));
    found
}

/// The definition requires Fargate, or the service runs on it.
fn runs_on_fargate(td: &Value, service: Option<&Service>) -> bool {
    let required = td["requiresCompatibilities"]
        .as_array()
        .is_some_and(|a| a.iter().any(|c| c == "FARGATE"));
    let service_on_fargate = service.is_some_and(|s| {
        s.launch_type().is_some_and(|l| l.as_str() == "FARGATE")
            || s.capacity_provider_strategy()
                .iter()
                .any(|c| c.capacity_provider().starts_with("FARGATE"))
    });
    required || service_on_fargate
}

/// Task CPU units from `cpu`: `"1024"`, `1024` or `"1 vCPU"`.
fn cpu_units(v: &Value) -> Option<u32> {
    units(v, "vCPU")
}

/// Task memory in MiB from `memory`: `"2048"`, `2048`, `"2 GB"` or `"2GB"`.
fn memory_mib(v: &Value) -> Option<u32> {
    units(v, "GB")
}

/// A number, or a number of `unit`s (either case) times 1024, as ECS reads
/// task sizes.
fn units(v: &Value, unit: &str) -> Option<u32> {
    if let Some(n) = v.as_u64() {
        return u32::try_from(n).ok();
    }
    let s = v.as_str()?.trim();
    let scaled = s
        .strip_suffix(unit)
        .or_else(|| s.strip_suffix(unit.to_ascii_lowercase().as_str()));
    match scaled {
        Some(n) => Some((n.trim().parse::<f64>().ok()? * 1024.0).round() as u32),
        None => s.parse().ok(),
    }
}

/// The memory values Fargate offers with each CPU value (Linux), as
/// (cpu, first, last, step), from "Task CPU and memory" in the Amazon ECS
/// Developer Guide (AWS Fargate).
const FARGATE_LINUX: &[(u32, u32, u32, u32)] = &[
    (256, 512, 2048, 0),
    (512, 1024, 4096, 1024),
    (1024, 2048, 8192, 1024),
    (2048, 4096, 16384, 1024),
    (4096, 8192, 30720, 1024),
    (8192, 16384, 61440, 4096),
    (16384, 32768, 122880, 8192),
];

fn fargate_offers(cpu: u32, memory: u32) -> Result<(), String> {
    let Some(&(_, first, last, step)) = FARGATE_LINUX.iter().find(|(c, ..)| *c == cpu) else {
        let cpus: Vec<String> = FARGATE_LINUX.iter().map(|(c, ..)| c.to_string()).collect();
        return Err(format!(
            "Fargate has no task size with cpu {cpu}: use one of {}",
            cpus.join(", ")
        ));
    };
    let ok = match step {
        0 => [512, 1024, 2048].contains(&memory),
        _ => (first..=last).contains(&memory) && (memory - first).is_multiple_of(step),
    };
    match (ok, step) {
        (true, _) => Ok(()),
        (false, 0) => Err(format!(
            "Fargate runs cpu {cpu} with memory 512, 1024 or 2048, not {memory}"
        )),
        (false, _) => Err(format!(
            "Fargate runs cpu {cpu} with memory from {first} to {last} in steps of {step}, not {memory}"
        )),
    }
}

/// Fargate's task size (Linux): cpu and memory set, a pair it offers, and
/// the containers' own reservations inside them.
fn fargate_size(td: &Value) -> Option<String> {
    let windows = td["runtimePlatform"]["operatingSystemFamily"]
        .as_str()
        .is_some_and(|f| f.starts_with("WINDOWS"));
    let (cpu, memory) = match (cpu_units(&td["cpu"]), memory_mib(&td["memory"])) {
        (Some(c), Some(m)) => (c, m),
        _ => {
            return Some(
                "a Fargate task needs task-level `cpu` and `memory` (e.g. \"cpu\": \"256\", \"memory\": \"512\")".into(),
            );
        }
    };
    if !windows && let Err(e) = fargate_offers(cpu, memory) {
        return Some(e);
    }
    let containers = td["containerDefinitions"].as_array()?;
    let sum = |field: &str, alt: &str| -> u64 {
        containers
            .iter()
            .map(|c| c[field].as_u64().or_else(|| c[alt].as_u64()).unwrap_or(0))
            .sum()
    };
    // Reserved memory is memoryReservation where set, else the hard limit
    // (the Amazon ECS Developer Guide, "Task definition parameters").
    let (c_mem, c_cpu) = (sum("memoryReservation", "memory"), sum("cpu", "cpu"));
    if c_mem > u64::from(memory) {
        return Some(format!(
            "the containers reserve {c_mem} MiB of memory, more than the task's {memory}"
        ));
    }
    if let Some(c) = containers
        .iter()
        .find(|c| c["memory"].as_u64().is_some_and(|m| m > u64::from(memory)))
    {
        return Some(format!(
            "container `{}` has a memory limit of {} MiB, more than the task's {memory}",
            c["name"].as_str().unwrap_or("?"),
            c["memory"]
        ));
    }
    if c_cpu > u64::from(cpu) {
        return Some(format!(
            "the containers reserve {c_cpu} CPU units, more than the task's {cpu}"
        ));
    }
    None
}

/// The ports a container of the definition maps.
fn ports(td: &Value, container: &str) -> Option<Vec<i64>> {
    let c = td["containerDefinitions"]
        .as_array()?
        .iter()
        .find(|c| c["name"].as_str() == Some(container))?;
    Some(
        c["portMappings"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|p| p["containerPort"].as_i64())
            .collect(),
    )
}

/// Each load balancer of the service, and `container-port`, names a
/// container of the new definition and a port it maps.
fn load_balancers(s: &Subject) -> Vec<Finding> {
    let mut found = Vec::new();
    let lbs = s
        .service
        .map(|svc| svc.load_balancers())
        .unwrap_or_default();
    for lb in lbs {
        let (Some(name), Some(port)) = (lb.container_name(), lb.container_port()) else {
            continue;
        };
        let message = match ports(s.definition, name) {
            None => format!(
                "{}: the service's load balancer sends traffic to container `{name}`, which the new task definition does not have",
                s.name
            ),
            Some(p) if !p.contains(&i64::from(port)) => format!(
                "{}: the service's load balancer sends traffic to port {port} of container `{name}`, which the new task definition does not map (it maps: {})",
                s.name,
                join(&p)
            ),
            Some(_) => continue,
        };
        found.push(Finding {
            input: "task-definition",
            message,
        });
    }
    if let (Some(port), Some(container)) = (s.container_port, s.image_containers.first()) {
        let p = ports(s.definition, container).unwrap_or_default();
        if !p.contains(&i64::from(port)) {
            found.push(Finding {
                input: "container-port",
                message: format!(
                    "{}: container-port {port} is not a port of container `{container}` (it maps: {})",
                    s.name,
                    join(&p)
                ),
            });
        }
    }
    found
}

fn join(ports: &[i64]) -> String {
    match ports {
        [] => "none".into(),
        p => p.iter().map(i64::to_string).collect::<Vec<_>>().join(", "),
    }
}

#[cfg(test)]
mod tests;
