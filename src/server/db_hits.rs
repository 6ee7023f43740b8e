//! DB-hit accounting. Code that runs SQL for a request calls [`record`] next to the statement,
//! and the activity middleware collects what one request ran through a task-local
//! [`QueryRecorder`], so counts come from executed statements and never from the mode.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::model::Statement;

tokio::task_local! {
    static RECORDER: QueryRecorder;
}

/// The SQL statements run while one request was handled.
#[derive(Clone, Debug, Default)]
pub struct QueryRecorder {
    statements: Arc<Mutex<Vec<Statement>>>,
}

impl QueryRecorder {
    /// Runs `future` with this recorder as the current one.
    pub async fn scope<F: std::future::Future>(&self, future: F) -> F::Output {
        RECORDER.scope(self.clone(), future).await
    }

    /// Returns the statements recorded so far.
    pub fn statements(&self) -> Vec<Statement> {
        self.lock().clone()
    }

    /// Returns how many statements were recorded so far.
    pub fn count(&self) -> u32 {
        u32::try_from(self.lock().len()).unwrap_or(u32::MAX)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Statement>> {
        // A panic while the lock is held leaves a valid Vec behind, so a poisoned lock is usable.
        self.statements.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Records one executed SQL statement against the current request, if there is one.
/// Statements run outside a request (migrations, background cleanup) are not recorded.
pub fn record(sql: &str, elapsed: Duration) {
    record_with_delay(sql, elapsed, Duration::ZERO);
}

/// Records one executed SQL statement whose `elapsed` time includes `simulated` delay.
pub fn record_with_delay(sql: &str, elapsed: Duration, simulated: Duration) {
    let micros = |duration: Duration| u64::try_from(duration.as_micros()).unwrap_or(u64::MAX);
    let statement = Statement {
        sql: sql.to_owned(),
        us: micros(elapsed),
        simulated_us: micros(simulated),
    };
    let _ = RECORDER.try_with(|recorder| recorder.lock().push(statement));
}

/// Returns the number of statements the current request has run so far, or 0 outside a request.
pub fn current_count() -> u32 {
    RECORDER.try_with(QueryRecorder::count).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn record_counts_statements_inside_scope() {
        let recorder = QueryRecorder::default();
        recorder
            .scope(async {
                record("SELECT 1", Duration::from_micros(7));
                record("SELECT 2", Duration::from_micros(9));
                assert_eq!(current_count(), 2);
            })
            .await;

        let statements = recorder.statements();
        assert_eq!(statements.len(), 2);
        assert_eq!(statements[0].sql, "SELECT 1");
        assert_eq!(statements[0].us, 7);
        assert_eq!(statements[1].sql, "SELECT 2");
    }

    #[tokio::test]
    async fn record_outside_scope_is_ignored() {
        record("SELECT 1", Duration::from_micros(1));
        assert_eq!(current_count(), 0);
    }

    #[tokio::test]
    async fn scopes_do_not_share_statements() {
        let first = QueryRecorder::default();
        let second = QueryRecorder::default();
        first.scope(async { record("SELECT 1", Duration::ZERO) }).await;
        second.scope(async { record("SELECT 2", Duration::ZERO) }).await;

        assert_eq!(first.count(), 1);
        assert_eq!(second.count(), 1);
        assert_eq!(second.statements()[0].sql, "SELECT 2");
    }
}
