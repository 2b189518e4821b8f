//! Open311 GeoReport v2 conformance, written from the specification (wiki.open311.org/
//! GeoReport_v2), in-process on SQLite and PostgreSQL: every resource in JSON and XML, every
//! error case with the specification's error array and nothing stored, the life cycle through
//! the operator routes, merges, personal data, events, and concurrent posts.

use std::sync::Arc;

use access::{Keys, Role};
use api::{ApiConfig, AppState};
use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use store::testing::{self, TestStore};
use tower::ServiceExt;

struct Reply {
    status: StatusCode,
    content_type: String,
    body: String,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }

    /// Asserts an Open311 error: the status, a one-element array of {code, description} whose
    /// code is the status.
    fn assert_open311_error(&self, status: StatusCode, contains: &str) {
        assert_eq!(self.status, status, "{}", self.body);
        assert!(
            self.content_type.starts_with("application/json"),
            "{}",
            self.content_type
        );
        let body = self.json();
        let errors = body
            .as_array()
            .unwrap_or_else(|| panic!("not an array: {body}"));
        assert_eq!(errors.len(), 1, "{body}");
        assert_eq!(errors[0]["code"], status.as_u16(), "{body}");
        let description = errors[0]["description"].as_str().unwrap();
        assert!(
            description.contains(contains),
            "{description:?} lacks {contains:?}"
        );
    }
}

async fn send(app: &Router, request: Request<Body>) -> Reply {
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let content_type = response
        .headers()
        .get(header::CONTENT_TYPE)
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    Reply {
        status,
        content_type,
        body: String::from_utf8(body.to_vec()).unwrap(),
    }
}

fn get(path: &str) -> Request<Body> {
    Request::get(path).body(Body::empty()).unwrap()
}

fn form(path: &str, body: &str) -> Request<Body> {
    Request::post(path)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(body.to_owned()))
        .unwrap()
}

fn json_with_key(method: &str, path: &str, key: &str, body: Value) -> Request<Body> {
    Request::builder()
        .method(method)
        .uri(path)
        .header(header::AUTHORIZATION, format!("Bearer {key}"))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_string()))
        .unwrap()
}

fn with_key(method: &str, path: &str, key: &str) -> Request<Body> {
    Request::builder()
        .method(method)
        .uri(path)
        .header(header::AUTHORIZATION, format!("Bearer {key}"))
        .body(Body::empty())
        .unwrap()
}

struct TestApp {
    app: Router,
    resident: String,
    operator: String,
    admin: String,
    requests: Arc<requests::Requests>,
    store: TestStore,
}

async fn app_on(store: TestStore) -> TestApp {
    let keys = Keys::new(store::Store::clone(&store));
    let resident = keys.create("app", Role::ResidentApp).await.unwrap().secret;
    let operator = keys
        .create("operator", Role::Operator)
        .await
        .unwrap()
        .secret;
    let admin = keys.create("admin", Role::Admin).await.unwrap().secret;
    let catalogue = Arc::new(requests::Catalogue::built_in());
    let classifier = Arc::new(requests::Classifier::built_in(&catalogue));
    let requests = Arc::new(
        requests::Requests::open(
            store::Store::clone(&store),
            catalogue,
            classifier,
            requests::Routing::built_in(),
            requests::RequestsConfig::default(),
        )
        .await
        .unwrap(),
    );
    let app = api::router(
        AppState::new(store::Store::clone(&store), ApiConfig::default())
            .with_requests(requests.clone()),
    );
    TestApp {
        app,
        resident,
        operator,
        admin,
        requests,
        store,
    }
}

async fn count(store: &store::Store, table: &str) -> i64 {
    sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table}"))
        .fetch_one(store.reader())
        .await
        .unwrap()
}

const LOUVRE: &str = "lat=48.8606&long=2.3376";

