//! Start-up: connect the services, build the HTTP state, bind, then serve HTTP and run the queue
//! and the background loops until shutdown.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use tokio::net::TcpListener;

use crate::config::Config;
use crate::http::state::AppState;
use crate::services::Services;

/// A bound server, ready to run.
pub struct Server {
    pub services: Arc<Services>,
    pub state: AppState,
    listener: TcpListener,
}

impl Server {
    pub async fn bind(config: Config) -> anyhow::Result<Self> {
        let addr = config.bind_addr;
        let services = Services::connect(config).await?;
        let state = AppState::new(services.clone());
        let listener = TcpListener::bind(addr)
            .await
            .with_context(|| format!("binding {addr} (BIND_ADDR)"))?;
        Ok(Server {
            services,
            state,
            listener,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("bound listener has an address")
    }

    /// Serves HTTP and runs the queue until `shutdown` resolves.
    pub async fn run(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let metrics = self.services.metrics.clone();
        let runner = jobs::Runner::new(self.services.queue.clone())
            .schedules(self.services.config.schedules.clone())
            .observe(Arc::new(move |run: &jobs::TaskOutcome| {
                metrics.task_run(run.task, run.ok, run.elapsed)
            }));
        let runner = crate::tasks::register(runner, &self.services)?;
        let mut queue_stop = stop_rx.clone();
        let queue = tokio::spawn(runner.run(async move {
            let _ = queue_stop.wait_for(|stop| *stop).await;
        }));
        let deliverer = tokio::spawn(crate::integrations::bus::deliver::run(
            self.services.db.clone(),
            self.services.upstream.clone(),
            self.services.bus_wake.clone(),
            stop_rx.clone(),
        ));
        let live_listener = self.services.live.start();
        let upkeep = tokio::spawn(crate::telemetry::metrics::upkeep(
            self.services.metrics.clone(),
            stop_rx.clone(),
        ));
        let app = crate::http::router(self.state.clone());
        let mut http_stop = stop_rx.clone();
        let served = crate::http::serve::serve(
            self.listener,
            app,
            self.services.config.connections.clone(),
            async move {
                let _ = http_stop.wait_for(|stop| *stop).await;
            },
        );
        tokio::spawn(async move {
            shutdown.await;
            let _ = stop_tx.send(true);
        });
        served.await;
        if let Some(listener) = live_listener {
            listener.abort();
        }
        let _ = deliverer.await;
        let _ = upkeep.await;
        if let Ok(Err(error)) = queue.await {
            tracing::warn!(%error, "queue stopped with an error");
        }
        Ok(())
    }
}
