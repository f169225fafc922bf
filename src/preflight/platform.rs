//! Whether the image runs on the CPU architecture of the tasks that will
//! run it, read from its ECR manifest: an image index lists its platforms;
//! a single image names its architecture in its config blob (fetched from
//! the URL ECR hands out for it). An image built on an arm64 laptop for an
//! X86_64 task otherwise fails only in production, with `exec format error`.

use std::time::Duration;

use aws_config::SdkConfig;
use aws_sdk_ecr::types::ImageIdentifier;
use aws_types::region::Region;
use serde_json::Value;
use tokio::task::JoinHandle;

use super::Finding;
use super::reads::Checked;
use crate::error::{aws_code, aws_message};
use crate::image::{ImageRef, ResolvedImage};

/// The manifest types BatchGetImage may answer with: both single-image
/// formats and both index formats (asked for all, ECR converts nothing).
pub const MEDIA_TYPES: [&str; 4] = [
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.index.v1+json",
];

/// A target whose containers receive the image, and the architecture its
/// tasks run on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Need {
    pub target: String,
    /// `runtimePlatform.cpuArchitecture`: X86_64 (ECS's default) or ARM64.
    pub cpu: String,
}

/// What a Linux target needs, if its containers receive the image (a
/// Windows task is not checked).
pub fn need(target: &str, definition: &Value, receives_image: bool) -> Option<Need> {
    let platform = &definition["runtimePlatform"];
    let os = platform["operatingSystemFamily"]
        .as_str()
        .unwrap_or("LINUX");
    if !receives_image || os != "LINUX" {
        return None;
    }
    Some(Need {
        target: target.to_string(),
        cpu: platform["cpuArchitecture"]
            .as_str()
            .unwrap_or("X86_64")
            .to_string(),
    })
}

/// The OCI name of an ECS CPU architecture.
fn oci_arch(cpu: &str) -> &str {
    match cpu {
        "X86_64" => "amd64",
        "ARM64" => "arm64",
        other => other,
    }
}

/// What a manifest says of its platforms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Platforms {
    /// An index: the Linux architectures it holds (attestations, which
    /// name `unknown`, left out).
    Index(Vec<String>),
    /// A single image: its config blob names the architecture.
    Config(String),
    /// Neither: not checked.
    Unknown,
}

pub fn platforms(manifest: &Value) -> Platforms {
    if let Some(list) = manifest["manifests"].as_array() {
        let mut archs: Vec<String> = list
            .iter()
            .map(|m| &m["platform"])
            .filter(|p| p["os"] == "linux")
            .filter_map(|p| p["architecture"].as_str().map(str::to_string))
            .collect();
        archs.sort();
        archs.dedup();
        return Platforms::Index(archs);
    }
    match manifest["config"]["digest"].as_str() {
        Some(d) => Platforms::Config(d.to_string()),
        None => Platforms::Unknown,
    }
}

