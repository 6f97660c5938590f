//! Connecting a GitHub installation is proven, not trusted: the install page with a sealed state,
//! GitHub's setup redirect, the admin's GitHub sign-in, `GET /user/installations`. Refused here:
//! another tenant's installation, a forged or replayed state, a user without access to the
//! installation (or a spoofed `installation_id`), GitHub refusing the sign-in, an enterprise
//! account. A personal account connects like an organization. Connect and rediscovery answer at
//! once; the run shows on the organization.

use entities::organizations;
use sea_orm::{EntityTrait, PaginatorTrait};
use serde_json::json;

use crate::both;
use crate::discovery;
use crate::helpers::{Backend, TestApp, Who, code};
use crate::providers::{
    CONNECT, app_with_github, app_with_github_and, callback_at, connect, github_fake,
    install_and_sign_in,
};

async fn organizations(app: &TestApp) -> u64 {
    organizations::Entity::find()
        .count(&app.services.db)
        .await
        .unwrap()
}

/// The callback URL GitHub would send the browser to, without following it.
async fn callback_url(app: &TestApp, token: &str) -> String {
    let (_, body) = app.gql(token, CONNECT, json!({})).await;
    let mut url = body["data"]["connectGithubOrganization"]["installationUrl"]
        .as_str()
        .unwrap()
        .to_string();
    for _ in 0..3 {
        let response = app.client.get(&url).send().await.unwrap();
        url = response.headers()["location"]
            .to_str()
            .unwrap()
            .replace("http://gateway.test", &format!("http://{}", app.addr));
    }
    url
}

both!(
    an_installation_belongs_to_one_tenant,
    |backend: Backend| async move {
        let (app, server, _fake) = app_with_github(backend).await;
        let a = app.token(&Who::ADMIN_A);
        let b = app.token(&Who::ADMIN_B);
        let done = connect(&app, &a).await;
        assert_eq!(done["organization"]["status"], "CONNECTED", "{done}");

        // Tenant B's admin can reach the same installation on GitHub (a consultant in both):
        // still refused, with nothing about tenant A.
        let (status, _, body) = install_and_sign_in(&app, &b).await;
        assert_eq!((status, code(&body)), (409, "CONFLICT"), "{body}");
        let message = body["errors"][0]["message"].as_str().unwrap();
        assert!(
            !message.contains("tenant-a") && !message.contains("Acme") && !message.contains("acme"),
            "{message}"
        );
        assert_eq!(organizations(&app).await, 1);
        let (_, body) = app
            .gql(&b, "{ organizations(first: 5) { totalCount } }", json!({}))
            .await;
        assert_eq!(body["data"]["organizations"]["totalCount"], 0, "{body}");
        // B's refused attempt minted no installation token.
        let mints = server
            .received_requests()
            .await
            .unwrap()
            .iter()
            .filter(|r| r.url.path().ends_with("/access_tokens"))
            .count();
        assert_eq!(mints, 1, "only A's discovery minted a token");

        // Once A disconnects it, B may connect it (after proving access).
        let id = done["organization"]["id"].as_str().unwrap();
        let (_, body) = app
            .gql(
                &a,
                "mutation($o: ID!) { disconnectOrganization(input: { organizationId: $o }) { organization { status } } }",
                json!({ "o": id }),
            )
            .await;
        assert_eq!(
            body["data"]["disconnectOrganization"]["organization"]["status"],
            "DISCONNECTED"
        );
        let done = connect(&app, &b).await;
        assert_eq!(done["organization"]["status"], "CONNECTED", "{done}");
        assert_ne!(done["organization"]["id"].as_str().unwrap(), id);
    }
);

