//! Where people's pages live and which browser origins may call the API: `FRONTEND_URL` and
//! `CORS_ALLOWED_ORIGINS` (README, docs/decisions.md "Front-ends on their own origin").

use anyhow::bail;

/// The front-end the gateway links to and the origins its CORS answers.
#[derive(Clone, Debug)]
pub struct Frontend {
    /// `FRONTEND_URL`: every link the gateway writes (tickets, opportunities, e-mails) and every
    /// redirect back from a connect flow starts here. Defaults to `PUBLIC_URL`.
    pub url: String,
    /// Origins allowed to call `/graphql` from a browser with credentials: `CORS_ALLOWED_ORIGINS`
    /// plus `FRONTEND_URL`'s origin when it is not the gateway's own.
    pub cors_origins: Vec<String>,
}

impl Frontend {
    /// A front-end served by the gateway itself (no CORS).
    pub fn same_as(public_url: &str) -> Self {
        Frontend {
            url: public_url.trim_end_matches('/').to_string(),
            cors_origins: Vec::new(),
        }
    }

    /// A link to `path` (which starts with `/`) on the front-end.
    pub fn link(&self, path: &str) -> String {
        format!("{}{path}", self.url)
    }

    pub fn from_vars(
        public_url: &str,
        frontend_url: Option<&str>,
        cors: Option<&str>,
    ) -> anyhow::Result<Self> {
        let url = match frontend_url.map(str::trim).filter(|v| !v.is_empty()) {
            None => return Self::same_as(public_url).with_origins(cors, public_url),
            Some(url) => url,
        };
        let parsed =
            url::Url::parse(url).map_err(|e| anyhow::anyhow!("FRONTEND_URL is not a URL: {e}"))?;
        if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
            bail!("FRONTEND_URL must be an http:// or https:// URL");
        }
        if parsed.query().is_some() || parsed.fragment().is_some() {
            bail!("FRONTEND_URL must not have a query or a fragment (links are appended to it)");
        }
        let frontend = Frontend {
            url: url.trim_end_matches('/').to_string(),
            cors_origins: Vec::new(),
        };
        frontend.with_origins(cors, public_url)
    }

    fn with_origins(mut self, cors: Option<&str>, public_url: &str) -> anyhow::Result<Self> {
        for origin in cors.unwrap_or_default().split(',').map(str::trim) {
            if origin.is_empty() {
                continue;
            }
            if origin == "*" {
                bail!(
                    "CORS_ALLOWED_ORIGINS must list origins: `*` cannot be allowed with \
                     credentials (cookies)"
                );
            }
            let parsed = url::Url::parse(origin).ok().filter(|u| {
                matches!(u.scheme(), "http" | "https")
                    && u.host_str().is_some()
                    && u.path() == "/"
                    && u.query().is_none()
                    && origin.trim_end_matches('/').len() == u.origin().ascii_serialization().len()
            });
            let Some(parsed) = parsed else {
                bail!(
                    "CORS_ALLOWED_ORIGINS: {origin:?} is not an origin (scheme://host[:port], \
                     no path)"
                );
            };
            self.allow(parsed.origin().ascii_serialization());
        }
        let own = url::Url::parse(public_url).map(|u| u.origin().ascii_serialization());
        if let Ok(front) = url::Url::parse(&self.url).map(|u| u.origin().ascii_serialization())
            && own.as_ref().ok() != Some(&front)
        {
            self.allow(front);
        }
        Ok(self)
    }

    fn allow(&mut self, origin: String) {
        if !self.cors_origins.contains(&origin) {
            self.cors_origins.push(origin);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_are_origins() {
        let f = Frontend::from_vars(
            "https://api.example.com",
            Some("https://app.example.com/"),
            Some("https://admin.example.com, http://localhost:5173"),
        )
        .unwrap();
        assert_eq!(f.url, "https://app.example.com");
        assert_eq!(f.link("/findings/1"), "https://app.example.com/findings/1");
        assert_eq!(
            f.cors_origins,
            [
                "https://admin.example.com",
                "http://localhost:5173",
                "https://app.example.com"
            ]
        );
        let same = Frontend::from_vars("https://api.example.com", None, None).unwrap();
        assert_eq!(same.url, "https://api.example.com");
        assert!(same.cors_origins.is_empty());
        for bad in [
            "*",
            "https://a.example.com/path",
            "ftp://a.example.com",
            "example.com",
        ] {
            let error = Frontend::from_vars("https://api.example.com", None, Some(bad))
                .unwrap_err()
                .to_string();
            assert!(error.starts_with("CORS_ALLOWED_ORIGINS"), "{bad}: {error}");
        }
        for bad in [
            "not a url",
            "mailto:x@example.com",
            "https://app.example.com/?a=1",
        ] {
            let error = Frontend::from_vars("https://api.example.com", Some(bad), None)
                .unwrap_err()
                .to_string();
            assert!(error.starts_with("FRONTEND_URL"), "{bad}: {error}");
        }
    }
}
