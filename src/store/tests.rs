use std::collections::BTreeMap;

use super::*;

async fn store() -> (tempfile::TempDir, std::sync::Arc<dyn Store>) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("t.db").display());
    (dir, open(&url).await.unwrap())
}

fn tenant(app: &str, consumer: &str) -> Tenant {
    Tenant {
        app_id: app.to_owned(),
        consumer_id: consumer.to_owned(),
    }
}

fn connection(service: &str, key: &str) -> ConnectionRecord {
    ConnectionRecord {
        service_id: service.to_owned(),
        enabled: true,
        settings: BTreeMap::from([("api_key".to_owned(), key.to_owned())]),
        created_at: 1,
        updated_at: 2,
    }
}

#[tokio::test]
async fn connections_are_scoped_by_app_and_consumer() {
    let (_dir, store) = store().await;
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
}

#[tokio::test]
async fn saving_again_replaces_settings_and_keeps_created_at() {
    let (_dir, store) = store().await;
    let a = tenant("app1", "c1");
    store
        .save_connection(&a, &connection("hubspot", "k1"))
        .await
        .unwrap();
    let mut next = connection("hubspot", "k2");
    next.created_at = 99;
    next.updated_at = 100;
    store.save_connection(&a, &next).await.unwrap();
    let saved = store.connection(&a, "hubspot").await.unwrap().unwrap();
    assert_eq!(saved.settings["api_key"], "k2");
    assert_eq!((saved.created_at, saved.updated_at), (1, 100));
    assert!(store.delete_connection(&a, "hubspot").await.unwrap());
    assert_eq!(store.connection(&a, "hubspot").await.unwrap(), None);
}

#[tokio::test]
async fn the_first_meta_value_wins() {
    let (_dir, store) = store().await;
    assert_eq!(store.meta("k").await.unwrap(), None);
    assert_eq!(
        store.meta_or_insert("k", "one".into()).await.unwrap(),
        "one"
    );
    assert_eq!(
        store.meta_or_insert("k", "two".into()).await.unwrap(),
        "one"
    );
}
