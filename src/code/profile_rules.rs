//! Application-profile inference (docs/application-profile.md): the app type from the
//! repository's languages and the file names at its root, the hosting platform from deployment
//! files at its root, and the commit frequency from the latest commits. Pure and deterministic:
//! the same inputs always give the same answer, and "don't know" is `None`, never a guess.

use chrono::{DateTime, TimeDelta, Utc};

/// The window commit frequency is measured over.
pub const FREQUENCY_WEEKS: i64 = 12;
/// Commits read per repository (one call, one page): a repository with more in the window
/// reports this many, i.e. at least `COMMITS_READ / FREQUENCY_WEEKS` per week.
pub const COMMITS_READ: usize = 100;

/// App types inference gives (an edit may give any text).
pub const MOBILE: &str = "mobile app";
pub const INFRASTRUCTURE: &str = "infrastructure";
pub const WEB_FRONT_END: &str = "web front-end";
pub const WEB_APPLICATION: &str = "web application";
pub const API_SERVICE: &str = "API service";
pub const LIBRARY: &str = "library";
pub const DATA: &str = "data / analytics";

const MOBILE_LANGUAGES: &[&str] = &["swift", "objective-c", "kotlin", "dart"];
const MOBILE_FILES: &[&str] = &["pubspec.yaml", "podfile", "androidmanifest.xml"];
const INFRA_LANGUAGES: &[&str] = &["hcl", "bicep", "shell", "powershell", "nix"];
const INFRA_FILES: &[&str] = &["main.tf", "main.bicep", "pulumi.yaml"];
const BROWSER_LANGUAGES: &[&str] = &[
    "typescript",
    "javascript",
    "vue",
    "svelte",
    "html",
    "css",
    "scss",
];
const SERVER_LANGUAGES: &[&str] = &[
    "go", "java", "c#", "python", "ruby", "php", "rust", "elixir", "scala", "f#",
];
const DATA_LANGUAGES: &[&str] = &["jupyter notebook", "r"];
/// Files that mean "this is deployed as a running service".
const RUNS_FILES: &[&str] = &[
    "dockerfile",
    "docker-compose.yml",
    "docker-compose.yaml",
    "compose.yaml",
    "procfile",
    "app.yaml",
    "serverless.yml",
    "fly.toml",
    "render.yaml",
];
/// Package manifests of a library (published, not run).
const LIBRARY_FILES: &[&str] = &[
    "cargo.toml",
    "setup.py",
    "pyproject.toml",
    "pom.xml",
    "build.gradle",
    "go.mod",
    "composer.json",
];

/// Deployment files at the root and the platform each names, first match wins.
const HOSTING_FILES: &[(&str, &str)] = &[
    ("vercel.json", "Vercel"),
    ("netlify.toml", "Netlify"),
    ("fly.toml", "Fly.io"),
    ("render.yaml", "Render"),
    ("app.yaml", "Google App Engine"),
    ("firebase.json", "Firebase"),
    ("staticwebapp.config.json", "Azure Static Web Apps"),
    ("azure.yaml", "Azure"),
    ("serverless.yml", "AWS Lambda"),
    ("template.yaml", "AWS Lambda"),
    ("procfile", "Heroku"),
];

fn lower(items: &[String]) -> Vec<String> {
    items
        .iter()
        .map(|s| s.trim().to_ascii_lowercase())
        .collect()
}

fn any_in(items: &[String], set: &[&str]) -> bool {
    items.iter().any(|i| set.contains(&i.as_str()))
}

/// The app type: `languages` largest first (the first is the primary one), `files` the names
/// at the repository's root (empty when not read). First rule that matches wins:
///
/// 1. mobile app: primary language Swift, Objective-C, Kotlin or Dart, or a `pubspec.yaml`,
///    `Podfile` or `AndroidManifest.xml`;
/// 2. infrastructure: primary language HCL, Bicep, Shell, PowerShell or Nix, or a `main.tf`,
///    `main.bicep` or `Pulumi.yaml`;
/// 3. browser languages (TypeScript, JavaScript, Vue, Svelte, HTML, CSS, SCSS) first: a web
///    application when something runs it (Dockerfile, compose file, Procfile, …), else a web
///    front-end;
/// 4. server languages (Go, Java, C#, Python, Ruby, PHP, Rust, Elixir, Scala, F#) first: an API
///    service when something runs it, a library when there is only a package manifest
///    (`Cargo.toml`, `pyproject.toml`, `go.mod`, …);
/// 5. data / analytics: primary language Jupyter Notebook or R;
/// 6. otherwise unknown.
pub fn app_type(languages: &[String], files: &[String]) -> Option<&'static str> {
    let languages = lower(languages);
    let files = lower(files);
    let primary = languages.first().map(String::as_str);
    let primary_in = |set: &[&str]| primary.is_some_and(|p| set.contains(&p));
    let runs = any_in(&files, RUNS_FILES);
    if primary_in(MOBILE_LANGUAGES) || any_in(&files, MOBILE_FILES) {
        return Some(MOBILE);
    }
    if primary_in(INFRA_LANGUAGES) || any_in(&files, INFRA_FILES) {
        return Some(INFRASTRUCTURE);
    }
    if primary_in(BROWSER_LANGUAGES) {
        return Some(if runs { WEB_APPLICATION } else { WEB_FRONT_END });
    }
    if primary_in(SERVER_LANGUAGES) {
        if runs {
            return Some(API_SERVICE);
        }
        if any_in(&files, LIBRARY_FILES) {
            return Some(LIBRARY);
        }
        return None;
    }
    if primary_in(DATA_LANGUAGES) {
        return Some(DATA);
    }
    None
}

