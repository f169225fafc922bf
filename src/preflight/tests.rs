use aws_sdk_ecs::types::{LaunchType, LoadBalancer};
use serde_json::json;

use super::*;

fn td(cpu: Value, memory: Value) -> Value {
    json!({
        "family": "web",
        "cpu": cpu,
        "memory": memory,
        "requiresCompatibilities": ["FARGATE"],
        "networkMode": "awsvpc",
        "containerDefinitions": [
            {"name": "web", "image": "web:v1", "memoryReservation": 256,
             "portMappings": [{"containerPort": 8080}]},
            {"name": "log", "image": "fluent-bit", "memory": 128}
        ]
    })
}

fn subject<'a>(definition: &'a Value, service: Option<&'a Service>) -> Subject<'a> {
    Subject {
        name: "web",
        definition,
        service,
        container_port: None,
        image_containers: &[],
    }
}

fn messages(found: Vec<Finding>) -> Vec<String> {
    found
        .into_iter()
        .map(|f| format!("{}: {}", f.input, f.message))
        .collect()
}

#[test]
fn fargate_sizes_follow_the_table() {
    for (cpu, memory) in [
        (json!("256"), json!("512")),
        (json!("256"), json!("2048")),
        (json!("0.5 vCPU"), json!("3 GB")),
        (json!("1024"), json!("8192")),
        (json!("4096"), json!("30720")),
        (json!("8192"), json!("20480")),
        (json!("16 vCPU"), json!("120 GB")),
    ] {
        let t = td(cpu.clone(), memory.clone());
        assert_eq!(
            messages(check(&subject(&t, None))),
            Vec::<String>::new(),
            "{cpu} {memory}"
        );
    }
    for (cpu, memory, expect) in [
        (
            "256",
            "4096",
            "Fargate runs cpu 256 with memory 512, 1024 or 2048, not 4096",
        ),
        (
            "1024",
            "1024",
            "Fargate runs cpu 1024 with memory from 2048 to 8192 in steps of 1024, not 1024",
        ),
        (
            "8192",
            "18432",
            "Fargate runs cpu 8192 with memory from 16384 to 61440 in steps of 4096, not 18432",
        ),
        (
            "300",
            "1024",
            "Fargate has no task size with cpu 300: use one of 256, 512",
        ),
    ] {
        let t = td(json!(cpu), json!(memory));
        let found = messages(check(&subject(&t, None)));
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(
            found[0].starts_with(&format!("task-definition: web: {expect}")),
            "{found:?}"
        );
    }
}

#[test]
fn containers_must_fit_the_task_and_fargate_needs_a_size() {
    let mut t = td(json!("256"), json!("512"));
    t["containerDefinitions"][0]["memoryReservation"] = json!(400);
    assert_eq!(
        messages(check(&subject(&t, None))),
        [
            "task-definition: web: the containers reserve 528 MiB of memory, more than the task's 512"
        ]
    );
    let mut t = td(json!("256"), json!("512"));
    t["containerDefinitions"][1]["memory"] = json!(1024);
    t["containerDefinitions"][1]["memoryReservation"] = json!(64);
    assert!(
        messages(check(&subject(&t, None)))[0]
            .contains("container `log` has a memory limit of 1024 MiB")
    );
    let mut t = td(json!("256"), json!("512"));
    t.as_object_mut().unwrap().remove("memory");
    assert!(messages(check(&subject(&t, None)))[0].contains("needs task-level `cpu` and `memory`"));
    // Not Fargate (EC2, no service on Fargate): no size rule applies.
    t["requiresCompatibilities"] = json!(["EC2"]);
    assert_eq!(messages(check(&subject(&t, None))), Vec::<String>::new());
    // ...unless the service runs on Fargate.
    let svc = Service::builder().launch_type(LaunchType::Fargate).build();
    assert_eq!(check(&subject(&t, Some(&svc))).len(), 1);
}

#[test]
fn the_load_balancers_container_and_port_must_exist() {
    let t = td(json!("256"), json!("512"));
    let lb = |name: &str, port: i32| {
        Service::builder()
            .load_balancers(
                LoadBalancer::builder()
                    .target_group_arn("arn:aws:elasticloadbalancing:eu-west-1:1:targetgroup/web/1")
                    .container_name(name)
                    .container_port(port)
                    .build(),
            )
            .build()
    };
    assert_eq!(check(&subject(&t, Some(&lb("web", 8080)))), vec![]);
    assert_eq!(
        messages(check(&subject(&t, Some(&lb("app", 8080))))),
        [
            "task-definition: web: the service's load balancer sends traffic to container `app`, which the new task definition does not have"
        ]
    );
    assert_eq!(
        messages(check(&subject(&t, Some(&lb("web", 80))))),
        [
            "task-definition: web: the service's load balancer sends traffic to port 80 of container `web`, which the new task definition does not map (it maps: 8080)"
        ]
    );
    let image = ["web".to_string()];
    let s = Subject {
        container_port: Some(80),
        image_containers: &image,
        ..subject(&t, None)
    };
    assert_eq!(
        messages(check(&s)),
        ["container-port: web: container-port 80 is not a port of container `web` (it maps: 8080)"]
    );
}

#[test]
fn model_violations_come_first_and_name_the_path() {
    let mut t = td(json!("256"), json!("512"));
    t["containerDefinitions"][0]["portMappings"][0]["containerPort"] = json!("8080");
    let found = messages(check(&subject(&t, None)));
    assert_eq!(
        found[0],
        "task-definition: web: ECS would refuse the task definition: containerDefinitions[0].portMappings[0].containerPort: a string where ECS wants a whole number"
    );
}

#[test]
fn task_sizes_are_read_as_ecs_reads_them() {
    for (cpu, units) in [
        (json!("1024"), 1024),
        (json!(512), 512),
        (json!("1 vCPU"), 1024),
        (json!("0.25 vcpu"), 256),
    ] {
        assert_eq!(cpu_units(&cpu), Some(units), "{cpu}");
    }
    for (memory, mib) in [
        (json!("2048"), 2048),
        (json!("2 GB"), 2048),
        (json!("0.5gb"), 512),
    ] {
        assert_eq!(memory_mib(&memory), Some(mib), "{memory}");
    }
    assert_eq!(cpu_units(&json!("a lot")), None);
    assert_eq!(memory_mib(&json!("2 TB")), None);
}
