//! The store's behaviour, run on SQLite always and on PostgreSQL when
//! `CRMGATE_TEST_POSTGRES_URL` names a server (CI sets it), each test in a fresh schema.

use std::future::Future;
use std::str::FromStr;
use std::sync::Arc;

use sqlx::postgres::PgConnectOptions;

use super::*;

/// Environment variable naming the PostgreSQL server the store tests also run on.
pub const POSTGRES_URL_ENV: &str = "CRMGATE_TEST_POSTGRES_URL";

/// A fresh PostgreSQL schema as a store, if a server is configured.
pub async fn postgres_store() -> Option<(String, Arc<dyn Store>)> {
    let url = std::env::var(POSTGRES_URL_ENV)
        .ok()
        .filter(|u| !u.is_empty())?;
    let mut raw = [0u8; 8];
    getrandom::fill(&mut raw).unwrap();
    let schema = format!("crmgate_test_{}", u64::from_le_bytes(raw));
    let admin = sqlx::PgPool::connect(&url)
        .await
        .expect("the test PostgreSQL answers");
    sqlx::query(&format!("CREATE SCHEMA {schema}"))
        .execute(&admin)
        .await
        .unwrap();
    let options = PgConnectOptions::from_str(&url)
        .unwrap()
        .options([("search_path", schema.as_str())]);
    let store = SqlStore::open_postgres_with(options).await.unwrap();
    Some((schema, Arc::new(store)))
}

async fn drop_schema(schema: &str) {
    let url = std::env::var(POSTGRES_URL_ENV).unwrap();
    let admin = sqlx::PgPool::connect(&url).await.unwrap();
    sqlx::query(&format!("DROP SCHEMA {schema} CASCADE"))
        .execute(&admin)
        .await
        .unwrap();
}

/// Runs a test body against every configured database.
async fn on_every_store<F, Fut>(test: F)
where
    F: Fn(Arc<dyn Store>) -> Fut,
    Fut: Future<Output = ()>,
{
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("t.db").display());
    test(open(&url).await.unwrap()).await;
    if let Some((schema, store)) = postgres_store().await {
        test(store).await;
        drop_schema(&schema).await;
    }
}

fn tenant(app: &str, consumer: &str) -> Tenant {
    Tenant {
        app_id: app.to_owned(),
        consumer_id: consumer.to_owned(),
    }
}

fn connection(service: &str, sealed: &str) -> ConnectionRecord {
    ConnectionRecord {
        service_id: service.to_owned(),
        enabled: true,
        settings: format!("sealed:{sealed}"),
        created_at: 1,
        updated_at: 2,
    }
}

fn scope(consumer: Option<&str>) -> MappingScope {
    MappingScope {
        app_id: "app1".to_owned(),
        consumer_id: consumer.map(str::to_owned),
        service_id: "hubspot".to_owned(),
        resource: "opportunities".to_owned(),
    }
}

#[tokio::test]
async fn connections_are_scoped_by_app_and_consumer() {
    on_every_store(|store| async move {
        let a = tenant("app1", "c1");
        store
            .save_connection(&a, &connection("hubspot", "k1"))
            .await
            .unwrap();
        assert_eq!(
            store.connection(&a, "hubspot").await.unwrap(),
            Some(connection("hubspot", "k1"))
        );
        for other in [tenant("app1", "c2"), tenant("app2", "c1")] {
            assert_eq!(store.connection(&other, "hubspot").await.unwrap(), None);
            assert!(store.connections(&other).await.unwrap().is_empty());
            assert!(!store.delete_connection(&other, "hubspot").await.unwrap());
        }
        assert_eq!(store.connections(&a).await.unwrap().len(), 1);
        assert_eq!(
            store.all_connections().await.unwrap(),
            [(a, connection("hubspot", "k1"))]
        );
    })
    .await;
}

#[tokio::test]
async fn saving_again_replaces_settings_and_keeps_created_at() {
    on_every_store(|store| async move {
        let a = tenant("app1", "c1");
        store
            .save_connection(&a, &connection("hubspot", "k1"))
            .await
            .unwrap();
        let mut next = connection("hubspot", "k2");
        next.created_at = 99;
        next.updated_at = 100;
        next.enabled = false;
        store.save_connection(&a, &next).await.unwrap();
        let saved = store.connection(&a, "hubspot").await.unwrap().unwrap();
        assert_eq!(saved.settings, "sealed:k2");
        assert!(!saved.enabled);
        assert_eq!((saved.created_at, saved.updated_at), (1, 100));
        assert!(store.delete_connection(&a, "hubspot").await.unwrap());
        assert_eq!(store.connection(&a, "hubspot").await.unwrap(), None);
    })
    .await;
}

