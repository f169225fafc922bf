//! The files CodePipeline, CodeDeploy and people read:
//! `imageDetail.json`, `taskdef.json` (with `<IMAGE1_NAME>`),
//! `taskdef.rendered.json` and `appspec.yaml`. With several images, each
//! is numbered as CodePipeline's CodeDeployToECS action numbers its image
//! inputs (`<IMAGE2_NAME>`…), and each has its own `imageDetail.json` in a
//! folder of that name (an input artifact holds one).

use std::path::{Path, PathBuf};

use aws_sdk_ecs::types::Service;
use serde_json::{Map, Value, json};

use crate::error::Failure;
use crate::taskdef::Rendered;

/// The image inputs CodePipeline's CodeDeployToECS action takes
/// (`Image1ArtifactName` to `Image4ArtifactName`).
pub const CODEPIPELINE_IMAGES: usize = 4;

/// The warning for more images than CodeDeployToECS takes, if any.
pub fn too_many_images(n: usize) -> Option<String> {
    let max = CODEPIPELINE_IMAGES;
    (n > max).then(|| format!("{n} images: CodePipeline's CodeDeployToECS action takes at most {max} image artifacts (IMAGE1_NAME to IMAGE{max}_NAME); the artifacts hold all {n}, but a pipeline can fill in only {max}"))
}

/// `IMAGE1_NAME` for the first image, `IMAGE2_NAME` for the second…
pub fn image_name(number: usize) -> String {
    format!("IMAGE{number}_NAME")
}
pub const TASK_DEFINITION_PLACEHOLDER: &str = "<TASK_DEFINITION>";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArtifactPaths {
    pub dir: PathBuf,
    pub image_detail: PathBuf,
    /// With several images, `IMAGE<n>_NAME/imageDetail.json` for each.
    pub image_details: Vec<PathBuf>,
    pub taskdef: PathBuf,
    pub rendered: PathBuf,
    pub appspec: PathBuf,
}

/// `taskdef.json`: the rendered definition with each image's placeholder
/// (`<IMAGE1_NAME>`…) in the containers that received it (CodeDeployToECS
/// fills them in).
pub fn taskdef_template(rendered: &Rendered) -> Value {
    let mut td = rendered.definition.clone();
    for c in td["containerDefinitions"]
        .as_array_mut()
        .into_iter()
        .flatten()
    {
        let number = c["name"].as_str().and_then(|n| rendered.image_number(n));
        if let Some(number) = number {
            c["image"] = Value::String(format!("<{}>", image_name(number)));
        }
    }
    td
}

/// The AppSpec for an ECS deployment, as CodeDeploy documents it.
pub struct AppSpecInputs<'a> {
    pub rendered: &'a Rendered,
    pub service: Option<&'a Service>,
    pub container_port: Option<i32>,
    pub hooks: &'a [(String, String)],
    /// What goes in `TaskDefinition`: the placeholder, or a registered ARN.
    pub task_definition: &'a str,
}

/// Returns the AppSpec and, when no load balancer target could be found, a warning.
pub fn appspec(inputs: &AppSpecInputs) -> (Value, Option<String>) {
    let mut props = Map::new();
    props.insert("TaskDefinition".into(), json!(inputs.task_definition));
    let mut warning = None;
    match load_balancer_target(inputs) {
        Some((name, port)) => {
            props.insert(
                "LoadBalancerInfo".into(),
                json!({ "ContainerName": name, "ContainerPort": port }),
            );
        }
        None => {
            warning = Some("appspec.yaml has no LoadBalancerInfo: the service has no load balancer and no container port is known; set `container-port` for CodeDeploy blue/green".into());
        }
    }
    if let Some(svc) = inputs.service {
        if let Some(pv) = svc.platform_version() {
            props.insert("PlatformVersion".into(), json!(pv));
        }
        if let Some(vpc) = svc
            .network_configuration()
            .and_then(|n| n.awsvpc_configuration())
        {
            let mut a = Map::new();
            a.insert("Subnets".into(), json!(vpc.subnets()));
            if !vpc.security_groups().is_empty() {
                a.insert("SecurityGroups".into(), json!(vpc.security_groups()));
            }
            if let Some(ip) = vpc.assign_public_ip() {
                a.insert("AssignPublicIp".into(), json!(ip.as_str()));
            }
            props.insert(
                "NetworkConfiguration".into(),
                json!({ "AwsvpcConfiguration": a }),
            );
        }
        let cps: Vec<Value> = svc
            .capacity_provider_strategy()
            .iter()
            .map(|s| json!({ "Base": s.base(), "CapacityProvider": s.capacity_provider(), "Weight": s.weight() }))
            .collect();
        if !cps.is_empty() {
            props.insert("CapacityProviderStrategy".into(), Value::Array(cps));
        }
    }
    let mut spec = Map::new();
    spec.insert("version".into(), json!(0.0));
    spec.insert(
        "Resources".into(),
        json!([{ "TargetService": { "Type": "AWS::ECS::Service", "Properties": props } }]),
    );
    if !inputs.hooks.is_empty() {
        let hooks: Vec<Value> = inputs
            .hooks
            .iter()
            .map(|(stage, arn)| json!({ stage.as_str(): arn }))
            .collect();
        spec.insert("Hooks".into(), Value::Array(hooks));
    }
    (Value::Object(spec), warning)
}

