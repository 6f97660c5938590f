//! Migrations over data written before them, on both databases.

use migration::MigratorTrait;
use sea_orm::{ConnectionTrait, Database, DatabaseConnection, Statement};

use crate::both;
use crate::helpers::{Backend, admin_pg_url, create_pg_database, pg_url_for};

/// An empty database, and the PostgreSQL one's name to drop afterwards.
async fn fresh(backend: Backend, dir: &tempfile::TempDir) -> (DatabaseConnection, Option<String>) {
    let (url, pg) = match backend {
        Backend::Sqlite => (
            format!("sqlite://{}/m.db?mode=rwc", dir.path().display()),
            None,
        ),
        Backend::Postgres => {
            let name = create_pg_database().await;
            (pg_url_for(&name), Some(name))
        }
    };
    (Database::connect(url).await.unwrap(), pg)
}

async fn drop_pg(db: DatabaseConnection, pg: Option<String>) {
    db.close().await.ok();
    if let Some(name) = pg {
        let admin = Database::connect(admin_pg_url()).await.unwrap();
        exec(
            &admin,
            &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
        )
        .await;
    }
}

async fn exec(db: &DatabaseConnection, sql: &str) {
    db.execute_unprepared(sql).await.unwrap();
}

both!(
    github_accounts_held_by_several_tenants_are_disconnected,
    |backend: Backend| async move {
        let dir = tempfile::tempdir().unwrap();
        let (db, pg) = fresh(backend, &dir).await;
        // Every migration before m20261203_000030.
        let before = migration::Migrator::migrations()
            .iter()
            .position(|m| m.name() == "m20261203_000030_github_installations")
            .unwrap() as u32;
        migration::Migrator::up(&db, Some(before)).await.unwrap();
        let now = "'2026-12-01T00:00:00+00:00'";
        for (id, hub) in [("a", "t-a"), ("b", "t-b")] {
            exec(
                &db,
                &format!(
                    "INSERT INTO tenants (id, hub_tenant_id, name, created_at, updated_at) VALUES \
                 ('00000000-0000-7000-8000-00000000000{id}', '{hub}', '{hub}', {now}, {now})"
                ),
            )
            .await;
        }
        // Account 42 in both tenants (the hole), account 7 in one, 42 on GitLab elsewhere.
        let rows = [
            ("1", "a", "github", "42", "connected"),
            ("2", "b", "github", "42", "error"),
            ("3", "a", "github", "7", "connected"),
            ("4", "b", "gitlab", "7", "connected"),
        ];
        for (id, tenant, provider, external, status) in rows {
            exec(&db, &format!(
                "INSERT INTO organizations (id, tenant_id, provider, login, name, external_id, status, \
                 credentials_encrypted, repo_count, created_at, updated_at) VALUES \
                 ('00000000-0000-7000-8000-00000000010{id}', '00000000-0000-7000-8000-00000000000{tenant}', \
                 '{provider}', 'acme{id}', 'Acme', '{external}', '{status}', 'sealed', 0, {now}, {now})"
            ))
            .await;
        }
        migration::Migrator::up(&db, None).await.unwrap();
        let rows = db
            .query_all_raw(Statement::from_string(
                db.get_database_backend(),
                "SELECT id, status, credentials_encrypted, status_error FROM organizations ORDER BY id",
            ))
            .await
            .unwrap();
        let seen: Vec<(String, bool, bool)> = rows
            .iter()
            .map(|r| {
                let status: String = r.try_get("", "status").unwrap();
                let creds: Option<String> = r.try_get("", "credentials_encrypted").unwrap();
                let error: Option<String> = r.try_get("", "status_error").unwrap();
                (
                    status,
                    creds.is_some(),
                    error.is_some_and(|e| e.contains("connect it again")),
                )
            })
            .collect();
        assert_eq!(
            seen,
            [
                ("disconnected".to_string(), false, true),
                ("disconnected".to_string(), false, true),
                ("connected".to_string(), true, false),
                ("connected".to_string(), true, false),
            ]
        );
        // From now on the index keeps it so.
        let again = db
            .execute_unprepared(
                "UPDATE organizations SET status = 'connected' WHERE external_id = '42'",
            )
            .await;
        assert!(
            again.is_err(),
            "the unique index refuses a second live holder"
        );
        drop_pg(db, pg).await;
    }
);

