//! Demo data: fills one tenant with a realistic picture of The One Code (clients, organizations on
//! every provider, a few hundred repositories, findings of every kind and severity, migration
//! recommendations) and The One Migrate (projects, agents, jobs in every state with their events),
//! for a first look at a development server (`stack-gateway serve --demo`, `stack-gateway demo`).
//!
//! [`seed`] is idempotent: a tenant that already has organizations is left as it is. The content
//! comes from a fixed-seed RNG, so every seeded tenant looks the same; only the times (relative to
//! now), the ids and the agents' API keys (random, only their hashes are stored) differ. Ids are
//! UUID v7 taken at each row's `created_at`, so id order stays creation order. Everything is
//! written in one transaction, in batches of at most [`CHUNK`] rows.

use std::collections::HashSet;
use std::fmt;

use chrono::{DateTime, Duration, Utc};
use entities::enums::{
    AccessIssue, AgentCommand, AgentStatus, CommandStatus, FindingKind, FindingStatus, JobKind,
    JobStatus, Lifecycle, OrgStatus, Provider, Severity,
};
use entities::{
    agent_commands, agents, clients, findings, job_events, jobs, organizations, projects,
    recommendations, repositories, tenants,
};
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use sea_orm::{
    ActiveEnum, ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseConnection,
    DatabaseTransaction, DbErr, EntityTrait, PaginatorTrait, QueryFilter,
};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use uuid::{Timestamp, Uuid};

use crate::auth::service::{hash_secret, random_secret};

/// The seed of the content generator: the same for every tenant, so the demo is reproducible.
const SEED: u64 = 0x0DE3_0DA7_A5EE_D001;

/// Rows per INSERT (well under SQLite's and PostgreSQL's bind-parameter limits).
pub const CHUNK: usize = 200;

/// What [`seed`] wrote (or, when `already_seeded`, what the tenant already had).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoSummary {
    pub organizations: u64,
    pub repositories: u64,
    pub findings: u64,
    pub recommendations: u64,
    pub projects: u64,
    pub agents: u64,
    pub jobs: u64,
    /// The tenant already had organizations, so nothing was written.
    pub already_seeded: bool,
}

impl fmt::Display for DemoSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.already_seeded {
            f.write_str("already has data, left as it is: ")?;
        } else {
            f.write_str("seeded ")?;
        }
        write!(
            f,
            "{} organizations, {} repositories, {} findings, {} recommendations, {} projects, \
             {} agents, {} jobs",
            self.organizations,
            self.repositories,
            self.findings,
            self.recommendations,
            self.projects,
            self.agents,
            self.jobs
        )
    }
}

/// Fills the tenant Hub calls `hub_tenant_id` (created with `tenant_name` if missing) with demo
/// data, unless it already has organizations.
pub async fn seed(
    db: &DatabaseConnection,
    hub_tenant_id: &str,
    tenant_name: &str,
) -> anyhow::Result<DemoSummary> {
    let txn = crate::db::begin_write(db).await?;
    let tenant_id = ensure_tenant(&txn, hub_tenant_id, tenant_name).await?;
    let existing = organizations::Entity::find()
        .filter(organizations::Column::TenantId.eq(tenant_id))
        .count(&txn)
        .await?;
    if existing > 0 {
        let summary = count_existing(&txn, tenant_id).await?;
        txn.commit().await?;
        return Ok(summary);
    }
    let mut rng = StdRng::seed_from_u64(SEED);
    let demo = build(&mut rng, tenant_id, Utc::now());
    let summary = DemoSummary {
        organizations: demo.organizations.len() as u64,
        repositories: demo.repositories.len() as u64,
        findings: demo.findings.len() as u64,
        recommendations: demo.recommendations.len() as u64,
        projects: demo.projects.len() as u64,
        agents: demo.agents.len() as u64,
        jobs: demo.jobs.len() as u64,
        already_seeded: false,
    };
    insert_all(&txn, demo.clients).await?;
    insert_all(&txn, demo.organizations).await?;
    insert_all(&txn, demo.repositories).await?;
    insert_all(&txn, demo.findings).await?;
    insert_all(&txn, demo.recommendations).await?;
    insert_all(&txn, demo.projects).await?;
    insert_all(&txn, demo.agents).await?;
    insert_all(&txn, demo.jobs).await?;
    insert_all(&txn, demo.job_events).await?;
    insert_all(&txn, demo.agent_commands).await?;
    txn.commit().await?;
    Ok(summary)
}

/// The tenant's id, creating the tenant if Hub's id is new (like the first sign-in would).
async fn ensure_tenant(txn: &DatabaseTransaction, hub_id: &str, name: &str) -> Result<Uuid, DbErr> {
    let find = || tenants::Entity::find().filter(tenants::Column::HubTenantId.eq(hub_id));
    if let Some(tenant) = find().one(txn).await? {
        return Ok(tenant.id);
    }
    let now = Utc::now();
    tenants::Entity::insert(tenants::ActiveModel {
        id: Set(Uuid::now_v7()),
        hub_tenant_id: Set(hub_id.to_string()),
        name: Set(name.to_string()),
        crm_hourly_rate_cents: Set(None),
        notification_email: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    })
    .on_conflict_do_nothing_on([tenants::Column::HubTenantId])
    .exec_without_returning(txn)
    .await?;
    find()
        .one(txn)
        .await?
        .map(|t| t.id)
        .ok_or_else(|| DbErr::RecordNotFound(format!("tenant {hub_id} after insert")))
}

async fn count_existing(txn: &DatabaseTransaction, tenant: Uuid) -> Result<DemoSummary, DbErr> {
    Ok(DemoSummary {
        organizations: organizations::Entity::find()
            .filter(organizations::Column::TenantId.eq(tenant))
            .count(txn)
            .await?,
        repositories: repositories::Entity::find()
            .filter(repositories::Column::TenantId.eq(tenant))
            .count(txn)
            .await?,
        findings: findings::Entity::find()
            .filter(findings::Column::TenantId.eq(tenant))
            .count(txn)
            .await?,
        recommendations: recommendations::Entity::find()
            .filter(recommendations::Column::TenantId.eq(tenant))
            .count(txn)
            .await?,
        projects: projects::Entity::find()
            .filter(projects::Column::TenantId.eq(tenant))
            .count(txn)
            .await?,
        agents: agents::Entity::find()
            .filter(agents::Column::TenantId.eq(tenant))
            .count(txn)
            .await?,
        jobs: jobs::Entity::find()
            .filter(jobs::Column::TenantId.eq(tenant))
            .count(txn)
            .await?,
        already_seeded: true,
    })
}

/// Inserts `rows` in batches of at most [`CHUNK`].
async fn insert_all<A>(txn: &DatabaseTransaction, rows: Vec<A>) -> Result<(), DbErr>
where
    A: ActiveModelTrait + Send,
{
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let chunk: Vec<A> = rows.by_ref().take(CHUNK).collect();
        <A::Entity as EntityTrait>::insert_many(chunk)
            .exec_without_returning(txn)
            .await?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Small helpers
// ---------------------------------------------------------------------------------------------

/// A UUID v7 carrying `at` as its time, so id order follows `created_at`.
fn id_at(at: DateTime<Utc>) -> Uuid {
    let seconds = u64::try_from(at.timestamp()).unwrap_or(0);
    Uuid::new_v7(Timestamp::from_unix_time(
        seconds,
        at.timestamp_subsec_nanos(),
        0,
        0,
    ))
}

/// Picks by weight.
fn weighted<'a, T>(rng: &mut StdRng, items: &'a [(T, u32)]) -> &'a T {
    let total: u32 = items.iter().map(|(_, w)| w).sum();
    let mut roll = rng.random_range(0..total);
    for (item, weight) in items {
        if roll < *weight {
            return item;
        }
        roll -= weight;
    }
    &items[items.len() - 1].0
}

fn pick<'a, T>(rng: &mut StdRng, items: &'a [T]) -> &'a T {
    items.choose(rng).expect("a non-empty list")
}

fn pick_copy<T: Copy>(rng: &mut StdRng, items: &[T]) -> T {
    *pick(rng, items)
}

/// A time between `from_days` and `to_days` days before `now`.
fn days_ago(rng: &mut StdRng, now: DateTime<Utc>, from_days: i64, to_days: i64) -> DateTime<Utc> {
    now - Duration::minutes(rng.random_range(from_days * 1440..=to_days * 1440))
}

/// A time between `a` and `b` (`a` if they are in the wrong order).
fn between(rng: &mut StdRng, a: DateTime<Utc>, b: DateTime<Utc>) -> DateTime<Utc> {
    let span = (b - a).num_seconds();
    if span <= 0 {
        return a;
    }
    a + Duration::seconds(rng.random_range(0..=span))
}

fn fingerprint(parts: &str) -> String {
    hex::encode(Sha256::digest(parts.as_bytes()))
}

/// `1234567` → `1,234,567`.
fn thousands(n: i64) -> String {
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

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

// ---------------------------------------------------------------------------------------------
// The catalogue the generator draws from
// ---------------------------------------------------------------------------------------------

/// Clients: name, PSA client id, CRM account id.
const CLIENTS: &[(&str, Option<&str>, Option<&str>)] = &[
    ("Northwind Traders", Some("PSA-C-1001"), Some("CRM-0041127")),
    ("Contoso Health", Some("PSA-C-1002"), Some("CRM-0041188")),
    ("Fabrikam Logistics", Some("PSA-C-1003"), None),
    ("Tailspin Toys", Some("PSA-C-1004"), Some("CRM-0041302")),
    ("Wingtip Financial", Some("PSA-C-1005"), Some("CRM-0041355")),
    ("Adventure Works", None, Some("CRM-0041410")),
    ("Grace Community Church", Some("PSA-C-1007"), None),
];

struct OrgSpec {
    provider: Provider,
    login: &'static str,
    name: &'static str,
    client: usize,
    repos: usize,
    base_permission: Option<&'static str>,
    status_error: Option<&'static str>,
    /// Healthcare and finance: more confidential and regulated data.
    sensitive: bool,
    /// Azure DevOps projects the repositories live in.
    projects: &'static [&'static str],
}

