//! The repository stands on its own: every relative link in its files leads
//! to a file inside it, nothing refers to a path beside it, it carries the
//! licence its manifest declares, and the action's image has one name.

use std::path::{Component, Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The tracked text files (git ls-files), or every file when git is absent.
fn files() -> Vec<PathBuf> {
    let out = Command::new("git")
        .args([
            "ls-files",
            "-z",
            "--cached",
            "--others",
            "--exclude-standard",
        ])
        .current_dir(root())
        .output()
        .expect("git");
    assert!(out.status.success());
    String::from_utf8(out.stdout)
        .unwrap()
        .split('\0')
        .filter(|p| !p.is_empty())
        .map(|p| root().join(p))
        .filter(|p| p.is_file())
        .collect()
}

/// `](target)` links of Markdown, relative ones only, without their anchor.
fn relative_links(text: &str) -> Vec<String> {
    let mut links = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find("](") {
        rest = &rest[i + 2..];
        let Some(end) = rest.find(')') else { break };
        let target = rest[..end].split('#').next().unwrap_or("").trim();
        let external = target.contains("://") || target.starts_with("mailto:");
        if !target.is_empty() && !external && !target.contains(['{', ' ', '$', '…']) {
            links.push(target.to_string());
        }
    }
    links
}

/// `a/b/../c` → `a/c`, without touching the file system.
fn lexical(path: &Path) -> Option<PathBuf> {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::ParentDir => {
                if !out.pop() {
                    return None;
                }
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    Some(out)
}

#[test]
fn no_file_links_or_refers_outside_the_repository() {
    let mut problems = Vec::new();
    for file in files() {
        let Ok(text) = std::fs::read_to_string(&file) else {
            continue;
        };
        let rel = file.strip_prefix(root()).unwrap().to_path_buf();
        if rel == Path::new("tests/repository.rs") {
            continue;
        }
        // The workspace beside the repository that the project was started from.
        if text.contains(concat!("../", "shared")) {
            problems.push(format!("{}: refers to ../{}", rel.display(), "shared"));
        }
        if rel.extension().is_some_and(|e| e == "md") {
            for link in relative_links(&text) {
                let dir = rel.parent().unwrap_or(Path::new(""));
                match lexical(&dir.join(&link)) {
                    Some(target) if root().join(&target).exists() => {}
                    Some(target) => problems.push(format!(
                        "{}: link {link} → {} does not exist",
                        rel.display(),
                        target.display()
                    )),
                    None => problems.push(format!(
                        "{}: link {link} leads outside the repository",
                        rel.display()
                    )),
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_check_sees_a_link_out() {
    assert_eq!(
        relative_links("[spec](../x/SPEC.md) [a](https://a.b/c) [d](docs/spec.md#x)"),
        ["../x/SPEC.md", "docs/spec.md"]
    );
    assert_eq!(lexical(Path::new("docs/../../x")), None);
    assert_eq!(
        lexical(Path::new("docs/../LICENSE")),
        Some(PathBuf::from("LICENSE"))
    );
}

#[test]
fn the_licence_is_the_one_the_manifest_declares() {
    let manifest = std::fs::read_to_string(root().join("Cargo.toml")).unwrap();
    assert!(manifest.contains("license = \"MIT\""));
    let licence = std::fs::read_to_string(root().join("LICENSE")).unwrap();
    assert!(licence.starts_with("MIT License"), "{licence}");
}

/// One image name, derived from the repository: `ghcr.io/OWNER/REPO` in
/// lower case, where OWNER/REPO is what workflows write in `uses:`. On main
/// action.yml names the `:main` tag; a release commit names a digest.
#[test]
fn the_image_has_one_name_derived_from_the_repository() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let uses = readme
        .split("uses: ")
        .nth(1)
        .and_then(|s| s.split('@').next())
        .expect("the README shows `uses: OWNER/REPO@…`");
    let expected = format!("ghcr.io/{}", uses.to_lowercase());
    let action = std::fs::read_to_string(root().join("action.yml")).unwrap();
    let image = action
        .lines()
        .find_map(|l| l.strip_prefix("  image: docker://"))
        .expect("action.yml runs a docker:// image");
    assert_eq!(image.split(['@', ':']).next(), Some(expected.as_str()));
    assert!(
        image == format!("{expected}:main")
            || image.starts_with(&format!("{expected}@sha256:"))
                && image.len() == expected.len() + 8 + 64,
        "{image}"
    );
    let release = std::fs::read_to_string(root().join(".github/workflows/release.yml")).unwrap();
    assert!(release.contains("echo \"image=ghcr.io/${REPOSITORY,,}\""));
    assert!(release.contains(
        r#"sed -i "s|^  image: docker://.*|  image: docker://$IMAGE@$DIGEST|" action.yml"#
    ));
    for file in files() {
        let Ok(text) = std::fs::read_to_string(&file) else {
            continue;
        };
        for (i, _) in text.match_indices("ghcr.io/") {
            let name: String = text[i..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || "./-_".contains(*c))
                .collect();
            let ours = name.contains("fargate-deploy");
            assert!(!ours || name == expected, "{}: {name}", file.display());
        }
    }
}

/// The released amd64 binary is linked as the tested one: relative
/// relocations packed, in tests/image/build and in the release workflow.
#[test]
fn the_release_links_the_binary_as_the_tests_do() {
    let flag = "CARGO_TARGET_X86_64_UNKNOWN_LINUX_MUSL_RUSTFLAGS";
    let value = "-C link-arg=-Wl,-z,pack-relative-relocs";
    let build = std::fs::read_to_string(root().join("tests/image/build")).unwrap();
    let release = std::fs::read_to_string(root().join(".github/workflows/release.yml")).unwrap();
    assert!(
        build.contains(&format!("{flag}=\"{value}\"")),
        "tests/image/build"
    );
    assert!(release.contains(&format!("{flag}: {value}")), "release.yml");
}
