//! A repository's migration recommendation: which one (from its lifecycle, stack and hosting)
//! is decided here; the texts are in `demo/data/recommendations.toml`.

use chrono::{DateTime, Utc};
use entities::enums::Lifecycle;
use entities::recommendations;
use rand::Rng;
use rand::rngs::StdRng;
use sea_orm::ActiveValue::Set;
use serde_json::json;
use uuid::Uuid;

use super::Repo;
use crate::catalogue::CATALOGUE;
use crate::generate::Demo;
use crate::random::{days_ago, id_at, pick};
use crate::text::{fill, plural};

/// Every key [`which`] can answer, each a table of `recommendations.toml`.
pub(crate) const KEYS: [&str; 10] = [
    "retire",
    "ssis",
    "desktop_to_web",
    "xamarin",
    "dotnet_framework",
    "angularjs",
    "python2",
    "on_premises_worker",
    "on_premises",
    "dependencies",
];

/// Adds a recommendation for most legacy or retiring repositories and some others.
pub(super) fn build(
    rng: &mut StdRng,
    demo: &mut Demo,
    tenant: Uuid,
    now: DateTime<Utc>,
    repo: &Repo,
    open_findings: usize,
) {
    let odds = match (repo.lifecycle, repo.stack.legacy) {
        (Lifecycle::Active, true) => 0.8,
        (Lifecycle::Active, false) => 0.3,
        _ => 0.75,
    };
    if !rng.random_bool(odds) {
        return;
    }
    let texts = CATALOGUE.recommendation(which(rng, repo));
    let target = if texts.targets.len() > 1 {
        pick(rng, &texts.targets)
    } else {
        &texts.targets[0]
    };
    let months = ((now - repo.last_commit).num_days() / 30)
        .max(1)
        .to_string();
    let open = open_findings.to_string();
    let tech = repo.stack.tech.join(", ");
    let framework = repo
        .stack
        .tech
        .iter()
        .find(|t| t.starts_with(".NET Framework"))
        .map_or(".NET Framework", String::as_str);
    let mut vars = vec![
        ("name", repo.name.as_str()),
        ("hosting", repo.hosting.as_str()),
        ("months", months.as_str()),
        ("open_findings", open.as_str()),
        ("s", plural(open_findings as i64)),
        ("tech", tech.as_str()),
        ("framework", framework),
    ];
    let target = fill(target, &vars);
    vars.push(("target", target.as_str()));
    let [low, high] = texts.hours;
    let effort = f64::from(rng.random_range(low / 4..=high / 4) * 4);
    let at = days_ago(rng, now, 1, 60);
    demo.recommendations.push(recommendations::ActiveModel {
        id: Set(id_at(at)),
        tenant_id: Set(tenant),
        repository_id: Set(repo.id),
        title: Set(fill(&texts.title, &vars)),
        summary: Set(fill(&texts.summary, &vars)),
        target_platform: Set(Some(target.clone())),
        steps: Set(json!(texts.steps)),
        effort_hours: Set(effort),
        created_at: Set(at),
        updated_at: Set(at),
    });
}

/// Which recommendation fits: retiring what is no longer active, else moving off the stack's
/// most pressing problem, else off on-premises hosting, else catching up on dependencies.
fn which(rng: &mut StdRng, repo: &Repo) -> &'static str {
    let has = |tech: &str| repo.stack.has(tech);
    if repo.lifecycle != Lifecycle::Active && rng.random_bool(0.7) {
        "retire"
    } else if has("SSIS") {
        "ssis"
    } else if has("Delphi") || (repo.app.name == "desktop app" && repo.stack.legacy) {
        "desktop_to_web"
    } else if has("Xamarin") {
        "xamarin"
    } else if has(".NET Framework") || has("WCF") {
        "dotnet_framework"
    } else if has("AngularJS") {
        "angularjs"
    } else if has("Python 2.7") {
        "python2"
    } else if repo.hosting.starts_with("On-premises") {
        if repo.app.name == "worker" {
            "on_premises_worker"
        } else {
            "on_premises"
        }
    } else {
        "dependencies"
    }
}
