//! One run's context: the settings it was given, the runner it speaks to,
//! the environment it reads and its cancellation — passed to every mode
//! as one value instead of four parameters and a global.

use std::sync::Arc;

use crate::cancel::Cancel;
use crate::inputs::Settings;
use crate::runner::Runner;

/// How a run reads its environment (the process's, or a test's).
pub type Env<'a> = &'a (dyn Fn(&str) -> Option<String> + Sync);

pub struct RunContext<'a> {
    pub settings: &'a Settings,
    pub runner: &'a Arc<Runner>,
    pub env: Env<'a>,
    pub cancel: Cancel,
}
