//! The GitLab access audit end to end (connect → callback → audit; rediscovery re-audits),
//! against a GitLab fake answering with GitLab's shapes: the members API
//! (`/groups/:path/members/all`, `/projects/:id/members`, `two_factor_enabled` shown or left
//! out), `/users/:id` (`last_activity_on`, `external`, `bot`) and offset pagination headers
//! (`Link`, `X-Next-Page`, `X-Page`, `X-Total-Pages`…).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex};

use chrono::{TimeDelta, Utc};
use entities::enums::FindingStatus;
use entities::findings;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};
use wiremock::matchers::{method, path_regex};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use crate::both;
use crate::helpers::{TestApp, Who, code, finding_lines};
use crate::providers_gitlab::{app_with_gitlab, connect_with, project};

pub(crate) const DISCONNECT: &str =
    "mutation($o: ID!) { disconnectOrganization(input: { organizationId: $o }) {
    organization { id status statusError } } }";
const FINDINGS: &str =
    "{ findings(first: 50, filter: { kind: ACCESS_ISSUE }) { totalCount edges { node {
    id accessIssue severity status title description tool repository { name } } } } }";
const TOKEN: &str = "glat-1";

/// What the fake's members and users endpoints hold; tests change it between runs.
#[derive(Default)]
struct Members {
    /// Encoded group path (`acme`, `acme%2Fplatform`) → `members/all` rows.
    groups: HashMap<String, Vec<Value>>,
    projects: HashMap<i64, Vec<Value>>,
    users: HashMap<i64, Value>,
    /// Request paths answering 403.
    forbidden: HashSet<String>,
    /// Every members or users call answers this instead.
    fail: Option<ResponseTemplate>,
}

type Shared = Arc<Mutex<Members>>;

struct Fake(Shared, String);

const PER_PAGE: usize = 2;

/// One page as GitLab's offset pagination answers it.
fn page(base: &str, request: &Request, rows: &[Value]) -> ResponseTemplate {
    let number: usize = request
        .url
        .query_pairs()
        .find(|(k, _)| k == "page")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(1);
    let total_pages = rows.len().div_ceil(PER_PAGE).max(1);
    let chunk: Vec<&Value> = rows
        .iter()
        .skip((number - 1) * PER_PAGE)
        .take(PER_PAGE)
        .collect();
    // GitLab's links carry the route's `id` too.
    let id = request
        .url
        .path()
        .split('/')
        .nth(4)
        .unwrap_or_default()
        .to_string();
    let at = |n: usize| {
        format!(
            "{base}{}?id={id}&page={n}&per_page={PER_PAGE}",
            request.url.path()
        )
    };
    let mut links = vec![];
    if number < total_pages {
        links.push(format!("<{}>; rel=\"next\"", at(number + 1)));
    }
    links.push(format!("<{}>; rel=\"first\"", at(1)));
    links.push(format!("<{}>; rel=\"last\"", at(total_pages)));
    let next = if number < total_pages {
        (number + 1).to_string()
    } else {
        String::new()
    };
    ResponseTemplate::new(200)
        .set_body_json(chunk)
        .insert_header("link", links.join(", ").as_str())
        .insert_header("x-page", number.to_string().as_str())
        .insert_header("x-per-page", PER_PAGE.to_string().as_str())
        .insert_header("x-total", rows.len().to_string().as_str())
        .insert_header("x-total-pages", total_pages.to_string().as_str())
        .insert_header("x-next-page", next.as_str())
        .insert_header("x-prev-page", if number > 1 { "1" } else { "" })
}

fn message(status: u16, text: &str) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_json(json!({ "message": text }))
}

impl Respond for Fake {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let s = self.0.lock().unwrap();
        let path = request.url.path().to_string();
        let bearer = request
            .headers
            .get("authorization")
            .and_then(|v| v.to_str().ok());
        if bearer != Some(&format!("Bearer {TOKEN}")) {
            return message(401, "401 Unauthorized");
        }
        if let Some(fail) = &s.fail {
            return fail.clone();
        }
        if s.forbidden.contains(&path) {
            return message(403, "403 Forbidden");
        }
        let parts: Vec<&str> = path.trim_start_matches("/api/v4/").split('/').collect();
        let found = match parts.as_slice() {
            ["groups", group, "members", "all"] => {
                s.groups.get(*group).map(|r| page(&self.1, request, r))
            }
            ["projects", id, "members"] => id
                .parse()
                .ok()
                .and_then(|id: i64| s.projects.get(&id))
                .map(|r| page(&self.1, request, r)),
            ["users", id] => id
                .parse()
                .ok()
                .and_then(|id: i64| s.users.get(&id))
                .map(|u| ResponseTemplate::new(200).set_body_json(u)),
            _ => None,
        };
        found.unwrap_or_else(|| message(404, "404 Not found"))
    }
}

