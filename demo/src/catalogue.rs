//! The tables the generator draws from, in `demo/data/*.toml`. They are compiled in
//! (`include_str!`), so the binary needs no files at run time, and parsed once on first use;
//! a table that does not parse or names something that does not exist panics there, which the
//! crate's tests catch before a release can.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use entities::enums::{AgentStatus, JobKind, JobStatus, Provider, Severity};
use serde::Deserialize;
use serde::de::DeserializeOwned;

/// Everything in `demo/data/`, parsed and with names resolved to indices.
pub(crate) static CATALOGUE: LazyLock<Catalogue> = LazyLock::new(Catalogue::load);

pub(crate) struct Catalogue {
    pub clients: Vec<Client>,
    pub organizations: Vec<OrgSpec>,
    pub domains: Vec<String>,
    pub app_types: Vec<AppType>,
    pub vulnerabilities: Vec<Vuln>,
    pub secrets: Vec<Secret>,
    pub members: Vec<String>,
    pub outsiders: Vec<String>,
    pub recommendations: BTreeMap<String, Recommendation>,
    pub projects: Vec<ProjectSpec>,
    pub agents: Vec<AgentSpec>,
    pub jobs: Vec<JobSpec>,
}

#[derive(Deserialize)]
pub(crate) struct Client {
    pub name: String,
    pub psa_client_id: Option<String>,
    pub crm_account_id: Option<String>,
}

#[derive(Deserialize)]
pub(crate) struct OrgSpec {
    pub provider: Provider,
    pub login: String,
    pub name: String,
    /// A client's name.
    client: String,
    #[serde(skip)]
    pub client_index: usize,
    pub repos: usize,
    pub base_permission: Option<String>,
    pub status_error: Option<String>,
    /// Healthcare and finance: more confidential and regulated data.
    #[serde(default)]
    pub sensitive: bool,
    /// Azure DevOps projects the repositories live in.
    #[serde(default)]
    pub projects: Vec<String>,
}

/// Where vulnerable dependencies of a stack come from.
#[derive(Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Eco {
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

#[derive(Deserialize)]
pub(crate) struct Stack {
    pub tech: Vec<String>,
    pub eco: Eco,
    /// Out of support: older, less healthy, more often retired.
    #[serde(default)]
    pub legacy: bool,
}

impl Stack {
    /// Whether one of the stack's technologies mentions `tech`.
    pub fn has(&self, tech: &str) -> bool {
        self.tech.iter().any(|t| t.contains(tech))
    }
}

#[derive(Deserialize)]
pub(crate) struct AppType {
    pub name: String,
    pub weight: u32,
    pub components: Vec<String>,
    pub stacks: Vec<Stack>,
    /// Empty: the provider's package registry.
    pub hosting: Vec<String>,
}

/// A vulnerable dependency.
#[derive(Deserialize)]
pub(crate) struct Vuln {
    pub eco: Eco,
    pub package: String,
    pub version: String,
    pub fixed: String,
    pub cve: String,
    pub severity: Severity,
    /// What the vulnerability is.
    pub what: String,
}

/// A kind of secret found committed.
#[derive(Deserialize)]
pub(crate) struct Secret {
    pub secret_type: String,
    pub label: String,
    pub severity: Severity,
    pub remediation: String,
}

/// A migration recommendation's texts; [`crate::text::fill`] fills their placeholders.
#[derive(Deserialize)]
pub(crate) struct Recommendation {
    pub title: String,
    pub summary: String,
    /// Drawn from when there are several.
    pub targets: Vec<String>,
    pub steps: Vec<String>,
    /// The range of the effort estimate.
    pub hours: [u32; 2],
}

#[derive(Deserialize)]
pub(crate) struct ProjectSpec {
    /// A client's name.
    client: String,
    #[serde(skip)]
    pub client_index: usize,
    pub name: String,
    pub description: String,
    pub psa_ticket_id: Option<String>,
    pub psa_project_id: Option<String>,
    pub storage_account: Option<String>,
    pub storage_container: Option<String>,
    pub azure_tenant: Option<String>,
}

#[derive(Deserialize)]
pub(crate) struct AgentSpec {
    pub name: String,
    pub hostname: String,
    pub version: String,
    pub status: AgentStatus,
}

