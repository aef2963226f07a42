//! `cargo xtask stress [--quick]`: builds the corio-stress binary in release
//! and runs it; its exit status is the verdict.

use crate::{cargo, step, Result};

pub(crate) fn stress(args: &[String]) -> Result {
    let mut command = cargo(&["run", "--release", "-p", "corio-stress", "--"]);
    command.args(args);
    step("stress", command)
}