/// Where the application runs, from a deployment file at the root (`HOSTING_FILES`, first
/// match in that order); unknown otherwise. The source-control provider is never the answer.
pub fn hosting_platform(files: &[String]) -> Option<&'static str> {
    let files = lower(files);
    HOSTING_FILES
        .iter()
        .find(|(file, _)| files.iter().any(|f| f == file))
        .map(|(_, platform)| *platform)
}

/// What one read of a repository's latest commits (newest first, at most `COMMITS_READ`) says.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Activity {
    pub last_commit_at: Option<DateTime<Utc>>,
    /// Commits per week over the last `FREQUENCY_WEEKS` weeks, one decimal.
    pub commits_per_week: f64,
}

/// Activity from commit dates: the newest is the last commit; those within the last
/// `FREQUENCY_WEEKS` weeks of `now`, divided by the weeks, are the frequency (rounded to one
/// decimal). No commit at all: no last commit, 0 per week.
pub fn activity(dates: &[DateTime<Utc>], now: DateTime<Utc>) -> Activity {
    let since = now - TimeDelta::weeks(FREQUENCY_WEEKS);
    let recent = dates.iter().filter(|d| **d >= since && **d <= now).count();
    let per_week = recent as f64 / FREQUENCY_WEEKS as f64;
    Activity {
        last_commit_at: dates.iter().max().copied(),
        commits_per_week: (per_week * 10.0).round() / 10.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn app_type_follows_the_documented_rule() {
        assert_eq!(app_type(&s(&["Swift"]), &[]), Some(MOBILE));
        assert_eq!(
            app_type(&s(&["TypeScript"]), &s(&["pubspec.yaml"])),
            Some(MOBILE)
        );
        assert_eq!(app_type(&s(&["HCL", "Shell"]), &[]), Some(INFRASTRUCTURE));
        assert_eq!(
            app_type(&s(&["Python"]), &s(&["main.tf"])),
            Some(INFRASTRUCTURE)
        );
        assert_eq!(
            app_type(&s(&["TypeScript", "CSS"]), &s(&["package.json"])),
            Some(WEB_FRONT_END)
        );
        assert_eq!(
            app_type(&s(&["JavaScript"]), &s(&["package.json", "Dockerfile"])),
            Some(WEB_APPLICATION)
        );
        assert_eq!(
            app_type(&s(&["Go"]), &s(&["go.mod", "Dockerfile"])),
            Some(API_SERVICE)
        );
        assert_eq!(
            app_type(&s(&["Python"]), &s(&["Procfile"])),
            Some(API_SERVICE)
        );
        assert_eq!(app_type(&s(&["Rust"]), &s(&["Cargo.toml"])), Some(LIBRARY));
        assert_eq!(app_type(&s(&["Java"]), &[]), None);
        assert_eq!(app_type(&s(&["Jupyter Notebook"]), &[]), Some(DATA));
        assert_eq!(app_type(&[], &[]), None);
        assert_eq!(app_type(&s(&["COBOL"]), &s(&["Dockerfile"])), None);
        // Only the primary (largest) language decides between families.
        assert_eq!(
            app_type(&s(&["Go", "JavaScript"]), &s(&["Dockerfile"])),
            Some(API_SERVICE)
        );
    }

    #[test]
    fn hosting_comes_from_deployment_files_never_the_provider() {
        assert_eq!(
            hosting_platform(&s(&["README.md", "vercel.json"])),
            Some("Vercel")
        );
        assert_eq!(
            hosting_platform(&s(&["Procfile", "fly.toml"])),
            Some("Fly.io")
        );
        assert_eq!(hosting_platform(&s(&["Procfile"])), Some("Heroku"));
        assert_eq!(hosting_platform(&s(&["Dockerfile", ".github"])), None);
        assert_eq!(hosting_platform(&[]), None);
    }

    #[test]
    fn frequency_counts_the_last_twelve_weeks() {
        let now = DateTime::parse_from_rfc3339("2026-12-01T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let days = |d: i64| now - TimeDelta::days(d);
        let dates: Vec<_> = (0..24).map(|i| days(i * 3)).chain([days(200)]).collect();
        // 24 commits every 3 days from today (the oldest 69 days ago) and one 200 days ago.
        let a = activity(&dates, now);
        assert_eq!(a.last_commit_at, Some(now));
        assert_eq!(a.commits_per_week, 2.0);
        let old = activity(&[days(100), days(90)], now);
        assert_eq!(old.last_commit_at, Some(days(90)));
        assert_eq!(old.commits_per_week, 0.0);
        let none = activity(&[], now);
        assert_eq!(none.last_commit_at, None);
        assert_eq!(none.commits_per_week, 0.0);
        // 100 commits in the window (the read's cap) reads as 8.3 a week.
        let busy: Vec<_> = (0..100).map(|i| now - TimeDelta::hours(i)).collect();
        assert_eq!(activity(&busy, now).commits_per_week, 8.3);
    }
}