#[tokio::test]
async fn every_change_to_what_a_tenant_calls_with_moves_its_version() {
    on_every_store(|store| async move {
        let a = tenant("app1", "c1");
        let neighbour = tenant("app1", "c2");
        let stranger = tenant("app2", "c1");
        let versions = async |store: &Arc<dyn Store>| {
            let mut out = Vec::new();
            for t in [&a, &neighbour, &stranger] {
                out.push(store.tenant_version(t).await.unwrap());
            }
            out
        };
        assert_eq!(versions(&store).await, [0, 0, 0]);
        store
            .save_connection(&a, &connection("hubspot", "k1"))
            .await
            .unwrap();
        assert_eq!(versions(&store).await, [1, 0, 0]);
        store
            .save_custom_mapping(&scope(Some("c1")), "x", "$.x", 5)
            .await
            .unwrap();
        assert_eq!(versions(&store).await, [2, 0, 0]);
        // The application layer applies to every consumer of the application.
        store
            .save_custom_mapping(&scope(None), "y", "$.y", 5)
            .await
            .unwrap();
        assert_eq!(versions(&store).await, [3, 1, 0]);
        store
            .delete_custom_mapping(&scope(None), "y")
            .await
            .unwrap();
        store
            .delete_custom_mapping(&scope(Some("c1")), "x")
            .await
            .unwrap();
        assert_eq!(versions(&store).await, [5, 2, 0]);
        store.delete_connection(&a, "hubspot").await.unwrap();
        assert_eq!(versions(&store).await, [6, 2, 0]);
        // Metadata is not something a CRM call is made with.
        let consumer = ConsumerRecord {
            consumer_id: "c1".to_owned(),
            metadata: "{}".to_owned(),
            created_at: 1,
            updated_at: 1,
        };
        store.save_consumer("app1", &consumer).await.unwrap();
        assert_eq!(versions(&store).await, [6, 2, 0]);
        // A deleted consumer's count goes on, so a consumer made again under the same id can
        // never match what was cached for the old one.
        assert!(store.delete_consumer("app1", "c1").await.unwrap());
        assert_eq!(versions(&store).await, [7, 2, 0]);
        store
            .save_connection(&a, &connection("hubspot", "k2"))
            .await
            .unwrap();
        assert_eq!(versions(&store).await, [8, 2, 0]);
    })
    .await;
}

#[tokio::test]
async fn the_first_meta_value_wins_until_it_is_set() {
    on_every_store(|store| async move {
        assert_eq!(store.meta("k").await.unwrap(), None);
        assert_eq!(
            store.meta_or_insert("k", "one".into()).await.unwrap(),
            "one"
        );
        assert_eq!(
            store.meta_or_insert("k", "two".into()).await.unwrap(),
            "one"
        );
        store.set_meta("k", "three").await.unwrap();
        assert_eq!(store.meta("k").await.unwrap().as_deref(), Some("three"));
    })
    .await;
}

#[tokio::test]
async fn custom_mappings_layer_application_then_consumer() {
    on_every_store(|store| async move {
        assert!(
            !store
                .save_custom_mapping(&scope(None), "title", "$.app", 1)
                .await
                .unwrap()
        );
        assert!(
            !store
                .save_custom_mapping(&scope(Some("c1")), "title", "$.c1", 2)
                .await
                .unwrap()
        );
        assert!(
            store
                .save_custom_mapping(&scope(Some("c1")), "title", "$.c1b", 3)
                .await
                .unwrap()
        );
        store
            .save_custom_mapping(&scope(Some("c2")), "gender", "$.g", 4)
            .await
            .unwrap();

        let c1: Vec<(String, String, Option<String>)> = store
            .custom_mappings(&scope(Some("c1")))
            .await
            .unwrap()
            .into_iter()
            .map(|m| (m.key, m.value, m.consumer_id))
            .collect();
        assert_eq!(
            c1,
            [
                ("title".to_owned(), "$.app".to_owned(), None),
                (
                    "title".to_owned(),
                    "$.c1b".to_owned(),
                    Some("c1".to_owned())
                ),
            ],
            "application layer first, another consumer's layer never"
        );
        assert_eq!(store.custom_mappings(&scope(None)).await.unwrap().len(), 1);
        let mut other_app = scope(Some("c1"));
        other_app.app_id = "app2".to_owned();
        assert!(store.custom_mappings(&other_app).await.unwrap().is_empty());

        assert!(
            store
                .delete_custom_mapping(&scope(Some("c1")), "title")
                .await
                .unwrap()
        );
        assert!(
            !store
                .delete_custom_mapping(&scope(Some("c1")), "title")
                .await
                .unwrap()
        );
        assert_eq!(
            store
                .custom_mappings(&scope(Some("c1")))
                .await
                .unwrap()
                .len(),
            1
        );
    })
    .await;
}

