//! Text helpers: filling the data files' templates, numbers as people write them, digests.

use sha2::{Digest, Sha256};

/// `template` with each `{key}` replaced by its value in `vars`. A placeholder with no value is
/// a mistake in `demo/data/` and panics (the crate's tests fill every template).
pub(crate) fn fill(template: &str, vars: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(template.len() + 32);
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let close = rest[open..]
            .find('}')
            .map(|i| open + i)
            .unwrap_or_else(|| panic!("unclosed placeholder in {template:?}"));
        let key = &rest[open + 1..close];
        let value = vars
            .iter()
            .find(|(k, _)| *k == key)
            .unwrap_or_else(|| panic!("no value for {{{key}}} in {template:?}"))
            .1;
        out.push_str(value);
        rest = &rest[close + 1..];
    }
    out.push_str(rest);
    out
}

/// SHA-256 hex, as findings' fingerprints and agents' key hashes are stored (the server's
/// `auth::service::hash_secret`).
pub(crate) fn sha256_hex(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// `1234567` → `1,234,567`.
pub(crate) fn thousands(n: i64) -> String {
    let digits = n.abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 { format!("-{out}") } else { out }
}

pub(crate) fn capitalize(s: &str) -> String {
    let mut chars = s.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

/// `""` for one, `"s"` otherwise.
pub(crate) fn plural(n: i64) -> &'static str {
    if n == 1 { "" } else { "s" }
}

pub(crate) fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

pub(crate) fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_groups_digits() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(18_204), "18,204");
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(thousands(-1_000), "-1,000");
    }

    #[test]
    fn fill_replaces_every_placeholder() {
        let vars = [("name", "billing-api"), ("n", "3")];
        assert_eq!(fill("{name} has {n} ({n})", &vars), "billing-api has 3 (3)");
        assert_eq!(fill("no placeholder", &vars), "no placeholder");
    }

    #[test]
    #[should_panic(expected = "no value for {missing}")]
    fn fill_refuses_an_unknown_placeholder() {
        fill("{missing}", &[]);
    }
}
