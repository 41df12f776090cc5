//! Free-text fields of forms and JSON bodies: trimmed and checked for length.

use crate::error::AppError;

/// Trims `s` and checks its length in characters; the 422 names the field as `name`.
pub fn text_field(name: &str, s: &str, min: usize, max: usize) -> Result<String, AppError> {
    let t = s.trim();
    let n = t.chars().count();
    if n < min {
        return Err(AppError::invalid(format!(
            "{name} must have at least {min} characters"
        )));
    }
    if n > max {
        return Err(AppError::invalid(format!(
            "{name} must have at most {max} characters"
        )));
    }
    Ok(t.to_string())
}
