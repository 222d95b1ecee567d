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
        settings: format!("sealed:{key}"),
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
    assert_eq!(saved.settings, "sealed:k2");
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

fn scope(consumer: Option<&str>) -> MappingScope {
    MappingScope {
        app_id: "app1".to_owned(),
        consumer_id: consumer.map(str::to_owned),
        service_id: "hubspot".to_owned(),
        resource: "opportunities".to_owned(),
    }
}

#[tokio::test]
async fn custom_mappings_layer_application_then_consumer() {
    let (_dir, store) = store().await;
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
}
