//! Where the SSO hand-off may send the browser: a path on this server, nothing else.
//!
//! Browsers forgive a lot in a `Location`: they drop tabs and newlines, read `\` as `/`, and
//! treat `//host` as another origin. A value is accepted only if, as given and with its
//! percent-encoding undone, it has none of those, and the WHATWG parser (the browsers' own)
//! keeps it on this origin without a leading `//`. Anything else falls back to `/`.

use url::Url;

/// Stands in for this server's origin when resolving; only its origin is compared.
const BASE: &str = "http://gateway.invalid/";

/// The path (with query and fragment) to redirect to, or `/`.
pub fn safe_redirect(requested: Option<&str>) -> String {
    requested.and_then(normalised).unwrap_or_else(|| "/".into())
}

fn normalised(requested: &str) -> Option<String> {
    // Undo nested encodings (`%252F` → `%2F` → `/`); a few rounds are all a browser or a proxy
    // in front of us would do.
    let mut decoded = requested.to_string();
    for _ in 0..4 {
        let next = percent_decode(&decoded)?;
        if next == decoded {
            break;
        }
        decoded = next;
    }
    if percent_decode(&decoded)? != decoded {
        return None;
    }
    plain_path(&decoded)?;
    plain_path(requested)
}

/// `value` as a same-origin path, normalised by the URL parser, if it is one.
fn plain_path(value: &str) -> Option<String> {
    let plain = value.starts_with('/')
        && !value.starts_with("//")
        && !value
            .chars()
            .any(|c| c.is_control() || c.is_whitespace() || c == '\\');
    if !plain {
        return None;
    }
    let base = Url::parse(BASE).expect("the base URL parses");
    let joined = base.join(value).ok()?;
    if joined.origin() != base.origin() {
        return None;
    }
    let path = &joined[url::Position::BeforePath..];
    (path.starts_with('/') && !path.starts_with("//") && !path.contains('\\'))
        .then(|| path.to_string())
}

/// Percent-decodes `value`; `None` when the bytes it stands for are not UTF-8.
fn percent_decode(value: &str) -> Option<String> {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (bytes[i], bytes.get(i + 1), bytes.get(i + 2)) {
            (b'%', Some(&h), Some(&l)) if hex(h).is_some() && hex(l).is_some() => {
                out.push((hex(h)? * 16 + hex(l)?) as u8);
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn keeps_plain_paths_and_refuses_the_rest() {
        assert_eq!(safe_redirect(Some("/projects?x=1")), "/projects?x=1");
        assert_eq!(safe_redirect(Some("/a/../b#c")), "/b#c");
        for hostile in [
            "/\t/evil.example",
            "/\n/evil.example",
            "/\\evil",
            "/%2F%2Fevil",
            "/%252F%252Fevil",
            "/%5Cevil",
            "https://evil",
            "//evil",
            "/.//evil",
            "javascript:alert(1)",
            "/%00",
            "/%E2%80%A8x",
            "/%ff",
        ] {
            assert_eq!(safe_redirect(Some(hostile)), "/", "{hostile:?}");
        }
        assert_eq!(safe_redirect(None), "/");
    }

    proptest! {
        /// Whatever is asked, the answer is a same-origin path a browser cannot read as a host.
        #[test]
        fn never_leaves_this_origin(requested in any::<String>()) {
            let target = safe_redirect(Some(&requested));
            prop_assert!(target.starts_with('/'));
            prop_assert!(!target.starts_with("//"));
            prop_assert!(!target.chars().any(|c| c.is_control() || c.is_whitespace() || c == '\\'));
        }

        #[test]
        fn never_leaves_this_origin_from_slashy_input(requested in "[/\\\\%a-f0-9.:\t ]{0,24}") {
            let target = safe_redirect(Some(&requested));
            prop_assert!(target.starts_with('/') && !target.starts_with("//"));
        }
    }
}
