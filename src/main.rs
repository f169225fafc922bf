fn main() -> std::process::ExitCode {
    fargate_deploy::cli::main()
}
