//! Secret-looking values out of the text of a secret or credential finding, before it is stored,
//! answered or logged. Scanners differ in what they redact: Bandit's hard-coded-password message
//! quotes the password, gitleaks' snippet is the key itself.

const MASK: &str = "[REDACTED]";

/// Words that name a credential; a value assigned to one is a secret however short.
const NAMES: [&str; 9] = [
    "password", "passwd", "pwd", "secret", "token", "apikey", "api_key", "api-key", "key",
];

/// `text` with quoted literals, values assigned to credential names and long random-looking
/// tokens replaced by `[REDACTED]`.
pub fn redact(text: &str) -> String {
    let quoted = quotes(text);
    let mut out = String::with_capacity(quoted.len());
    let mut after_name = false;
    for (i, word) in quoted.split(' ').enumerate() {
        if i > 0 {
            out.push(' ');
        }
        let (word, assigned) = assignment(word);
        if let Some((name, separator)) = assigned {
            out.push_str(name);
            out.push_str(separator);
            out.push_str(MASK);
            after_name = false;
            continue;
        }
        let value_of_name = after_name && !word.is_empty() && !word.contains(MASK);
        if value_of_name || random_looking(word) {
            out.push_str(MASK);
        } else {
            out.push_str(word);
        }
        // `password: hunter2` — the word after a credential name and a colon or equals sign.
        let bare = word.trim_end_matches([':', '=']).to_ascii_lowercase();
        after_name = word.len() > bare.len() && NAMES.contains(&bare.as_str());
    }
    out
}

/// Replaces what is between matching quotes (`'…'`, `"…"`, `` `…` ``) on one line.
fn quotes(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(open) = rest.find(['\'', '"', '`']) {
        let quote = rest[open..].chars().next().unwrap_or('"');
        let body = &rest[open + 1..];
        let close = body.find(quote).filter(|&c| !body[..c].contains('\n'));
        // An apostrophe inside a word ("don't") opens nothing.
        let in_word = quote == '\''
            && rest[..open]
                .chars()
                .next_back()
                .is_some_and(|c| c.is_alphanumeric());
        match close {
            Some(close) if close > 0 && !in_word => {
                out.push_str(&rest[..=open]);
                out.push_str(MASK);
                out.push(quote);
                rest = &body[close + 1..];
            }
            _ => {
                out.push_str(&rest[..=open]);
                rest = body;
            }
        }
    }
    out.push_str(rest);
    out
}

/// `password=hunter2` → (`password=hunter2`, Some(("password", "="))).
fn assignment(word: &str) -> (&str, Option<(&str, &str)>) {
    for separator in ["=", ":"] {
        if let Some((name, value)) = word.split_once(separator) {
            let lower = name.to_ascii_lowercase();
            let named = NAMES.iter().any(|n| lower.ends_with(n));
            if named && !value.is_empty() && !value.starts_with("//") && value != MASK {
                return (word, Some((name, separator)));
            }
        }
    }
    (word, None)
}

/// At least 16 characters of letters and digits (and `+/=_-.`), with both: an API key, an
/// access token, a base64 secret. URLs and paths with a scheme are left alone.
fn random_looking(word: &str) -> bool {
    let core = word.trim_matches(|c: char| !c.is_ascii_alphanumeric());
    core.len() >= 16
        && !word.contains("://")
        && core.chars().any(|c| c.is_ascii_digit())
        && core.chars().any(|c| c.is_ascii_alphabetic())
        && core
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+/=_-.".contains(c))
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn quoted_assigned_and_random_values_are_masked() {
        assert_eq!(
            redact("Possible hardcoded password: 'hunter2-prod-Zq81xK'"),
            "Possible hardcoded password: '[REDACTED]'"
        );
        assert_eq!(
            redact("password=hunter2 in env"),
            "password=[REDACTED] in env"
        );
        assert_eq!(redact("db password: hunter2"), "db password: [REDACTED]");
        assert_eq!(
            redact("key AKIAZ5YQ2D7W3XKJ4PLM found"),
            "key [REDACTED] found"
        );
        let plain = "Use of a hard-coded password. Don't keep credentials in code, see \
                     https://bandit.readthedocs.io/en/1.9.4/plugins/b105.html";
        assert_eq!(redact(plain), plain);
    }
}
