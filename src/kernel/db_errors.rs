//! Which database errors mean "the database is unreachable, going away or locked": those answer
//! `DB_UNAVAILABLE` (retry later; HTTP 503 outside GraphQL) so clients and load balancers can act,
//! everything else stays a masked `INTERNAL` (a bug to look at).

use sea_orm::{DbErr, RuntimeErr};
use sqlx::postgres::PgDatabaseError;
use sqlx::sqlite::SqliteError;

/// PostgreSQL SQLSTATEs of a server that is going away or will not take us: class 08
/// (connection exception), 57P01 admin shutdown (also `pg_terminate_backend`), 57P02 crash
/// shutdown, 57P03 cannot connect now (starting or stopping), 53300 too many connections.
fn pg_unavailable(code: &str) -> bool {
    code.starts_with("08") || matches!(code, "57P01" | "57P02" | "57P03" | "53300")
}

/// SQLite primary result codes of a file that is locked past the busy timeout or cannot be
/// used: BUSY (5), LOCKED (6), READONLY (8), IOERR (10), FULL (13), CANTOPEN (14).
fn sqlite_unavailable(extended: i64) -> bool {
    matches!(extended & 0xff, 5 | 6 | 8 | 10 | 13 | 14)
}

/// An sqlx error that means the database cannot be reached or the connection was cut.
pub fn sqlx_unavailable(error: &sqlx::Error) -> bool {
    use sqlx::Error as E;
    match error {
        // A socket reset, EOF or TLS failure mid-statement; a protocol error is what a cut
        // connection reads as when the server's last message was half sent.
        E::Io(_) | E::Tls(_) | E::Protocol(_) => true,
        E::PoolTimedOut | E::PoolClosed | E::WorkerCrashed => true,
        E::Database(db) => {
            if let Some(pg) = db.try_downcast_ref::<PgDatabaseError>() {
                pg_unavailable(pg.code())
            } else if db.try_downcast_ref::<SqliteError>().is_some() {
                db.code()
                    .and_then(|c| c.parse::<i64>().ok())
                    .is_some_and(sqlite_unavailable)
            } else {
                false
            }
        }
        _ => false,
    }
}

/// A sea-orm error that means the database cannot be reached or the connection was cut.
pub fn unavailable(error: &DbErr) -> bool {
    match error {
        DbErr::ConnectionAcquire(_) | DbErr::Conn(_) => true,
        DbErr::Exec(RuntimeErr::SqlxError(e)) | DbErr::Query(RuntimeErr::SqlxError(e)) => {
            sqlx_unavailable(e)
        }
        _ => false,
    }
}

/// Whether any cause in an error chain is a database outage (errors that went through
/// `anyhow`, e.g. from the queue's own pool).
pub fn chain_unavailable(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause.downcast_ref::<DbErr>().is_some_and(unavailable)
            || cause
                .downcast_ref::<sqlx::Error>()
                .is_some_and(sqlx_unavailable)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn outages_are_told_from_bugs() {
        let io = sqlx::Error::Io(std::io::Error::from(std::io::ErrorKind::ConnectionReset));
        assert!(unavailable(&DbErr::Query(RuntimeErr::SqlxError(Arc::new(
            io
        )))));
        let timed_out = Arc::new(sqlx::Error::PoolTimedOut);
        assert!(unavailable(&DbErr::Exec(RuntimeErr::SqlxError(timed_out))));
        let missing = Arc::new(sqlx::Error::ColumnNotFound("x".into()));
        assert!(!unavailable(&DbErr::Query(RuntimeErr::SqlxError(missing))));
        assert!(!unavailable(&DbErr::RecordNotFound("x".into())));
        assert!(pg_unavailable("57P01") && pg_unavailable("08006"));
        assert!(!pg_unavailable("23505") && !pg_unavailable("22021"));
        // SQLITE_BUSY, SQLITE_IOERR_WRITE (778); SQLITE_CONSTRAINT_UNIQUE (2067) is a conflict.
        assert!(sqlite_unavailable(5) && sqlite_unavailable(778));
        assert!(!sqlite_unavailable(2067));
        let wrapped = anyhow::Error::from(sqlx::Error::PoolClosed).context("pushing a task");
        assert!(chain_unavailable(&wrapped));
    }
}
