//! Subscription benchmark (`cargo bench --bench subscribers`; see docs/benchmarks.md).
//!
//! Starts the real server (the release binary, `serve` on its embedded SQLite) and holds 10,000
//! `graphql-transport-ws` connections to it, each subscribed to `jobProgress` of one job. It
//! prints the server's memory above idle, then:
//!
//! * fan-out: an agent's progress report on that job, delivered to all 10,000 subscribers
//!   (latency from the report being sent to each subscriber's receipt), repeated;
//! * spread: each connection also subscribes to one of 1,000 other jobs (10 subscribers each);
//!   reports on random jobs, one at a time, spread over time, each timed to its subscribers.
//!
//! Targets (issue #4): under 100 MiB above idle for the 10,000; fan-out p99 under 100 ms;
//! spread p99 under 5 ms. A report: it exits 0 whatever the figures, 1 only when broken.
//!
//! Settings (environment): `BENCH_SUBSCRIBERS` (default 10000), `BENCH_JOBS` (default 1000),
//! `BENCH_FANOUT_EVENTS` (default 20), `BENCH_SPREAD_EVENTS` (default 300).

use std::collections::HashMap;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow, bail, ensure};
use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use stack_gateway::auth::claims::{MintRequest, mint};
use stack_gateway::config::SsoConfig;
use tokio::sync::{Semaphore, mpsc};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

const SECRET: &str = "subscribers-bench-secret-0123456789abcdef";
const MEMORY_TARGET_MIB: f64 = 100.0;
const FANOUT_P99_TARGET_MS: f64 = 100.0;
const SPREAD_P99_TARGET_MS: f64 = 5.0;
const JOB_PROGRESS: &str =
    "subscription($j: ID!) { jobProgress(jobId: $j) { status itemsDone bytesDone } }";

fn setting(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The release server on a fresh SQLite directory; killed when dropped.
struct Server {
    child: Child,
    base: String,
    _dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    fn start() -> anyhow::Result<Self> {
        let dir = tempfile::tempdir()?;
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let mut command = Command::new(env!("CARGO_BIN_EXE_stack-gateway"));
        command
            .arg("serve")
            .env("DATA_DIR", dir.path())
            .env("BIND_ADDR", format!("127.0.0.1:{port}"))
            .env("PORTAL_SSO_SECRET", SECRET)
            .env("GATEWAY_ENCRYPTION_KEY", "07".repeat(32))
            .env("RUST_LOG", "warn")
            .env_remove("DATABASE_URL")
            .env_remove("GATEWAY_ENV")
            .env_remove("PUBLIC_URL");
        // Timers off: the agent must not be marked offline while the bench runs.
        for (name, _) in jobs::Schedules::TABLE {
            command.env(
                format!("SCHEDULE_{}", name.to_uppercase().replace('-', "_")),
                "off",
            );
        }
        let child = command
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("starting the server binary")?;
        Ok(Server {
            child,
            base: format!("127.0.0.1:{port}"),
            _dir: dir,
        })
    }

    /// CPU seconds the server has used (user + system).
    fn cpu_seconds(&self) -> anyhow::Result<f64> {
        cpu_seconds(&format!("/proc/{}/stat", self.child.id()))
    }

    /// VmRSS in MiB.
    fn rss_mib(&self) -> anyhow::Result<f64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))?;
        let line = status
            .lines()
            .find(|l| l.starts_with("VmRSS:"))
            .ok_or_else(|| anyhow!("no VmRSS"))?;
        let kib: f64 = line
            .split_whitespace()
            .nth(1)
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| anyhow!("bad VmRSS line"))?;
        Ok(kib / 1024.0)
    }
}

struct Api {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl Api {
    async fn gql(&self, query: &str, variables: Value) -> anyhow::Result<Value> {
        let body: Value = self
            .http
            .post(format!("http://{}/graphql", self.base))
            .bearer_auth(&self.token)
            .json(&json!({ "query": query, "variables": variables }))
            .send()
            .await?
            .json()
            .await?;
        ensure!(body.get("errors").is_none(), "GraphQL errors: {body}");
        Ok(body["data"].clone())
    }

