//! The action started from its image, as the GitHub runner starts a
//! container action (actions/runner's ContainerActionHandler and
//! DockerCommandManager: `docker run --workdir /github/workspace -v …`):
//!
//! - the image's root (unpacked by tests/image/build) is the root, copied
//!   per run; its ENTRYPOINT, `/fargate-deploy`, runs with no arguments;
//! - the workspace is bind-mounted at `/github/workspace` (the working
//!   directory), `HOME` is `/github/home`, the event at
//!   `/github/workflow/event.json`, and `GITHUB_OUTPUT` /
//!   `GITHUB_STEP_SUMMARY` are files under `/github/file_commands/`;
//! - `RUNNER_TEMP` is the runner's host path, which does not exist inside;
//! - every other variable is passed as given (the `INPUT_*` of every input
//!   with a default included), with host workspace paths translated;
//! - the network is the host's (the emulator and the OIDC endpoint are
//!   reached on loopback, as through the runner's network).
//!
//! Needs root (a private mount namespace for the bind mount, and chroot):
//! the same system calls `unshare --mount` and `unshare --root` make.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// What the runner passes as RUNNER_TEMP: a host path, unmapped.
pub const RUNNER_TEMP: &str = "/home/runner/work/_temp";

pub struct Container {
    root: tempfile::TempDir,
    workspace: PathBuf,
    env: BTreeMap<String, String>,
}

impl Container {
    pub fn new(image_root: &Path, workspace: &Path, host_env: &BTreeMap<String, String>) -> Self {
        let root = tempfile::tempdir().unwrap();
        let copied = Command::new("cp")
            .arg("-a")
            .arg(format!("{}/.", image_root.display()))
            .arg(root.path())
            .status()
            .unwrap();
        assert!(copied.success(), "copy the image root");
        for dir in [
            "github/workspace",
            "github/home",
            "github/workflow",
            "github/file_commands",
        ] {
            std::fs::create_dir_all(root.path().join(dir)).unwrap();
        }
        let ws = workspace.display().to_string();
        let mut env: BTreeMap<String, String> = host_env
            .iter()
            .map(|(k, v)| (k.clone(), v.replace(&ws, "/github/workspace")))
            .collect();
        if let Some(event) = host_env.get("GITHUB_EVENT_PATH") {
            std::fs::copy(event, root.path().join("github/workflow/event.json")).unwrap();
            env.insert(
                "GITHUB_EVENT_PATH".into(),
                "/github/workflow/event.json".into(),
            );
        }
        for (k, v) in [
            (
                "PATH",
                "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            ),
            ("HOME", "/github/home"),
            ("GITHUB_WORKSPACE", "/github/workspace"),
            ("GITHUB_OUTPUT", "/github/file_commands/set_output_4242"),
            (
                "GITHUB_STEP_SUMMARY",
                "/github/file_commands/step_summary_4242",
            ),
            ("RUNNER_TEMP", RUNNER_TEMP),
        ] {
            env.insert(k.into(), v.into());
        }
        Self {
            root,
            workspace: workspace.to_path_buf(),
            env,
        }
    }

    /// In the child, before exec: a private mount namespace, the workspace
    /// bound at /github/workspace, chroot into the root, chdir to the
    /// workspace; then the ENTRYPOINT with the environment exactly as given
    /// (no shell in between: a shell drops `INPUT_AWS-REGION` and the other
    /// names with dashes, which the runner's `docker run -e` passes).
    pub fn command(&self, args: &[String]) -> Command {
        use std::ffi::CString;
        use std::os::unix::ffi::OsStrExt;
        use std::os::unix::process::CommandExt;
        let c = |p: &Path| CString::new(p.as_os_str().as_bytes()).unwrap();
        let (ws, target, root) = (
            c(&self.workspace),
            c(&self.root.path().join("github/workspace")),
            c(self.root.path()),
        );
        let (slash, wd) = (
            CString::new("/").unwrap(),
            CString::new("/github/workspace").unwrap(),
        );
        let mut cmd = Command::new("/fargate-deploy");
        cmd.args(args).env_clear().envs(&self.env);
        // SAFETY: only async-signal-safe system calls on memory prepared before fork.
        unsafe {
            cmd.pre_exec(move || {
                let check = |rc: libc::c_int| {
                    if rc == 0 {
                        Ok(())
                    } else {
                        Err(std::io::Error::last_os_error())
                    }
                };
                check(libc::unshare(libc::CLONE_NEWNS))?;
                check(libc::mount(
                    std::ptr::null(),
                    slash.as_ptr(),
                    std::ptr::null(),
                    libc::MS_REC | libc::MS_PRIVATE,
                    std::ptr::null(),
                ))?;
                check(libc::mount(
                    ws.as_ptr(),
                    target.as_ptr(),
                    std::ptr::null(),
                    libc::MS_BIND,
                    std::ptr::null(),
                ))?;
                check(libc::chroot(root.as_ptr()))?;
                check(libc::chdir(wd.as_ptr()))
            });
        }
        cmd
    }

    fn file(&self, name: &str) -> String {
        std::fs::read_to_string(self.root.path().join("github/file_commands").join(name))
            .unwrap_or_default()
    }

    pub fn output(&self) -> String {
        self.file("set_output_4242")
    }

    pub fn summary(&self) -> String {
        self.file("step_summary_4242")
    }
}

/// The unpacked image root tests/run builds (`FARGATE_DEPLOY_IMAGE_ROOT`).
pub fn root() -> Option<PathBuf> {
    std::env::var_os("FARGATE_DEPLOY_IMAGE_ROOT").map(PathBuf::from)
}