const ORGS: &[OrgSpec] = &[
    OrgSpec {
        provider: Provider::Github,
        login: "northwind-traders",
        name: "Northwind Traders",
        client: 0,
        repos: 68,
        base_permission: Some("read"),
        status_error: None,
        sensitive: false,
        projects: &[],
    },
    OrgSpec {
        provider: Provider::Github,
        login: "contoso-health",
        name: "Contoso Health",
        client: 1,
        repos: 54,
        base_permission: Some("none"),
        status_error: None,
        sensitive: true,
        projects: &[],
    },
    OrgSpec {
        provider: Provider::Gitlab,
        login: "fabrikam",
        name: "Fabrikam Logistics",
        client: 2,
        repos: 50,
        base_permission: None,
        status_error: None,
        sensitive: false,
        projects: &[],
    },
    OrgSpec {
        provider: Provider::Gitlab,
        login: "tailspin-toys",
        name: "Tailspin Toys",
        client: 3,
        repos: 31,
        base_permission: None,
        status_error: Some(
            "GitLab answered 401 Unauthorized: the group access token expired on the 3rd; \
             reconnect the group to resume discovery",
        ),
        sensitive: false,
        projects: &[],
    },
    OrgSpec {
        provider: Provider::AzureDevops,
        login: "wingtip-financial",
        name: "Wingtip Financial",
        client: 4,
        repos: 61,
        base_permission: None,
        status_error: None,
        sensitive: true,
        projects: &["Core Banking", "Digital Channels", "Platform"],
    },
    OrgSpec {
        provider: Provider::AzureDevops,
        login: "adventureworks",
        name: "Adventure Works",
        client: 5,
        repos: 36,
        base_permission: None,
        status_error: None,
        sensitive: false,
        projects: &["Retail", "Operations"],
    },
];

/// Where vulnerable dependencies of a stack come from.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Eco {
    Npm,
    PyPi,
    Maven,
    NuGet,
    Go,
    /// OS packages of the container image.
    Image,
    /// Nothing a dependency scanner understands.
    None,
}

struct Stack {
    tech: &'static [&'static str],
    eco: Eco,
    legacy: bool,
}

const fn st(tech: &'static [&'static str], eco: Eco) -> Stack {
    Stack {
        tech,
        eco,
        legacy: false,
    }
}

const fn old(tech: &'static [&'static str], eco: Eco) -> Stack {
    Stack {
        tech,
        eco,
        legacy: true,
    }
}

struct AppType {
    name: &'static str,
    weight: u32,
    components: &'static [&'static str],
    stacks: &'static [Stack],
    /// Empty: the provider's package registry.
    hosting: &'static [&'static str],
}

const APP_TYPES: &[AppType] = &[
    AppType {
        name: "web app",
        weight: 24,
        components: &["web", "portal", "admin", "dashboard", "site", "frontend"],
        stacks: &[
            st(&["TypeScript", "React", "Next.js"], Eco::Npm),
            st(&["TypeScript", "Angular 17", "RxJS"], Eco::Npm),
            st(&["TypeScript", "Vue 3", "Vite"], Eco::Npm),
            old(&["JavaScript", "AngularJS 1.x", "jQuery"], Eco::Npm),
            st(
                &["C#", "ASP.NET Core 8", "Blazor", "SQL Server"],
                Eco::NuGet,
            ),
            old(
                &["C#", "ASP.NET MVC 5", ".NET Framework 4.8", "SQL Server"],
                Eco::NuGet,
            ),
            st(&["Python", "Django 4.2", "PostgreSQL"], Eco::PyPi),
            old(&["PHP 7.4", "Laravel 6", "MySQL"], Eco::Image),
            st(
                &["Java", "Spring Boot 3", "Thymeleaf", "PostgreSQL"],
                Eco::Maven,
            ),
        ],
        hosting: &[
            "Azure App Service",
            "AWS ECS Fargate",
            "Kubernetes (AKS)",
            "On-premises IIS",
            "Vercel",
            "On-premises VM",
        ],
    },
    AppType {
        name: "API",
        weight: 26,
        components: &["api", "service", "gateway", "backend", "svc"],
        stacks: &[
            st(&["Go", "gRPC", "PostgreSQL"], Eco::Go),
            st(&["C#", "ASP.NET Core 8", "Azure SQL"], Eco::NuGet),
            old(&["C#", "WCF", ".NET Framework 4.7.2"], Eco::NuGet),
            st(&["Python", "FastAPI", "Redis"], Eco::PyPi),
            old(&["Python 2.7", "Flask", "MySQL"], Eco::PyPi),
            st(&["Java", "Spring Boot 2.7", "Kafka"], Eco::Maven),
            st(&["Node.js", "Express", "MongoDB"], Eco::Npm),
            st(&["TypeScript", "NestJS", "PostgreSQL"], Eco::Npm),
            st(&["Rust", "axum", "PostgreSQL"], Eco::Image),
        ],
        hosting: &[
            "Azure App Service",
            "Kubernetes (AKS)",
            "AWS ECS Fargate",
            "On-premises IIS",
            "Google Cloud Run",
            "On-premises VM",
        ],
    },
    AppType {
        name: "library",
        weight: 10,
        components: &["lib", "sdk", "common", "shared", "client", "utils"],
        stacks: &[
            st(&["TypeScript"], Eco::Npm),
            st(&["C#", ".NET Standard 2.0"], Eco::NuGet),
            st(&["Python"], Eco::PyPi),
            st(&["Java"], Eco::Maven),
            st(&["Go"], Eco::Go),
        ],
        hosting: &[],
    },
    AppType {
        name: "mobile app",
        weight: 6,
        components: &["ios", "android", "mobile", "app"],
        stacks: &[
            st(&["Swift", "SwiftUI"], Eco::None),
            st(&["Kotlin", "Jetpack Compose"], Eco::Maven),
            st(&["Dart", "Flutter"], Eco::None),
            st(&["TypeScript", "React Native"], Eco::Npm),
            old(&["C#", "Xamarin.Forms"], Eco::NuGet),
        ],
        hosting: &["App Store / Google Play", "Intune (managed app)"],
    },
    AppType {
        name: "desktop app",
        weight: 8,
        components: &["desktop", "client", "tool", "manager", "station"],
        stacks: &[
            old(&["C#", "WPF", ".NET Framework 4.8"], Eco::NuGet),
            old(&["VB.NET", "WinForms", ".NET Framework 4.6"], Eco::NuGet),
            st(&["C#", "WinUI 3", ".NET 8"], Eco::NuGet),
            st(&["TypeScript", "Electron"], Eco::Npm),
            old(&["Delphi", "VCL"], Eco::None),
        ],
        hosting: &["Intune (MSI package)", "File share installer", "ClickOnce"],
    },
    AppType {
        name: "worker",
        weight: 10,
        components: &[
            "worker",
            "jobs",
            "functions",
            "sync",
            "scheduler",
            "processor",
        ],
        stacks: &[
            st(&["C#", "Azure Functions", ".NET 8"], Eco::NuGet),
            st(&["Python", "Celery", "RabbitMQ"], Eco::PyPi),
            st(&["Node.js", "BullMQ", "Redis"], Eco::Npm),
            st(&["Go", "NATS"], Eco::Go),
            old(&["C#", "Windows Service", ".NET Framework 4.8"], Eco::NuGet),
        ],
        hosting: &[
            "Azure Functions",
            "AWS Lambda",
            "Kubernetes (AKS)",
            "On-premises VM (Task Scheduler)",
        ],
    },
    AppType {
        name: "data pipeline",
        weight: 8,
        components: &[
            "etl",
            "pipeline",
            "importer",
            "exporter",
            "warehouse",
            "reports",
        ],
        stacks: &[
            st(&["Python", "Airflow", "Snowflake"], Eco::PyPi),
            st(&["Python", "pandas", "PostgreSQL"], Eco::PyPi),
            st(&["Scala", "Apache Spark", "Databricks"], Eco::Maven),
            st(&["SQL", "dbt", "BigQuery"], Eco::PyPi),
            old(&["T-SQL", "SSIS", "SQL Server 2012"], Eco::None),
        ],
        hosting: &[
            "Airflow on AKS",
            "Azure Data Factory",
            "Databricks",
            "On-premises VM (cron)",
        ],
    },
    AppType {
        name: "infrastructure",
        weight: 8,
        components: &["infra", "terraform", "deploy", "k8s", "iac", "platform"],
        stacks: &[
            st(&["Terraform", "HCL", "Azure"], Eco::None),
            st(&["Terraform", "HCL", "AWS"], Eco::None),
            st(&["Bicep", "Azure"], Eco::None),
            st(&["Ansible", "YAML"], Eco::None),
            st(&["Helm", "Kubernetes"], Eco::Image),
        ],
        hosting: &["Azure", "AWS", "On-premises"],
    },
];

const DOMAINS: &[&str] = &[
    "billing",
    "customer",
    "inventory",
    "payroll",
    "claims",
    "patient",
    "booking",
    "shipping",
    "orders",
    "catalog",
    "pricing",
    "invoicing",
    "reporting",
    "identity",
    "notifications",
    "scheduling",
    "warehouse",
    "fleet",
    "loyalty",
    "crm",
    "hr",
    "timesheets",
    "documents",
    "search",
    "analytics",
    "payments",
    "onboarding",
    "compliance",
    "audit",
    "procurement",
    "tracking",
    "pharmacy",
    "lab-results",
    "appointments",
    "ledger",
    "treasury",
    "returns",
    "routing",
    "supplier",
    "marketing",
    "intranet",
    "support",
];

/// A vulnerable dependency: ecosystem, package, vulnerable version, fixed version, CVE,
/// severity, what it is.
type Vuln = (
    Eco,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    Severity,
    &'static str,
);

