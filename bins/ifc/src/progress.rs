//! Progress bars on stderr, shown only when stderr is a terminal and the work is long enough
//! to need one.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// A bar over `total` units (`bytes` or `frames`), hidden for small totals or when quiet.
pub fn bar(total: u64, unit: &str, quiet: bool) -> ProgressBar {
    const SMALL: u64 = 2_000;
    let big_enough = if unit == "bytes" { total > 64 << 20 } else { total > SMALL };
    if quiet || !big_enough {
        return ProgressBar::hidden();
    }
    let template = if unit == "bytes" {
        "{spinner} [{elapsed_precise}] {wide_bar} {bytes}/{total_bytes} ({bytes_per_sec}, {eta})"
    } else {
        "{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} frames ({per_sec}, {eta})"
    };
    let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style);
    }
    bar
}