#[tokio::test]
async fn discovery_services_and_definitions_in_json_and_xml() {
    let t = app_on(testing::sqlite().await).await;
    let discovery = send(&t.app, get("/open311/v2/discovery.json")).await;
    assert_eq!(discovery.status, StatusCode::OK);
    assert_eq!(
        discovery.json()["endpoints"][0]["specification"],
        "http://wiki.open311.org/GeoReport_v2"
    );
    let xml = send(&t.app, get("/open311/v2/discovery.xml")).await;
    assert!(
        xml.content_type.starts_with("text/xml"),
        "{}",
        xml.content_type
    );
    assert!(xml.body.contains("<discovery>"));

    let services = send(&t.app, get("/open311/v2/services.json")).await.json();
    let services = services.as_array().unwrap();
    assert_eq!(services.len(), 141, "public DansMaRue sub-types");
    let sofa = services
        .iter()
        .find(|s| s["service_code"] == "OBJ-01")
        .unwrap();
    assert_eq!(sofa["service_name"], "Autres objets encombrants abandonnés");
    assert_eq!(sofa["group"], "Objets abandonnés");
    assert_eq!(sofa["type"], "realtime");
    assert_eq!(sofa["metadata"], true);
    assert!(services.iter().all(|s| s["service_code"].is_string()));
    let xml = send(&t.app, get("/open311/v2/services.xml")).await;
    assert_eq!(xml.body.matches("<service>").count(), 141);

    let definition = send(&t.app, get("/open311/v2/services/OBJ-01.json"))
        .await
        .json();
    assert_eq!(definition["service_code"], "OBJ-01");
    let volume = definition["attributes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["code"] == "volume")
        .unwrap();
    assert_eq!(volume["datatype"], "singlevaluelist");
    assert_eq!(volume["variable"], true);
    assert!(
        volume["values"]
            .as_array()
            .unwrap()
            .iter()
            .any(|v| v["key"] == "moyen")
    );
    let xml = send(&t.app, get("/open311/v2/services/OBJ-01.xml")).await;
    assert!(
        xml.body
            .contains("<service_definition><service_code>OBJ-01</service_code>")
    );

    send(&t.app, get("/open311/v2/services/NOPE.json"))
        .await
        .assert_open311_error(StatusCode::NOT_FOUND, "NOPE");
    // Agent-only categories are not published.
    send(&t.app, get("/open311/v2/services/GRAF-03.json"))
        .await
        .assert_open311_error(StatusCode::NOT_FOUND, "GRAF-03");
    send(&t.app, get("/open311/v2/services.csv"))
        .await
        .assert_open311_error(StatusCode::NOT_FOUND, "csv");
    let xml_error = send(&t.app, get("/open311/v2/services/NOPE.xml")).await;
    assert_eq!(xml_error.status, StatusCode::NOT_FOUND);
    assert!(
        xml_error
            .body
            .contains("<errors><error><code>404</code><description>"),
        "{}",
        xml_error.body
    );
}

#[tokio::test]
async fn a_report_is_posted_followed_and_closed_on_every_backend() {
    for store in testing::backends().await {
        let t = app_on(store).await;
        let posted = send(
            &t.app,
            form(
                "/open311/v2/requests.json",
                &format!(
                    "api_key={}&service_code=OBJ-01&{LOUVRE}&description=un+vieux+canap%C3%A9+sur+le+trottoir&attribute%5Bvolume%5D=moyen&email=jeanne%40example.org&first_name=Jeanne&phone=0612345678",
                    t.resident
                ),
            ),
        )
        .await;
        assert_eq!(posted.status, StatusCode::CREATED, "{}", posted.body);
        let receipt = posted.json();
        let id = receipt[0]["service_request_id"]
            .as_str()
            .unwrap()
            .to_owned();
        let token = receipt[0]["token"].as_str().unwrap().to_owned();
        let notice = receipt[0]["service_notice"].as_str().unwrap();
        assert!(notice.contains("Ramen"), "{notice}");
        // The resident is told an algorithm decided, and how to object or reach a person.
        assert!(
            notice.contains("proposés automatiquement") && notice.contains("contester"),
            "{notice}"
        );

        for path in [
            format!("/open311/v2/requests/{id}.json"),
            format!("/open311/v2/requests.json?service_request_id={id}"),
        ] {
            let found = send(&t.app, get(&path)).await;
            assert_eq!(found.status, StatusCode::OK, "{}", found.body);
            let request = &found.json()[0];
            assert_eq!(request["service_request_id"], id.as_str());
            assert_eq!(request["status"], "open");
            assert_eq!(request["service_code"], "OBJ-01");
            assert_eq!(request["agency_responsible"], "Ramen");
            assert_eq!(request["zipcode"], "75001");
            assert_eq!(request["lat"], 48.8606);
            assert!(
                request["requested_datetime"]
                    .as_str()
                    .unwrap()
                    .ends_with('Z')
            );
            // Personal data never appears in public output.
            assert!(
                !found.body.contains("jeanne") && !found.body.contains("0612345678"),
                "{}",
                found.body
            );
        }
        let xml = send(&t.app, get(&format!("/open311/v2/requests/{id}.xml"))).await;
        assert!(
            xml.body
                .contains(&format!("<service_request_id>{id}</service_request_id>"))
        );
        let by_token = send(&t.app, get(&format!("/open311/v2/tokens/{token}.json")))
            .await
            .json();
        assert_eq!(by_token[0]["service_request_id"], id.as_str());

        // Filters.
        let listed = send(
            &t.app,
            get("/open311/v2/requests.json?service_code=OBJ-01&status=open"),
        )
        .await
        .json();
        assert_eq!(listed.as_array().unwrap().len(), 1);
        let none = send(&t.app, get("/open311/v2/requests.json?status=closed"))
            .await
            .json();
        assert_eq!(none.as_array().unwrap().len(), 0);

        // An operator closes it through mySociety's servicerequestupdates; the resident sees it.
        let update = send(
            &t.app,
            form(
                "/open311/v2/servicerequestupdates.json",
                &format!(
                    "api_key={}&service_request_id={id}&status=FIXED&description=enlev%C3%A9",
                    t.operator
                ),
            ),
        )
        .await;
        assert_eq!(update.status, StatusCode::OK, "{}", update.body);
        let request = send(&t.app, get(&format!("/open311/v2/requests/{id}.json")))
            .await
            .json();
        assert_eq!(request[0]["status"], "closed");
        assert_eq!(request[0]["status_notes"], "enlevé");
        let updates = send(&t.app, get("/open311/v2/servicerequestupdates.json"))
            .await
            .json();
        assert_eq!(
            updates.as_array().unwrap().len(),
            2,
            "received, then closed: {updates}"
        );

        // A resident key cannot post status updates.
        send(
            &t.app,
            form(
                "/open311/v2/servicerequestupdates.json",
                &format!("api_key={}&service_request_id={id}&status=open", t.resident),
            ),
        )
        .await
        .assert_open311_error(StatusCode::FORBIDDEN, "operator");

        // Personal data: export, erase; the request stays.
        let exported = send(
            &t.app,
            with_key(
                "GET",
                &format!("/api/privacy/requests/{id}/personal-data"),
                &t.admin,
            ),
        )
        .await;
        assert_eq!(exported.status, StatusCode::OK, "{}", exported.body);
        assert_eq!(exported.json()["email"], "jeanne@example.org");
        let refused = send(
            &t.app,
            with_key(
                "GET",
                &format!("/api/privacy/requests/{id}/personal-data"),
                &t.operator,
            ),
        )
        .await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN);
        let erased = send(
            &t.app,
            with_key(
                "DELETE",
                &format!("/api/privacy/requests/{id}/personal-data"),
                &t.admin,
            ),
        )
        .await;
        assert_eq!(erased.status, StatusCode::NO_CONTENT);
        assert_eq!(count(&t.store, "service_request_contacts").await, 0);
        assert_eq!(count(&t.store, "service_requests").await, 1);
        let gone = send(
            &t.app,
            with_key(
                "GET",
                &format!("/api/privacy/requests/{id}/personal-data"),
                &t.admin,
            ),
        )
        .await;
        assert_eq!(gone.status, StatusCode::NOT_FOUND);
    }
}

