//! A repository: its name, stack, lifecycle, health, hosting and classification.

use std::collections::HashSet;

use chrono::{DateTime, Duration, Utc};
use entities::enums::{Lifecycle, Provider};
use entities::repositories;
use rand::Rng;
use rand::rngs::StdRng;
use sea_orm::ActiveValue::Set;
use serde_json::json;
use uuid::Uuid;

use crate::catalogue::{AppType, CATALOGUE, Eco, OrgSpec, Stack};
use crate::generate::Demo;
use crate::random::{days_ago, id_at, pick, pick_copy, weighted};
use crate::text::round1;

/// What the finding and recommendation generators need to know about a repository.
pub(crate) struct Repo {
    pub id: Uuid,
    pub name: String,
    pub full_name: String,
    pub org: &'static OrgSpec,
    pub app: &'static AppType,
    pub stack: &'static Stack,
    pub lifecycle: Lifecycle,
    pub health: i32,
    pub frequency: f64,
    pub last_commit: DateTime<Utc>,
    pub hosting: String,
    pub classification: &'static str,
    pub branch: &'static str,
    pub discovered: DateTime<Utc>,
}

/// Where a new repository goes.
pub(super) struct Place {
    pub tenant: Uuid,
    pub org: &'static OrgSpec,
    pub org_id: Uuid,
    pub client_id: Uuid,
    pub discovered: DateTime<Utc>,
}