/// The service's first load balancer with a container; else the image's
/// container with `container-port` or its first port mapping.
fn load_balancer_target(inputs: &AppSpecInputs) -> Option<(String, i32)> {
    if let Some(lb) = inputs.service.and_then(|s| {
        s.load_balancers()
            .iter()
            .find(|lb| lb.container_name().is_some() && lb.container_port().is_some())
    }) {
        return Some((lb.container_name()?.to_string(), lb.container_port()?));
    }
    let containers = inputs.rendered.image_containers();
    let name = containers.first()?;
    let port = inputs.container_port.or_else(|| {
        inputs.rendered.definition["containerDefinitions"]
            .as_array()?
            .iter()
            .find(|c| c["name"].as_str() == Some(name))?["portMappings"]
            .as_array()?
            .first()?["containerPort"]
            .as_i64()
            .map(|p| p as i32)
    })?;
    Some((name.clone(), port))
}

/// Writes the four artifacts into `dir` (created if needed), and with
/// several images (`image_uris` in `IMAGE1_NAME`… order) one folder per
/// image with its `imageDetail.json`; the top `imageDetail.json` is the
/// first image's, as with one. With `root` (the action's workspace), `dir`
/// must stay inside it; no file is ever written through a symbolic link.
pub fn write(
    dir: &Path,
    root: Option<&Path>,
    rendered: &Rendered,
    image_uris: &[&str],
    appspec: &Value,
) -> Result<ArtifactPaths, Failure> {
    let refuse =
        |problem: String| Failure::input("artifacts-dir", format!("artifacts-dir: {problem}"));
    crate::workspace::create_dir(root, dir).map_err(refuse)?;
    let paths = ArtifactPaths {
        dir: dir.to_path_buf(),
        image_detail: dir.join("imageDetail.json"),
        image_details: match image_uris.len() {
            1 => Vec::new(),
            n => (1..=n)
                .map(|i| dir.join(image_name(i)).join("imageDetail.json"))
                .collect(),
        },
        taskdef: dir.join("taskdef.json"),
        rendered: dir.join("taskdef.rendered.json"),
        appspec: dir.join("appspec.yaml"),
    };
    let pretty = |v: &Value| {
        format!(
            "{}\n",
            serde_json::to_string_pretty(v).expect("JSON values serialise")
        )
    };
    let detail = |uri: &str| pretty(&json!({ "ImageURI": uri }));
    let first = image_uris.first().copied().unwrap_or_default();
    let mut files = vec![
        (&paths.image_detail, detail(first)),
        (&paths.taskdef, pretty(&taskdef_template(rendered))),
        (&paths.rendered, pretty(&rendered.definition)),
        (
            &paths.appspec,
            yaml_serde::to_string(appspec).expect("JSON values serialise as YAML"),
        ),
    ];
    for (path, uri) in paths.image_details.iter().zip(image_uris) {
        let folder = path.parent().expect("IMAGE<n>_NAME/imageDetail.json");
        crate::workspace::create_dir(root, folder).map_err(refuse)?;
        files.push((path, detail(uri)));
    }
    for (path, text) in files {
        crate::workspace::write_new(path, &text).map_err(refuse)?;
    }
    Ok(paths)
}

#[cfg(test)]
mod tests;
