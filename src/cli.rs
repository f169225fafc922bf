//! The entry point: the action face (`INPUT_*`) or the CLI face (flags), one
//! code path after parsing.

use std::ffi::OsString;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Arg, ArgAction, Command};

use crate::error::Failure;
use crate::inputs::{INPUTS, Mode, RawInputs, Settings};
use crate::modes;
use crate::runner::{Face, Runner};

/// The clap command: one subcommand per mode, each input that mode uses a flag of the same name.
pub fn command() -> Command {
    let mut cmd = Command::new("fargate-deploy")
        .version(env!("CARGO_PKG_VERSION"))
        .about("Deploy to Amazon ECS Fargate and tell the truth about whether it worked")
        .subcommand_required(true)
        .arg_required_else_help(true);
    for (name, mode) in Mode::ALL {
        let mut sub = Command::new(name).about(mode_about(mode));
        // A flag of every input the mode uses, and no other.
        for spec in INPUTS
            .iter()
            .filter(|s| s.name != "mode" && s.applies_to(mode))
        {
            let help = match spec.default {
                Some(d) => format!("{} [default: {d}]", spec.description),
                None => spec.description.to_string(),
            };
            sub = sub.arg(
                Arg::new(spec.name)
                    .long(spec.name)
                    .value_name("VALUE")
                    .help(help)
                    .help_heading(crate::inputs::spec::group(spec.name))
                    .action(ArgAction::Set),
            );
        }
        cmd = cmd.subcommand(sub);
    }
    cmd
}

fn mode_about(mode: Mode) -> &'static str {
    match mode {
        Mode::Render => {
            "Resolve the image, render the task definition and write the CodePipeline/CodeDeploy artifacts; changes nothing in AWS"
        }
        Mode::Migrate => {
            "Run a one-off task (the database migration) from the service's definition and wait for its exit code"
        }
        Mode::Deploy => {
            "Register the task definition, update the service(s) and follow the deployment to its end"
        }
        Mode::Continue => {
            "Resume the deployment(s) paused at a PAUSE lifecycle hook (ContinueServiceDeployment) and follow them to their end"
        }
        Mode::Rollback => "Roll the service back to its previous good revision",
    }
}

/// Inputs from command-line arguments. Exits for --help/--version or a usage error.
pub fn raw_from_args(args: impl IntoIterator<Item = OsString>) -> Result<RawInputs, clap::Error> {
    let matches = command().try_get_matches_from(args)?;
    let (mode, sub) = matches.subcommand().expect("subcommand_required");
    let mut raw = RawInputs::default();
    raw.set("mode", mode);
    for spec in INPUTS.iter().filter(|s| s.name != "mode") {
        if let Ok(Some(v)) = sub.try_get_one::<String>(spec.name) {
            raw.set(spec.name, v);
        }
    }
    Ok(raw)
}

pub fn main() -> ExitCode {
    let runner = Arc::new(Runner::from_env());
    let args: Vec<OsString> = std::env::args_os().collect();
    // The action runs the image without arguments; anything else is the CLI.
    let raw = if runner.face() == Face::Actions && args.len() <= 1 {
        RawInputs::from_env_with(|name| std::env::var(name).ok())
    } else {
        match raw_from_args(args) {
            Ok(raw) => raw,
            Err(e) => {
                let code = if e.use_stderr() { 2 } else { 0 };
                let _ = e.print();
                return ExitCode::from(code);
            }
        }
    };
    // Every credential this process can see is masked before anything else
    // is printed (an input error can quote text the tool did not write).
    if let Some(token) = raw.get("github-token") {
        runner.mask(token);
    }
    for name in [
        "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
    ] {
        if let Ok(value) = std::env::var(name) {
            runner.mask(&value);
        }
    }
    let parsed = match runner.face() {
        Face::Actions => raw
            .check_workspace_paths()
            .and_then(|()| Settings::parse(&raw)),
        Face::Terminal => Settings::parse(&raw),
    };
    let mut settings = match parsed {
        Ok(s) => s,
        Err(f) => return report_failure(&runner, f),
    };
    if runner.face() == Face::Actions {
        // The files the action reads and writes stay inside the workspace.
        let workspace = std::env::var_os("GITHUB_WORKSPACE").filter(|w| !w.is_empty());
        settings.workspace = Some(workspace.map_or_else(|| ".".into(), Into::into));
    }
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            return report_failure(
                &runner,
                Failure::failed("runtime", format!("cannot start the async runtime: {e}")),
            );
        }
    };
    let env = |name: &str| std::env::var(name).ok();
    let outcome = rt.block_on(async {
        let ctx = crate::context::RunContext {
            settings: &settings,
            runner: &runner,
            env: &env,
            cancel: crate::cancel::Cancel::on_signals(),
        };
        modes::run(&ctx).await
    });
    let code = match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => report_failure(&runner, f),
    };
    runner.print_outputs();
    code
}