/// A member row; `two_factor` `None` leaves the field out (a caller who may not see it).
fn member(id: i64, username: &str, level: i32, two_factor: Option<bool>) -> Value {
    let mut v = json!({
        "id": id, "username": username, "name": username.to_uppercase(), "state": "active",
        "locked": false, "avatar_url": "https://gitlab.example/avatar.png",
        "web_url": format!("https://gitlab.example/{username}"), "access_level": level,
        "created_at": "2025-01-10T08:00:00.000Z", "expires_at": null,
        "membership_state": "active"
    });
    if let Some(on) = two_factor {
        v["two_factor_enabled"] = on.into();
    }
    v
}

/// `/users/:id` as an administrator sees it; `days` since the last activity (`None`: null).
fn user(id: i64, username: &str, days: Option<i64>, external: bool, bot: bool) -> Value {
    let last = days.map(|d| (Utc::now() - TimeDelta::days(d)).date_naive().to_string());
    json!({
        "id": id, "username": username, "name": username, "state": "active", "locked": false,
        "web_url": format!("https://gitlab.example/{username}"), "bot": bot,
        "created_at": "2025-01-10T08:00:00.000Z", "last_sign_in_at": null,
        "last_activity_on": last, "external": external, "two_factor_enabled": true,
        "is_admin": false
    })
}

pub(crate) fn projects() -> Vec<Value> {
    vec![
        project(1, "api", "acme/api", "private", false),
        project(2, "web", "acme/web", "internal", false),
        project(3, "infra", "acme/platform/infra", "private", true),
        project(4, "tools", "acme/platform/tools", "private", false),
    ]
}

/// The group: owners and members of `acme` (inherited by `acme/platform`), one member of the
/// subgroup only, direct project grants, and the users behind them.
fn seed(s: &mut Members, two_factor: bool) {
    let tf = |on: bool| two_factor.then_some(on);
    let mut blocked = member(105, "gone", 30, tf(false));
    blocked["state"] = "blocked".into();
    let acme = vec![
        member(100, "olivia", 50, tf(true)),
        member(101, "mallory", 30, tf(false)),
        member(103, "dave", 20, tf(true)),
        member(104, "erin", 10, tf(true)),
        blocked,
        member(106, "minnie", 5, tf(false)),
        member(204, "xavier", 20, tf(true)),
    ];
    let mut platform = acme.clone();
    platform.push(member(102, "rita", 20, tf(false)));
    s.groups.insert("acme".into(), acme);
    s.groups.insert("acme%2Fplatform".into(), platform);
    s.projects.insert(
        1,
        vec![
            member(103, "dave", 40, tf(true)),
            member(200, "olga", 30, tf(true)),
            member(201, "fresh", 20, tf(true)),
        ],
    );
    s.projects.insert(
        2,
        vec![
            member(104, "erin", 30, tf(true)),
            member(202, "never", 10, tf(false)),
            member(203, "project_2_bot_5f1c", 40, tf(false)),
        ],
    );
    s.projects
        .insert(4, vec![member(204, "xavier", 20, tf(true))]);
    for u in [
        user(103, "dave", Some(1), false, false),
        user(104, "erin", Some(2), false, false),
        user(200, "olga", Some(200), false, false),
        user(201, "fresh", Some(3), false, false),
        user(202, "never", None, false, false),
        user(203, "project_2_bot_5f1c", None, false, true),
        user(204, "xavier", Some(120), true, false),
    ] {
        s.users.insert(u["id"].as_i64().unwrap(), u);
    }
}

async fn mount(server: &MockServer, two_factor: bool) -> Shared {
    let mut members = Members::default();
    seed(&mut members, two_factor);
    let shared: Shared = Arc::new(Mutex::new(members));
    Mock::given(method("GET"))
        .and(path_regex(
            r"^/api/v4/(groups/[^/]+/members/all|projects/\d+/members|users/\d+)$",
        ))
        .respond_with(Fake(shared.clone(), server.uri()))
        .mount(server)
        .await;
    shared
}

async fn findings_of(app: &TestApp, token: &str) -> (i64, Vec<Value>) {
    let (_, body) = app.gql(token, FINDINGS, json!({})).await;
    let list: Vec<Value> = body["data"]["findings"]["edges"]
        .as_array()
        .unwrap_or_else(|| panic!("{body}"))
        .iter()
        .map(|e| e["node"].clone())
        .collect();
    (
        body["data"]["findings"]["totalCount"].as_i64().unwrap(),
        list,
    )
}