#[tokio::test]
async fn applications_and_their_keys() {
    on_every_store(|store| async move {
        let app = Application {
            id: "app_1".into(),
            name: "Acme integration".into(),
            created_at: 5,
        };
        store.create_application(&app).await.unwrap();
        assert!(
            store.create_application(&app).await.is_err(),
            "ids are unique"
        );
        assert_eq!(
            store.applications().await.unwrap(),
            std::slice::from_ref(&app)
        );
        assert_eq!(store.application("app_1").await.unwrap(), Some(app));
        assert_eq!(store.application("nope").await.unwrap(), None);

        let key = ApiKeyRecord {
            id: "key1".into(),
            app_id: "app_1".into(),
            key_sha256: "ab".repeat(32),
            created_at: 6,
            revoked_at: None,
        };
        store.create_api_key(&key).await.unwrap();
        assert_eq!(store.api_key("key1").await.unwrap(), Some(key.clone()));
        assert_eq!(store.api_keys("app_1").await.unwrap(), [key]);
        assert!(store.revoke_api_key("key1", 9).await.unwrap());
        assert!(
            !store.revoke_api_key("key1", 10).await.unwrap(),
            "revoking twice changes nothing"
        );
        assert_eq!(
            store.api_key("key1").await.unwrap().unwrap().revoked_at,
            Some(9)
        );
    })
    .await;
}

#[tokio::test]
async fn deleting_a_consumer_deletes_its_connections_and_mappings_only() {
    on_every_store(|store| async move {
        let c1 = tenant("app1", "c1");
        let c2 = tenant("app1", "c2");
        store
            .save_connection(&c1, &connection("hubspot", "k1"))
            .await
            .unwrap();
        store
            .save_connection(&c2, &connection("hubspot", "k2"))
            .await
            .unwrap();
        store
            .save_custom_mapping(&scope(Some("c1")), "gender", "$.g", 1)
            .await
            .unwrap();
        store
            .save_custom_mapping(&scope(None), "source", "$.s", 1)
            .await
            .unwrap();

        let listed: Vec<String> = store
            .consumers("app1")
            .await
            .unwrap()
            .into_iter()
            .map(|c| c.consumer_id)
            .collect();
        assert_eq!(listed, ["c1", "c2"], "a connection creates its consumer");
        let mut c1_record = store.consumer("app1", "c1").await.unwrap().unwrap();
        c1_record.metadata = r#"{"name":"Acme"}"#.into();
        c1_record.updated_at = 50;
        store.save_consumer("app1", &c1_record).await.unwrap();
        assert_eq!(store.consumer("app1", "c1").await.unwrap(), Some(c1_record));
        assert!(store.consumers("app2").await.unwrap().is_empty());

        assert!(store.delete_consumer("app1", "c1").await.unwrap());
        assert!(!store.delete_consumer("app1", "c1").await.unwrap());
        assert_eq!(store.connection(&c1, "hubspot").await.unwrap(), None);
        assert!(store.connection(&c2, "hubspot").await.unwrap().is_some());
        let left: Vec<String> = store
            .custom_mappings(&scope(Some("c1")))
            .await
            .unwrap()
            .into_iter()
            .map(|m| m.key)
            .collect();
        assert_eq!(left, ["source"], "the application layer stays");
    })
    .await;
}

#[tokio::test]
async fn an_idempotency_key_is_claimed_once_per_body_until_it_expires() {
    on_every_store(|store| async move {
        let a = tenant("app1", "c1");
        let claim = |hash: &'static str, now: i64| {
            let store = store.clone();
            let a = a.clone();
            async move {
                store
                    .claim_idempotency(&a, "k1", hash, now, now - 100)
                    .await
                    .unwrap()
            }
        };
        assert_eq!(claim("h1", 1000).await, IdempotencyClaim::Claimed);
        assert_eq!(claim("h1", 1001).await, IdempotencyClaim::InFlight);
        assert_eq!(claim("h2", 1001).await, IdempotencyClaim::Mismatch);
        store
            .complete_idempotency(&a, "k1", 201, b"{\"id\":\"1\"}")
            .await
            .unwrap();
        assert_eq!(
            claim("h1", 1002).await,
            IdempotencyClaim::Done {
                status: 201,
                body: b"{\"id\":\"1\"}".to_vec()
            }
        );
        let other = tenant("app1", "c2");
        assert_eq!(
            store
                .claim_idempotency(&other, "k1", "h9", 1002, 0)
                .await
                .unwrap(),
            IdempotencyClaim::Claimed,
            "keys are per consumer"
        );
        assert_eq!(
            claim("h3", 5000).await,
            IdempotencyClaim::Claimed,
            "an expired use no longer counts"
        );
        store.release_idempotency(&a, "k1").await.unwrap();
        assert_eq!(
            claim("h4", 5001).await,
            IdempotencyClaim::Claimed,
            "a released key is free again"
        );
    })
    .await;
}
