//! The real apalis queue on each database: a pushed task runs, and the session clean-up it
//! performs removes only what has expired.

use chrono::{Duration, Utc};
use sea_orm::{ActiveValue::Set, EntityTrait};
use stack_gateway::tasks::SessionCleanup;
use uuid::Uuid;

use crate::both;
use crate::helpers::spawn_app;

both!(
    session_cleanup_runs_through_the_queue,
    |backend| async move {
        let app = spawn_app(backend).await;
        let tenant = app.tenant("tenant-a").await;
        let user = entities::users::Entity::find()
            .one(&app.services.db)
            .await
            .unwrap()
            .unwrap();
        let now = Utc::now();
        for (hash, expires) in [
            ("expired", now - Duration::minutes(1)),
            ("live", now + Duration::hours(1)),
        ] {
            entities::sessions::Entity::insert(entities::sessions::ActiveModel {
                id: Set(Uuid::now_v7()),
                tenant_id: Set(tenant),
                user_id: Set(user.id),
                token_hash: Set(hash.into()),
                roles: Set(serde_json::json!(["viewer"])),
                products: Set(serde_json::json!(["code"])),
                expires_at: Set(expires),
                last_seen_at: Set(None),
                created_at: Set(now),
                updated_at: Set(now),
            })
            .exec_without_returning(&app.services.db)
            .await
            .unwrap();
        }
        for (jti, expires) in [
            ("old", now - Duration::days(2)),
            ("recent", now - Duration::minutes(5)),
        ] {
            entities::used_tokens::Entity::insert(entities::used_tokens::ActiveModel {
                jti: Set(jti.into()),
                expires_at: Set(expires),
                created_at: Set(now),
            })
            .exec_without_returning(&app.services.db)
            .await
            .unwrap();
        }
        app.services
            .queue
            .push(
                SessionCleanup { tick: now },
                Some(&format!("test-{}", Uuid::new_v4())),
            )
            .await
            .unwrap();
        // Wait until the worker has removed both kinds of expired rows, then check what is left.
        let (mut remaining, mut tokens) = (Vec::new(), Vec::new());
        for _ in 0..100 {
            remaining = entities::sessions::Entity::find()
                .all(&app.services.db)
                .await
                .unwrap();
            tokens = entities::used_tokens::Entity::find()
                .all(&app.services.db)
                .await
                .unwrap();
            if remaining.len() == 1 && tokens.len() == 1 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        assert_eq!(remaining.len(), 1, "the worker removed the expired session");
        assert_eq!(remaining[0].token_hash, "live");
        assert_eq!(
            tokens.iter().map(|t| t.jti.as_str()).collect::<Vec<_>>(),
            ["recent"]
        );
    }
);

both!(a_tick_pushed_twice_runs_once, |backend| async move {
    let app = spawn_app(backend).await;
    let tick = Utc::now();
    let key = jobs::tick_key("session-cleanup", tick);
    app.services
        .queue
        .push(SessionCleanup { tick }, Some(&key))
        .await
        .unwrap();
    app.services
        .queue
        .push(SessionCleanup { tick }, Some(&key))
        .await
        .unwrap();
    let rows = app
        .services
        .queue
        .count_with_key::<SessionCleanup>(&key)
        .await
        .unwrap();
    assert_eq!(
        rows, 1,
        "one task for one tick, however many replicas push it"
    );
});