#[rustfmt::skip]
const VULNS: &[Vuln] = &[
    (Eco::Npm, "lodash", "4.17.20", "4.17.21", "CVE-2021-23337", Severity::High,
        "command injection through template()"),
    (Eco::Npm, "minimist", "1.2.5", "1.2.6", "CVE-2021-44906", Severity::Critical,
        "prototype pollution"),
    (Eco::Npm, "json-schema", "0.2.3", "0.4.0", "CVE-2021-3918", Severity::Critical,
        "prototype pollution"),
    (Eco::Npm, "axios", "1.5.1", "1.6.0", "CVE-2023-45857", Severity::Medium,
        "the XSRF-TOKEN cookie is sent to third-party hosts"),
    (Eco::Npm, "express", "4.18.2", "4.19.2", "CVE-2024-29041", Severity::Medium,
        "open redirect with malformed URLs"),
    (Eco::Npm, "express", "4.19.2", "4.20.0", "CVE-2024-43796", Severity::Low,
        "cross-site scripting through res.redirect()"),
    (Eco::Npm, "ws", "8.17.0", "8.17.1", "CVE-2024-37890", Severity::High,
        "denial of service with many HTTP headers"),
    (Eco::Npm, "braces", "3.0.2", "3.0.3", "CVE-2024-4068", Severity::High,
        "uncontrolled memory consumption"),
    (Eco::Npm, "semver", "7.5.1", "7.5.2", "CVE-2022-25883", Severity::Medium,
        "regular-expression denial of service in range parsing"),
    (Eco::Npm, "tough-cookie", "4.1.2", "4.1.3", "CVE-2023-26136", Severity::Medium,
        "prototype pollution"),
    (Eco::Npm, "follow-redirects", "1.15.5", "1.15.6", "CVE-2024-28849", Severity::Medium,
        "Proxy-Authorization header kept across hosts"),
    (Eco::Npm, "body-parser", "1.20.2", "1.20.3", "CVE-2024-45590", Severity::High,
        "denial of service when URL encoding is enabled"),
    (Eco::Npm, "cookie", "0.6.0", "0.7.0", "CVE-2024-47764", Severity::Low,
        "out-of-bounds characters in cookie name, path and domain"),
    (Eco::Npm, "send", "0.18.0", "0.19.0", "CVE-2024-43799", Severity::Low,
        "template injection leading to cross-site scripting"),
    (Eco::PyPi, "PyYAML", "5.3.1", "5.4", "CVE-2020-14343", Severity::Critical,
        "arbitrary code execution through full_load"),
    (Eco::PyPi, "requests", "2.30.0", "2.31.0", "CVE-2023-32681", Severity::Medium,
        "Proxy-Authorization header leaked on redirects"),
    (Eco::PyPi, "Pillow", "10.1.0", "10.2.0", "CVE-2023-50447", Severity::High,
        "arbitrary code execution through ImageMath.eval"),
    (Eco::PyPi, "Django", "4.2.10", "4.2.11", "CVE-2024-27351", Severity::Medium,
        "regular-expression denial of service in Truncator.words()"),
    (Eco::PyPi, "Werkzeug", "2.3.7", "2.3.8", "CVE-2023-46136", Severity::Medium,
        "denial of service through multipart parsing"),
    (Eco::PyPi, "gunicorn", "21.2.0", "22.0.0", "CVE-2024-1135", Severity::High,
        "HTTP request smuggling"),
    (Eco::PyPi, "idna", "3.6", "3.7", "CVE-2024-3651", Severity::Medium,
        "denial of service through crafted input to idna.encode()"),
    (Eco::Maven, "org.apache.logging.log4j:log4j-core", "2.14.1", "2.17.1", "CVE-2021-44228", Severity::Critical,
        "remote code execution through JNDI lookups (Log4Shell)"),
    (Eco::Maven, "org.springframework:spring-beans", "5.3.17", "5.3.18", "CVE-2022-22965", Severity::Critical,
        "remote code execution through data binding (Spring4Shell)"),
    (Eco::Maven, "org.springframework:spring-web", "6.1.3", "6.1.4", "CVE-2024-22243", Severity::High,
        "open redirect and SSRF through UriComponentsBuilder"),
    (Eco::Maven, "org.apache.commons:commons-text", "1.9", "1.10.0", "CVE-2022-42889", Severity::Critical,
        "remote code execution through variable interpolation (Text4Shell)"),
    (Eco::Maven, "com.fasterxml.jackson.core:jackson-databind", "2.13.4", "2.13.4.2", "CVE-2022-42003", Severity::High,
        "denial of service through deeply nested arrays"),
    (Eco::Maven, "org.yaml:snakeyaml", "1.33", "2.0", "CVE-2022-1471", Severity::High,
        "remote code execution through the Constructor"),
    (Eco::NuGet, "Newtonsoft.Json", "12.0.3", "13.0.1", "CVE-2024-21907", Severity::High,
        "denial of service through deeply nested JSON"),
    (Eco::NuGet, "System.Data.SqlClient", "4.8.5", "4.8.6", "CVE-2024-0056", Severity::High,
        "security feature bypass (adversary in the middle)"),
    (Eco::NuGet, "Azure.Identity", "1.10.1", "1.10.2", "CVE-2023-36414", Severity::High,
        "remote code execution"),
    (Eco::NuGet, "System.Text.Encodings.Web", "4.5.0", "4.5.1", "CVE-2021-26701", Severity::Critical,
        "remote code execution"),
    (Eco::NuGet, "Microsoft.IdentityModel.JsonWebTokens", "7.0.2", "7.1.2", "CVE-2024-21319", Severity::Medium,
        "denial of service through compressed JWE tokens"),
    (Eco::Go, "golang.org/x/net", "0.16.0", "0.17.0", "CVE-2023-44487", Severity::High,
        "HTTP/2 rapid reset denial of service"),
    (Eco::Go, "google.golang.org/grpc", "1.56.2", "1.56.3", "CVE-2023-44487", Severity::High,
        "HTTP/2 rapid reset denial of service"),
    (Eco::Go, "golang.org/x/crypto", "0.16.0", "0.17.0", "CVE-2023-48795", Severity::Medium,
        "SSH prefix truncation (Terrapin)"),
    (Eco::Go, "stdlib", "1.22.3", "1.22.4", "CVE-2024-24790", Severity::Critical,
        "net/netip misclassifies IPv4-mapped IPv6 addresses"),
    (Eco::Image, "curl", "8.3.0", "8.4.0", "CVE-2023-38545", Severity::High,
        "heap overflow in the SOCKS5 proxy handshake"),
    (Eco::Image, "libwebp", "1.3.1", "1.3.2", "CVE-2023-4863", Severity::High,
        "heap overflow in lossless WebP decoding"),
    (Eco::Image, "openssl", "3.0.7", "3.0.8", "CVE-2023-0286", Severity::High,
        "type confusion in X.400 address processing"),
    (Eco::Image, "openssl", "3.1.4", "3.1.5", "CVE-2024-0727", Severity::Low,
        "NULL dereference when parsing PKCS12 files"),
    (Eco::Image, "zlib", "1.2.13", "1.3", "CVE-2023-45853", Severity::Critical,
        "integer overflow in MiniZip"),
];

/// A detected secret: type, what it is, severity, how to fix it.
const SECRETS: &[(&str, &str, Severity, &str)] = &[
    (
        "aws-access-key",
        "AWS access key",
        Severity::Critical,
        "Deactivate the key in IAM now, issue a new one into AWS Secrets Manager, check \
         CloudTrail for use of the old key, and purge it from history with git filter-repo.",
    ),
    (
        "azure-storage-key",
        "Azure Storage account key",
        Severity::Critical,
        "Rotate the storage account key, switch the application to a managed identity or a Key \
         Vault reference, and purge the key from history.",
    ),
    (
        "private-key",
        "RSA private key",
        Severity::Critical,
        "Treat the key pair as compromised: replace it (and any certificate issued for it), \
         store the new key in the secret store, and purge the old one from history.",
    ),
    (
        "stripe-secret-key",
        "Stripe secret key",
        Severity::Critical,
        "Roll the key in the Stripe dashboard, move it to the secret store, and review recent \
         API activity for the old key.",
    ),
    (
        "github-pat",
        "GitHub personal access token",
        Severity::High,
        "Revoke the token, replace it with a fine-grained token or a GitHub App installation \
         token held in the CI secret store.",
    ),
    (
        "database-connection-string",
        "database connection string with a password",
        Severity::High,
        "Change the database user's password, read the connection string from the secret \
         store at start-up, and purge the old one from history.",
    ),
    (
        "sendgrid-api-key",
        "SendGrid API key",
        Severity::High,
        "Delete the key in SendGrid, create a restricted key (Mail Send only) and keep it in \
         the secret store.",
    ),
    (
        "jwt-signing-secret",
        "JWT signing secret",
        Severity::High,
        "Generate a new signing secret (this signs every user out), keep it in the secret \
         store, and purge the old one from history.",
    ),
    (
        "slack-webhook",
        "Slack incoming webhook URL",
        Severity::Medium,
        "Regenerate the webhook in Slack and read it from the CI secret store.",
    ),
    (
        "generic-api-key",
        "API key",
        Severity::Medium,
        "Rotate the key with its issuer and move it to the secret store.",
    ),
    (
        "test-password",
        "password in a test fixture",
        Severity::Low,
        "Confirm the password is not used by any real account, then replace it with a \
         generated value so scanners stop flagging it.",
    ),
];

/// Members and outside collaborators named by the access audit.
const MEMBERS: &[&str] = &[
    "jsmith",
    "mgarcia",
    "anguyen",
    "pkumar",
    "lchen",
    "twilliams",
    "rokafor",
    "dmueller",
    "sbrown",
    "kjohansson",
    "hsato",
    "eperez",
];

const OUTSIDERS: &[&str] = &[
    "ext-devco-jlee",
    "contractor-mtaylor",
    "agency-pixelworks",
    "ext-qa-vendor",
    "freelance-rkhan",
    "old-ci-bot",
    "svc-legacy-deploy",
];

// ---------------------------------------------------------------------------------------------
// The generator
// ---------------------------------------------------------------------------------------------

#[derive(Default)]
struct Demo {
    clients: Vec<clients::ActiveModel>,
    organizations: Vec<organizations::ActiveModel>,
    repositories: Vec<repositories::ActiveModel>,
    findings: Vec<findings::ActiveModel>,
    recommendations: Vec<recommendations::ActiveModel>,
    projects: Vec<projects::ActiveModel>,
    agents: Vec<agents::ActiveModel>,
    jobs: Vec<jobs::ActiveModel>,
    job_events: Vec<job_events::ActiveModel>,
    agent_commands: Vec<agent_commands::ActiveModel>,
}

/// What the finding and recommendation generators need to know about a repository.
struct Repo<'a> {
    id: Uuid,
    name: String,
    full_name: String,
    org: &'a OrgSpec,
    app: &'a AppType,
    stack: &'a Stack,
    lifecycle: Lifecycle,
    health: i32,
    frequency: f64,
    last_commit: DateTime<Utc>,
    hosting: String,
    classification: &'static str,
    branch: &'static str,
    discovered: DateTime<Utc>,
}

fn build(rng: &mut StdRng, tenant: Uuid, now: DateTime<Utc>) -> Demo {
    let mut demo = Demo::default();
    let client_ids = build_clients(rng, &mut demo, tenant, now);
    build_code(rng, &mut demo, tenant, now, &client_ids);
    build_migrate(rng, &mut demo, tenant, now, &client_ids);
    demo
}

fn build_clients(rng: &mut StdRng, demo: &mut Demo, tenant: Uuid, now: DateTime<Utc>) -> Vec<Uuid> {
    let mut ids = Vec::new();
    for (name, psa, crm) in CLIENTS {
        let at = days_ago(rng, now, 400, 500);
        let id = id_at(at);
        ids.push(id);
        demo.clients.push(clients::ActiveModel {
            id: Set(id),
            tenant_id: Set(tenant),
            name: Set(name.to_string()),
            psa_client_id: Set(psa.map(str::to_string)),
            crm_account_id: Set(crm.map(str::to_string)),
            created_at: Set(at),
            updated_at: Set(at),
        });
    }
    ids
}

