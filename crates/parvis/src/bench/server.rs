//! The API server as benchmarks run it: in this process, on a runtime of its own (as many
//! worker threads as cores), with its own store handle, counting the 201 answers it sends.

use std::net::SocketAddr;
use std::sync::Arc;

use store::{Store, StoreConfig};

/// Which capabilities the benchmark server runs besides the platform routes.
#[derive(Debug, Clone)]
pub enum Wiring {
    Platform,
    /// The assistant, its index under this directory.
    Assistant(std::path::PathBuf),
    /// The service requests (built-in catalogue, classifier and routing).
    Requests,
    /// The sensor platform, configured as `parvis serve` would be.
    Sensors(sensors::platform::SensorsConfig),
}

/// The API server on a runtime of its own, counting the 201 answers it sends.
pub struct BenchServer {
    pub address: SocketAddr,
    stop: tokio::sync::oneshot::Sender<()>,
    thread: std::thread::JoinHandle<()>,
    created: Arc<std::sync::atomic::AtomicU64>,
}

impl BenchServer {
    /// Starts the API on its own runtime with the capabilities of `wiring`.
    pub fn start(
        store_config: StoreConfig,
        config: api::ApiConfig,
        wiring: Wiring,
    ) -> anyhow::Result<BenchServer> {
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        listener.set_nonblocking(true)?;
        let address = listener.local_addr()?;
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let created = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let counter = created.clone();
        let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(workers)
            .thread_name("bench-server")
            .enable_all()
            .build()?;
        let (opened_tx, opened_rx) = std::sync::mpsc::channel::<Result<(), String>>();
        let thread = std::thread::spawn(move || {
            runtime.block_on(async move {
                let opened = async {
                    let store = Store::open(&store_config)
                        .await
                        .map_err(|e| e.to_string())?;
                    let state = api::AppState::new(store.clone(), config);
                    let state = match &wiring {
                        Wiring::Assistant(dir) => {
                            let assistant = assistant::Assistant::open(store.clone(), dir)
                                .await
                                .map_err(|e| e.to_string())?;
                            state.with_assistant(Arc::new(assistant))
                        }
                        Wiring::Requests => {
                            let requests = crate::commands::requests_over(
                                &crate::config::Config::default(),
                                store.clone(),
                            )
                            .await
                            .map_err(|e| e.to_string())?;
                            state.with_requests(Arc::new(requests))
                        }
                        Wiring::Sensors(config) => {
                            let sensors =
                                sensors::platform::Sensors::open(store.clone(), config.clone())
                                    .await
                                    .map_err(|e| e.to_string())?;
                            state.with_sensors(Arc::new(sensors))
                        }
                        Wiring::Platform => state,
                    };
                    Ok::<_, String>((store, state))
                };
                let (store, state) = match opened.await {
                    Ok(opened) => {
                        let _ = opened_tx.send(Ok(()));
                        opened
                    }
                    Err(error) => {
                        let _ = opened_tx.send(Err(error));
                        return;
                    }
                };
                let app = api::router(state).layer(axum::middleware::map_response(
                    move |response: axum::response::Response| {
                        let counter = counter.clone();
                        async move {
                            if response.status() == axum::http::StatusCode::CREATED {
                                counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                            }
                            response
                        }
                    },
                ));
                let listener = tokio::net::TcpListener::from_std(listener).expect("a listener");
                let _ = axum::serve(listener, app)
                    .with_graceful_shutdown(async move {
                        let _ = stopped.await;
                    })
                    .await;
                store.close().await;
            });
        });
        // A short blocking wait, once per server: the store is open before load starts.
        opened_rx
            .recv()
            .map_err(|_| anyhow::anyhow!("the benchmark server thread stopped"))?
            .map_err(|e| anyhow::anyhow!("the benchmark server cannot open the store: {e}"))?;
        Ok(BenchServer {
            address,
            stop,
            thread,
            created,
        })
    }

    pub fn created_counter(&self) -> Arc<std::sync::atomic::AtomicU64> {
        self.created.clone()
    }

    pub fn stop(self) {
        let _ = self.stop.send(());
        let _ = self.thread.join();
    }
}