    async fn agent(&self, key: &str, path: &str, body: Value) -> anyhow::Result<()> {
        let response = self
            .http
            .post(format!("http://{}/api/agent{path}", self.base))
            .bearer_auth(key)
            .json(&body)
            .send()
            .await?;
        let status = response.status();
        ensure!(
            status.is_success(),
            "{path}: {status} {}",
            response.text().await?
        );
        Ok(())
    }
}

/// A global id's UUID (the agent API takes plain UUIDs).
fn uuid_of(id: &str) -> anyhow::Result<String> {
    use base64::Engine;
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(id)?;
    let text = String::from_utf8(raw)?;
    Ok(text
        .split_once(':')
        .ok_or_else(|| anyhow!("bad id {id}"))?
        .1
        .to_string())
}

/// What a subscriber received: its connection, the subscription id, `itemsDone`, when.
type Receipt = (usize, bool, i64, Instant);

/// Opens a connection, subscribes to the fan-out job, waits for its first result, then forwards
/// every later result to `receipts` from a reader task. Returns the sender half.
async fn subscriber(
    index: usize,
    base: String,
    token: Arc<String>,
    fan_job: Arc<String>,
    receipts: mpsc::UnboundedSender<Receipt>,
) -> anyhow::Result<futures::stream::SplitSink<WsStream, Message>> {
    let mut request = format!("ws://{base}/graphql/ws").into_client_request()?;
    request
        .headers_mut()
        .insert("sec-websocket-protocol", "graphql-transport-ws".parse()?);
    // Small buffers, as the server's: tungstenite zero-fills its whole read buffer before every
    // read, and with the default 128 KiB that memset was most of the client's CPU on the cores
    // it shares with the server.
    let config = WebSocketConfig::default()
        .read_buffer_size(4 * 1024)
        .write_buffer_size(4 * 1024);
    let (socket, _) =
        tokio_tungstenite::connect_async_with_config(request, Some(config), true).await?;
    let (mut sink, mut stream) = socket.split();
    let init = json!({ "type": "connection_init", "payload": { "token": *token } });
    sink.send(Message::text(init.to_string())).await?;
    let subscribe = json!({ "id": "f", "type": "subscribe", "payload": { "query": JOB_PROGRESS, "variables": { "j": *fan_job } } });
    sink.send(Message::text(subscribe.to_string())).await?;
    // The ack, then the job's current state.
    for _ in 0..2 {
        let message = stream
            .next()
            .await
            .ok_or_else(|| anyhow!("closed during set-up"))??;
        ensure!(message.is_text(), "unexpected {message:?}");
    }
    tokio::spawn(async move {
        while let Some(Ok(Message::Text(text))) = stream.next().await {
            let at = Instant::now();
            let text = text.as_str();
            if let Some(done) = items_done(text) {
                let fan = text.starts_with("{\"id\":\"f\"");
                let _ = receipts.send((index, fan, done, at));
            }
        }
    });
    Ok(sink)
}

type WsStream =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// `itemsDone` of a `next` message, without parsing the whole JSON.
fn items_done(text: &str) -> Option<i64> {
    let start = text.find("\"itemsDone\":")? + "\"itemsDone\":".len();
    let digits: String = text[start..]
        .chars()
        .take_while(|c| c.is_ascii_digit())
        .collect();
    digits.parse().ok()
}

/// utime + stime of a `/proc/…/stat` file, in seconds (clock ticks of 1/100 s on Linux).
fn cpu_seconds(path: &str) -> anyhow::Result<f64> {
    let stat = std::fs::read_to_string(path)?;
    // The fields after the command name, which is in parentheses and may hold spaces.
    let after = stat
        .rsplit_once(')')
        .ok_or_else(|| anyhow!("bad {path}"))?
        .1;
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| -> anyhow::Result<f64> {
        Ok(fields
            .get(i)
            .ok_or_else(|| anyhow!("bad {path}"))?
            .parse()?)
    };
    // utime and stime are fields 14 and 15 of the whole line, 12 and 13 after the name.
    Ok((ticks(11)? + ticks(12)?) / 100.0)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

fn summary(label: &str, mut values: Vec<f64>) -> f64 {
    values.sort_by(|a, b| a.total_cmp(b));
    let p99 = percentile(&values, 99.0);
    println!(
        "{label:<10} deliveries {:>7}  p50 {:>8.2} ms  p99 {:>8.2} ms  max {:>8.2} ms",
        values.len(),
        percentile(&values, 50.0),
        p99,
        values.last().copied().unwrap_or(f64::NAN)
    );
    p99
}

fn pass(ok: bool) -> &'static str {
    if ok { "PASS" } else { "MISS" }
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    if let Err(error) = runtime.block_on(run()) {
        eprintln!("subscribers bench failed: {error:#}");
        std::process::exit(1);
    }
}

async fn run() -> anyhow::Result<()> {
    let subscribers = setting("BENCH_SUBSCRIBERS", 10_000);
    let job_count = setting("BENCH_JOBS", 1_000).max(1);
    let fanout_events = setting("BENCH_FANOUT_EVENTS", 20);
    let spread_events = setting("BENCH_SPREAD_EVENTS", 300);

    let server = Server::start()?;
    let http = reqwest::Client::new();
    let mut up = false;
    for _ in 0..240 {
        let ok = http
            .get(format!("http://{}/healthz", server.base))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success());
        if ok {
            up = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    ensure!(up, "the server did not come up");
    let sso = SsoConfig {
        secret: SECRET.as_bytes().to_vec(),
        issuer: "the-one-hub".into(),
        audience: "stack-gateway".into(),
    };
    let token = mint(
        &sso,
        &MintRequest {
            sub: "bench".into(),
            email: "bench@example.com".into(),
            name: "Bench".into(),
            tenant_id: "bench-tenant".into(),
            tenant_name: "Bench".into(),
            roles: vec!["admin".into()],
            products: vec!["migrate".into()],
            ttl_seconds: 3_600,
            session_seconds: 7_200,
        },
    );
    let api = Api {
        http: http.clone(),
        base: server.base.clone(),
        token: token.clone(),
    };

    // A project, an agent that has called in, the fan-out job and the spread jobs, all running.
    let project = api
        .gql(
            "mutation { createProject(input: { name: \"Bench\" }) { project { id } } }",
            json!({}),
        )
        .await?["createProject"]["project"]["id"]
        .as_str()
        .ok_or_else(|| anyhow!("no project id"))?
        .to_string();
    let registered = api
        .gql(
            "mutation { registerAgent(input: { name: \"bench-agent\" }) { apiKey agent { id } } }",
            json!({}),
        )
        .await?;
    let key = registered["registerAgent"]["apiKey"]
        .as_str()
        .ok_or_else(|| anyhow!("no key"))?
        .to_string();
    let agent = registered["registerAgent"]["agent"]["id"].clone();
    api.agent(&key, "/heartbeat", json!({})).await?;
    let mut job_ids = Vec::with_capacity(job_count + 1);
    for n in 0..=job_count {
        let created = api
            .gql(
                "mutation($i: CreateJobInput!) { createJob(input: $i) { job { id } } }",
                json!({ "i": { "projectId": project, "kind": "MAILBOX", "name": format!("job {n}"), "agentId": agent, "config": {} } }),
            )
            .await?;
        let id = created["createJob"]["job"]["id"]
            .as_str()
            .ok_or_else(|| anyhow!("no job id"))?
            .to_string();
        api.agent(&key, &format!("/jobs/{}/start", uuid_of(&id)?), json!({}))
            .await?;
        job_ids.push(id);
    }
    let fan_job = job_ids.remove(0);
    let fan_uuid = uuid_of(&fan_job)?;

    tokio::time::sleep(Duration::from_secs(2)).await;
    let idle = server.rss_mib()?;
    println!("server idle RSS {idle:.1} MiB; opening {subscribers} subscriptions …");

    let (receipts_tx, mut receipts) = mpsc::unbounded_channel::<Receipt>();
    let token = Arc::new(token);
    let fan_job = Arc::new(fan_job);
    let handshakes = Arc::new(Semaphore::new(64));
    let opening = Instant::now();
    let mut tasks = Vec::with_capacity(subscribers);
    for index in 0..subscribers {
        let (base, token, fan_job, tx, handshakes) = (
            server.base.clone(),
            token.clone(),
            fan_job.clone(),
            receipts_tx.clone(),
            handshakes.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let _permit = handshakes.acquire().await.expect("semaphore");
            subscriber(index, base, token, fan_job, tx).await
        }));
    }
    let mut sinks = Vec::with_capacity(subscribers);
    for task in tasks {
        sinks.push(task.await??);
    }
    println!(
        "{subscribers} subscribed in {:.1} s",
        opening.elapsed().as_secs_f64()
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    let held = server.rss_mib()?;
    let above = held - idle;
    println!(
        "server RSS with {subscribers} subscribers {held:.1} MiB: {above:.1} MiB above idle ({:.1} KiB each)",
        above * 1024.0 / subscribers as f64
    );

    // Fan-out: one report, every subscriber of the job.
    let mut fan_latencies = Vec::with_capacity(subscribers * fanout_events);
    let cpu_before = (server.cpu_seconds()?, cpu_seconds("/proc/self/stat")?);
    for event in 1..=fanout_events as i64 {
        let sent = Instant::now();
        api.agent(
            &key,
            &format!("/jobs/{fan_uuid}/progress"),
            json!({ "itemsDone": event, "bytesDone": event * 1_000 }),
        )
        .await?;
        let mut got = 0;
        while got < subscribers {
            let (_, fan, done, at) = tokio::time::timeout(Duration::from_secs(10), receipts.recv())
                .await
                .map_err(|_| anyhow!("fan-out event {event}: {got}/{subscribers} delivered"))?
                .ok_or_else(|| anyhow!("receipts closed"))?;
            if fan && done == event {
                got += 1;
                fan_latencies.push(at.duration_since(sent).as_secs_f64() * 1_000.0);
            }
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let deliveries = (subscribers * fanout_events) as f64;
    let server_cpu = (server.cpu_seconds()? - cpu_before.0) * 1e6 / deliveries;
    let client_cpu = (cpu_seconds("/proc/self/stat")? - cpu_before.1) * 1e6 / deliveries;

    // Spread: each connection also follows one of the other jobs.
    for (index, sink) in sinks.iter_mut().enumerate() {
        let job = &job_ids[index % job_ids.len()];
        let subscribe = json!({ "id": "s", "type": "subscribe", "payload": { "query": JOB_PROGRESS, "variables": { "j": job } } });
        sink.send(Message::text(subscribe.to_string())).await?;
    }
    // Their first results (each job's current state).
    let mut first = 0;
    while first < subscribers {
        let (_, fan, _, _) = tokio::time::timeout(Duration::from_secs(20), receipts.recv())
            .await
            .map_err(|_| anyhow!("spread set-up: {first}/{subscribers} first results"))?
            .ok_or_else(|| anyhow!("receipts closed"))?;
        if !fan {
            first += 1;
        }
    }
    let per_job = subscribers.div_ceil(job_ids.len());
    let mut spread_latencies = Vec::with_capacity(spread_events * per_job);
    let mut counters: HashMap<usize, i64> = HashMap::new();
    let mut rng = 0x2545_f491_4f6c_dd1du64;
    for _ in 0..spread_events {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        let job = (rng % job_ids.len() as u64) as usize;
        let expected = (0..subscribers)
            .filter(|i| i % job_ids.len() == job)
            .count();
        let done = counters.entry(job).or_insert(0);
        *done += 1;
        let value = *done;
        let sent = Instant::now();
        api.agent(
            &key,
            &format!("/jobs/{}/progress", uuid_of(&job_ids[job])?),
            json!({ "itemsDone": value, "bytesDone": value }),
        )
        .await?;
        let mut got = 0;
        while got < expected {
            let (index, fan, items, at) =
                tokio::time::timeout(Duration::from_secs(10), receipts.recv())
                    .await
                    .map_err(|_| anyhow!("spread event: {got}/{expected} delivered"))?
                    .ok_or_else(|| anyhow!("receipts closed"))?;
            if !fan && index % job_ids.len() == job && items == value {
                got += 1;
                spread_latencies.push(at.duration_since(sent).as_secs_f64() * 1_000.0);
            }
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    println!();
    println!("latency from the agent's report being sent to each subscriber's receipt:");
    let fan_p99 = summary("fan-out", fan_latencies);
    let spread_p99 = summary("spread", spread_latencies);
    println!(
        "fan-out CPU per delivery: server {server_cpu:.1} µs, bench client {client_cpu:.1} µs \
         (includes the kernel's share of each write and read)"
    );
    println!();
    println!(
        "{} memory above idle for {subscribers} subscribers: {above:.1} MiB (target < {MEMORY_TARGET_MIB} MiB)",
        pass(above < MEMORY_TARGET_MIB)
    );
    println!(
        "{} fan-out p99 {fan_p99:.2} ms (target < {FANOUT_P99_TARGET_MS} ms)",
        pass(fan_p99 < FANOUT_P99_TARGET_MS)
    );
    println!(
        "{} spread p99 {spread_p99:.2} ms (target < {SPREAD_P99_TARGET_MS} ms)",
        pass(spread_p99 < SPREAD_P99_TARGET_MS)
    );
    if subscribers == 0 {
        bail!("no subscribers");
    }
    drop(sinks);
    Ok(())
}