/// Adds one repository with a name not in `names` yet.
pub(super) fn build(
    rng: &mut StdRng,
    demo: &mut Demo,
    now: DateTime<Utc>,
    at: &Place,
    names: &mut HashSet<String>,
) -> Repo {
    let org = at.org;
    let weights: Vec<(usize, u32)> = CATALOGUE
        .app_types
        .iter()
        .enumerate()
        .map(|(i, a)| (i, a.weight))
        .collect();
    let app = &CATALOGUE.app_types[*weighted(rng, &weights)];
    let stack = pick(rng, &app.stacks);
    let name = loop {
        let mut name = format!(
            "{}-{}",
            pick(rng, &CATALOGUE.domains),
            pick(rng, &app.components)
        );
        if stack.legacy && rng.random_bool(0.25) {
            let suffix = pick(rng, &["-legacy", "-old", "-classic"]);
            name.push_str(suffix);
        } else if rng.random_bool(0.06) {
            let suffix = pick(rng, &["-v2", "-next"]);
            name.push_str(suffix);
        }
        if names.insert(name.clone()) {
            break name;
        }
    };
    let lifecycle = *weighted(
        rng,
        if stack.legacy {
            &[
                (Lifecycle::Active, 55),
                (Lifecycle::Sunset, 33),
                (Lifecycle::Dead, 12),
            ]
        } else {
            &[
                (Lifecycle::Active, 86),
                (Lifecycle::Sunset, 10),
                (Lifecycle::Dead, 4),
            ]
        },
    );
    let (last_commit, frequency, mut health, archived) = match lifecycle {
        Lifecycle::Active => (
            days_ago(rng, now, 0, 45),
            round1(rng.random_range(0.5..30.0)),
            rng.random_range(55..=98),
            false,
        ),
        Lifecycle::Sunset => (
            days_ago(rng, now, 120, 720),
            round1(rng.random_range(0.0..0.6)),
            rng.random_range(30..=70),
            rng.random_bool(0.1),
        ),
        Lifecycle::Dead => (
            days_ago(rng, now, 730, 2200),
            0.0,
            rng.random_range(8..=40),
            rng.random_bool(0.7),
        ),
    };
    if stack.legacy {
        health = (health - 10).max(5);
    }
    let debt = (100 - health + rng.random_range(-12..=12)).clamp(0, 100);
    let hosting = hosting_for(rng, org, app, stack).to_string();
    let classification = *weighted(
        rng,
        if org.sensitive {
            &[
                ("public", 4),
                ("internal", 30),
                ("confidential", 36),
                ("regulated", 30),
            ]
        } else {
            &[
                ("public", 10),
                ("internal", 50),
                ("confidential", 30),
                ("regulated", 10),
            ]
        },
    );
    let visibility = match org.provider {
        Provider::AzureDevops => "private",
        _ if classification == "public" => *weighted(rng, &[("public", 3), ("internal", 1)]),
        _ => *weighted(rng, &[("private", 8), ("internal", 2)]),
    };
    let branch = if stack.legacy {
        *weighted(rng, &[("master", 8), ("main", 1), ("develop", 1)])
    } else {
        *weighted(rng, &[("main", 13), ("master", 6), ("develop", 1)])
    };
    let (full_name, url, external_id) = match org.provider {
        Provider::Github => (
            format!("{}/{name}", org.login),
            format!("https://github.com/{}/{name}", org.login),
            rng.random_range(100_000_000..900_000_000u64).to_string(),
        ),
        Provider::Gitlab => (
            format!("{}/{name}", org.login),
            format!("https://gitlab.com/{}/{name}", org.login),
            rng.random_range(10_000_000..60_000_000u64).to_string(),
        ),
        Provider::AzureDevops => {
            let project = pick(rng, &org.projects);
            (
                format!("{}/{name}", org.login),
                format!(
                    "https://dev.azure.com/{}/{}/_git/{name}",
                    org.login,
                    project.replace(' ', "%20")
                ),
                uuid::Builder::from_random_bytes(rng.random())
                    .into_uuid()
                    .to_string(),
            )
        }
    };
    let missing_since =
        (lifecycle == Lifecycle::Dead && rng.random_bool(0.15)).then(|| days_ago(rng, now, 3, 40));
    let id = id_at(at.discovered);
    demo.repositories.push(repositories::ActiveModel {
        id: Set(id),
        tenant_id: Set(at.tenant),
        organization_id: Set(at.org_id),
        client_id: Set(Some(at.client_id)),
        name: Set(name.clone()),
        full_name: Set(full_name.clone()),
        url: Set(url),
        default_branch: Set(Some(branch.to_string())),
        visibility: Set(Some(visibility.to_string())),
        archived: Set(archived),
        app_type: Set(Some(app.name.clone())),
        tech_stack: Set(json!(stack.tech)),
        health_score: Set(Some(health)),
        debt_score: Set(Some(debt)),
        last_commit_at: Set(Some(last_commit)),
        commit_frequency: Set(Some(frequency)),
        hosting_platform: Set(Some(hosting.clone())),
        data_classification: Set(Some(classification.to_string())),
        lifecycle: Set(lifecycle),
        app_type_overridden: Set(false),
        hosting_platform_overridden: Set(false),
        data_classification_overridden: Set(false),
        lifecycle_reason: Set(None),
        lifecycle_changed_at: Set(None),
        external_id: Set(Some(external_id)),
        missing_since: Set(missing_since),
        created_at: Set(at.discovered),
        updated_at: Set(now - Duration::minutes(rng.random_range(20..600))),
    });
    Repo {
        id,
        name,
        full_name,
        org,
        app,
        stack,
        lifecycle,
        health,
        frequency,
        last_commit,
        hosting,
        classification,
        branch,
        discovered: at.discovered,
    }
}

/// Where an application of this type and stack plausibly runs.
fn hosting_for(
    rng: &mut StdRng,
    org: &OrgSpec,
    app: &'static AppType,
    stack: &Stack,
) -> &'static str {
    let windows_only = stack.has(".NET Framework") || stack.has("WCF");
    if app.hosting.is_empty() {
        match org.provider {
            Provider::Github => "GitHub Packages",
            Provider::Gitlab => "GitLab Package Registry",
            Provider::AzureDevops => "Azure Artifacts",
        }
    } else if app.name == "infrastructure" && stack.has("Azure") {
        "Azure"
    } else if app.name == "infrastructure" && stack.has("AWS") {
        "AWS"
    } else if stack.has("SSIS") {
        "On-premises VM (SQL Agent)"
    } else if windows_only && app.name == "worker" {
        "On-premises VM (Windows Service)"
    } else if windows_only && app.name != "desktop app" {
        pick_copy(
            rng,
            &[
                "On-premises IIS",
                "On-premises VM",
                "Azure App Service (Windows)",
            ],
        )
    } else {
        // Vercel hosts JavaScript front-ends only.
        let fits: Vec<&'static str> = app
            .hosting
            .iter()
            .map(String::as_str)
            .filter(|h| *h != "Vercel" || stack.eco == Eco::Npm)
            .collect();
        pick_copy(rng, &fits)
    }
}
