//! Logs, metrics and traces. Logs are `tracing` events, plain text or JSON (`LOG_FORMAT=json`),
//! each written inside its request's span (`http::observe`), so every line of a request carries
//! its request id; metrics are in `metrics`; traces go to an OTLP collector when
//! `OTEL_EXPORTER_OTLP_ENDPOINT` is set (`otel`).

pub mod metrics;
pub mod otel;

use tracing::Subscriber;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

/// The filter when `RUST_LOG` is not set.
pub const DEFAULT_FILTER: &str = "info,sqlx=warn,apalis=warn";

/// The log line formatter: JSON objects (one a line, with the current span's fields under
/// `span` and every enclosing span's under `spans`) or human-readable text.
pub fn log_layer<S, W>(json: bool, writer: W) -> Box<dyn Layer<S> + Send + Sync>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let layer = tracing_subscriber::fmt::layer().with_writer(writer);
    if json {
        layer
            .json()
            .with_current_span(true)
            .with_span_list(true)
            .boxed()
    } else {
        layer.boxed()
    }
}

/// Keeps the trace exporter running; flushes it when dropped (at the end of `main`).
pub struct Guard {
    traces: Option<otel::Traces>,
}

impl Drop for Guard {
    fn drop(&mut self) {
        if let Some(traces) = self.traces.take() {
            traces.shutdown();
        }
    }
}

/// Installs the process-wide log subscriber: `RUST_LOG` (default `DEFAULT_FILTER`), text or
/// `LOG_FORMAT=json` on stdout, and the OpenTelemetry layer when configured.
pub fn init() -> anyhow::Result<Guard> {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER));
    let json = std::env::var("LOG_FORMAT").is_ok_and(|f| f == "json");
    let traces = otel::Traces::from_env()?;
    let trace_layer = traces.as_ref().map(|t| t.layer());
    tracing_subscriber::registry()
        .with(filter)
        .with(log_layer(json, std::io::stdout))
        .with(trace_layer)
        .try_init()?;
    std::panic::set_hook(Box::new(log_panic));
    if let Some(traces) = &traces {
        tracing::info!(endpoint = %traces.endpoint(), "exporting traces over OTLP");
    }
    Ok(Guard { traces })
}

/// Logs a panic with its location. A formatted message is withheld: it may quote what a client
/// sent (a slice panic prints the string it sliced, a token say); a literal one is kept.
fn log_panic(info: &std::panic::PanicHookInfo<'_>) {
    let location = info
        .location()
        .map(|l| format!("{}:{}", l.file(), l.line()))
        .unwrap_or_default();
    tracing::error!(location, message = panic_message(info.payload()), "panic");
}

/// A literal panic message (`panic!("…")`, `expect("…")` on an `Option`), or nothing.
fn panic_message(payload: &(dyn std::any::Any + Send)) -> &'static str {
    payload
        .downcast_ref::<&'static str>()
        .copied()
        .unwrap_or("(message withheld)")
}

#[cfg(test)]
mod tests {
    use super::panic_message;

    #[test]
    fn formatted_panic_messages_are_withheld() {
        let token = "Beare\u{20ac} secret";
        let sliced = std::panic::catch_unwind(|| token[..6].len()).unwrap_err();
        assert_eq!(panic_message(&*sliced), "(message withheld)");
        let literal = std::panic::catch_unwind(|| panic!("a literal")).unwrap_err();
        assert_eq!(panic_message(&*literal), "a literal");
    }
}
