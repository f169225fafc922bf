//! End-to-end: the real binary (and the real image's root), started as the
//! runner starts a container action, against moto plus the thin layers in
//! tests/emulator. One test binary, one module per concern.

#[path = "../common/mod.rs"]
mod common;

/// The emulator, or — outside CI, without its virtualenv — the test returns
/// (`Emulator::try_start` says once why end-to-end tests are skipped).
/// `emulator!({...})`: the same, configured with that JSON
/// (`Emulator::configure`).
macro_rules! emulator {
    () => {
        match crate::common::Emulator::try_start() {
            Some(emu) => emu,
            None => return,
        }
    };
    ($($config:tt)+) => {{
        let emu = emulator!();
        emu.configure(serde_json::json!($($config)+));
        emu
    }};
}

mod approval;
mod bad_input;
mod cancellation;
mod codedeploy;
mod deploy;
mod fail_fast;
mod faults;
mod github;
mod image;
mod images;
mod migrate;
mod native;
mod never_false;
mod promote;
mod render;
mod retention;
mod rollback;
mod schedules;
mod security;
mod verify;
