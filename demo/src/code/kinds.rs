//! The scanners' findings: a vulnerable dependency of the repository's ecosystem, and a secret
//! committed where its stack keeps configuration.

use entities::enums::{FindingKind, Provider};
use rand::Rng;
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;

use super::Repo;
use super::findings::Draft;
use crate::catalogue::{CATALOGUE, Eco, Vuln};
use crate::random::pick;
use crate::text::capitalize;

pub(super) fn vulnerability(rng: &mut StdRng, repo: &Repo) -> Option<Draft> {
    let eco = repo.stack.eco;
    let candidates: Vec<&Vuln> = CATALOGUE
        .vulnerabilities
        .iter()
        .filter(|v| v.eco == eco)
        .collect();
    let Vuln {
        package,
        version,
        fixed,
        cve,
        severity,
        what,
        ..
    } = *candidates.choose(rng)?;
    let file = manifest(rng, eco, repo);
    let remediation = match eco {
        Eco::Npm => format!(
            "Run `npm install {package}@^{fixed}` (or add an `overrides` entry if it is a \
             transitive dependency), commit the lockfile and redeploy."
        ),
        Eco::PyPi => format!(
            "Pin `{package}>={fixed}` in the requirements, rebuild the environment and redeploy."
        ),
        Eco::Maven => format!(
            "Bump {package} to {fixed} or later in the build file (or in the BOM that manages \
             it) and redeploy."
        ),
        Eco::NuGet => format!(
            "Run `dotnet add package {package} --version {fixed}` in the affected projects and \
             redeploy."
        ),
        Eco::Go if package.as_str() == "stdlib" => {
            format!("Build and release with Go {fixed} or later.")
        }
        Eco::Go => format!("Run `go get {package}@v{fixed}` and `go mod tidy`, then rebuild."),
        Eco::Image | Eco::None => format!(
            "Rebuild the image on a base image that ships {package} {fixed} or later and \
             redeploy."
        ),
    };
    let tool = match (eco, repo.org.provider) {
        (Eco::Image, _) => "trivy",
        (_, Provider::Github) => "dependabot",
        (_, Provider::Gitlab) => "gemnasium",
        (_, Provider::AzureDevops) => "osv-scanner",
    };
    let mut draft = Draft::new(
        FindingKind::Vulnerability,
        *severity,
        format!("{cve} in {package} {version}"),
        format!(
            "{package} {version} is affected by {cve}: {what}. Fixed in {fixed}. Declared in \
             {file} on {branch}.",
            branch = repo.branch
        ),
    );
    draft.file_path = Some(file);
    draft.cve_id = Some(cve.clone());
    draft.package_name = Some(package.clone());
    draft.package_version = Some(version.clone());
    draft.remediation = remediation;
    draft.tool = Some(tool);
    Some(draft)
}

pub(super) fn secret(rng: &mut StdRng, repo: &Repo) -> Option<Draft> {
    let found = pick(rng, &CATALOGUE.secrets);
    let (secret_type, label, severity) = (&found.secret_type, &found.label, found.severity);
    let path = secret_path(rng, repo);
    let line = rng.random_range(1..=240);
    let commits = rng.random_range(1..=40);
    let mut draft = Draft::new(
        FindingKind::SecretDetected,
        severity,
        format!("{} committed in {path}", capitalize(label)),
        format!(
            "A {label} was found in {path} at line {line} on {branch}; it also appears in \
             {commits} earlier commit{s}, so deleting the line does not remove it.",
            branch = repo.branch,
            s = if commits == 1 { "" } else { "s" }
        ),
    );
    draft.file_path = Some(path.to_string());
    draft.line = Some(line);
    draft.secret_type = Some(secret_type.clone());
    draft.remediation = found.remediation.clone();
    draft.tool = Some(match repo.org.provider {
        Provider::Github => "github-secret-scanning",
        _ => "gitleaks",
    });
    Some(draft)
}

/// The manifest a dependency of `eco` is declared in.
fn manifest(rng: &mut StdRng, eco: Eco, repo: &Repo) -> String {
    match eco {
        Eco::Npm => pick(rng, &["package-lock.json", "yarn.lock", "package.json"]).to_string(),
        Eco::PyPi => pick(rng, &["requirements.txt", "poetry.lock", "Pipfile.lock"]).to_string(),
        Eco::Maven => pick(rng, &["pom.xml", "build.gradle"]).to_string(),
        Eco::NuGet => {
            let project: String = repo
                .name
                .split('-')
                .map(|part| {
                    let mut chars = part.chars();
                    chars
                        .next()
                        .map(|c| c.to_uppercase().chain(chars).collect::<String>())
                        .unwrap_or_default()
                })
                .collect();
            if repo.stack.legacy && rng.random_bool(0.5) {
                format!("src/{project}/packages.config")
            } else {
                format!("src/{project}/{project}.csproj")
            }
        }
        Eco::Go => "go.mod".to_string(),
        Eco::Image | Eco::None => "Dockerfile".to_string(),
    }
}

/// Where a secret of a repository's stack tends to be committed.
fn secret_path(rng: &mut StdRng, repo: &Repo) -> &'static str {
    let ci = match repo.org.provider {
        Provider::Github => ".github/workflows/deploy.yml",
        Provider::Gitlab => ".gitlab-ci.yml",
        Provider::AzureDevops => "azure-pipelines.yml",
    };
    let own: &[&'static str] = match repo.stack.eco {
        Eco::Npm => &[
            ".env",
            "src/config.ts",
            "config/default.json",
            ".env.production",
        ],
        Eco::PyPi => &[
            ".env",
            "settings.py",
            "config/local.py",
            "airflow/variables.json",
        ],
        Eco::Maven => &[
            "src/main/resources/application.properties",
            "src/main/resources/application.yml",
        ],
        Eco::NuGet => &[
            "appsettings.json",
            "appsettings.Development.json",
            "Web.config",
        ],
        Eco::Go => &["config.yaml", "cmd/server/main.go"],
        Eco::Image | Eco::None => &[
            "terraform.tfvars",
            "deploy/values.yaml",
            "scripts/deploy.sh",
            "docker-compose.yml",
        ],
    };
    if rng.random_bool(0.2) {
        ci
    } else {
        own.choose(rng).copied().unwrap_or(ci)
    }
}
