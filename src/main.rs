//! The `stack-gateway` command line.

use std::io::IsTerminal;

use clap::{Parser, Subcommand};
use stack_gateway::auth::claims::{MintRequest, mint};
use stack_gateway::config::Config;

#[derive(Parser)]
#[command(
    name = "stack-gateway",
    version,
    about = "One GraphQL endpoint for The One Code and The One Migrate"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server (SQLite under ./data unless DATABASE_URL is set).
    Serve {
        /// Fill the development tenant ("dev-tenant", the one the printed sign-in link uses)
        /// with demo data before serving, unless it already has data.
        #[arg(long)]
        demo: bool,
    },
    /// Fill a tenant with demo data (clients, organizations, repositories, findings,
    /// recommendations, Migrate projects, agents and jobs), unless it already has data.
    Demo {
        /// Hub's id of the tenant (created if missing).
        #[arg(long, default_value = "dev-tenant")]
        tenant: String,
        /// The tenant's name, if it has to be created.
        #[arg(long, default_value = "Dev Tenant")]
        tenant_name: String,
    },
    /// Apply pending database migrations and exit.
    Migrate,
    /// Print the GraphQL schema (SDL).
    Schema,
    /// Register the front-ends' operations for the persisted-operations allow-list
    /// (`.graphql`/`.gql` files, persisted-query manifests, or directories of them).
    Operations {
        /// Files or directories to register.
        #[arg(required = true)]
        paths: Vec<std::path::PathBuf>,
    },
    /// Mint a Hub-style SSO token from the configured secret, for local use.
    Token {
        #[arg(long, default_value = "dev-user")]
        sub: String,
        #[arg(long, default_value = "dev@example.com")]
        email: String,
        #[arg(long, default_value = "Dev User")]
        name: String,
        #[arg(long, default_value = "dev-tenant")]
        tenant: String,
        #[arg(long, default_value = "Dev Tenant")]
        tenant_name: String,
        /// Roles (admin, technician, viewer).
        #[arg(long, value_delimiter = ',', default_value = "admin")]
        roles: Vec<String>,
        /// Products (code, migrate).
        #[arg(long, value_delimiter = ',', default_value = "code,migrate")]
        products: Vec<String>,
        /// Lifetime of the token in seconds.
        #[arg(long, default_value_t = 300)]
        ttl: i64,
        /// Print a ready SSO link instead of the bare token.
        #[arg(long)]
        print_link: bool,
    },
}

fn init_tracing() -> anyhow::Result<stack_gateway::telemetry::Guard> {
    stack_gateway::telemetry::init()
}

fn dev_link(config: &Config, token: &str) -> String {
    format!(
        "{}/auth/sso?token={token}",
        config.public_url.trim_end_matches('/')
    )
}

/// What `serve` prints about signing in: the link itself only when a person is reading.
fn dev_sign_in(terminal: bool, link: impl FnOnce() -> String) -> Vec<String> {
    if terminal {
        vec![
            format!("sign in (valid one hour, once): {}", link()),
            "another link any time: stack-gateway token --print-link".into(),
        ]
    } else {
        vec!["sign in with a link from: stack-gateway token --print-link".into()]
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command.unwrap_or(Command::Serve { demo: false }) {
        Command::Schema => {
            print!("{}", stack_gateway::graphql::sdl());
        }
        Command::Operations { paths } => {
            let config = Config::from_env()?;
            // The data database only: a running server keeps the queue's SQLite file busy.
            let (db, _) =
                stack_gateway::kernel::db::connect(&config.data_url(), config.acquire_timeout())
                    .await?;
            let persisted = stack_gateway::graphql::persisted::PersistedOperations::new(
                db,
                config.persisted_operations,
            );
            let mut documents = Vec::new();
            for path in &paths {
                documents.extend(stack_gateway::graphql::persisted::documents_at(path)?);
            }
            for (name, document) in &documents {
                let hash = persisted
                    .register(document, Some(name))
                    .await
                    .map_err(|e| anyhow::anyhow!("{}", e.message()))?;
                println!("{hash}  {name}");
            }
            println!("{} operations registered", documents.len());
        }
        Command::Migrate => {
            let _telemetry = init_tracing()?;
            let config = Config::from_env()?;
            stack_gateway::services::Services::connect(config).await?;
            println!("migrations applied");
        }
        Command::Demo {
            tenant,
            tenant_name,
        } => {
            let _telemetry = init_tracing()?;
            let config = Config::from_env()?;
            // Checked before connecting: nothing is migrated or written in production.
            if config.production {
                anyhow::bail!("demo data is for development servers (GATEWAY_ENV is production)");
            }
            let state = stack_gateway::services::Services::connect(config).await?;
            let summary = demo_data::seed(&state.db, &tenant, &tenant_name).await?;
            println!("demo data for tenant {tenant}: {summary}");
        }
        Command::Token {
            sub,
            email,
            name,
            tenant,
            tenant_name,
            roles,
            products,
            ttl,
            print_link,
        } => {
            let config = Config::from_env()?;
            let request = MintRequest {
                sub,
                email,
                name,
                tenant_id: tenant,
                tenant_name,
                roles,
                products,
                ttl_seconds: ttl,
                session_seconds: 8 * 3600,
            };
            let token = mint(&config.sso, &request);
            println!(
                "{}",
                if print_link {
                    dev_link(&config, &token)
                } else {
                    token
                }
            );
        }
        Command::Serve { demo } => {
            let _telemetry = init_tracing()?;
            let config = Config::from_env()?;
            if demo && config.production {
                anyhow::bail!("--demo is for development servers (GATEWAY_ENV is production)");
            }
            for notice in &config.notices {
                tracing::warn!("{notice}");
            }
            let server = stack_gateway::server::Server::bind(config.clone()).await?;
            let addr = server.local_addr();
            // The tenant of the dev sign-in link below, seeded before any request is served.
            let seeded = if demo {
                let db = &server.services.db;
                Some(demo_data::seed(db, "dev-tenant", "Dev Tenant").await?)
            } else {
                None
            };
            println!(
                "stack-gateway listening on http://{addr} (playground at /, GraphQL at /graphql)"
            );
            if let Some(summary) = seeded {
                println!("demo data for Dev Tenant: {summary}");
            }
            if !config.production {
                let request = MintRequest {
                    sub: "dev-user".into(),
                    email: "dev@example.com".into(),
                    name: "Dev User".into(),
                    tenant_id: "dev-tenant".into(),
                    tenant_name: "Dev Tenant".into(),
                    roles: vec!["admin".into()],
                    products: vec!["code".into(), "migrate".into()],
                    ttl_seconds: 3600,
                    session_seconds: 8 * 3600,
                };
                // A live admin link only on a terminal: piped output ends up in log files.
                for line in dev_sign_in(std::io::stdout().is_terminal(), || {
                    dev_link(&config, &mint(&config.sso, &request))
                }) {
                    println!("{line}");
                }
            }
            server
                .run(async {
                    let _ = tokio::signal::ctrl_c().await;
                })
                .await?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::dev_sign_in;

    #[test]
    fn the_sign_in_link_is_printed_only_on_a_terminal() {
        let piped = dev_sign_in(false, || panic!("no token is minted for a pipe"));
        assert!(piped.iter().all(|l| !l.contains("token=")), "{piped:?}");
        assert!(piped[0].contains("stack-gateway token --print-link"));
        let shown = dev_sign_in(true, || "http://x/auth/sso?token=abc".into());
        assert!(shown[0].contains("token=abc"));
    }
}