#[derive(Deserialize)]
pub(crate) struct JobSpec {
    /// A project's name.
    project: String,
    #[serde(skip)]
    pub project_index: usize,
    pub kind: JobKind,
    pub name: String,
    pub status: JobStatus,
    /// An agent's name; none: the cloud worker.
    agent: Option<String>,
    #[serde(skip)]
    pub agent_index: Option<usize>,
    /// Mailboxes of a mailbox job.
    #[serde(default)]
    pub mailboxes: i32,
    pub source: String,
    pub target: String,
    /// For failed jobs; `{done}` becomes the items done.
    pub error: Option<String>,
}

impl Catalogue {
    fn load() -> Self {
        #[derive(Deserialize)]
        struct Clients {
            clients: Vec<Client>,
        }
        #[derive(Deserialize)]
        struct Organizations {
            organizations: Vec<OrgSpec>,
        }
        #[derive(Deserialize)]
        struct Applications {
            domains: Vec<String>,
            app_types: Vec<AppType>,
        }
        #[derive(Deserialize)]
        struct Vulnerabilities {
            vulnerabilities: Vec<Vuln>,
        }
        #[derive(Deserialize)]
        struct Secrets {
            secrets: Vec<Secret>,
        }
        #[derive(Deserialize)]
        struct People {
            members: Vec<String>,
            outsiders: Vec<String>,
        }
        #[derive(Deserialize)]
        struct Migrate {
            projects: Vec<ProjectSpec>,
            agents: Vec<AgentSpec>,
            jobs: Vec<JobSpec>,
        }
        macro_rules! table {
            ($file:literal) => {
                parse($file, include_str!(concat!("../data/", $file)))
            };
        }
        let clients: Clients = table!("clients.toml");
        let organizations: Organizations = table!("organizations.toml");
        let applications: Applications = table!("applications.toml");
        let vulnerabilities: Vulnerabilities = table!("vulnerabilities.toml");
        let secrets: Secrets = table!("secrets.toml");
        let people: People = table!("people.toml");
        let migrate: Migrate = table!("migrate.toml");
        let mut catalogue = Catalogue {
            clients: clients.clients,
            organizations: organizations.organizations,
            domains: applications.domains,
            app_types: applications.app_types,
            vulnerabilities: vulnerabilities.vulnerabilities,
            secrets: secrets.secrets,
            members: people.members,
            outsiders: people.outsiders,
            recommendations: table!("recommendations.toml"),
            projects: migrate.projects,
            agents: migrate.agents,
            jobs: migrate.jobs,
        };
        catalogue.resolve();
        catalogue
    }

    /// Turns the names rows refer to each other by into indices, and checks that every
    /// recommendation the generator can choose has its texts.
    fn resolve(&mut self) {
        for key in crate::code::RECOMMENDATIONS {
            assert!(
                self.recommendations.contains_key(key),
                "demo/data/recommendations.toml has no [{key}]"
            );
        }
        let client = |name: &str| index(&self.clients, |c| c.name == name, "client", name);
        for org in &mut self.organizations {
            org.client_index = client(&org.client);
        }
        for project in &mut self.projects {
            project.client_index = client(&project.client);
        }
        for job in &mut self.jobs {
            job.project_index = index(
                &self.projects,
                |p| p.name == job.project,
                "project",
                &job.project,
            );
            job.agent_index = job
                .agent
                .as_deref()
                .map(|name| index(&self.agents, |a| a.name == name, "agent", name));
        }
    }

    /// The texts of the recommendation `key`.
    pub fn recommendation(&self, key: &str) -> &Recommendation {
        self.recommendations
            .get(key)
            .unwrap_or_else(|| panic!("demo/data/recommendations.toml has no [{key}]"))
    }
}

fn parse<T: DeserializeOwned>(file: &str, text: &str) -> T {
    toml::from_str(text).unwrap_or_else(|e| panic!("demo/data/{file}: {e}"))
}

fn index<T>(rows: &[T], is: impl Fn(&T) -> bool, what: &str, name: &str) -> usize {
    rows.iter()
        .position(is)
        .unwrap_or_else(|| panic!("demo/data: no {what} named {name:?}"))
}
