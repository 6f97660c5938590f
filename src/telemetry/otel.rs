//! OpenTelemetry traces: every `tracing` span (the request span, and what runs inside it) is
//! exported over OTLP HTTP/protobuf when `OTEL_EXPORTER_OTLP_ENDPOINT` (or
//! `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) is set. The exporter reads the standard variables itself
//! (`OTEL_EXPORTER_OTLP_HEADERS`, `…_TIMEOUT`, `OTEL_SERVICE_NAME`, `OTEL_RESOURCE_ATTRIBUTES`);
//! its HTTP client is reqwest's blocking client on the batch processor's own thread (the same
//! reqwest and rustls as the rest of the gateway).

use anyhow::Context;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::{SpanExporter, WithExportConfig};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::{SdkTracer, SdkTracerProvider};
use tracing::Subscriber;
use tracing_opentelemetry::OpenTelemetryLayer;
use tracing_subscriber::registry::LookupSpan;

const SERVICE: &str = "stack-gateway";

/// A running trace pipeline (batch processor and exporter).
pub struct Traces {
    provider: SdkTracerProvider,
    endpoint: String,
}

impl Traces {
    /// The pipeline the environment asks for, or `None` when no OTLP endpoint is set.
    pub fn from_env() -> anyhow::Result<Option<Self>> {
        let endpoint = [
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
            "OTEL_EXPORTER_OTLP_ENDPOINT",
        ]
        .into_iter()
        .find_map(|name| std::env::var(name).ok().filter(|v| !v.trim().is_empty()));
        match endpoint {
            None => Ok(None),
            Some(endpoint) => Self::build(None, endpoint).map(Some),
        }
    }

    /// Exports to `url` (the full traces URL, e.g. `http://collector:4318/v1/traces`).
    pub fn to_url(url: &str) -> anyhow::Result<Self> {
        Self::build(Some(url), url.to_string())
    }

    fn build(url: Option<&str>, endpoint: String) -> anyhow::Result<Self> {
        let mut exporter = SpanExporter::builder().with_http();
        if let Some(url) = url {
            exporter = exporter.with_endpoint(url);
        }
        let exporter = exporter
            .build()
            .context("building the OTLP trace exporter (OTEL_EXPORTER_OTLP_ENDPOINT)")?;
        let mut resource = Resource::builder();
        if std::env::var_os("OTEL_SERVICE_NAME").is_none() {
            resource = resource.with_service_name(SERVICE);
        }
        let provider = SdkTracerProvider::builder()
            .with_batch_exporter(exporter)
            .with_resource(resource.build())
            .build();
        Ok(Traces { provider, endpoint })
    }

    /// Where the spans go.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The `tracing` layer that turns spans into OpenTelemetry spans.
    pub fn layer<S>(&self) -> OpenTelemetryLayer<S, SdkTracer>
    where
        S: Subscriber + for<'a> LookupSpan<'a>,
    {
        tracing_opentelemetry::layer().with_tracer(self.provider.tracer(SERVICE))
    }

    /// Exports what is buffered now.
    pub fn flush(&self) -> anyhow::Result<()> {
        self.provider
            .force_flush()
            .map_err(|e| anyhow::anyhow!("flushing traces: {e}"))
    }

    /// Flushes and stops the pipeline.
    pub fn shutdown(self) {
        if let Err(error) = self.provider.shutdown() {
            eprintln!("stopping the trace exporter: {error}");
        }
    }
}