#[tokio::test]
async fn every_bad_post_gets_the_open311_error_array_and_stores_nothing() {
    let t = app_on(testing::sqlite().await).await;
    let key = t.resident.clone();
    let long = "x".repeat(4001);
    let cases: Vec<(String, StatusCode, &str)> = vec![
        (
            format!("service_code=OBJ-01&{LOUVRE}"),
            StatusCode::FORBIDDEN,
            "api_key",
        ),
        (
            format!("api_key=pvs_nope_nope&service_code=OBJ-01&{LOUVRE}"),
            StatusCode::FORBIDDEN,
            "api_key",
        ),
        (
            format!("api_key={key}&service_code=NOPE&{LOUVRE}"),
            StatusCode::BAD_REQUEST,
            "service_code",
        ),
        (
            format!("api_key={key}&service_code=GRAF-03&{LOUVRE}"),
            StatusCode::BAD_REQUEST,
            "service_code",
        ),
        (
            format!("api_key={key}&service_code=OBJ-01"),
            StatusCode::BAD_REQUEST,
            "location",
        ),
        (
            format!("api_key={key}&service_code=OBJ-01&lat=48.86"),
            StatusCode::BAD_REQUEST,
            "long",
        ),
        (
            format!("api_key={key}&service_code=OBJ-01&lat=abc&long=2.3"),
            StatusCode::BAD_REQUEST,
            "lat",
        ),
        (
            format!("api_key={key}&service_code=OBJ-01&lat=45.764&long=4.8357"),
            StatusCode::BAD_REQUEST,
            "outside Paris",
        ),
        (
            format!("api_key={key}&service_code=OBJ-01&{LOUVRE}&description={long}"),
            StatusCode::BAD_REQUEST,
            "4000",
        ),
        (
            format!("api_key={key}&service_code=OBJ-01&{LOUVRE}&attribute%5Bvolume%5D=enorme"),
            StatusCode::BAD_REQUEST,
            "attribute[volume]",
        ),
        (
            format!("api_key={key}&service_code=OBJ-01&{LOUVRE}&attribute%5Bcolour%5D=red"),
            StatusCode::BAD_REQUEST,
            "attribute[colour]",
        ),
        (
            format!("api_key={key}&service_code=OBJ-01&{LOUVRE}&email=not-an-email"),
            StatusCode::BAD_REQUEST,
            "email",
        ),
        (
            format!("api_key={key}&service_code=OBJ-01&{LOUVRE}&phone=call+me"),
            StatusCode::BAD_REQUEST,
            "phone",
        ),
        (
            format!("api_key={key}&service_code=OBJ-01&{LOUVRE}&media_url=javascript:alert(1)"),
            StatusCode::BAD_REQUEST,
            "media_url",
        ),
        (
            format!("api_key={key}&service_code=OBJ-01&{LOUVRE}&colour=red"),
            StatusCode::BAD_REQUEST,
            "colour",
        ),
        (
            format!("api_key={key}&service_code=OBJ-01&service_code=OBJ-02&{LOUVRE}"),
            StatusCode::BAD_REQUEST,
            "twice",
        ),
        // No category and a description that says nothing: the resident is asked to choose.
        (
            format!("api_key={key}&{LOUVRE}&description=bonjour+test"),
            StatusCode::BAD_REQUEST,
            "service_code",
        ),
        (
            format!("api_key={key}&{LOUVRE}"),
            StatusCode::BAD_REQUEST,
            "service_code",
        ),
    ];
    for (body, status, contains) in cases {
        let reply = send(&t.app, form("/open311/v2/requests.json", &body)).await;
        reply.assert_open311_error(status, contains);
    }
    // Wrong content type, malformed JSON, invalid UTF-8.
    let reply = send(
        &t.app,
        Request::post("/open311/v2/requests.json")
            .header(header::CONTENT_TYPE, "text/plain")
            .body(Body::from("x"))
            .unwrap(),
    )
    .await;
    reply.assert_open311_error(StatusCode::UNSUPPORTED_MEDIA_TYPE, "form-urlencoded");
    let reply = send(
        &t.app,
        Request::post("/open311/v2/requests.json")
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from("{nope"))
            .unwrap(),
    )
    .await;
    reply.assert_open311_error(StatusCode::BAD_REQUEST, "JSON");
    let reply = send(
        &t.app,
        Request::post("/open311/v2/requests.json")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(vec![b'a', b'=', 0xff, 0xfe]))
            .unwrap(),
    )
    .await;
    reply.assert_open311_error(StatusCode::BAD_REQUEST, "UTF-8");
    // XML errors for .xml resources.
    let reply = send(
        &t.app,
        form("/open311/v2/requests.xml", "service_code=OBJ-01"),
    )
    .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    assert!(
        reply.body.contains("<errors><error><code>403</code>"),
        "{}",
        reply.body
    );
    assert_eq!(count(&t.store, "service_requests").await, 0);
    assert_eq!(count(&t.store, "service_request_updates").await, 0);
    assert_eq!(count(&t.store, "service_request_contacts").await, 0);

    // Bad queries.
    for (path, contains) in [
        (
            "/open311/v2/requests.json?start_date=2026-01-01T00:00:00Z&end_date=2026-06-01T00:00:00Z",
            "90 days",
        ),
        (
            "/open311/v2/requests.json?start_date=yesterday",
            "start_date",
        ),
        ("/open311/v2/requests.json?status=pending", "status"),
        (
            "/open311/v2/requests.json?service_request_id=abc",
            "service_request_id",
        ),
        ("/open311/v2/requests.json?colour=red", "colour"),
    ] {
        send(&t.app, get(path))
            .await
            .assert_open311_error(StatusCode::BAD_REQUEST, contains);
    }
    send(&t.app, get("/open311/v2/requests/999.json"))
        .await
        .assert_open311_error(StatusCode::NOT_FOUND, "999");
    send(&t.app, get("/open311/v2/requests/abc.json"))
        .await
        .assert_open311_error(StatusCode::NOT_FOUND, "abc");
    send(&t.app, get("/open311/v2/tokens/nope.json"))
        .await
        .assert_open311_error(StatusCode::NOT_FOUND, "nope");
}

