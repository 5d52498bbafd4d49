//! `spawn_hub()`: the real hub on port 0 over a fresh PostgreSQL database, and schools
//! as temporary stores that push to it through the real client.
use std::{sync::Arc, time::Duration};

use annals::hub::{
    self,
    figures::Folds,
    http::{Config, HubState, Inner},
    push::{PushError, PushOptions, Pushed},
    receipt::public_key,
};
use chrono::FixedOffset;
use events::Catalog;
use projections::{metric::Metrics, report::Templates};
use reqwest::Response;
use tokio::{net::TcpListener, sync::oneshot, task::JoinHandle};

use super::pg;
use crate::helpers::TestStore;

/// A running hub.
pub struct TestHub {
    /// `http://127.0.0.1:PORT`.
    pub address: String,
    /// A pool for looking inside.
    pub pool: deadpool_postgres::Pool,
    /// Its public key, hex.
    pub key: String,
    /// A reader token that sees every school.
    pub reader: String,
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<std::io::Result<()>>>,
}

/// A hub over a new database, its schema made.
pub async fn spawn_hub() -> TestHub {
    let database = pg::database().await;
    let pool = hub::db::pool(&database, 8).expect("a pool");
    let key_file = pg::key_file(&database);
    hub::schema::init(&mut pool.get().await.expect("a connection"), &key_file)
        .await
        .expect("the schema is made");
    serve_on(
        pool,
        &key_file,
        TcpListener::bind("127.0.0.1:0").await.unwrap(),
    )
    .await
}

/// A hub over a database whose schema is made, listening on `listener`.
pub async fn serve_on(
    pool: deadpool_postgres::Pool,
    key_file: &std::path::Path,
    listener: TcpListener,
) -> TestHub {
    let catalog = Arc::new(Catalog::embedded());
    let mut client = pool.get().await.expect("a connection");
    let key = hub::schema::key(&mut client, key_file)
        .await
        .expect("the key");
    let reader = hub::schools::add_reader(
        &client,
        &format!("省校{}", uuid::Uuid::new_v4().simple()),
        None,
    )
    .await
    .expect("a reader");
    drop(client);
    let public = key.public_hex();
    let state = HubState::new(Inner {
        pool: pool.clone(),
        key,
        folds: Folds::new(catalog.clone()),
        metrics: Metrics::embedded(&catalog).expect("metrics"),
        templates: Templates::embedded().expect("templates"),
        config: Config {
            open_reads: false,
            body_limit: 16 * 1024 * 1024,
            stale_after: chrono::Duration::days(7),
            offset: FixedOffset::east_opt(8 * 3600).unwrap(),
        },
    });
    let address = format!("http://{}", listener.local_addr().unwrap());
    let (tx, rx) = oneshot::channel();
    let server = tokio::spawn(hub::http::serve(listener, state, async {
        let _ = rx.await;
    }));
    TestHub {
        address,
        pool,
        key: public,
        reader,
        shutdown: Some(tx),
        server: Some(server),
    }
}

impl TestHub {
    /// Adds a school; its token.
    pub async fn add_school(&self, id: &str, name: &str, parent: Option<&str>) -> String {
        let client = self.pool.get().await.unwrap();
        hub::schools::add(&client, id, name, parent)
            .await
            .expect("the school is added")
    }

    /// A GET with a token.
    pub async fn get(&self, path: &str, token: &str) -> Response {
        reqwest::Client::new()
            .get(format!("{}{path}", self.address))
            .bearer_auth(token)
            .send()
            .await
            .expect("the hub answers")
    }

    /// A GET as the all-seeing reader, as JSON.
    pub async fn read(&self, path: &str) -> serde_json::Value {
        let resp = self.get(path, &self.reader).await;
        assert!(resp.status().is_success(), "{path}: {}", resp.status());
        resp.json().await.unwrap()
    }

    /// One value from the database.
    pub async fn count(&self, sql: &str) -> i64 {
        let client = self.pool.get().await.unwrap();
        client.query_one(sql, &[]).await.unwrap().get(0)
    }

    /// Push options for a school's token.
    pub fn options(&self, token: &str, piece: usize) -> PushOptions {
        PushOptions {
            to: self.address.clone(),
            token: token.to_owned(),
            piece,
            hub_key: Some(public_key(&self.key).unwrap()),
            receipts: None,
            timeout: Duration::from_secs(60),
        }
    }

    /// Pushes a store with its token.
    pub async fn push(
        &self,
        school: &TestStore,
        token: &str,
        piece: usize,
    ) -> Result<Pushed, PushError> {
        hub::push::push(&school.store, &self.options(token, piece), &mut |_, _| {}).await
    }

    /// Stops the server and waits for it.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(server) = self.server.take() {
            let _ = server.await;
        }
    }
}
