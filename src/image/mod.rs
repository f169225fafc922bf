//! Image references: parsing, ECR registries, and (in [`resolve`]) checking
//! that an ECR image exists and pinning it to its digest.

pub mod resolve;

use std::fmt;

use thiserror::Error;

pub use resolve::{ResolvedImage, resolve_image};

#[derive(Debug, Error, PartialEq, Eq)]
pub enum ImageError {
    #[error("image `{0}` is empty or contains whitespace")]
    Blank(String),
    #[error(
        "image `{input}`: `{repository}` is not a valid repository name (lower-case letters, digits, and . _ - / between them)"
    )]
    BadRepository { input: String, repository: String },
    #[error(
        "image `{input}`: `{tag}` is not a valid tag (letters, digits, . _ -, at most 128, not starting with . or -)"
    )]
    BadTag { input: String, tag: String },
    #[error(
        "image `{input}`: `{digest}` is not a valid digest (sha256: followed by 64 lower-case hex digits)"
    )]
    BadDigest { input: String, digest: String },
    #[error(
        "image `{0}` has no tag or digest: give REPO:TAG or REPO@sha256:… so the deployment is reproducible"
    )]
    NoTagOrDigest(String),
}

/// An ECR registry host: `ACCOUNT.dkr.ecr[-fips].REGION.amazonaws.com[.cn]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EcrRegistry {
    pub account: String,
    pub region: String,
}

impl EcrRegistry {
    pub fn parse(host: &str) -> Option<Self> {
        let parts: Vec<&str> = host.split('.').collect();
        let suffix_ok = matches!(
            &parts[4.min(parts.len())..],
            ["amazonaws", "com"] | ["amazonaws", "com", "cn"]
        );
        if parts.len() < 6 || !suffix_ok {
            return None;
        }
        let account_ok = parts[0].len() == 12 && parts[0].bytes().all(|b| b.is_ascii_digit());
        if !account_ok
            || parts[1] != "dkr"
            || !matches!(parts[2], "ecr" | "ecr-fips")
            || parts[3].is_empty()
        {
            return None;
        }
        Some(Self {
            account: parts[0].to_string(),
            region: parts[3].to_string(),
        })
    }

    pub fn host(&self) -> String {
        let suffix = if self.region.starts_with("cn-") {
            "amazonaws.com.cn"
        } else {
            "amazonaws.com"
        };
        format!("{}.dkr.ecr.{}.{suffix}", self.account, self.region)
    }
}

/// A parsed image reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageRef {
    /// Registry host; `None` for the `REPO:TAG` shorthand (the caller's own ECR registry).
    pub registry: Option<String>,
    pub repository: String,
    pub tag: Option<String>,
    pub digest: Option<String>,
}

impl ImageRef {
    /// Parses an image given by a user: a tag or digest is required.
    pub fn parse(input: &str) -> Result<Self, ImageError> {
        let r = Self::parse_any(input)?;
        if r.tag.is_none() && r.digest.is_none() {
            return Err(ImageError::NoTagOrDigest(input.to_string()));
        }
        Ok(r)
    }

    /// Parses any reference, tag optional (as found in task definitions).
    pub fn parse_any(input: &str) -> Result<Self, ImageError> {
        if input.is_empty() || input.chars().any(char::is_whitespace) {
            return Err(ImageError::Blank(input.to_string()));
        }
        let (rest, digest) = match input.split_once('@') {
            Some((r, d)) => {
                let hex = d.strip_prefix("sha256:").unwrap_or("");
                if hex.len() != 64
                    || !hex
                        .bytes()
                        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
                {
                    return Err(ImageError::BadDigest {
                        input: input.into(),
                        digest: d.into(),
                    });
                }
                (r, Some(d.to_string()))
            }
            None => (input, None),
        };
        let (registry, path) = match rest.split_once('/') {
            Some((first, path))
                if first.contains('.') || first.contains(':') || first == "localhost" =>
            {
                (Some(first.to_string()), path)
            }
            _ => (None, rest),
        };
        let (repository, tag) = match path.rsplit_once(':') {
            Some((repo, tag)) if !tag.contains('/') => (repo, Some(tag.to_string())),
            _ => (path, None),
        };
        if !valid_repository(repository) {
            return Err(ImageError::BadRepository {
                input: input.into(),
                repository: repository.into(),
            });
        }
        if let Some(t) = &tag
            && !valid_tag(t)
        {
            return Err(ImageError::BadTag {
                input: input.into(),
                tag: t.clone(),
            });
        }
        Ok(Self {
            registry,
            repository: repository.to_string(),
            tag,
            digest,
        })
    }

    /// The ECR registry this image lives in, if it is an ECR image with a full host.
    pub fn ecr_registry(&self) -> Option<EcrRegistry> {
        self.registry.as_deref().and_then(EcrRegistry::parse)
    }

    pub fn is_shorthand(&self) -> bool {
        self.registry.is_none()
    }

    /// `registry/repository`, without tag or digest.
    pub fn name(&self) -> String {
        match &self.registry {
            Some(r) => format!("{r}/{}", self.repository),
            None => self.repository.clone(),
        }
    }

    /// Whether two references name the same repository (tags and digests aside).
    /// Docker Hub's implicit `docker.io/library/` prefix is taken into account.
    pub fn same_repository(&self, other: &ImageRef) -> bool {
        canonical_name(self) == canonical_name(other)
    }

    /// `registry/repository@digest`.
    pub fn pinned(&self, digest: &str) -> String {
        format!("{}@{digest}", self.name())
    }
}

fn canonical_name(r: &ImageRef) -> String {
    match r.registry.as_deref() {
        None | Some("docker.io") | Some("index.docker.io") | Some("registry-1.docker.io") => {
            if r.repository.contains('/') {
                format!("docker.io/{}", r.repository)
            } else {
                format!("docker.io/library/{}", r.repository)
            }
        }
        Some(host) => format!("{host}/{}", r.repository),
    }
}

impl fmt::Display for ImageRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.name())?;
        if let Some(t) = &self.tag {
            write!(f, ":{t}")?;
        }
        if let Some(d) = &self.digest {
            write!(f, "@{d}")?;
        }
        Ok(())
    }
}

fn valid_repository(repo: &str) -> bool {
    !repo.is_empty()
        && repo.len() <= 256
        && repo.split('/').all(|component| {
            let b = component.as_bytes();
            !b.is_empty()
                && b[0].is_ascii_alphanumeric()
                && b[b.len() - 1].is_ascii_alphanumeric()
                && b.iter().all(|c| {
                    c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, b'.' | b'_' | b'-')
                })
        })
}

fn valid_tag(tag: &str) -> bool {
    let b = tag.as_bytes();
    !b.is_empty()
        && b.len() <= 128
        && (b[0].is_ascii_alphanumeric() || b[0] == b'_')
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b'-'))
}

#[cfg(test)]
mod tests;
