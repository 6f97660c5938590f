//! Clients through the public API: admins create, rename, archive and restore them and link
//! organizations and repositories; everyone of the tenant reads; a repository follows its
//! organization's client unless it has its own; PSA tickets carry the client a repository has
//! now; nothing of another tenant is visible or linkable; bad input is refused and writes nothing.

use entities::enums::{FindingKind, Severity};
use serde_json::{Value, json};

use crate::both;
use crate::code_seed::{self, gid};
use crate::helpers::{TestApp, Who, code};
use crate::psa::{TICKET, mount_tickets, setup};

const CREATE: &str = "mutation($i: CreateClientInput!) { createClient(input: $i) {
  client { id name psaClientId crmAccountId archived archivedAt } } }";
const UPDATE: &str = "mutation($i: UpdateClientInput!) { updateClient(input: $i) {
  client { id name psaClientId crmAccountId } } }";
const ARCHIVE: &str =
    "mutation($id: ID!) { archiveClient(clientId: $id) { client { id archived archivedAt } } }";
const RESTORE: &str =
    "mutation($id: ID!) { restoreClient(clientId: $id) { client { id archived } } }";
const LIST: &str = "query($f: ClientListFilter) { clients(first: 20, filter: $f) {
  totalCount nodes { id name archived } } }";
const SET_ORG: &str =
    "mutation($i: SetOrganizationClientInput!) { setOrganizationClient(input: $i) {
  organization { id client { id name } } } }";
const SET_REPO: &str = "mutation($i: SetRepositoryClientInput!) { setRepositoryClient(input: $i) {
  repository { id clientInherited client { id name } } } }";
const REPO: &str = "query($id: ID!) { node(id: $id) { ... on Repository {
  clientInherited client { id name } organization { client { name } } } } }";

const TECH_A: Who<'static> = Who {
    tenant: "tenant-a",
    sub: "tess",
    roles: &["technician"],
    products: &["code"],
};
const VIEWER_A: Who<'static> = Who {
    tenant: "tenant-a",
    sub: "vic",
    roles: &["viewer"],
    products: &["code", "migrate"],
};

async fn create(app: &TestApp, token: &str, input: Value) -> Value {
    let (_, body) = app.gql(token, CREATE, json!({ "i": input })).await;
    body
}

async fn names(app: &TestApp, token: &str, filter: Value) -> Vec<String> {
    let (_, body) = app.gql(token, LIST, json!({ "f": filter })).await;
    body["data"]["clients"]["nodes"]
        .as_array()
        .unwrap_or_else(|| panic!("{body}"))
        .iter()
        .map(|n| n["name"].as_str().unwrap().to_string())
        .collect()
}