both!(
    forged_and_replayed_states_are_refused,
    |backend: Backend| async move {
        let (app, server, _fake) = app_with_github(backend).await;
        let a = app.token(&Who::ADMIN_A);
        let url = callback_url(&app, &a).await;

        // A state altered by one character, at the callback and at the setup URL.
        let mut forged = url::Url::parse(&url).unwrap();
        let pairs: Vec<(String, String)> = forged.query_pairs().into_owned().collect();
        forged.query_pairs_mut().clear();
        for (k, v) in &pairs {
            let v = if k == "state" {
                let mut chars: Vec<char> = v.chars().collect();
                chars[10] = if chars[10] == 'A' { 'B' } else { 'A' };
                chars.into_iter().collect()
            } else {
                v.clone()
            };
            forged.query_pairs_mut().append_pair(k, &v);
        }
        let (status, _, body) = callback_at(&app, forged.as_str()).await;
        assert_eq!((status, code(&body)), (400, "BAD_USER_INPUT"), "{body}");
        let setup = format!(
            "{}?installation_id={}&setup_action=install&state=forged",
            app.url("/auth/github/setup"),
            github_fake::INSTALLATION
        );
        let (status, _, body) = callback_at(&app, &setup).await;
        assert_eq!((status, code(&body)), (400, "BAD_USER_INPUT"), "{body}");
        // A state sealed for another flow (GitLab's purpose) does not open either.
        let other = stack_gateway::upstream::oauth_state::ConnectState::new(
            stack_gateway::code::providers::ConnectTarget {
                tenant: app.tenant("tenant-a").await,
                user: uuid::Uuid::now_v7(),
                target: github_fake::INSTALLATION.to_string(),
            },
        )
        .seal(
            &stack_gateway::code::providers::gitlab_flow::FLOW,
            &app.services.secrets,
        );
        let (status, _, body) = callback_at(
            &app,
            &format!("{}?code=x&state={other}", app.url("/auth/github/callback")),
        )
        .await;
        assert_eq!((status, code(&body)), (400, "BAD_USER_INPUT"), "{body}");
        assert_eq!(organizations(&app).await, 0);

        // The genuine callback connects; the same URL again is refused before any GitHub call.
        let (status, _, body) = callback_at(&app, &url).await;
        assert_eq!(status, 303, "{body}");
        let token_calls = || async {
            server
                .received_requests()
                .await
                .unwrap()
                .iter()
                .filter(|r| r.url.path() == "/login/oauth/access_token")
                .count()
        };
        assert_eq!(token_calls().await, 1);
        let (status, _, body) = callback_at(&app, &url).await;
        assert_eq!((status, code(&body)), (400, "BAD_USER_INPUT"), "{body}");
        assert!(
            body["errors"][0]["message"]
                .as_str()
                .unwrap()
                .contains("already used"),
            "{body}"
        );
        assert_eq!(
            token_calls().await,
            1,
            "a replay reaches no GitHub endpoint"
        );
    }
);

both!(
    a_user_without_access_or_a_refused_sign_in_connects_nothing,
    |backend: Backend| async move {
        let (app, _server, fake) = app_with_github(backend).await;
        let a = app.token(&Who::ADMIN_A);

        // The signed-in GitHub user cannot reach the installation.
        fake.lock().unwrap().user_installations = vec![];
        let (status, _, body) = install_and_sign_in(&app, &a).await;
        assert_eq!((status, code(&body)), (403, "FORBIDDEN"), "{body}");

        // A spoofed installation_id at the setup URL: one the user cannot reach.
        {
            let mut s = fake.lock().unwrap();
            s.user_installations = vec![github_fake::INSTALLATION];
            s.installed = 777;
        }
        let (status, _, body) = install_and_sign_in(&app, &a).await;
        assert_eq!((status, code(&body)), (403, "FORBIDDEN"), "{body}");
        fake.lock().unwrap().installed = github_fake::INSTALLATION;

        // GitHub refuses the sign-in code (200 with `error`, as GitHub answers).
        fake.lock().unwrap().oauth_error = Some("bad_verification_code".into());
        let (status, _, body) = install_and_sign_in(&app, &a).await;
        assert_eq!(code(&body), "UPSTREAM_AUTH_FAILED", "{body}");
        assert_eq!(status, 502, "{body}");
        let message = body["errors"][0]["message"].as_str().unwrap();
        assert!(message.contains("bad_verification_code"), "{message}");

        // GitHub refuses the user's token when asked which installations it reaches.
        {
            let mut s = fake.lock().unwrap();
            s.oauth_error = None;
            s.refuse_user_tokens = true;
        }
        let (status, _, body) = install_and_sign_in(&app, &a).await;
        assert_eq!(
            (status, code(&body)),
            (502, "UPSTREAM_AUTH_FAILED"),
            "{body}"
        );
        assert!(!body.to_string().contains("ghu_"), "no token in the answer");
        fake.lock().unwrap().refuse_user_tokens = false;

        // An `error=` from GitHub (the admin cancelled) is refused with its plain code only.
        fake.lock().unwrap().oauth_error = None;
        let url = callback_url(&app, &a).await;
        let cancelled = url.replace("code=", "error=access_denied&error_description=<script>&x=");
        let (status, _, body) = callback_at(&app, &cancelled).await;
        assert_eq!((status, code(&body)), (400, "BAD_USER_INPUT"), "{body}");
        assert!(!body.to_string().contains("script"));
        assert_eq!(organizations(&app).await, 0, "nothing written");

        // The installation on an enterprise account: refused on purpose, not "unavailable".
        fake.lock().unwrap().account = ("acme-ent".into(), 77, "Enterprise".into());
        let (status, _, body) = install_and_sign_in(&app, &a).await;
        assert_eq!((status, code(&body)), (400, "BAD_USER_INPUT"), "{body}");
        assert!(
            body["errors"][0]["message"]
                .as_str()
                .unwrap()
                .contains("enterprise account acme-ent"),
            "{body}"
        );
        assert_eq!(organizations(&app).await, 0, "nothing written");
    }
);