both!(
    backups_in_flight_twice_keep_the_newest,
    |backend: Backend| async move {
        let dir = tempfile::tempdir().unwrap();
        let (db, pg) = fresh(backend, &dir).await;
        let before = migration::Migrator::migrations()
            .iter()
            .position(|m| m.name() == "m20261205_000060_backup_runners")
            .unwrap() as u32;
        migration::Migrator::up(&db, Some(before)).await.unwrap();
        let now = "'2026-12-01T00:00:00+00:00'";
        let tenant = "'00000000-0000-7000-8000-00000000000a'";
        let org = "'00000000-0000-7000-8000-000000000101'";
        exec(
            &db,
            &format!(
                "INSERT INTO tenants (id, hub_tenant_id, name, created_at, updated_at) VALUES \
             ({tenant}, 't-a', 't-a', {now}, {now})"
            ),
        )
        .await;
        exec(&db, &format!(
            "INSERT INTO organizations (id, tenant_id, provider, login, name, external_id, status, \
             credentials_encrypted, repo_count, created_at, updated_at) VALUES \
             ({org}, {tenant}, 'github', 'acme', 'Acme', '1', 'connected', 'sealed', 0, {now}, {now})"
        ))
        .await;
        for repo in ["1", "2"] {
            exec(&db, &format!(
                "INSERT INTO repositories (id, tenant_id, organization_id, name, full_name, url, \
                 archived, tech_stack, lifecycle, created_at, updated_at) VALUES \
                 ('00000000-0000-7000-8000-00000000020{repo}', {tenant}, {org}, 'r{repo}', 'acme/r{repo}', \
                 'https://x/r{repo}', false, '[]', 'active', {now}, {now})"
            ))
            .await;
        }
        // Repository 1: two in flight (possible before the index) and a finished one.
        let backups = [
            ("1", "1", "requested"),
            ("2", "1", "running"),
            ("3", "1", "completed"),
            ("4", "2", "requested"),
        ];
        for (id, repo, status) in backups {
            exec(&db, &format!(
                "INSERT INTO backups (id, tenant_id, repository_id, status, created_at, updated_at) VALUES \
                 ('00000000-0000-7000-8000-00000000030{id}', {tenant}, \
                 '00000000-0000-7000-8000-00000000020{repo}', '{status}', {now}, {now})"
            ))
            .await;
        }
        migration::Migrator::up(&db, None).await.unwrap();
        let rows = db
            .query_all_raw(Statement::from_string(
                db.get_database_backend(),
                "SELECT status, error FROM backups ORDER BY id",
            ))
            .await
            .unwrap();
        let seen: Vec<(String, Option<String>)> = rows
            .iter()
            .map(|r| {
                (
                    r.try_get("", "status").unwrap(),
                    r.try_get("", "error").unwrap(),
                )
            })
            .collect();
        let superseded = Some("superseded by a newer request".to_string());
        assert_eq!(
            seen,
            [
                ("failed".to_string(), superseded),
                ("running".to_string(), None),
                ("completed".to_string(), None),
                ("requested".to_string(), None),
            ]
        );
        let again = db
            .execute_unprepared(&format!(
                "INSERT INTO backups (id, tenant_id, repository_id, status, created_at, updated_at) VALUES \
                 ('00000000-0000-7000-8000-000000000305', {tenant}, \
                 '00000000-0000-7000-8000-000000000202', 'running', {now}, {now})"
            ))
            .await;
        assert!(again.is_err(), "one backup in flight per repository");
        drop_pg(db, pg).await;
    }
);