both!(
    admins_manage_clients_and_everyone_reads_them,
    |backend| async move {
        let s = setup(backend, |_| {}).await;
        let (app, admin) = (&s.app, &s.admin);
        let body = create(
            app,
            admin,
            json!({ "name": "  Fabrikam  ", "psaClientId": "PSA-FAB", "crmAccountId": "CRM-9" }),
        )
        .await;
        let client = &body["data"]["createClient"]["client"];
        assert_eq!(client["name"], "Fabrikam", "{body}");
        assert_eq!(client["psaClientId"], "PSA-FAB");
        assert_eq!(client["archived"], false);
        let id = client["id"].as_str().unwrap().to_string();

        // Bad input: nothing is written.
        for (input, expected) in [
            (json!({ "name": "   " }), "BAD_USER_INPUT"),
            (json!({ "name": "x".repeat(201) }), "BAD_USER_INPUT"),
            (json!({ "name": "FABRIKAM" }), "CONFLICT"),
            (
                json!({ "name": "Other", "psaClientId": "p".repeat(101) }),
                "BAD_USER_INPUT",
            ),
        ] {
            let body = create(app, admin, input).await;
            assert_eq!(code(&body), expected, "{body}");
            assert!(body["data"].is_null() || body["data"]["createClient"].is_null());
        }
        // Technicians and viewers read but do not manage.
        for who in [&TECH_A, &VIEWER_A] {
            let token = app.token(who);
            let body = create(app, &token, json!({ "name": "Sneaky" })).await;
            assert_eq!(code(&body), "FORBIDDEN", "{body}");
            assert_eq!(
                names(app, &token, json!(null)).await,
                ["Contoso", "Fabrikam"]
            );
        }

        // Rename, clear the CRM account (null), keep the PSA id (left out).
        let (_, body) = app
            .gql(
                admin,
                UPDATE,
                json!({ "i": { "clientId": id, "name": "Fabrikam Ltd", "crmAccountId": null } }),
            )
            .await;
        let client = &body["data"]["updateClient"]["client"];
        assert_eq!(client["name"], "Fabrikam Ltd", "{body}");
        assert_eq!(client["psaClientId"], "PSA-FAB");
        assert!(client["crmAccountId"].is_null());
        // Renaming onto another client's name is a conflict.
        let (_, body) = app
            .gql(
                admin,
                UPDATE,
                json!({ "i": { "clientId": id, "name": "contoso" } }),
            )
            .await;
        assert_eq!(code(&body), "CONFLICT", "{body}");
        assert_eq!(
            names(app, admin, json!({ "nameContains": "fab" })).await,
            ["Fabrikam Ltd"]
        );

        // Archive: out of the default list, still readable, twice is the same.
        for _ in 0..2 {
            let (_, body) = app.gql(admin, ARCHIVE, json!({ "id": id })).await;
            assert_eq!(
                body["data"]["archiveClient"]["client"]["archived"], true,
                "{body}"
            );
        }
        assert_eq!(names(app, admin, json!(null)).await, ["Contoso"]);
        assert_eq!(
            names(app, admin, json!({ "includeArchived": true })).await,
            ["Contoso", "Fabrikam Ltd"]
        );
        let (_, body) = app
            .gql(
                admin,
                "query($id: ID!) { node(id: $id) { ... on Client { name archived } } }",
                json!({ "id": id }),
            )
            .await;
        assert_eq!(body["data"]["node"]["archived"], true, "{body}");
        // An archived client takes no new link.
        let org = gid("Organization", s.repo.organization_id);
        let (_, body) = app
            .gql(
                admin,
                SET_ORG,
                json!({ "i": { "organizationId": org, "clientId": id } }),
            )
            .await;
        assert_eq!(code(&body), "CONFLICT", "{body}");
        let (_, body) = app.gql(admin, RESTORE, json!({ "id": id })).await;
        assert_eq!(
            body["data"]["restoreClient"]["client"]["archived"], false,
            "{body}"
        );

        // Another tenant sees none of it and cannot link to it.
        let stranger = app.token(&Who::ADMIN_B);
        assert!(
            names(app, &stranger, json!({ "includeArchived": true }))
                .await
                .is_empty()
        );
        let (_, body) = app
            .gql(
                &stranger,
                "query($id: ID!) { node(id: $id) { id } }",
                json!({ "id": id }),
            )
            .await;
        assert!(body["data"]["node"].is_null(), "{body}");
        for mutation in [UPDATE, ARCHIVE] {
            let variables = if mutation == UPDATE {
                json!({ "i": { "clientId": id, "name": "Mine" } })
            } else {
                json!({ "id": id })
            };
            let (_, body) = app.gql(&stranger, mutation, variables).await;
            assert_eq!(code(&body), "NOT_FOUND", "{body}");
        }
        let (_, body) = app
            .gql(
                &stranger,
                SET_ORG,
                json!({ "i": { "organizationId": org, "clientId": null } }),
            )
            .await;
        assert_eq!(code(&body), "NOT_FOUND", "{body}");
        // Ids of another type are refused as such.
        let (_, body) = app.gql(admin, ARCHIVE, json!({ "id": org })).await;
        assert_eq!(code(&body), "BAD_USER_INPUT", "{body}");
        assert_eq!(
            names(app, admin, json!(null)).await,
            ["Contoso", "Fabrikam Ltd"]
        );
    }
);

