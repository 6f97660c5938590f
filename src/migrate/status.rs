//! The job status machine: the one table of allowed transitions, and the `CONFLICT` a change
//! outside it gets.

use entities::enums::JobStatus;

use crate::kernel::errors::{ApiError, ApiResult, Code};

/// Every allowed transition. Terminal states (completed, failed, cancelled) lead nowhere.
pub const TRANSITIONS: &[(JobStatus, &[JobStatus])] = &[
    (
        JobStatus::Queued,
        &[JobStatus::Running, JobStatus::Cancelled],
    ),
    (
        JobStatus::Running,
        &[
            JobStatus::Paused,
            JobStatus::Completed,
            JobStatus::Failed,
            JobStatus::Cancelled,
        ],
    ),
    (
        JobStatus::Paused,
        &[JobStatus::Running, JobStatus::Cancelled],
    ),
    (JobStatus::Completed, &[]),
    (JobStatus::Failed, &[]),
    (JobStatus::Cancelled, &[]),
];

/// The statuses `from` may move to.
pub fn next(from: JobStatus) -> &'static [JobStatus] {
    TRANSITIONS
        .iter()
        .find(|(status, _)| *status == from)
        .map(|(_, next)| *next)
        .unwrap_or(&[])
}

/// Whether the job has finished for good.
pub fn is_terminal(status: JobStatus) -> bool {
    next(status).is_empty()
}

/// Whether `from` → `to` is allowed.
pub fn allowed(from: JobStatus, to: JobStatus) -> bool {
    next(from).contains(&to)
}

/// The stored (and Bus) name of a status.
pub fn name(status: JobStatus) -> &'static str {
    match status {
        JobStatus::Queued => "queued",
        JobStatus::Running => "running",
        JobStatus::Paused => "paused",
        JobStatus::Completed => "completed",
        JobStatus::Failed => "failed",
        JobStatus::Cancelled => "cancelled",
    }
}

/// `Ok` when `from` → `to` is allowed; otherwise `CONFLICT` saying what the job can still do.
pub fn check(from: JobStatus, to: JobStatus) -> ApiResult<()> {
    if allowed(from, to) {
        return Ok(());
    }
    let message = if is_terminal(from) {
        format!(
            "the job is {} and can no longer change (it cannot become {})",
            name(from),
            name(to)
        )
    } else {
        let options: Vec<&str> = next(from).iter().map(|s| name(*s)).collect();
        format!(
            "a {} job cannot become {}; from {} it can only become {}",
            name(from),
            name(to),
            name(from),
            options.join(" or ")
        )
    };
    Err(ApiError::new(Code::Conflict, message))
}

#[cfg(test)]
mod tests {
    use super::*;
    use JobStatus::*;
    use sea_orm::Iterable;

    #[test]
    fn the_table_is_exactly_the_documented_machine() {
        let all: Vec<JobStatus> = JobStatus::iter().collect();
        let expected = [
            (Queued, Running),
            (Queued, Cancelled),
            (Running, Paused),
            (Running, Completed),
            (Running, Failed),
            (Running, Cancelled),
            (Paused, Running),
            (Paused, Cancelled),
        ];
        for from in &all {
            for to in &all {
                assert_eq!(
                    allowed(*from, *to),
                    expected.contains(&(*from, *to)),
                    "{from:?} -> {to:?}"
                );
            }
        }
        assert_eq!(TRANSITIONS.len(), all.len(), "every status has a row");
    }

    #[test]
    fn terminal_states_lead_nowhere() {
        for status in [Completed, Failed, Cancelled] {
            assert!(is_terminal(status));
        }
        for status in [Queued, Running, Paused] {
            assert!(!is_terminal(status));
        }
    }

    #[test]
    fn refusals_are_conflicts_with_a_clear_message() {
        let error = check(Queued, Completed).unwrap_err();
        assert_eq!(error.code(), Code::Conflict);
        assert_eq!(
            error.message(),
            "a queued job cannot become completed; from queued it can only become running or cancelled"
        );
        let error = check(Completed, Running).unwrap_err();
        assert_eq!(
            error.message(),
            "the job is completed and can no longer change (it cannot become running)"
        );
        assert!(check(Running, Paused).is_ok());
        assert!(check(Running, Running).is_err(), "no self-transitions");
    }
}
