//! The one rule for money a client sends: amounts are stored in whole cents, so an amount finer
//! than a cent is refused rather than rounded (0.001 had become 0), and so is one that is not
//! positive where a price is required (docs/decisions.md, "Input hygiene").

use super::errors::{ApiError, ApiResult};

/// `amount` (in currency units, as the schema's `Float`) as cents: finite, greater than 0, at
/// most `max`, and a whole number of cents. `field` names the input in the message.
pub fn positive_cents(field: &str, amount: f64, max: f64) -> ApiResult<i64> {
    if !amount.is_finite() || amount <= 0.0 || amount > max {
        return Err(ApiError::bad_input(format!(
            "`{field}` must be greater than 0 and at most {max}"
        )));
    }
    let cents = amount * 100.0;
    // Binary floats cannot hold most decimals exactly (19.99 × 100 = 1998.999…): allow for
    // that, not for a real fraction of a cent.
    if (cents - cents.round()).abs() > 1e-6 {
        return Err(ApiError::bad_input(format!(
            "`{field}` must be a whole number of cents (at most 2 decimals), not {amount}"
        )));
    }
    Ok(cents.round() as i64)
}

#[cfg(test)]
mod tests {
    use super::positive_cents;

    #[test]
    fn cents_are_whole_and_positive() {
        assert_eq!(positive_cents("r", 19.99, 1e5).unwrap(), 1999);
        assert_eq!(positive_cents("r", 0.01, 1e5).unwrap(), 1);
        assert_eq!(positive_cents("r", 100000.0, 1e5).unwrap(), 10_000_000);
        for bad in [0.0, -1.0, 0.001, 12.345, 0.004, f64::NAN, 100000.01] {
            assert!(positive_cents("r", bad, 1e5).is_err(), "{bad}");
        }
    }
}