both!(
    a_personal_account_connects_and_rediscovers_the_same_way,
    |backend: Backend| async move {
        let (app, _server, fake) = app_with_github(backend).await;
        fake.lock().unwrap().account = ("octocat".into(), 583_231, "User".into());
        let a = app.token(&Who::ADMIN_A);
        let done = connect(&app, &a).await;
        let org = &done["organization"];
        assert_eq!(
            (
                org["status"].as_str(),
                org["login"].as_str(),
                org["repoCount"].as_i64()
            ),
            (Some("CONNECTED"), Some("octocat"), Some(3)),
            "{done}"
        );
        assert!(org["basePermission"].is_null(), "no organization settings");
        let again = discovery::rediscover(&app, &a, org["id"].as_str().unwrap()).await;
        let org = &again["data"]["rediscoverOrganization"]["organization"];
        assert_eq!(org["status"], "CONNECTED", "{again}");
        assert_eq!(
            again["data"]["rediscoverOrganization"]["discovery"]["repositories"],
            3
        );
    }
);

both!(
    connect_and_rediscovery_answer_at_once_and_show_the_run,
    |backend: Backend| async move {
        // Listing takes longer than a GraphQL request may run.
        let (app, server, fake) =
            app_with_github_and(backend, |c| c.graphql.timeout_ms = 800).await;
        fake.lock().unwrap().slow_pages = Some(std::time::Duration::from_millis(600));
        let a = app.token(&Who::ADMIN_A);
        let (status, to, body) = install_and_sign_in(&app, &a).await;
        assert_eq!(status, 303, "{body}");
        assert!(to.contains("organization=connecting"), "{to}");
        let id = to.split("id=").nth(1).unwrap().to_string();
        let query = "query($o: ID!) { node(id: $o) { ... on Organization { status discovering repoCount } } }";
        let (_, body) = app.gql(&a, query, json!({ "o": id })).await;
        assert_eq!(
            body["data"]["node"],
            json!({ "status": "CONNECTING", "discovering": true, "repoCount": 0 }),
            "{body}"
        );
        let org = discovery::settled(&app, &a, &id).await;
        assert_eq!(
            (org["status"].as_str(), org["repoCount"].as_i64()),
            (Some("CONNECTED"), Some(3))
        );

        // A rediscovery answers before the run; a second request while it runs queues nothing.
        let started = std::time::Instant::now();
        let mutation = "mutation($o: ID!) { rediscoverOrganization(input: { organizationId: $o }) { organization { discovering } } }";
        let (_, body) = app.gql(&a, mutation, json!({ "o": id })).await;
        assert_eq!(
            body["data"]["rediscoverOrganization"]["organization"]["discovering"], true,
            "{body}"
        );
        let (_, body) = app.gql(&a, mutation, json!({ "o": id })).await;
        assert!(body.get("errors").is_none(), "{body}");
        assert!(started.elapsed() < std::time::Duration::from_millis(800));
        let org = discovery::settled(&app, &a, &id).await;
        assert_eq!(org["status"], "CONNECTED", "{org}");
        assert_eq!(org["lastDiscovery"]["repositories"], 3);
        // Each run lists the first page once: the connect's run and one rediscovery.
        let runs = server
            .received_requests()
            .await
            .unwrap()
            .iter()
            .filter(|r| {
                r.url.path() == "/installation/repositories"
                    && !r.url.query_pairs().any(|(k, _)| k == "page")
            })
            .count();
        assert_eq!(runs, 2);
    }
);

both!(
    a_row_of_the_same_login_is_reused_not_a_second_one,
    |backend: Backend| async move {
        let (app, _server, _fake) = app_with_github(backend).await;
        let a = app.token(&Who::ADMIN_A);
        // A row of login `acme` this tenant already has (written before, with no account id).
        let tenant = app.tenant("tenant-a").await;
        let old = crate::code_seed::organization(&app, tenant, "acme", None).await;
        let (status, _, body) = install_and_sign_in(&app, &a).await;
        assert_eq!((status, code(&body)), (409, "CONFLICT"), "{body}");
        let id = crate::code_seed::gid("Organization", old.id);
        let (_, body) = app
            .gql(
                &a,
                "mutation($o: ID!) { disconnectOrganization(input: { organizationId: $o }) { organization { status } } }",
                json!({ "o": id }),
            )
            .await;
        assert!(body.get("errors").is_none(), "{body}");
        let done = connect(&app, &a).await;
        assert_eq!(done["organization"]["id"], id.as_str(), "{done}");
        assert_eq!(done["organization"]["status"], "CONNECTED");
        assert_eq!(organizations(&app).await, 1);
    }
);