fn lines(expected: &[&str]) -> Vec<String> {
    expected.iter().map(|s| s.to_string()).collect()
}

const ALL_TEN: [&str; 10] = [
    "api MISSING_2FA HIGH OPEN mallory has developer access to api without two-factor authentication",
    "api ORPHANED_ACCESS MEDIUM OPEN Direct project member olga inactive on api",
    "api PERMISSION_DRIFT HIGH OPEN dave has maintainer on api, above their group role (reporter)",
    "tools MISSING_2FA HIGH OPEN mallory has developer access to tools without two-factor authentication",
    "tools MISSING_2FA MEDIUM OPEN rita has reporter access to tools without two-factor authentication",
    "tools ORPHANED_ACCESS LOW OPEN External user xavier inactive on tools",
    "web MISSING_2FA HIGH OPEN mallory has developer access to web without two-factor authentication",
    "web MISSING_2FA MEDIUM OPEN never has guest access to web without two-factor authentication",
    "web ORPHANED_ACCESS LOW OPEN Direct project member never inactive on web",
    "web PERMISSION_DRIFT MEDIUM OPEN erin has developer on web, above their group role (guest)",
];

async fn rediscover(app: &TestApp, token: &str, org: &str) -> Value {
    crate::discovery::rediscover(app, token, org).await
}

fn tally(body: &Value) -> (Option<i64>, Option<i64>) {
    let d = &body["data"]["rediscoverOrganization"]["discovery"];
    (
        d["openAccessFindings"].as_i64(),
        d["resolvedAccessFindings"].as_i64(),
    )
}

both!(
    gitlab_audit_rules_resolve_ignore_and_tenancy,
    |backend| async move {
        let (app, server) = app_with_gitlab(backend).await;
        let fake = mount(&server, true).await;
        let token = app.token(&Who::ADMIN_A);
        let (org, _) = connect_with(&app, &server, &token, projects()).await;
        // The callback audited: three rules, GitLab's roles, severities by level.
        let (total, list) = findings_of(&app, &token).await;
        assert_eq!(finding_lines(&list), lines(&ALL_TEN), "{list:?}");
        assert_eq!(total, 10);
        assert!(list.iter().all(|f| f["tool"] == "gitlab-access-audit"));
        let described = |name: &str| {
            list.iter()
                .find(|f| {
                    f["title"].as_str().unwrap().contains(name)
                        && f["accessIssue"] == "ORPHANED_ACCESS"
                })
                .unwrap()["description"]
                .as_str()
                .unwrap()
                .to_string()
        };
        assert!(described("olga").contains("was last active 200 days ago"));
        assert!(described("never").contains("has never been active"));
        // Every page of the members lists was read (two per page here).
        let received = server.received_requests().await.unwrap();
        for p in [
            "/api/v4/groups/acme/members/all",
            "/api/v4/groups/acme%2Fplatform/members/all",
        ] {
            let pages: BTreeMap<String, usize> = received
                .iter()
                .filter(|r| r.url.path() == p)
                .map(|r| (r.url.query().unwrap_or("").to_string(), 1))
                .collect();
            assert_eq!(pages.len(), 4, "{p}: {pages:?}");
        }
        // The archived project is not audited.
        assert!(
            !received
                .iter()
                .any(|r| r.url.path() == "/api/v4/projects/3/members")
        );

        // A re-audit does not duplicate; an ignored finding stays ignored while reported…
        let dave = list
            .iter()
            .find(|f| f["title"].as_str().unwrap().starts_with("dave"))
            .unwrap()["title"]
            .clone();
        let tenant = app.tenant("tenant-a").await;
        findings::Entity::update_many()
            .col_expr(
                findings::Column::Status,
                sea_orm::sea_query::Expr::value(FindingStatus::Ignored),
            )
            .filter(findings::Column::TenantId.eq(tenant))
            .filter(findings::Column::Title.eq(dave.as_str().unwrap()))
            .exec(&app.services.db)
            .await
            .unwrap();
        let body = rediscover(&app, &token, &org).await;
        assert_eq!(tally(&body), (Some(10), Some(0)), "{body}");
        let (total, list) = findings_of(&app, &token).await;
        assert_eq!(total, 10);
        let status = |list: &[Value], title: &Value| {
            list.iter().find(|f| &f["title"] == title).unwrap()["status"].clone()
        };
        assert_eq!(status(&list, &dave), "IGNORED");

        // …and when it goes. Fixed: mallory enrols, olga and dave's grant are removed.
        {
            let mut s = fake.lock().unwrap();
            for rows in s.groups.values_mut() {
                for m in rows.iter_mut().filter(|m| m["username"] == "mallory") {
                    m["two_factor_enabled"] = true.into();
                }
            }
            s.projects
                .get_mut(&1)
                .unwrap()
                .retain(|m| m["username"] == "fresh");
        }
        let body = rediscover(&app, &token, &org).await;
        assert_eq!(tally(&body), (Some(5), Some(4)), "{body}");
        let (total, list) = findings_of(&app, &token).await;
        assert_eq!(total, 10);
        assert_eq!(status(&list, &dave), "IGNORED");
        let resolved: Vec<String> = finding_lines(&list)
            .into_iter()
            .filter(|l| l.contains(" RESOLVED "))
            .collect();
        assert_eq!(
            resolved,
            lines(&[
                "api MISSING_2FA HIGH RESOLVED mallory has developer access to api without two-factor authentication",
                "api ORPHANED_ACCESS MEDIUM RESOLVED Direct project member olga inactive on api",
                "tools MISSING_2FA HIGH RESOLVED mallory has developer access to tools without two-factor authentication",
                "web MISSING_2FA HIGH RESOLVED mallory has developer access to web without two-factor authentication",
            ])
        );

        // Another tenant sees none of it, by list or by id.
        let other = app.token(&Who::ADMIN_B);
        let (total, _) = findings_of(&app, &other).await;
        assert_eq!(total, 0);
        let id = list[0]["id"].clone();
        let (_, body) = app
            .gql(
                &other,
                "query($id: ID!) { node(id: $id) { id } }",
                json!({ "id": id }),
            )
            .await;
        assert!(body["data"]["node"].is_null(), "{body}");
    }
);