/// The findings for the targets whose architecture the image lacks.
pub fn judge(
    (image, input): (&str, &'static str),
    archs: &[String],
    needs: &[Need],
) -> Vec<Finding> {
    needs
        .iter()
        .filter(|n| !archs.iter().any(|a| a == oci_arch(&n.cpu)))
        .map(|n| {
            let arch = oci_arch(&n.cpu);
            let other = if n.cpu == "ARM64" { "X86_64" } else { "ARM64" };
            let built = match archs {
                [] => "for no Linux platform".to_string(),
                _ => format!("for {} only", archs.join(", ")),
            };
            Finding {
                input,
                message: format!(
                    "{}: the image {image} is built {built}, and the task definition runs on {} (runtimePlatform.cpuArchitecture): its containers would stop with `exec format error`; build it for linux/{arch} (docker buildx build --platform linux/{arch}), or set runtimePlatform.cpuArchitecture to {other}",
                    n.target, n.cpu
                ),
            }
        })
        .collect()
}

/// The reads of an ECR image's architectures, started as soon as the image
/// is resolved so that they overlap with rendering (three round trips for a
/// single image, which the verify stage then does not wait for).
pub struct Reading {
    image: String,
    /// The input that gave it (`image` or `images`), which a finding names.
    input: &'static str,
    read: JoinHandle<Result<Option<Vec<String>>, String>>,
}

impl Reading {
    /// Starts the reads for an image in ECR with a digest; `None` otherwise.
    /// Starts the reads for a resolved image (promotion: the one a
    /// definition names) in ECR; `None` for one outside ECR.
    pub fn start(config: &SdkConfig, image: &ResolvedImage) -> Option<Self> {
        image.reference.ecr_registry()?;
        Self::start_given(config, &image.reference, "")
    }

    /// Starts the reads for the image as given (`REPO:TAG` of the caller's
    /// registry in `default_region`, or an ECR reference), at the same time
    /// as the lookup that resolves it: BatchGetImage takes a tag as well
    /// as a digest. `None` for an image outside ECR.
    pub fn start_given(config: &SdkConfig, image: &ImageRef, default_region: &str) -> Option<Self> {
        let (registry, region) = match image.ecr_registry() {
            Some(r) => (Some(r.account), r.region),
            None if image.is_shorthand() => (None, default_region.to_string()),
            None => return None,
        };
        let id = match (&image.digest, &image.tag) {
            (Some(d), _) => ImageIdentifier::builder().image_digest(d).build(),
            (None, Some(t)) => ImageIdentifier::builder().image_tag(t).build(),
            (None, None) => return None,
        };
        let config = aws_sdk_ecr::config::Builder::from(config)
            .region(Region::new(region))
            .build();
        let ecr = aws_sdk_ecr::Client::from_conf(config);
        let repository = image.repository.clone();
        let read =
            tokio::spawn(
                async move { architectures(&ecr, registry.as_deref(), &repository, id).await },
            );
        Some(Self {
            image: image.to_string(),
            input: "image",
            read,
        })
    }

    /// The image's name as the failure names it (once it is resolved: with
    /// its registry), and the input that gave it.
    pub fn named(mut self, image: &str, input: &'static str) -> Self {
        self.image = image.to_string();
        self.input = input;
        self
    }

    /// The image's architectures against the targets' needs.
    pub async fn check(self, needs: &[Need]) -> Checked {
        let mut checked = Checked::default();
        if needs.is_empty() {
            self.read.abort();
            return checked;
        }
        let image = &self.image;
        match self.read.await {
            Ok(Ok(Some(archs))) => checked.findings = judge((image, self.input), &archs, needs),
            Ok(Ok(None)) => {}
            Ok(Err(why)) => checked.warnings.push(format!(
                "could not check which CPU architectures the image {image} is built for ({why})"
            )),
            Err(e) => checked.warnings.push(format!(
                "could not check which CPU architectures the image {image} is built for ({e})"
            )),
        }
        checked
    }
}

/// Why an ECR read failed; a denied one names the IAM action that allows it.
fn why<E>(action: &'static str) -> impl Fn(crate::error::AwsError<E>) -> String
where
    E: aws_smithy_types::error::metadata::ProvideErrorMetadata + std::error::Error + 'static,
{
    move |e| match aws_code(&e) {
        Some("AccessDeniedException") => format!(
            "{}; add {action} to the role's policy to have it checked",
            aws_message(&e)
        ),
        _ => aws_message(&e),
    }
}

/// The Linux architectures of the image, `None` where its manifest does
/// not say; the error names the IAM action a denied read needs.
async fn architectures(
    ecr: &aws_sdk_ecr::Client,
    registry: Option<&str>,
    repository: &str,
    id: ImageIdentifier,
) -> Result<Option<Vec<String>>, String> {
    let out = ecr
        .batch_get_image()
        .set_registry_id(registry.map(str::to_string))
        .repository_name(repository)
        .image_ids(id)
        .set_accepted_media_types(Some(MEDIA_TYPES.map(String::from).to_vec()))
        .send()
        .await
        .map_err(why("ecr:BatchGetImage"))?;
    let manifest = out
        .images()
        .first()
        .and_then(|i| i.image_manifest())
        .ok_or("ECR answered without the image's manifest")?;
    let manifest: Value = serde_json::from_str(manifest).map_err(|_| "its manifest is not JSON")?;
    let config = match platforms(&manifest) {
        Platforms::Index(archs) => return Ok(Some(archs)),
        Platforms::Unknown => return Ok(None),
        Platforms::Config(config) => config,
    };
    let url = ecr
        .get_download_url_for_layer()
        .set_registry_id(registry.map(str::to_string))
        .repository_name(repository)
        .layer_digest(&config)
        .send()
        .await
        .map_err(why("ecr:GetDownloadUrlForLayer"))?;
    let url = url
        .download_url()
        .ok_or("ECR answered without a download URL")?;
    let (status, body) = crate::http::get(url, &[], Duration::from_secs(10), 1 << 20)
        .await
        .map_err(|e| format!("fetching its config blob: {e}"))?;
    if status != 200 {
        return Err(format!("fetching its config blob: HTTP {status}"));
    }
    let config: Value = serde_json::from_slice(&body).map_err(|_| "its config blob is not JSON")?;
    Ok(
        match (config["os"].as_str(), config["architecture"].as_str()) {
            (Some("linux"), Some(arch)) => Some(vec![arch.to_string()]),
            (Some(_), Some(_)) => Some(Vec::new()),
            _ => None,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn an_index_lists_its_linux_platforms_and_a_single_image_its_config() {
        let index = json!({"mediaType": "application/vnd.oci.image.index.v1+json", "manifests": [
            {"digest": "sha256:a", "platform": {"os": "linux", "architecture": "arm64", "variant": "v8"}},
            {"digest": "sha256:b", "platform": {"os": "linux", "architecture": "amd64"}},
            {"digest": "sha256:c", "platform": {"os": "unknown", "architecture": "unknown"}},
            {"digest": "sha256:d", "platform": {"os": "windows", "architecture": "amd64"}}
        ]});
        assert_eq!(
            platforms(&index),
            Platforms::Index(vec!["amd64".into(), "arm64".into()])
        );
        let single = json!({"schemaVersion": 2, "config": {"digest": "sha256:cfg"}, "layers": []});
        assert_eq!(platforms(&single), Platforms::Config("sha256:cfg".into()));
        assert_eq!(platforms(&json!({"schemaVersion": 1})), Platforms::Unknown);
    }

    #[test]
    fn only_linux_targets_that_receive_the_image_need_an_architecture() {
        let x86 = json!({"family": "web"});
        assert_eq!(
            need("web", &x86, true).unwrap().cpu,
            "X86_64",
            "ECS's default"
        );
        let arm = json!({"runtimePlatform": {"cpuArchitecture": "ARM64"}});
        assert_eq!(need("web", &arm, true).unwrap().cpu, "ARM64");
        assert_eq!(need("web", &arm, false), None);
        let windows =
            json!({"runtimePlatform": {"operatingSystemFamily": "WINDOWS_SERVER_2022_CORE"}});
        assert_eq!(need("web", &windows, true), None);
    }

    #[test]
    fn a_target_whose_architecture_the_image_lacks_is_refused() {
        let needs = [
            Need {
                target: "web".into(),
                cpu: "X86_64".into(),
            },
            Need {
                target: "worker".into(),
                cpu: "ARM64".into(),
            },
        ];
        let found = judge(("web:v2", "image"), &["arm64".into()], &needs);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].input, "image");
        assert!(found[0].message.starts_with(
            "web: the image web:v2 is built for arm64 only, and the task definition runs on X86_64"
        ), "{}", found[0].message);
        assert!(found[0].message.contains("--platform linux/amd64"));
        assert!(
            judge(
                ("web:v2", "image"),
                &["amd64".into(), "arm64".into()],
                &needs
            )
            .is_empty()
        );
        let none = judge(("web:v2", "image"), &[], &needs[..1]);
        assert!(none[0].message.contains("built for no Linux platform"));
    }
}