fn build_code(
    rng: &mut StdRng,
    demo: &mut Demo,
    tenant: Uuid,
    now: DateTime<Utc>,
    client_ids: &[Uuid],
) {
    let mut finding_seq = 0usize;
    for org in ORGS {
        let connected = days_ago(rng, now, 60, 380);
        let org_id = id_at(connected);
        let discovered = now - Duration::minutes(rng.random_range(20..600));
        let external_id = match org.provider {
            // An installation's account is connected in one tenant only (a unique index): the
            // demo's made-up accounts are per tenant.
            Provider::Github => format!(
                "demo:{tenant}:{}",
                rng.random_range(10_000_000..160_000_000u64)
            ),
            Provider::Gitlab => rng.random_range(4_000_000..90_000_000u64).to_string(),
            Provider::AzureDevops => uuid::Builder::from_random_bytes(rng.random())
                .into_uuid()
                .to_string(),
        };
        demo.organizations.push(organizations::ActiveModel {
            id: Set(org_id),
            tenant_id: Set(tenant),
            client_id: Set(Some(client_ids[org.client])),
            provider: Set(org.provider),
            login: Set(org.login.to_string()),
            name: Set(org.name.to_string()),
            external_id: Set(Some(external_id)),
            status: Set(if org.status_error.is_some() {
                OrgStatus::Error
            } else {
                OrgStatus::Connected
            }),
            status_error: Set(org.status_error.map(str::to_string)),
            status_error_code: Set(org.status_error.map(|_| "UPSTREAM_UNAVAILABLE".to_string())),
            base_permission: Set(org.base_permission.map(str::to_string)),
            // Demo organizations hold no upstream credentials.
            credentials_encrypted: Set(None),
            repo_count: Set(org.repos as i32),
            connected_at: Set(Some(connected)),
            last_discovered_at: Set(Some(if org.status_error.is_some() {
                discovered - Duration::days(4)
            } else {
                discovered
            })),
            next_retry_at: Set(org
                .status_error
                .map(|_| now + Duration::minutes(rng.random_range(10..120)))),
            discovery_queued_at: Set(None),
            last_discovery: Set(None),
            created_at: Set(connected),
            updated_at: Set(discovered),
        });

        let mut names = HashSet::new();
        for index in 0..org.repos {
            let repo = build_repo(
                rng,
                demo,
                tenant,
                now,
                org,
                org_id,
                client_ids[org.client],
                connected + Duration::seconds(index as i64),
                &mut names,
            );
            let open = build_findings(rng, demo, tenant, now, &repo, &mut finding_seq);
            build_recommendation(rng, demo, tenant, now, &repo, open);
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn build_repo<'a>(
    rng: &mut StdRng,
    demo: &mut Demo,
    tenant: Uuid,
    now: DateTime<Utc>,
    org: &'a OrgSpec,
    org_id: Uuid,
    client_id: Uuid,
    discovered: DateTime<Utc>,
    names: &mut HashSet<String>,
) -> Repo<'a> {
    let weights: Vec<(usize, u32)> = APP_TYPES
        .iter()
        .enumerate()
        .map(|(i, a)| (i, a.weight))
        .collect();
    let app = &APP_TYPES[*weighted(rng, &weights)];
    let stack = pick(rng, app.stacks);
    let name = loop {
        let mut name = format!("{}-{}", pick(rng, DOMAINS), pick(rng, app.components));
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
            let project = pick(rng, org.projects);
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
    let id = id_at(discovered);
    demo.repositories.push(repositories::ActiveModel {
        id: Set(id),
        tenant_id: Set(tenant),
        organization_id: Set(org_id),
        client_id: Set(Some(client_id)),
        name: Set(name.clone()),
        full_name: Set(full_name.clone()),
        url: Set(url),
        default_branch: Set(Some(branch.to_string())),
        visibility: Set(Some(visibility.to_string())),
        archived: Set(archived),
        app_type: Set(Some(app.name.to_string())),
        tech_stack: Set(json!(stack.tech)),
        health_score: Set(Some(health)),
        debt_score: Set(Some(debt)),
        last_commit_at: Set(Some(last_commit)),
        commit_frequency: Set(Some(frequency)),
        hosting_platform: Set(Some(hosting.clone())),
        data_classification: Set(Some(classification.to_string())),
        lifecycle: Set(lifecycle),
        external_id: Set(Some(external_id)),
        missing_since: Set(missing_since),
        created_at: Set(discovered),
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
        discovered,
    }
}

/// Where an application of this type and stack plausibly runs.
fn hosting_for(rng: &mut StdRng, org: &OrgSpec, app: &AppType, stack: &Stack) -> &'static str {
    let has = |tech: &str| stack.tech.iter().any(|t| t.contains(tech));
    let windows_only = has(".NET Framework") || has("WCF");
    if app.hosting.is_empty() {
        match org.provider {
            Provider::Github => "GitHub Packages",
            Provider::Gitlab => "GitLab Package Registry",
            Provider::AzureDevops => "Azure Artifacts",
        }
    } else if app.name == "infrastructure" && has("Azure") {
        "Azure"
    } else if app.name == "infrastructure" && has("AWS") {
        "AWS"
    } else if has("SSIS") {
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
            .copied()
            .filter(|h| *h != "Vercel" || stack.eco == Eco::Npm)
            .collect();
        pick_copy(rng, &fits)
    }
}

fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
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

/// Adds the repository's findings; returns how many are open.
fn build_findings(
    rng: &mut StdRng,
    demo: &mut Demo,
    tenant: Uuid,
    now: DateTime<Utc>,
    repo: &Repo,
    seq: &mut usize,
) -> usize {
    let count = *weighted(
        rng,
        match repo.lifecycle {
            Lifecycle::Active => &[
                (0usize, 25),
                (1, 20),
                (2, 20),
                (3, 15),
                (4, 10),
                (5, 6),
                (7, 4),
            ],
            Lifecycle::Sunset => &[(1, 20), (2, 25), (3, 25), (5, 20), (8, 10)],
            Lifecycle::Dead => &[(0, 20), (1, 30), (2, 30), (4, 20)],
        },
    );
    let has_deps = repo.stack.eco != Eco::None;
    let mut seen = HashSet::new();
    let mut open = 0;
    for _ in 0..count {
        let kind = if has_deps {
            *weighted(
                rng,
                &[
                    (FindingKind::Vulnerability, 55),
                    (FindingKind::SecretDetected, 20),
                    (FindingKind::AccessIssue, 25),
                ],
            )
        } else {
            *weighted(
                rng,
                &[
                    (FindingKind::SecretDetected, 45),
                    (FindingKind::AccessIssue, 55),
                ],
            )
        };
        let draft = match kind {
            FindingKind::Vulnerability => vulnerability(rng, repo),
            FindingKind::SecretDetected => secret(rng, repo),
            _ => access_issue(rng, repo),
        };
        // One finding per subject and repository, as a scanner would dedupe them.
        if let Some(draft) = draft.filter(|d| seen.insert(d.title.clone())) {
            open += push_finding(rng, demo, tenant, now, repo, draft, seq);
        }
    }
    let sunset_odds = match repo.lifecycle {
        Lifecycle::Sunset => 0.8,
        Lifecycle::Dead => 0.9,
        Lifecycle::Active if repo.health < 62 && repo.frequency < 2.0 => 0.3,
        Lifecycle::Active => 0.0,
    };
    if rng.random_bool(sunset_odds) {
        let draft = sunset_decision(rng, now, repo);
        open += push_finding(rng, demo, tenant, now, repo, draft, seq);
    }
    open
}

/// The kind-specific part of a finding.
struct Draft {
    kind: FindingKind,
    access_issue: Option<AccessIssue>,
    severity: Severity,
    title: String,
    description: String,
    file_path: Option<String>,
    line: Option<i32>,
    cve_id: Option<String>,
    package_name: Option<String>,
    package_version: Option<String>,
    secret_type: Option<String>,
    remediation: String,
    tool: Option<&'static str>,
}

impl Draft {
    fn new(kind: FindingKind, severity: Severity, title: String, description: String) -> Self {
        Draft {
            kind,
            access_issue: None,
            severity,
            title,
            description,
            file_path: None,
            line: None,
            cve_id: None,
            package_name: None,
            package_version: None,
            secret_type: None,
            remediation: String::new(),
            tool: None,
        }
    }
}

fn vulnerability(rng: &mut StdRng, repo: &Repo) -> Option<Draft> {
    let eco = repo.stack.eco;
    let candidates: Vec<&Vuln> = VULNS.iter().filter(|v| v.0 == eco).collect();
    let &&(_, package, version, fixed, cve, severity, what) = candidates.choose(rng)?;
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
        Eco::Go if package == "stdlib" => {
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
        severity,
        format!("{cve} in {package} {version}"),
        format!(
            "{package} {version} is affected by {cve}: {what}. Fixed in {fixed}. Declared in \
             {file} on {branch}.",
            branch = repo.branch
        ),
    );
    draft.file_path = Some(file);
    draft.cve_id = Some(cve.to_string());
    draft.package_name = Some(package.to_string());
    draft.package_version = Some(version.to_string());
    draft.remediation = remediation;
    draft.tool = Some(tool);
    Some(draft)
}

fn secret(rng: &mut StdRng, repo: &Repo) -> Option<Draft> {
    let (secret_type, label, severity, remediation) = *pick(rng, SECRETS);
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
    draft.secret_type = Some(secret_type.to_string());
    draft.remediation = remediation.to_string();
    draft.tool = Some(match repo.org.provider {
        Provider::Github => "github-secret-scanning",
        _ => "gitleaks",
    });
    Some(draft)
}

fn capitalize(s: &str) -> String {
    let mut chars = s.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

fn access_issue(rng: &mut StdRng, repo: &Repo) -> Option<Draft> {
    let issue = *weighted(
        rng,
        &[
            (AccessIssue::PermissionDrift, 40),
            (AccessIssue::OrphanedAccess, 35),
            (AccessIssue::Missing2fa, 25),
        ],
    );
    let name = &repo.name;
    let mut draft = match issue {
        AccessIssue::PermissionDrift => {
            let user = pick(rng, MEMBERS);
            let (role, default, severity) = match repo.org.provider {
                Provider::Github => {
                    let role = *pick(rng, &["admin", "maintain", "write"]);
                    let default = format!(
                        "the organization's base permission ({})",
                        repo.org.base_permission.unwrap_or("read")
                    );
                    let severity = if role == "admin" {
                        Severity::High
                    } else {
                        Severity::Medium
                    };
                    (role, default, severity)
                }
                Provider::Gitlab => {
                    let role = *pick(rng, &["Owner", "Maintainer"]);
                    let severity = if role == "Owner" {
                        Severity::High
                    } else {
                        Severity::Medium
                    };
                    (role, "the group default (Developer)".to_string(), severity)
                }
                Provider::AzureDevops => {
                    let role = *pick(rng, &["Project Administrator", "Build Administrator"]);
                    let severity = if role == "Project Administrator" {
                        Severity::High
                    } else {
                        Severity::Medium
                    };
                    (
                        role,
                        "the project default (Contributors)".to_string(),
                        severity,
                    )
                }
            };
            let granted = rng.random_range(20..400);
            let mut d = Draft::new(
                FindingKind::AccessIssue,
                severity,
                format!("{user} has {role} on {name}, above {default}"),
                format!(
                    "{user} was granted {role} directly on the repository {granted} days ago; \
                     team membership gives them only {default}. Direct grants bypass the team \
                     review and are easy to forget."
                ),
            );
            d.remediation = "Remove the direct grant, or move the person into a team that \
                             carries the intended permission; review repository admins every \
                             quarter."
                .to_string();
            d
        }
        AccessIssue::OrphanedAccess => {
            let user = pick(rng, OUTSIDERS);
            let days = rng.random_range(95..=620);
            let write = rng.random_bool(0.4);
            let mut d = Draft::new(
                FindingKind::AccessIssue,
                if write {
                    Severity::Medium
                } else {
                    Severity::Low
                },
                format!("Outside collaborator {user} inactive for {days} days on {name}"),
                format!(
                    "{user} still has {access} access to {name} but has not pushed, reviewed or \
                     signed in for {days} days.",
                    access = if write { "write" } else { "read" }
                ),
            );
            d.remediation = "Remove the collaborator, or renew the access with an end date if \
                             the engagement continues."
                .to_string();
            d
        }
        AccessIssue::Missing2fa => {
            let user = pick(rng, MEMBERS);
            let (title, description) = match repo.org.provider {
                Provider::AzureDevops => (
                    format!("{user} can push to {name} without multi-factor authentication"),
                    format!(
                        "No Conditional Access policy requires MFA for {user}, who has \
                         Contributor rights on {name}."
                    ),
                ),
                _ => (
                    format!("{user} can push to {name} without two-factor authentication"),
                    format!(
                        "{user} is a member with write access to {name} and has not enabled \
                         two-factor authentication."
                    ),
                ),
            };
            let mut d = Draft::new(FindingKind::AccessIssue, Severity::High, title, description);
            d.remediation = "Require two-factor authentication for the organization (members \
                             must enrol before their access resumes), or ask the member to \
                             enrol now."
                .to_string();
            d
        }
    };
    draft.access_issue = Some(issue);
    draft.tool = Some("access-audit");
    Some(draft)
}

fn sunset_decision(rng: &mut StdRng, now: DateTime<Utc>, repo: &Repo) -> Draft {
    let months = ((now - repo.last_commit).num_days() / 30).max(1);
    let severity = match (repo.lifecycle, repo.classification) {
        (Lifecycle::Dead, "regulated" | "confidential") => Severity::High,
        (Lifecycle::Dead, _) => Severity::Medium,
        (Lifecycle::Sunset, "regulated") => Severity::Medium,
        _ => Severity::Low,
    };
    let state = match repo.lifecycle {
        Lifecycle::Dead => "is marked dead",
        Lifecycle::Sunset => "is being retired",
        Lifecycle::Active => "is still marked active",
    };
    let mut draft = Draft::new(
        FindingKind::SunsetDecision,
        severity,
        format!("Decide whether to retire {}", repo.name),
        format!(
            "{name} {state}: last commit {months} month{s} ago, {freq} commits a week, health \
             {health}/100, still hosted on {hosting} and holding {class} data. Nobody has \
             decided whether it is retired or kept.",
            name = repo.name,
            s = if months == 1 { "" } else { "s" },
            freq = repo.frequency,
            health = repo.health,
            hosting = repo.hosting,
            class = repo.classification,
        ),
    );
    draft.remediation = if rng.random_bool(0.5) {
        "Confirm with the application owner. If it is retired: export its data under the \
         retention policy, archive the repository and remove its hosting. If it is kept: plan \
         the recommended migration."
    } else {
        "Check the access logs for the last 90 days; with no real use, archive the repository \
         and schedule the shutdown of its hosting with the client."
    }
    .to_string();
    draft.tool = Some("lifecycle-review");
    draft
}

/// Stores a drafted finding with a status and its times; returns 1 if it is open.
fn push_finding(
    rng: &mut StdRng,
    demo: &mut Demo,
    tenant: Uuid,
    now: DateTime<Utc>,
    repo: &Repo,
    draft: Draft,
    seq: &mut usize,
) -> usize {
    *seq += 1;
    let status = *weighted(
        rng,
        match (draft.kind, repo.lifecycle) {
            (FindingKind::SunsetDecision, _) => &[
                (FindingStatus::Open, 80),
                (FindingStatus::Resolved, 12),
                (FindingStatus::Ignored, 8),
            ],
            (_, Lifecycle::Dead) => &[
                (FindingStatus::Open, 45),
                (FindingStatus::Resolved, 10),
                (FindingStatus::Ignored, 45),
            ],
            _ => &[
                (FindingStatus::Open, 62),
                (FindingStatus::Resolved, 28),
                (FindingStatus::Ignored, 10),
            ],
        },
    );
    let first_seen = between(rng, repo.discovered, now - Duration::hours(6));
    let (last_seen, resolved_at) = match status {
        FindingStatus::Resolved => {
            let resolved = between(rng, first_seen, now - Duration::hours(1));
            (between(rng, first_seen, resolved), Some(resolved))
        }
        _ => (now - Duration::minutes(rng.random_range(10..2880)), None),
    };
    let updated = resolved_at.unwrap_or(last_seen);
    demo.findings.push(findings::ActiveModel {
        id: Set(id_at(first_seen)),
        tenant_id: Set(tenant),
        repository_id: Set(repo.id),
        kind: Set(draft.kind),
        access_issue: Set(draft.access_issue),
        severity: Set(draft.severity),
        status: Set(status),
        fingerprint: Set(fingerprint(&format!(
            "{}|{}|{}|{}",
            repo.full_name,
            draft.kind.to_value(),
            draft.title,
            seq
        ))),
        title: Set(draft.title),
        description: Set(draft.description),
        file_path: Set(draft.file_path),
        line: Set(draft.line),
        cve_id: Set(draft.cve_id),
        package_name: Set(draft.package_name),
        package_version: Set(draft.package_version),
        secret_type: Set(draft.secret_type),
        remediation: Set(Some(draft.remediation)),
        tool: Set(draft.tool.map(str::to_string)),
        scan_source: Set(None),
        first_seen_at: Set(first_seen),
        last_seen_at: Set(last_seen),
        resolved_at: Set(resolved_at),
        created_at: Set(first_seen),
        updated_at: Set(updated),
    });
    usize::from(status == FindingStatus::Open)
}

fn build_recommendation(
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
    let has = |tech: &str| repo.stack.tech.iter().any(|t| t.contains(tech));
    let name = &repo.name;
    let hosting = &repo.hosting;
    let (title, summary, target, steps, hours): (String, String, String, Vec<&str>, (u32, u32)) =
        if repo.lifecycle != Lifecycle::Active && rng.random_bool(0.7) {
            let months = ((now - repo.last_commit).num_days() / 30).max(1);
            (
                format!("Retire {name}"),
                format!(
                    "{name} has had no meaningful change in {months} months. Retiring it removes \
                     the {hosting} cost and {open_findings} open finding{s} from the estate.",
                    s = if open_findings == 1 { "" } else { "s" }
                ),
                "Retire".to_string(),
                vec![
                    "Confirm with the owner and check 90 days of access logs for real use",
                    "Export the data under the client's retention policy",
                    "Archive the repository and revoke its deploy keys and secrets",
                    "Remove DNS records, certificates and the hosting resources",
                    "Close the CMDB asset and tell the service desk",
                ],
                (8, 32),
            )
        } else if has("SSIS") {
            (
                format!("Move the SSIS packages of {name} to Azure Data Factory"),
                format!(
                    "{name} runs SSIS packages on SQL Server 2012, out of extended support. \
                     Azure Data Factory runs SSIS packages as they are and adds scheduling, \
                     retries and monitoring."
                ),
                "Azure Data Factory".to_string(),
                vec![
                    "Inventory the packages, connections and schedules",
                    "Provision an Azure-SSIS integration runtime",
                    "Deploy the packages to the SSIS catalog in Azure SQL",
                    "Replace SQL Agent jobs with Data Factory triggers",
                    "Run both in parallel for a month, then switch off the old server",
                ],
                (60, 180),
            )
        } else if has("Delphi") || (repo.app.name == "desktop app" && repo.stack.legacy) {
            (
                format!("Replace the {name} desktop client with a web application"),
                format!(
                    "{name} is a Windows desktop client ({}) installed from {hosting}. A web \
                     front-end on the existing APIs removes the installs and works on any device.",
                    repo.stack.tech.join(", ")
                ),
                "Azure App Service".to_string(),
                vec![
                    "Map the screens and workflows with the key users",
                    "Expose the business logic as an API",
                    "Build the web front-end screen by screen, most used first",
                    "Pilot with one department",
                    "Roll out and withdraw the desktop package",
                ],
                (240, 640),
            )
        } else if has("Xamarin") {
            (
                format!("Move {name} from Xamarin.Forms to .NET MAUI"),
                "Support for Xamarin ended in May 2024 and the stores will stop accepting \
                 builds made with it; .NET MAUI is its successor and keeps most of the code."
                    .to_string(),
                hosting.clone(),
                vec![
                    "Run the .NET Upgrade Assistant on the solution",
                    "Replace custom renderers with MAUI handlers",
                    "Move third-party controls to their MAUI versions",
                    "Test on the current iOS and Android versions",
                    "Release through the stores",
                ],
                (80, 240),
            )
        } else if has(".NET Framework") || has("WCF") {
            let target = *pick(rng, &["Azure App Service", "Azure Container Apps"]);
            let framework = repo
                .stack
                .tech
                .iter()
                .find(|t| t.starts_with(".NET Framework"))
                .copied()
                .unwrap_or(".NET Framework");
            (
                format!("Upgrade {name} to .NET 8"),
                format!(
                    "{name} runs on {framework}, which only gets fixes with Windows and ties it \
                     to Windows hosting ({hosting}). .NET 8 (LTS) runs on {target}, in \
                     containers and on Linux, and is faster and cheaper to run."
                ),
                target.to_string(),
                vec![
                    "Run the .NET Upgrade Assistant on the solution",
                    "Replace System.Web, WCF and Web.config with their ASP.NET Core equivalents",
                    "Move configuration and secrets to App Configuration and Key Vault",
                    "Add a CI pipeline with tests and dependency scanning",
                    "Deploy to a staging slot and run the regression suite",
                    "Swap slots and decommission the old host",
                ],
                (80, 320),
            )
        } else if has("AngularJS") {
            (
                format!("Rewrite the {name} front-end from AngularJS to Angular"),
                format!(
                    "AngularJS has been out of support since January 2022; {name} gets no \
                     security fixes. An incremental rewrite keeps it running during the move."
                ),
                "Azure Static Web Apps".to_string(),
                vec![
                    "Set up Angular side by side with the hybrid router",
                    "Port shared services and the API client first",
                    "Rewrite the views route by route",
                    "Replace jQuery plugins with maintained components",
                    "Remove AngularJS and move hosting to Static Web Apps",
                ],
                (160, 480),
            )
        } else if has("Python 2.7") {
            (
                format!("Port {name} to Python 3.12"),
                format!(
                    "Python 2.7 has been unsupported since January 2020 and its libraries no \
                     longer receive fixes. {name} should move to Python 3.12 and a container."
                ),
                "Azure Container Apps".to_string(),
                vec![
                    "Raise test coverage on the critical paths",
                    "Run pyupgrade and fix the str/bytes boundaries",
                    "Upgrade Flask and the database driver",
                    "Build a container image and deploy to a staging environment",
                    "Cut over and remove the old VM",
                ],
                (60, 200),
            )
        } else if hosting.starts_with("On-premises") {
            if repo.app.name == "worker" {
                (
                    format!("Move {name} to Azure Functions"),
                    format!(
                        "{name} runs as a scheduled task on an on-premises VM. As a timer- or \
                         queue-triggered function it scales to zero and the VM can go."
                    ),
                    "Azure Functions".to_string(),
                    vec![
                        "Split the work into idempotent units triggered by a timer or a queue",
                        "Move configuration to application settings and Key Vault",
                        "Add retries and poison-message handling",
                        "Run both side by side for two weeks",
                        "Disable the scheduled task and retire the VM",
                    ],
                    (24, 90),
                )
            } else {
                let target = *pick(
                    rng,
                    &[
                        "Azure Container Apps",
                        "AWS ECS Fargate",
                        "Kubernetes (AKS)",
                    ],
                );
                (
                    format!("Containerise {name} and move it off {hosting}"),
                    format!(
                        "{name} runs on {hosting}, patched by hand. A container on {target} \
                         gets automatic patching, scaling and blue-green deployments."
                    ),
                    target.to_string(),
                    vec![
                        "Write a Dockerfile and a health endpoint",
                        "Move configuration into environment variables and the secret store",
                        "Provision the registry and the runtime with Terraform",
                        "Deploy from CI with blue-green slots",
                        "Migrate the database with a replication cut-over",
                        "Shut down the on-premises host",
                    ],
                    (40, 140),
                )
            }
        } else {
            (
                format!("Bring {name}'s dependencies up to date"),
                format!(
                    "{name} ({}) is several major versions behind on its frameworks; each \
                     upgrade left for later makes the next one larger and keeps known \
                     vulnerabilities in place.",
                    repo.stack.tech.join(", ")
                ),
                hosting.clone(),
                vec![
                    "Turn on automated dependency updates",
                    "Upgrade the framework one major version at a time",
                    "Fix deprecations and re-run the test suite",
                    "Release behind a feature flag and watch the error rate",
                ],
                (12, 60),
            )
        };
    let effort = f64::from(rng.random_range(hours.0 / 4..=hours.1 / 4) * 4);
    let at = days_ago(rng, now, 1, 60);
    demo.recommendations.push(recommendations::ActiveModel {
        id: Set(id_at(at)),
        tenant_id: Set(tenant),
        repository_id: Set(repo.id),
        title: Set(title),
        summary: Set(summary),
        target_platform: Set(Some(target)),
        steps: Set(json!(steps)),
        effort_hours: Set(effort),
        created_at: Set(at),
        updated_at: Set(at),
    });
}

// ---------------------------------------------------------------------------------------------
// The One Migrate
// ---------------------------------------------------------------------------------------------

struct ProjectSpec {
    client: usize,
    name: &'static str,
    description: &'static str,
    psa_ticket_id: Option<&'static str>,
    psa_project_id: Option<&'static str>,
    storage_account: Option<&'static str>,
    storage_container: Option<&'static str>,
    azure_tenant: Option<&'static str>,
}

const PROJECTS: &[ProjectSpec] = &[
    ProjectSpec {
        client: 1,
        name: "Contoso Health — Exchange Online cut-over",
        description: "Move the on-premises Exchange 2016 mailboxes to Exchange Online in \
                      batches; archives are staged in the storage account first.",
        psa_ticket_id: Some("T-204317"),
        psa_project_id: Some("P-1187"),
        storage_account: Some("stcontosomigr01"),
        storage_container: Some("mailbox-archives"),
        azure_tenant: Some("contosohealth.onmicrosoft.com"),
    },
    ProjectSpec {
        client: 0,
        name: "Northwind — file server to SharePoint",
        description: "Retire NWT-FS01: department and project shares to SharePoint Online, \
                      home drives to OneDrive, the 2013 intranet to SharePoint Online.",
        psa_ticket_id: Some("T-204502"),
        psa_project_id: None,
        storage_account: Some("stnorthwindmig"),
        storage_container: Some("fs01-staging"),
        azure_tenant: Some("northwindtraders.onmicrosoft.com"),
    },
    ProjectSpec {
        client: 6,
        name: "Grace Community Church — RockRMS import",
        description: "Import people, families, giving history and groups from the old church \
                      management system export into RockRMS.",
        psa_ticket_id: None,
        psa_project_id: Some("P-1203"),
        storage_account: Some("stgracerock"),
        storage_container: Some("rock-import"),
        azure_tenant: None,
    },
    ProjectSpec {
        client: 2,
        name: "Fabrikam — Litware tenant-to-tenant",
        description: "Merge the acquired Litware tenant into Fabrikam: mailboxes, OneDrive, \
                      the project sites and the scanned archive.",
        psa_ticket_id: Some("T-205011"),
        psa_project_id: Some("P-1210"),
        storage_account: Some("stfabrikamt2t"),
        storage_container: Some("t2t-staging"),
        azure_tenant: Some("fabrikamlogistics.onmicrosoft.com"),
    },
    ProjectSpec {
        client: 4,
        name: "Wingtip Financial — OneDrive consolidation",
        description: "Consolidate personal network drives and departed staff's OneDrive \
                      accounts before the records-retention audit.",
        psa_ticket_id: Some("T-205390"),
        psa_project_id: None,
        storage_account: Some("stwingtiparchive"),
        storage_container: Some("onedrive-consolidation"),
        azure_tenant: Some("wingtipfinancial.onmicrosoft.com"),
    },
    ProjectSpec {
        client: 5,
        name: "Adventure Works — archive assessment",
        description: "Scoping only: inventory of the old file server and the public folders; \
                      no jobs yet.",
        psa_ticket_id: None,
        psa_project_id: None,
        storage_account: None,
        storage_container: None,
        azure_tenant: None,
    },
];

struct AgentSpec {
    name: &'static str,
    hostname: &'static str,
    version: &'static str,
    status: AgentStatus,
}

const AGENTS: &[AgentSpec] = &[
    AgentSpec {
        name: "Northwind file server",
        hostname: "NWT-FS01.northwind.local",
        version: "2.6.1",
        status: AgentStatus::Online,
    },
    AgentSpec {
        name: "Contoso migration host",
        hostname: "CH-MIG01.contoso.local",
        version: "2.6.1",
        status: AgentStatus::Online,
    },
    AgentSpec {
        name: "Grace office PC",
        hostname: "GRACE-OFFICE-PC",
        version: "2.5.3",
        status: AgentStatus::Offline,
    },
    AgentSpec {
        name: "Wingtip jump box",
        hostname: "WTF-JUMP02.corp.wingtip.com",
        version: "2.6.0",
        status: AgentStatus::Online,
    },
    AgentSpec {
        name: "Fabrikam field laptop",
        hostname: "FAB-LT-0147",
        version: "2.3.9",
        status: AgentStatus::Revoked,
    },
];

struct JobSpec {
    project: usize,
    kind: JobKind,
    name: &'static str,
    status: JobStatus,
    agent: Option<usize>,
    /// Mailboxes of a mailbox job.
    mailboxes: i32,
    source: &'static str,
    target: &'static str,
    /// For failed jobs; `{done}` becomes the items done.
    error: Option<&'static str>,
}

const JOBS: &[JobSpec] = &[
    JobSpec {
        project: 0,
        kind: JobKind::Mailbox,
        name: "Batch 1 — Finance and HR",
        status: JobStatus::Completed,
        agent: Some(1),
        mailboxes: 38,
        source: "Exchange 2016 (CH-EX01)",
        target: "Exchange Online",
        error: None,
    },
    JobSpec {
        project: 0,
        kind: JobKind::Mailbox,
        name: "Batch 2 — Clinical staff",
        status: JobStatus::Running,
        agent: Some(1),
        mailboxes: 212,
        source: "Exchange 2016 (CH-EX01)",
        target: "Exchange Online",
        error: None,
    },
    JobSpec {
        project: 0,
        kind: JobKind::Mailbox,
        name: "Batch 3 — Executives",
        status: JobStatus::Queued,
        agent: Some(1),
        mailboxes: 12,
        source: "Exchange 2016 (CH-EX01)",
        target: "Exchange Online",
        error: None,
    },
    JobSpec {
        project: 0,
        kind: JobKind::Mailbox,
        name: "Shared and resource mailboxes",
        status: JobStatus::Failed,
        agent: Some(1),
        mailboxes: 64,
        source: "Exchange 2016 (CH-EX01)",
        target: "Exchange Online",
        error: Some(
            "Stopped after 5 consecutive item failures at item {done}: Exchange Online rejected \
             items larger than 150 MB in reception@contosohealth.org \
             (MapiExceptionMaxSubmissionExceeded)",
        ),
    },
    JobSpec {
        project: 0,
        kind: JobKind::Onedrive,
        name: "Finance home drives to OneDrive",
        status: JobStatus::Completed,
        agent: None,
        mailboxes: 0,
        source: "\\\\CH-FS02\\Home$\\Finance",
        target: "OneDrive for Business",
        error: None,
    },
    JobSpec {
        project: 1,
        kind: JobKind::FileShare,
        name: "Departments share",
        status: JobStatus::Completed,
        agent: Some(0),
        mailboxes: 0,
        source: "\\\\NWT-FS01\\Departments",
        target: "https://northwindtraders.sharepoint.com/sites/Departments",
        error: None,
    },
    JobSpec {
        project: 1,
        kind: JobKind::FileShare,
        name: "Projects share",
        status: JobStatus::Running,
        agent: Some(0),
        mailboxes: 0,
        source: "\\\\NWT-FS01\\Projects",
        target: "https://northwindtraders.sharepoint.com/sites/Projects",
        error: None,
    },
    JobSpec {
        project: 1,
        kind: JobKind::Onedrive,
        name: "Home drives to OneDrive",
        status: JobStatus::Paused,
        agent: Some(0),
        mailboxes: 0,
        source: "\\\\NWT-FS01\\Home$",
        target: "OneDrive for Business",
        error: None,
    },
    JobSpec {
        project: 1,
        kind: JobKind::Sharepoint,
        name: "SharePoint 2013 intranet (first attempt)",
        status: JobStatus::Cancelled,
        agent: Some(0),
        mailboxes: 0,
        source: "http://intranet.northwind.local",
        target: "https://northwindtraders.sharepoint.com/sites/Intranet",
        error: None,
    },
    JobSpec {
        project: 1,
        kind: JobKind::Sharepoint,
        name: "Intranet news and pages (re-scoped)",
        status: JobStatus::Queued,
        agent: Some(0),
        mailboxes: 0,
        source: "http://intranet.northwind.local/news",
        target: "https://northwindtraders.sharepoint.com/sites/Intranet",
        error: None,
    },
    JobSpec {
        project: 2,
        kind: JobKind::RockrmsImport,
        name: "People and families",
        status: JobStatus::Completed,
        agent: Some(2),
        mailboxes: 0,
        source: "ChMS export 2024-09 (people.csv, families.csv)",
        target: "https://rock.gracecommunity.church",
        error: None,
    },
    JobSpec {
        project: 2,
        kind: JobKind::RockrmsImport,
        name: "Giving history 2015–2024",
        status: JobStatus::Failed,
        agent: Some(2),
        mailboxes: 0,
        source: "ChMS export 2024-09 (contributions.csv)",
        target: "https://rock.gracecommunity.church",
        error: Some(
            "RockRMS answered 500 Internal Server Error on POST /api/FinancialTransactions \
             three times; import stopped at record {done}",
        ),
    },
    JobSpec {
        project: 2,
        kind: JobKind::RockrmsImport,
        name: "Groups and attendance",
        status: JobStatus::Queued,
        agent: Some(2),
        mailboxes: 0,
        source: "ChMS export 2024-09 (groups.csv, attendance.csv)",
        target: "https://rock.gracecommunity.church",
        error: None,
    },
    JobSpec {
        project: 3,
        kind: JobKind::Mailbox,
        name: "Litware mailboxes — wave 1",
        status: JobStatus::Completed,
        agent: None,
        mailboxes: 150,
        source: "litware.onmicrosoft.com",
        target: "fabrikamlogistics.onmicrosoft.com",
        error: None,
    },
    JobSpec {
        project: 3,
        kind: JobKind::Mailbox,
        name: "Litware mailboxes — wave 2",
        status: JobStatus::Running,
        agent: None,
        mailboxes: 95,
        source: "litware.onmicrosoft.com",
        target: "fabrikamlogistics.onmicrosoft.com",
        error: None,
    },
    JobSpec {
        project: 3,
        kind: JobKind::Onedrive,
        name: "Litware OneDrive accounts",
        status: JobStatus::Running,
        agent: None,
        mailboxes: 0,
        source: "litware-my.sharepoint.com",
        target: "fabrikamlogistics-my.sharepoint.com",
        error: None,
    },
    JobSpec {
        project: 3,
        kind: JobKind::Sharepoint,
        name: "Litware project sites",
        status: JobStatus::Paused,
        agent: None,
        mailboxes: 0,
        source: "https://litware.sharepoint.com/sites/projects",
        target: "https://fabrikamlogistics.sharepoint.com/sites/litware-projects",
        error: None,
    },
    JobSpec {
        project: 3,
        kind: JobKind::FileShare,
        name: "Litware scanned archive",
        status: JobStatus::Cancelled,
        agent: Some(4),
        mailboxes: 0,
        source: "\\\\LIT-NAS01\\Scans",
        target: "https://fabrikamlogistics.sharepoint.com/sites/archive",
        error: None,
    },
    JobSpec {
        project: 4,
        kind: JobKind::Onedrive,
        name: "OneDrive accounts of departed staff",
        status: JobStatus::Completed,
        agent: Some(3),
        mailboxes: 0,
        source: "wingtipfinancial-my.sharepoint.com (departed)",
        target: "https://wingtipfinancial.sharepoint.com/sites/records",
        error: None,
    },
    JobSpec {
        project: 4,
        kind: JobKind::FileShare,
        name: "Personal drives to OneDrive",
        status: JobStatus::Failed,
        agent: Some(3),
        mailboxes: 0,
        source: "\\\\WTF-FS02\\Personal",
        target: "OneDrive for Business",
        error: Some(
            "Access denied on \\\\WTF-FS02\\Personal\\r.alvarez: the agent's service account \
             lacks Read on 1,912 folders; grant it and retry (stopped after {done} files)",
        ),
    },
    JobSpec {
        project: 4,
        kind: JobKind::FileShare,
        name: "Records share to the Records Center",
        status: JobStatus::Queued,
        agent: Some(3),
        mailboxes: 0,
        source: "\\\\WTF-FS02\\Records",
        target: "https://wingtipfinancial.sharepoint.com/sites/records",
        error: None,
    },
];

fn build_migrate(
    rng: &mut StdRng,
    demo: &mut Demo,
    tenant: Uuid,
    now: DateTime<Utc>,
    client_ids: &[Uuid],
) {
    let mut project_ids = Vec::new();
    for spec in PROJECTS {
        let at = days_ago(rng, now, 45, 90);
        let id = id_at(at);
        project_ids.push(id);
        demo.projects.push(projects::ActiveModel {
            id: Set(id),
            tenant_id: Set(tenant),
            client_id: Set(Some(client_ids[spec.client])),
            name: Set(spec.name.to_string()),
            description: Set(Some(spec.description.to_string())),
            psa_ticket_id: Set(spec.psa_ticket_id.map(str::to_string)),
            psa_project_id: Set(spec.psa_project_id.map(str::to_string)),
            storage_account: Set(spec.storage_account.map(str::to_string)),
            storage_container: Set(spec.storage_container.map(str::to_string)),
            azure_tenant: Set(spec.azure_tenant.map(str::to_string)),
            // No storage credentials in demo data: the project shows as "not connected".
            refresh_token_encrypted: Set(None),
            credentials_connected_at: Set(None),
            credentials_expires_at: Set(None),
            created_at: Set(at),
            updated_at: Set(at),
        });
    }

    let mut agent_ids = Vec::new();
    for spec in AGENTS {
        let registered = days_ago(rng, now, 50, 120);
        let id = id_at(registered);
        agent_ids.push(id);
        let (heartbeat, revoked) = match spec.status {
            AgentStatus::Online => (now - Duration::seconds(rng.random_range(3..90)), None),
            AgentStatus::Offline => (days_ago(rng, now, 2, 4), None),
            AgentStatus::Revoked => {
                let revoked = days_ago(rng, now, 12, 16);
                (
                    revoked - Duration::hours(rng.random_range(30..80)),
                    Some(revoked),
                )
            }
        };
        // A real key, thrown away: only its hash and prefix are stored, as for a registration.
        let key = format!("tom_agt_{}", random_secret());
        demo.agents.push(agents::ActiveModel {
            id: Set(id),
            tenant_id: Set(tenant),
            name: Set(spec.name.to_string()),
            hostname: Set(Some(spec.hostname.to_string())),
            version: Set(Some(spec.version.to_string())),
            status: Set(spec.status),
            api_key_hash: Set(hash_secret(&key)),
            api_key_prefix: Set(key[..12].to_string()),
            last_heartbeat_at: Set(Some(heartbeat)),
            registered_at: Set(registered),
            revoked_at: Set(revoked),
            created_at: Set(registered),
            updated_at: Set(revoked.unwrap_or(heartbeat)),
        });
    }

    for spec in JOBS {
        build_job(rng, demo, tenant, now, spec, &project_ids, &agent_ids);
    }
}

fn build_job(
    rng: &mut StdRng,
    demo: &mut Demo,
    tenant: Uuid,
    now: DateTime<Utc>,
    spec: &JobSpec,
    project_ids: &[Uuid],
    agent_ids: &[Uuid],
) {
    let project = &PROJECTS[spec.project];
    let agent = spec.agent.map(|a| &AGENTS[a]);
    let where_ = agent.map_or("the cloud worker".to_string(), |a| a.hostname.to_string());

    // Sizes: items and bytes per item by kind.
    let (items_total, bytes_per_item): (i64, i64) = match spec.kind {
        JobKind::Mailbox => (
            i64::from(spec.mailboxes) * rng.random_range(6_000..18_000),
            rng.random_range(60_000..110_000),
        ),
        JobKind::FileShare => (
            rng.random_range(80_000..900_000),
            rng.random_range(800_000..2_500_000),
        ),
        JobKind::Onedrive => (
            rng.random_range(30_000..400_000),
            rng.random_range(500_000..1_500_000),
        ),
        JobKind::Sharepoint => (
            rng.random_range(20_000..250_000),
            rng.random_range(1_000_000..3_000_000),
        ),
        JobKind::RockrmsImport => (
            rng.random_range(40_000..260_000),
            rng.random_range(3_000..12_000),
        ),
    };
    let bytes_total = items_total * bytes_per_item;
    let fraction = match spec.status {
        JobStatus::Queued => 0.0,
        JobStatus::Completed => 1.0,
        JobStatus::Running => rng.random_range(0.2..0.85),
        JobStatus::Paused => rng.random_range(0.3..0.7),
        JobStatus::Failed => rng.random_range(0.05..0.6),
        JobStatus::Cancelled => rng.random_range(0.1..0.5),
    };
    let items_done = (items_total as f64 * fraction) as i64;
    let bytes_done = if spec.status == JobStatus::Completed {
        bytes_total
    } else {
        items_done * bytes_per_item
    };
    let gb = |bytes: i64| round2(bytes as f64 / 1e9);

    // Times.
    let (created, started, ended) = match spec.status {
        JobStatus::Queued => (days_ago(rng, now, 0, 1), None, None),
        JobStatus::Running => {
            let created = days_ago(rng, now, 1, 6);
            (
                created,
                Some(created + Duration::minutes(rng.random_range(5..90))),
                None,
            )
        }
        JobStatus::Paused => {
            let created = days_ago(rng, now, 2, 10);
            let started = created + Duration::minutes(rng.random_range(5..90));
            (
                created,
                Some(started),
                Some(between(rng, started + Duration::hours(2), now)),
            )
        }
        JobStatus::Completed => {
            let created = days_ago(rng, now, 10, 40);
            let started = created + Duration::minutes(rng.random_range(5..120));
            (
                created,
                Some(started),
                Some(started + Duration::minutes(rng.random_range(120..4_320))),
            )
        }
        JobStatus::Failed => {
            let created = days_ago(rng, now, 2, 14);
            let started = created + Duration::minutes(rng.random_range(5..120));
            (
                created,
                Some(started),
                Some(started + Duration::minutes(rng.random_range(60..1_200))),
            )
        }
        JobStatus::Cancelled => {
            let created = days_ago(rng, now, 20, 30);
            let started = created + Duration::minutes(rng.random_range(5..120));
            (
                created,
                Some(started),
                Some(started + Duration::minutes(rng.random_range(60..1_800))),
            )
        }
    };
    // Paused jobs have no finish time; `ended` is when they were paused.
    let finished = match spec.status {
        JobStatus::Completed | JobStatus::Failed | JobStatus::Cancelled => ended,
        _ => None,
    };
    let updated = match spec.status {
        JobStatus::Running => now - Duration::seconds(rng.random_range(5..120)),
        _ => ended.unwrap_or(created),
    };
    let error = spec
        .error
        .map(|e| e.replace("{done}", &thousands(items_done)));

    let config = match spec.kind {
        JobKind::Mailbox => json!({
            "source": spec.source,
            "target": spec.target,
            "mailboxes": spec.mailboxes,
            "include_archives": true,
            "skip_larger_than_mb": 150,
        }),
        JobKind::FileShare => json!({
            "source_path": spec.source,
            "target_url": spec.target,
            "preserve_permissions": true,
            "skip_extensions": [".tmp", ".lnk", "thumbs.db"],
        }),
        JobKind::Onedrive => json!({
            "source": spec.source,
            "target": spec.target,
            "map_users_by": "upn",
        }),
        JobKind::Sharepoint => json!({
            "source_url": spec.source,
            "target_url": spec.target,
            "keep_versions": 10,
            "migrate_permissions": true,
        }),
        JobKind::RockrmsImport => json!({
            "source": spec.source,
            "rock_url": spec.target,
            "batch_size": 500,
            "match_people_by": ["email", "name_and_birthdate"],
        }),
    };

    let job_id = id_at(created);
    demo.jobs.push(jobs::ActiveModel {
        id: Set(job_id),
        tenant_id: Set(tenant),
        project_id: Set(project_ids[spec.project]),
        agent_id: Set(spec.agent.map(|a| agent_ids[a])),
        kind: Set(spec.kind),
        name: Set(spec.name.to_string()),
        status: Set(spec.status),
        psa_ticket_id: Set(project.psa_ticket_id.map(str::to_string)),
        psa_project_id: Set(project.psa_project_id.map(str::to_string)),
        // A queued job has not been scanned yet, so its size is unknown.
        items_total: Set((spec.status != JobStatus::Queued).then_some(items_total)),
        items_done: Set(items_done),
        bytes_total: Set((spec.status != JobStatus::Queued).then_some(bytes_total)),
        bytes_done: Set(bytes_done),
        gb_transferred: Set(gb(bytes_done)),
        mailbox_count: Set(spec.mailboxes),
        error: Set(error.clone()),
        config: Set(config),
        secret_encrypted: Set(None),
        started_at: Set(started),
        finished_at: Set(finished),
        created_at: Set(created),
        updated_at: Set(updated),
    });

    // Events, in time order.
    let mut events: Vec<(DateTime<Utc>, &str, String, Value)> = vec![(
        created,
        "created",
        format!("Job created for {}", project.name),
        json!({ "kind": spec.kind.to_value(), "source": spec.source, "target": spec.target }),
    )];
    match (spec.status, agent) {
        (JobStatus::Queued, Some(a)) if a.status == AgentStatus::Offline => events.push((
            created + Duration::seconds(2),
            "waiting",
            format!("Waiting for agent {} to come online", a.hostname),
            json!({ "agent": a.hostname }),
        )),
        (JobStatus::Queued, _) => events.push((
            created + Duration::seconds(2),
            "queued",
            format!("Queued for {where_}"),
            json!({}),
        )),
        _ => {}
    }
    if let Some(started) = started {
        let end = ended.unwrap_or(now - Duration::minutes(1));
        events.push((
            started,
            "started",
            format!("Started on {where_}; scanning the source"),
            json!({ "agent": agent.map(|a| a.hostname) }),
        ));
        events.push((
            started + (end - started) / 20,
            "scanned",
            format!(
                "Found {} items ({} GB) to copy",
                thousands(items_total),
                gb(bytes_total)
            ),
            json!({ "items_total": items_total, "bytes_total": bytes_total }),
        ));
        for step in [0.25, 0.5, 0.75] {
            if step < fraction {
                let done = (items_total as f64 * step) as i64;
                events.push((
                    started
                        + Duration::seconds(
                            ((end - started).num_seconds() as f64 * step / fraction) as i64 * 9
                                / 10,
                        ),
                    "progress",
                    format!(
                        "{} of {} items, {} GB",
                        thousands(done),
                        thousands(items_total),
                        gb(done * bytes_per_item)
                    ),
                    json!({ "items_done": done, "bytes_done": done * bytes_per_item }),
                ));
            }
        }
        if matches!(spec.kind, JobKind::FileShare | JobKind::Sharepoint) {
            let skipped = rng.random_range(3..60);
            events.push((
                between(rng, started, end),
                "warning",
                format!("{skipped} items skipped: path longer than 400 characters"),
                json!({ "skipped": skipped, "reason": "path_too_long" }),
            ));
        }
        let hours = (end - started).num_minutes() as f64 / 60.0;
        let last = match spec.status {
            JobStatus::Completed => Some((
                "completed",
                format!(
                    "Completed: {} items, {} GB in {:.1} h",
                    thousands(items_total),
                    gb(bytes_total),
                    hours
                ),
            )),
            JobStatus::Failed => Some(("failed", error.unwrap_or_default())),
            JobStatus::Paused => Some(("paused", "Paused by a technician".to_string())),
            JobStatus::Cancelled
                if spec
                    .agent
                    .is_some_and(|a| AGENTS[a].status == AgentStatus::Revoked) =>
            {
                Some((
                    "cancelled",
                    "Cancelled by a technician: the laptop running the agent was reported lost"
                        .to_string(),
                ))
            }
            JobStatus::Cancelled => Some((
                "cancelled",
                "Cancelled by a technician: replaced by a re-scoped job".to_string(),
            )),
            _ => None,
        };
        if let Some((kind, message)) = last {
            events.push((
                end,
                kind,
                message,
                json!({ "items_done": items_done, "bytes_done": bytes_done }),
            ));
        }
    }
    events.sort_by_key(|e| e.0);
    for (at, kind, message, data) in events {
        demo.job_events.push(job_events::ActiveModel {
            id: Set(id_at(at)),
            tenant_id: Set(tenant),
            job_id: Set(job_id),
            kind: Set(kind.to_string()),
            message: Set(message),
            data: Set(data),
            created_at: Set(at),
        });
    }

    // The control command that paused or cancelled an agent's job, acknowledged.
    let command = match spec.status {
        JobStatus::Paused => Some(AgentCommand::Pause),
        JobStatus::Cancelled => Some(AgentCommand::Cancel),
        _ => None,
    };
    if let (Some(command), Some(agent), Some(at)) = (command, spec.agent, ended) {
        let issued = at - Duration::seconds(rng.random_range(5..40));
        demo.agent_commands.push(agent_commands::ActiveModel {
            id: Set(id_at(issued)),
            tenant_id: Set(tenant),
            agent_id: Set(agent_ids[agent]),
            job_id: Set(Some(job_id)),
            command: Set(command),
            status: Set(CommandStatus::Acknowledged),
            acknowledged_at: Set(Some(at)),
            created_at: Set(issued),
            updated_at: Set(at),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_content_is_deterministic_and_complete() {
        let now = Utc::now();
        let tenant = Uuid::now_v7();
        let a = build(&mut StdRng::seed_from_u64(SEED), tenant, now);
        let b = build(&mut StdRng::seed_from_u64(SEED), tenant, now);
        let titles = |d: &Demo| -> Vec<String> {
            d.findings
                .iter()
                .map(|f| f.title.clone().unwrap())
                .collect()
        };
        assert_eq!(titles(&a), titles(&b));
        assert_eq!(a.repositories.len(), 300);

        let kinds: HashSet<_> = a.findings.iter().map(|f| f.kind.clone().unwrap()).collect();
        assert_eq!(kinds.len(), 4);
        let severities: HashSet<_> = a
            .findings
            .iter()
            .map(|f| f.severity.clone().unwrap())
            .collect();
        assert_eq!(severities.len(), 4);
        let issues: HashSet<_> = a
            .findings
            .iter()
            .filter_map(|f| f.access_issue.clone().unwrap())
            .collect();
        assert_eq!(issues.len(), 3);
        let statuses: HashSet<_> = a
            .findings
            .iter()
            .map(|f| f.status.clone().unwrap())
            .collect();
        assert_eq!(statuses.len(), 3);
        let fingerprints: HashSet<_> = a
            .findings
            .iter()
            .map(|f| f.fingerprint.clone().unwrap())
            .collect();
        assert_eq!(fingerprints.len(), a.findings.len());
        let lifecycles: HashSet<_> = a
            .repositories
            .iter()
            .map(|r| r.lifecycle.clone().unwrap())
            .collect();
        assert_eq!(lifecycles.len(), 3);

        for job in &a.jobs {
            let status = job.status.clone().unwrap();
            let done = job.items_done.clone().unwrap();
            let gb = job.gb_transferred.clone().unwrap();
            match status {
                JobStatus::Completed => {
                    assert_eq!(Some(done), job.items_total.clone().unwrap());
                    assert!(gb > 0.0);
                }
                JobStatus::Queued => {
                    assert_eq!(done, 0);
                    assert_eq!(gb, 0.0);
                }
                JobStatus::Failed => assert!(job.error.clone().unwrap().is_some()),
                _ => {}
            }
        }
    }

    #[test]
    fn thousands_groups_digits() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(18_204), "18,204");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }
}
