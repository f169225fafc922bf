//! Files in the workspace: paths an action step may use, and writes that
//! never go through a symbolic link.
//!
//! In the action, `artifacts-dir` and a `task-definition` file are the
//! workspace's: relative paths without `..`, which must still resolve
//! inside `GITHUB_WORKSPACE` once symbolic links are followed (a pull
//! request can commit a link). The CLI takes any path its user gives.

use std::io::Write;
use std::path::{Component, Path, PathBuf};

use crate::error::Failure;

/// Refuses an absolute path or one with `..` (exit 2, naming the input).
pub fn check_relative(input: &str, path: &Path) -> Result<(), Failure> {
    let escapes = path.is_absolute()
        || path.components().any(|c| {
            matches!(
                c,
                Component::ParentDir | Component::RootDir | Component::Prefix(_)
            )
        });
    if escapes {
        return Err(Failure::input(
            input,
            format!(
                "input `{input}` must be a path inside the workspace, relative and without `..`: got {}",
                path.display()
            ),
        ));
    }
    Ok(())
}

/// The path with every link followed, if it lies inside `root`.
pub fn resolve_inside(root: &Path, path: &Path) -> Result<PathBuf, String> {
    let root = root
        .canonicalize()
        .map_err(|e| format!("cannot resolve the workspace {}: {e}", root.display()))?;
    let real = path
        .canonicalize()
        .map_err(|e| format!("cannot resolve {}: {e}", path.display()))?;
    if real.starts_with(&root) {
        Ok(real)
    } else {
        Err(format!(
            "{} leads outside the workspace (to {}) through a symbolic link",
            path.display(),
            real.display()
        ))
    }
}

/// Creates `dir` (and its parents); with a `root`, only where it stays
/// inside it: the deepest part that exists already is resolved first, so
/// nothing is created through a link that leads out.
pub fn create_dir(root: Option<&Path>, dir: &Path) -> Result<(), String> {
    if let Some(root) = root {
        let existing = dir
            .ancestors()
            .find(|a| !a.as_os_str().is_empty() && a.exists())
            .unwrap_or(Path::new("."));
        resolve_inside(root, existing)?;
    }
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    if let Some(root) = root {
        resolve_inside(root, dir)?;
    }
    Ok(())
}

/// Writes `text` to `path` without following a link: a link already at
/// `path` is refused; the text goes to a new temporary file beside it,
/// which then replaces `path` (a rename replaces a name, never a link's
/// target).
pub fn write_new(path: &Path, text: &str) -> Result<(), String> {
    if let Ok(meta) = std::fs::symlink_metadata(path)
        && meta.file_type().is_symlink()
    {
        return Err(format!(
            "{} is a symbolic link; refusing to write through it (remove it from the repository)",
            path.display()
        ));
    }
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    let mut nonce = [0u8; 6];
    getrandom::fill(&mut nonce).map_err(|e| format!("no random source: {e}"))?;
    let hex: String = nonce.iter().map(|b| format!("{b:02x}")).collect();
    let tmp = dir.join(format!(".{name}.{hex}.tmp"));
    let written = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&tmp)
        .and_then(|mut f| f.write_all(text.as_bytes()))
        .and_then(|()| std::fs::rename(&tmp, path));
    written.map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        format!("cannot write {}: {e}", path.display())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_relative_paths_without_parent_steps() {
        assert!(check_relative("artifacts-dir", Path::new(".fargate-deploy/x")).is_ok());
        for bad in ["/etc", "../outside", "a/../../b"] {
            let f = check_relative("artifacts-dir", Path::new(bad)).unwrap_err();
            assert_eq!(f.title, "artifacts-dir");
            assert!(
                f.headline
                    .starts_with("input `artifacts-dir` must be a path inside the workspace")
            );
        }
    }

    #[test]
    fn a_link_out_of_the_workspace_is_refused() {
        let outside = tempfile::tempdir().unwrap();
        let ws = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(outside.path(), ws.path().join("out")).unwrap();
        std::fs::create_dir(ws.path().join("in")).unwrap();
        let err = resolve_inside(ws.path(), &ws.path().join("out")).unwrap_err();
        assert!(err.contains("leads outside the workspace"), "{err}");
        assert!(resolve_inside(ws.path(), &ws.path().join("in")).is_ok());
    }

    #[test]
    fn writes_never_follow_a_link() {
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim");
        std::fs::write(&victim, "keep").unwrap();
        let link = dir.path().join("taskdef.rendered.json");
        std::os::unix::fs::symlink(&victim, &link).unwrap();
        let err = write_new(&link, "evil").unwrap_err();
        assert!(err.contains("is a symbolic link"), "{err}");
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "keep");
        let plain = dir.path().join("appspec.yaml");
        write_new(&plain, "one").unwrap();
        write_new(&plain, "two").unwrap();
        assert_eq!(std::fs::read_to_string(&plain).unwrap(), "two");
        let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(left.len(), 3, "no temporary file left behind");
    }
}
