//! Tolerance checks for tests that compare floats. `f32::max`/`f64::max` return the other
//! operand when one is NaN, so `fold(0.0, f32::max)` calls a NaN output "0 away": here NaN is
//! infinitely far (as `preprocess::reference::max_level_difference` has it).

/// The largest of `values`; infinity if any is NaN; 0 for none.
pub(crate) fn worst<T: Into<f64>>(values: impl IntoIterator<Item = T>) -> f64 {
    values.into_iter().map(Into::into).fold(0.0, |worst, v| if v.is_nan() { f64::INFINITY } else { worst.max(v) })
}

/// How far `got` is from `want` beyond `slack` (never negative); infinity when either is NaN.
pub(crate) fn excess(got: f64, want: f64, slack: f64) -> f64 {
    let beyond = (got - want).abs() - slack;
    if beyond.is_nan() {
        f64::INFINITY
    } else {
        beyond.max(0.0)
    }
}

#[test]
fn nan_is_infinitely_far_where_f32_max_would_call_it_zero() {
    assert_eq!([f32::NAN].into_iter().fold(0.0, f32::max), 0.0, "the pitfall this module exists for");
    assert_eq!(worst([0.5f32, f32::NAN, 0.25]), f64::INFINITY);
    assert_eq!(worst([f32::NAN]), f64::INFINITY);
    assert_eq!(worst([0.5f32, 1.5]), 1.5);
    assert_eq!(excess(f64::NAN, 1.0, 0.5), f64::INFINITY);
    assert_eq!(excess(1.0, f64::NAN, 0.5), f64::INFINITY);
    assert_eq!(excess(1.25, 1.0, 0.5), 0.0);
    assert_eq!(excess(2.0, 1.0, 0.5), 0.5);
}