/// The one line a person can act on first, then the detail.
fn report_failure(runner: &Runner, f: Failure) -> ExitCode {
    runner.error(&f.title, &f.headline);
    for d in &f.detail {
        runner.info(&format!("  {d}"));
    }
    ExitCode::from(f.kind.exit_code())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_input_is_a_flag_of_the_same_name_in_the_modes_it_applies_to() {
        let cmd = command();
        for (name, mode) in Mode::ALL {
            let sub = cmd.find_subcommand(name).unwrap();
            for spec in INPUTS.iter().filter(|s| s.name != "mode") {
                let arg = sub.get_arguments().find(|a| a.get_id() == spec.name);
                match (spec.applies_to(mode), arg) {
                    (true, Some(arg)) => assert_eq!(arg.get_long(), Some(spec.name)),
                    (true, None) => panic!("{name}: no flag for {}", spec.name),
                    (false, Some(_)) => panic!("{name}: --{} does not apply", spec.name),
                    (false, None) => {}
                }
            }
        }
        command().debug_assert();
        let refused = raw_from_args(
            ["fargate-deploy", "migrate", "--wait-until", "none"].map(OsString::from),
        )
        .unwrap_err();
        assert_eq!(refused.kind(), clap::error::ErrorKind::UnknownArgument);
    }

    #[test]
    fn flags_become_the_same_raw_inputs_as_the_environment() {
        let raw = raw_from_args(
            [
                "fargate-deploy",
                "render",
                "--image",
                " web:v1 ",
                "--pin-digest",
                "false",
                "--cluster",
                "prod",
            ]
            .map(OsString::from),
        )
        .unwrap();
        let env = RawInputs::from_env_with(|n| match n {
            "INPUT_MODE" => Some("render".into()),
            "INPUT_IMAGE" => Some("web:v1".into()),
            "INPUT_PIN-DIGEST" => Some("false".into()),
            "INPUT_CLUSTER" => Some("prod".into()),
            _ => None,
        });
        assert_eq!(format!("{raw:?}"), format!("{env:?}"));
    }

    /// The flags are grouped as the settings are typed: each input in one
    /// group, each group one struct.
    #[test]
    fn every_input_is_in_one_group_and_help_shows_the_groups() {
        for spec in INPUTS.iter().filter(|s| s.name != "mode") {
            let n = crate::inputs::spec::GROUPS
                .iter()
                .filter(|(_, names)| names.contains(&spec.name))
                .count();
            assert_eq!(n, 1, "{} is in {n} groups", spec.name);
        }
        for (_, names) in crate::inputs::spec::GROUPS {
            for name in *names {
                assert!(crate::inputs::spec::spec(name).is_some(), "{name}");
            }
        }
        let help = command()
            .find_subcommand_mut("migrate")
            .unwrap()
            .render_long_help()
            .to_string();
        let task = help.find("One-off task (migrate):").expect("heading");
        assert!(help[task..].contains("--subnets"), "{help}");
        assert!(!help.contains("GitHub deployment"), "{help}");
    }

    #[test]
    fn help_shows_defaults() {
        let mut cmd = command();
        let help = cmd
            .find_subcommand_mut("render")
            .unwrap()
            .render_long_help()
            .to_string();
        assert!(help.contains("[default: .fargate-deploy]"), "{help}");
        assert!(help.contains("--task-definition"));
    }
}