#[tokio::test]
async fn a_report_without_a_category_is_classified_and_a_contradicting_one_is_refiled() {
    let t = app_on(testing::sqlite().await).await;
    let posted = send(
        &t.app,
        form(
            "/open311/v2/requests.json",
            &format!("api_key={}&{LOUVRE}&description=y+a+un+matelas+et+un+vieux+frigo+abandonn%C3%A9s+devant+chez+moi", t.resident),
        ),
    )
    .await;
    assert_eq!(posted.status, StatusCode::CREATED, "{}", posted.body);
    let id: i64 = posted.json()[0]["service_request_id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let stored = t.requests.get(id).await.unwrap().unwrap();
    assert!(
        stored.service_code.starts_with("OBJ-"),
        "{}",
        stored.service_code
    );
    assert_eq!(
        stored.classification.unwrap().type_name,
        "Objets abandonnés"
    );

    // A tag filed under street lighting: the text is clearly about graffiti.
    let posted = send(
        &t.app,
        form(
            "/open311/v2/requests.json",
            &format!("api_key={}&service_code=ECL-01&{LOUVRE}&description=gros+tag+graffiti+peint+sur+la+fa%C3%A7ade+de+l%27immeuble", t.resident),
        ),
    )
    .await;
    assert_eq!(posted.status, StatusCode::CREATED, "{}", posted.body);
    let id: i64 = posted.json()[0]["service_request_id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let stored = t.requests.get(id).await.unwrap().unwrap();
    assert!(
        stored.service_code.starts_with("GRAF-"),
        "{}",
        stored.service_code
    );
    assert_eq!(
        stored.classification.unwrap().reclassified_from.as_deref(),
        Some("ECL-01")
    );
    let refiled = t.store.audit_records(None, None).await.unwrap();
    let refiled = refiled
        .iter()
        .rfind(|r| r.kind == "classification")
        .unwrap();
    assert_eq!(refiled.algorithm, "request-classification");
    assert!(
        refiled.output.contains("\"reclassified_from\":\"ECL-01\""),
        "{refiled:?}"
    );

    // The resident's contact never reaches the audit log, and personal data in the text is
    // redacted there.
    let posted = send(
        &t.app,
        form(
            "/open311/v2/requests.json",
            &format!("api_key={}&{LOUVRE}&email=jeanne.martin%40example.org&first_name=Jeanne&service_code=OBJ-04&description=tas+de+gravats+de+chantier+abandonn%C3%A9s+sur+le+trottoir%2C+appelez+moi+au+06+12+34+56+78", t.resident),
        ),
    )
    .await;
    assert_eq!(posted.status, StatusCode::CREATED, "{}", posted.body);
    let records = t.store.audit_records(None, None).await.unwrap();
    let last = records
        .iter()
        .rfind(|r| r.kind == "classification")
        .unwrap();
    assert!(last.inputs.contains("gravats"), "{last:?}");
    for record in &records {
        let text = format!("{record:?}");
        assert!(
            !text.contains("06 12 34 56 78") && !text.contains("jeanne.martin"),
            "{text}"
        );
    }
}

#[tokio::test]
async fn duplicates_are_proposed_merged_and_follow_the_original() {
    let t = app_on(testing::sqlite().await).await;
    let post = |lat: &str| {
        form(
            "/open311/v2/requests.json",
            &format!(
                "api_key={}&service_code=OBJ-01&lat={lat}&long=2.3376&description=canap%C3%A9",
                t.resident
            ),
        )
    };
    let first = send(&t.app, post("48.8606")).await.json()[0]["service_request_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let second = send(&t.app, post("48.8610")).await; // ~45 m north
    assert!(
        second.json()[0]["service_notice"]
            .as_str()
            .unwrap()
            .contains(&first),
        "{}",
        second.body
    );
    let second = second.json()[0]["service_request_id"]
        .as_str()
        .unwrap()
        .to_owned();

    // Intake's decisions are in the audit log, chained: each request's routing, and the
    // duplicate suggested for the second one.
    let records = t.store.audit_records(None, None).await.unwrap();
    assert_eq!(governance::audit::verify(&records, None), Ok(records.len()));
    let of_kind = |kind: &str| -> Vec<Value> {
        records
            .iter()
            .filter(|r| r.kind == kind)
            .map(|r| {
                json!({"inputs": serde_json::from_str::<Value>(&r.inputs).unwrap(),
                    "output": serde_json::from_str::<Value>(&r.output).unwrap()})
            })
            .collect()
    };
    let routings = of_kind("routing");
    assert_eq!(routings.len(), 2, "{records:?}");
    assert!(
        routings[1]["output"]["agency"]
            .as_str()
            .is_some_and(|a| !a.is_empty())
    );
    let suggestions = of_kind("duplicate-suggestion");
    assert_eq!(suggestions.len(), 1, "{records:?}");
    assert_eq!(suggestions[0]["inputs"]["request_id"].to_string(), second);
    assert_eq!(
        suggestions[0]["output"]["candidates"][0]["request_id"].to_string(),
        first
    );

    let detail = send(
        &t.app,
        with_key("GET", &format!("/api/requests/{second}"), &t.operator),
    )
    .await;
    assert_eq!(detail.status, StatusCode::OK, "{}", detail.body);
    assert_eq!(
        detail.json()["duplicates"][0]["request_id"].to_string(),
        first
    );
    send(
        &t.app,
        with_key("GET", &format!("/api/requests/{second}"), &t.resident),
    )
    .await;

    let merged = send(
        &t.app,
        json_with_key(
            "POST",
            &format!("/api/requests/{second}/merge"),
            &t.operator,
            json!({"into": first.parse::<i64>().unwrap()}),
        ),
    )
    .await;
    assert_eq!(merged.status, StatusCode::OK, "{}", merged.body);
    assert_eq!(merged.json()["request"]["stage"], "merged");
    let again = send(
        &t.app,
        json_with_key(
            "POST",
            &format!("/api/requests/{second}/merge"),
            &t.operator,
            json!({"into": first.parse::<i64>().unwrap()}),
        ),
    )
    .await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    let itself = send(
        &t.app,
        json_with_key(
            "POST",
            &format!("/api/requests/{first}/merge"),
            &t.operator,
            json!({"into": first.parse::<i64>().unwrap()}),
        ),
    )
    .await;
    assert_eq!(itself.status, StatusCode::BAD_REQUEST);

    // The original is worked on and closed; the merged one follows.
    let mut events = t.requests.subscribe();
    for stage in ["acknowledged", "in_progress", "closed"] {
        let reply = send(
            &t.app,
            json_with_key(
                "POST",
                &format!("/api/requests/{first}/status"),
                &t.operator,
                json!({"stage": stage, "note": format!("étape {stage}")}),
            ),
        )
        .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    }
    let merged = send(&t.app, get(&format!("/open311/v2/requests/{second}.json")))
        .await
        .json();
    assert_eq!(merged[0]["status"], "closed");
    assert_eq!(merged[0]["status_notes"], "étape closed");
    let event = events.recv().await.unwrap();
    assert_eq!(
        (event.kind, event.stage.as_str()),
        ("updated", "acknowledged")
    );

    // Operator routes need the operator role and valid input.
    let reply = send(
        &t.app,
        json_with_key(
            "POST",
            &format!("/api/requests/{first}/status"),
            &t.resident,
            json!({"stage": "closed"}),
        ),
    )
    .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    let reply = send(
        &t.app,
        json_with_key(
            "POST",
            &format!("/api/requests/{first}/status"),
            &t.operator,
            json!({"stage": "done"}),
        ),
    )
    .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    let reply = send(
        &t.app,
        json_with_key(
            "POST",
            "/api/requests/999/status",
            &t.operator,
            json!({"stage": "closed"}),
        ),
    )
    .await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    let reply = send(
        &t.app,
        json_with_key(
            "POST",
            &format!("/api/requests/{first}/assign"),
            &t.operator,
            json!({"service": "DVD"}),
        ),
    )
    .await;
    assert_eq!(reply.json()["request"]["agency_responsible"], "DVD");

    let report = send(&t.app, get("/api/requests/report")).await.json();
    assert_eq!(report["closed"], 1);
    let listed = send(
        &t.app,
        with_key("GET", "/api/requests?status=closed", &t.operator),
    )
    .await
    .json();
    assert_eq!(listed.as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn concurrent_posts_are_all_stored_once() {
    for store in testing::backends().await {
        let t = app_on(store).await;
        let mut tasks = Vec::new();
        for i in 0..40 {
            let app = t.app.clone();
            let key = t.resident.clone();
            tasks.push(tokio::spawn(async move {
                let body = format!("api_key={key}&service_code=GRAF-01&lat=48.85{i:02}&long=2.35&description=tag+{i}");
                let reply = send(&app, form("/open311/v2/requests.json", &body)).await;
                assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
                reply.json()[0]["service_request_id"].as_str().unwrap().to_owned()
            }));
        }
        let mut ids = Vec::new();
        for task in tasks {
            ids.push(task.await.unwrap());
        }
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), 40);
        assert_eq!(count(&t.store, "service_requests").await, 40);
    }
}

#[tokio::test]
async fn classification_suggestions() {
    let t = app_on(testing::sqlite().await).await;
    let reply = send(
        &t.app,
        Request::post("/api/requests/classify")
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(
                json!({"description": "lampadaire éteint toute la nuit dans ma rue"}).to_string(),
            ))
            .unwrap(),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.json()["decided"]["type"], "Éclairage / Électricité");
    let reply = send(
        &t.app,
        Request::post("/api/requests/classify")
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(json!({"description": ""}).to_string()))
            .unwrap(),
    )
    .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn layer_errors_under_open311_are_open311_arrays() {
    let t = app_on(testing::sqlite().await).await;
    let big = "x".repeat(2 * 1024 * 1024);
    let reply = send(
        &t.app,
        form("/open311/v2/requests.json", &format!("description={big}")),
    )
    .await;
    reply.assert_open311_error(StatusCode::PAYLOAD_TOO_LARGE, "larger");
    let reply = send(
        &t.app,
        Request::delete("/open311/v2/requests.xml")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(reply.status, StatusCode::METHOD_NOT_ALLOWED);
    assert!(
        reply.body.contains("<errors><error><code>405</code>"),
        "{}",
        reply.body
    );
}

#[tokio::test]
async fn operators_watch_request_events_live() {
    let t = app_on(testing::sqlite().await).await;
    let refused = send(&t.app, with_key("GET", "/api/requests/events", &t.resident)).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let response = t
        .app
        .clone()
        .oneshot(with_key("GET", "/api/requests/events", &t.operator))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()[header::CONTENT_TYPE],
        "text/event-stream"
    );
    let mut body = response.into_body();
    let posted = send(
        &t.app,
        form(
            "/open311/v2/requests.json",
            &format!(
                "api_key={}&service_code=EAU-01&{LOUVRE}&description=fuite",
                t.resident
            ),
        ),
    )
    .await;
    assert_eq!(posted.status, StatusCode::CREATED, "{}", posted.body);
    let id = posted.json()[0]["service_request_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let frame = tokio::time::timeout(std::time::Duration::from_secs(5), body.frame())
        .await
        .expect("an event within 5 s")
        .unwrap()
        .unwrap();
    let text = String::from_utf8(frame.into_data().unwrap().to_vec()).unwrap();
    assert!(text.starts_with("event: request\n"), "{text}");
    let data: Value =
        serde_json::from_str(text.lines().nth(1).unwrap().strip_prefix("data: ").unwrap()).unwrap();
    assert_eq!(data["kind"], "created");
    assert_eq!(data["request_id"].to_string(), id);
    assert_eq!(data["service_code"], "EAU-01");
    assert_eq!(data["arrondissement"], 1);
}
