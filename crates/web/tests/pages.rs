//! The pages in process: sign-in and its cookie, roles, cross-site posts, the language switch,
//! the 404 page, form errors. (The browser test in `crates/parvis/tests/browser.rs` drives the
//! same pages in Chromium.)

use access::{Keys, Role};
use api::{ApiConfig, AppState};
use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use store::testing;
use tower::ServiceExt;

struct Page {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    body: String,
}

async fn send(app: &Router, request: Request<Body>) -> Page {
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let body = String::from_utf8(
        response
            .into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes()
            .to_vec(),
    )
    .unwrap();
    Page {
        status,
        headers,
        body,
    }
}

fn get(path: &str, cookie: Option<&str>) -> Request<Body> {
    let mut request = Request::get(path).header(header::ACCEPT, "text/html");
    if let Some(cookie) = cookie {
        request = request.header(header::COOKIE, cookie);
    }
    request.body(Body::empty()).unwrap()
}

fn form(path: &str, body: &str, origin: Option<&str>) -> Request<Body> {
    let mut request = Request::post(path)
        .header(header::HOST, "parvis.test")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    if let Some(origin) = origin {
        request = request.header(header::ORIGIN, origin);
    }
    request.body(Body::from(body.to_owned())).unwrap()
}

#[tokio::test]
async fn sign_in_roles_cookies_languages_and_errors() {
    let store = testing::sqlite().await;
    let keys = Keys::new(store::Store::clone(&store));
    let operator = keys.create("ops", Role::Operator).await.unwrap().secret;
    let resident = keys.create("app", Role::ResidentApp).await.unwrap().secret;
    let state = AppState::new(store::Store::clone(&store), ApiConfig::default())
        .with_not_found_page(web::not_found_page());
    let app = api::router_with(state, web::routes());

    // Operator pages send visitors to the sign-in, coming back where they were.
    let page = send(&app, get("/sensors", None)).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(page.headers[header::LOCATION], "/signin?next=%2Fsensors");

    // A wrong key and a key below the operator role are refused by the field.
    let page = send(&app, form("/signin", "key=pvs_nope&next=%2F", None)).await;
    assert_eq!(page.status, StatusCode::UNAUTHORIZED);
    assert!(page.body.contains("Clé inconnue"), "{}", page.body);
    let page = send(&app, form("/signin", &format!("key={resident}"), None)).await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    assert!(page.body.contains("rôle opérateur"));

    // The right key: a session cookie the script cannot read, sent to this site only, and a
    // redirect to a local path only.
    let page = send(
        &app,
        form(
            "/signin",
            &format!("key={operator}&next=https%3A%2F%2Fevil.example%2F"),
            Some("http://parvis.test"),
        ),
    )
    .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(page.headers[header::LOCATION], "/");
    let cookie = page.headers[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    let session = cookie.split(';').next().unwrap().to_owned();
    assert!(
        !session.contains(&operator),
        "the key itself is not the cookie"
    );

    // Signed in, the overview renders, in French, and in English after the switch.
    let page = send(&app, get("/", Some(&session))).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("<html lang=\"fr\">"));
    assert!(page.body.contains("Signalements ouverts"));
    let page = send(&app, get("/?lang=en", Some(&session))).await;
    assert!(page.body.contains("<html lang=\"en\">") && page.body.contains("Open requests"));
    assert!(
        page.headers[header::SET_COOKIE]
            .to_str()
            .unwrap()
            .starts_with("lang=en")
    );

    // A form posted from another site is refused.
    let page = send(&app, form("/signout", "", Some("https://evil.example"))).await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);

    // The assistant's form: an empty question gets its error next to the field.
    let page = send(&app, form("/assistant", "question=++", None)).await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.body.contains("id=\"question-error\""), "{}", page.body);

    // The public register page: every algorithm, its objection procedure, its performance
    // with the run that measured it (here: none yet).
    let page = send(&app, get("/register", None)).await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(
        page.body.matches("<section id=").count(),
        9,
        "{}",
        page.body
    );
    assert!(page.body.contains("Contester ou demander une explication"));
    assert!(page.body.contains("pas encore mesurée"));
    store
        .record_run(&store::runs::BenchmarkRun {
            suite: "redaction-eval:heldout4.jsonl".into(),
            command: "parvis redact --eval eval/redaction/heldout4.jsonl".into(),
            machine: "test".into(),
            started_at: "2026-11-26T07:52:00.000000Z".into(),
            finished_at: "2026-11-26T07:52:55.000000Z".into(),
            results: r#"{"nir": {"precision": 1.0, "recall": 1.0}}"#.into(),
        })
        .await
        .unwrap();
    let page = send(&app, get("/register?lang=en", None)).await;
    assert!(
        page.body
            .contains("parvis redact --eval eval/redaction/heldout4.jsonl")
    );
    assert!(page.body.contains("Measured performance"));

    // Unknown pages: an HTML page for browsers, the API's error body elsewhere.
    let page = send(&app, get("/nowhere", None)).await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    assert!(page.body.contains("Page introuvable"));
    let page = send(&app, get("/api/nowhere", None)).await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    assert!(page.body.contains("route_not_found"));

    // Signing out ends the session.
    let page = send(
        &app,
        Request::post("/signout")
            .header(header::COOKIE, &session)
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    let page = send(&app, get("/", Some(&session))).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
}
