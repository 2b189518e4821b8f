//! API keys on every backend: created once, stored hashed, authenticated, revoked.

use access::{AccessError, Keys, Role};
use store::Row;
use store::testing;

#[tokio::test]
async fn a_created_key_authenticates_with_its_role_until_revoked() {
    for store in testing::backends().await {
        let keys = Keys::new(store::Store::clone(&store));
        let created = keys
            .create("guichet Hôtel de Ville", Role::Agent)
            .await
            .unwrap();
        assert!(created.secret.starts_with("pvs_"));

        let principal = keys.authenticate(&created.secret).await.unwrap().unwrap();
        assert_eq!(principal.role, Role::Agent, "{}", store.name);
        assert_eq!(principal.key_id, created.key.id);

        let revoked = keys.revoke(&created.key.id).await.unwrap();
        assert!(revoked.revoked_at.is_some());
        assert!(
            keys.authenticate(&created.secret).await.unwrap().is_none(),
            "{}",
            store.name
        );

        // Revoking twice keeps the first date.
        let again = keys.revoke(&created.key.id).await.unwrap();
        assert_eq!(again.revoked_at, revoked.revoked_at);
    }
}

#[tokio::test]
async fn the_secret_is_never_stored() {
    for store in testing::backends().await {
        let keys = Keys::new(store::Store::clone(&store));
        let created = keys.create("ops", Role::Operator).await.unwrap();
        let rows = sqlx::query("SELECT id, name, role, key_hash, created_at FROM api_keys")
            .fetch_all(store.reader())
            .await
            .unwrap();
        for row in rows {
            for column in 0..5 {
                let value: String = row.try_get(column).unwrap();
                assert!(
                    !value.contains(&created.secret[4..]),
                    "{}: secret stored",
                    store.name
                );
            }
        }
    }
}

#[tokio::test]
async fn wrong_malformed_and_unknown_keys_do_not_authenticate() {
    for store in testing::backends().await {
        let keys = Keys::new(store::Store::clone(&store));
        let created = keys.create("app", Role::ResidentApp).await.unwrap();
        let mut wrong = created.secret.clone();
        let last = wrong.pop().unwrap();
        wrong.push(if last == 'a' { 'b' } else { 'a' });
        for presented in [
            wrong.as_str(),
            "",
            "pvs_",
            "Bearer x",
            "pvs_ééééééééééééééééééééééééééééééééé",
        ] {
            assert!(
                keys.authenticate(presented).await.unwrap().is_none(),
                "{presented:?}"
            );
        }
    }
}

#[tokio::test]
async fn keys_are_listed_and_unknown_ids_are_reported() {
    for store in testing::backends().await {
        let keys = Keys::new(store::Store::clone(&store));
        keys.create("a", Role::Admin).await.unwrap();
        keys.create("b", Role::Operator).await.unwrap();
        let listed = keys.list().await.unwrap();
        assert_eq!(listed.len(), 2, "{}", store.name);
        assert!(matches!(
            keys.revoke("nope").await,
            Err(AccessError::NoSuchKey(_))
        ));
        assert!(matches!(
            keys.create(" ", Role::Admin).await,
            Err(AccessError::InvalidName(_))
        ));
    }
}