both!(
    gitlab_audit_judges_only_what_gitlab_shows,
    |backend| async move {
        let (app, server) = app_with_gitlab(backend).await;
        // A connecting user who is not an owner: no `two_factor_enabled` anywhere.
        let fake = mount(&server, false).await;
        let token = app.token(&Who::ADMIN_A);
        let (org, _) = connect_with(&app, &server, &token, projects()).await;
        let (_, list) = findings_of(&app, &token).await;
        let without_2fa: Vec<String> = ALL_TEN
            .iter()
            .filter(|l| !l.contains("MISSING_2FA"))
            .map(|l| l.to_string())
            .collect();
        assert_eq!(finding_lines(&list), without_2fa);

        // The field shown again: the same audit finds the five.
        seed(&mut fake.lock().unwrap(), true);
        let body = rediscover(&app, &token, &org).await;
        assert_eq!(tally(&body), (Some(10), Some(0)), "{body}");

        // api's members answer 403 while mallory enrols: api's rules are skipped (its three
        // findings stay open), web and tools are judged; the run succeeds.
        {
            let mut s = fake.lock().unwrap();
            s.forbidden.insert("/api/v4/projects/1/members".into());
            for rows in s.groups.values_mut() {
                for m in rows.iter_mut().filter(|m| m["username"] == "mallory") {
                    m["two_factor_enabled"] = true.into();
                }
            }
        }
        let body = rediscover(&app, &token, &org).await;
        let done = &body["data"]["rediscoverOrganization"];
        assert_eq!(done["organization"]["status"], "CONNECTED", "{body}");
        assert_eq!(tally(&body), (Some(5), Some(2)), "{body}");
        let (_, list) = findings_of(&app, &token).await;
        let api: Vec<String> = finding_lines(&list)
            .into_iter()
            .filter(|l| l.starts_with("api "))
            .collect();
        assert_eq!(api, lines(&ALL_TEN[..3]));

        // The 2FA field gone again (api readable again) judges nothing: open 2FA findings stay
        // open, none resolves.
        {
            let mut s = fake.lock().unwrap();
            s.forbidden.clear();
            seed(&mut s, false);
        }
        let body = rediscover(&app, &token, &org).await;
        assert_eq!(tally(&body), (Some(5), Some(0)), "{body}");
        let (_, list) = findings_of(&app, &token).await;
        let open_2fa: Vec<String> = finding_lines(&list)
            .into_iter()
            .filter(|l| l.contains("MISSING_2FA") && l.contains(" OPEN "))
            .collect();
        assert_eq!(open_2fa, lines(&[ALL_TEN[0], ALL_TEN[4], ALL_TEN[7]]));

        // A 5xx on a members list fails the run the GitLab way; nothing is lost.
        fake.lock().unwrap().fail = Some(message(503, "503 Service Unavailable"));
        let body = rediscover(&app, &token, &org).await;
        assert_eq!(code(&body), "UPSTREAM_UNAVAILABLE", "{body}");
        let (total, after) = findings_of(&app, &token).await;
        assert_eq!(total, 10);
        assert_eq!(finding_lines(&after), finding_lines(&list));
    }
);