both!(
    repositories_follow_their_organizations_client_unless_set,
    |backend| async move {
        let s = setup(backend, |_| {}).await;
        mount_tickets(&s.psa).await;
        let (app, admin) = (&s.app, &s.admin);
        let repo = gid("Repository", s.repo.id);
        let org = gid("Organization", s.repo.organization_id);
        let fabrikam = create(
            app,
            admin,
            json!({ "name": "Fabrikam", "psaClientId": "PSA-FAB" }),
        )
        .await["data"]["createClient"]["client"]["id"]
            .clone();
        let northwind = create(app, admin, json!({ "name": "Northwind" })).await["data"]
        ["createClient"]["client"]["id"]
        .clone();
        let client_of_repo = |body: &Value| body["data"]["node"]["client"]["name"].clone();

        // The seeded repository follows its organization (Contoso).
        let (_, body) = app.gql(admin, REPO, json!({ "id": repo })).await;
        assert_eq!(body["data"]["node"]["clientInherited"], true, "{body}");
        assert_eq!(client_of_repo(&body), "Contoso");
        // The organization moves to Fabrikam: the repository follows.
        let (_, body) = app
            .gql(
                admin,
                SET_ORG,
                json!({ "i": { "organizationId": org, "clientId": fabrikam } }),
            )
            .await;
        assert_eq!(
            body["data"]["setOrganizationClient"]["organization"]["client"]["name"], "Fabrikam",
            "{body}"
        );
        let (_, body) = app.gql(admin, REPO, json!({ "id": repo })).await;
        assert_eq!(client_of_repo(&body), "Fabrikam", "{body}");

        // A ticket for one of its findings carries Fabrikam.
        let finding = code_seed::finding(
            app,
            &s.repo,
            FindingKind::SecretDetected,
            Severity::High,
            "AWS key",
            |_| {},
        )
        .await;
        let (_, body) = app
            .gql(admin, TICKET, json!({ "id": gid("Finding", finding.id) }))
            .await;
        assert_eq!(
            body["data"]["createTicketFromFinding"]["created"], true,
            "{body}"
        );
        let requests = s.psa.received_requests().await.unwrap();
        let ticket: Value = requests.last().unwrap().body_json().unwrap();
        assert_eq!(ticket["client"]["name"], "Fabrikam", "{ticket}");
        assert_eq!(ticket["client"]["psa_client_id"], "PSA-FAB", "{ticket}");

        // Its own client wins; clearing it follows the organization again.
        let (_, body) = app
            .gql(
                admin,
                SET_REPO,
                json!({ "i": { "repositoryId": repo, "clientId": northwind } }),
            )
            .await;
        let out = &body["data"]["setRepositoryClient"]["repository"];
        assert_eq!(out["client"]["name"], "Northwind", "{body}");
        assert_eq!(out["clientInherited"], false);
        let (_, body) = app.gql(admin, REPO, json!({ "id": repo })).await;
        assert_eq!(client_of_repo(&body), "Northwind");
        assert_eq!(
            body["data"]["node"]["organization"]["client"]["name"],
            "Fabrikam"
        );
        let (_, body) = app
            .gql(
                admin,
                SET_REPO,
                json!({ "i": { "repositoryId": repo, "clientId": null } }),
            )
            .await;
        assert_eq!(
            body["data"]["setRepositoryClient"]["repository"]["clientInherited"], true,
            "{body}"
        );
        // Unlinking the organization leaves the repository without a client.
        app.gql(
            admin,
            SET_ORG,
            json!({ "i": { "organizationId": org, "clientId": null } }),
        )
        .await;
        let (_, body) = app.gql(admin, REPO, json!({ "id": repo })).await;
        assert!(body["data"]["node"]["client"].is_null(), "{body}");

        // A technician cannot relink; a bad id is refused; nothing changed.
        let tech = app.token(&TECH_A);
        let (_, body) = app
            .gql(
                &tech,
                SET_REPO,
                json!({ "i": { "repositoryId": repo, "clientId": northwind } }),
            )
            .await;
        assert_eq!(code(&body), "FORBIDDEN", "{body}");
        let (_, body) = app
            .gql(
                admin,
                SET_REPO,
                json!({ "i": { "repositoryId": repo, "clientId": "bm90LWFuLWlk" } }),
            )
            .await;
        assert_eq!(code(&body), "BAD_USER_INPUT", "{body}");
        let (_, body) = app.gql(admin, REPO, json!({ "id": repo })).await;
        assert!(body["data"]["node"]["client"].is_null(), "{body}");
    }
);
